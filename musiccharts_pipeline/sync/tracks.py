"""Track metadata: fetched only when missing or stale; the artists it names are linked and
stubbed at once."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

import pandas as pd

from musiccharts_pipeline.soundcharts import SoundChartsClient
from musiccharts_pipeline.soundcharts import models as m
from musiccharts_pipeline.sync.batching import EntityOutcome, chunks, fetch_found, start_sync
from musiccharts_pipeline.sync.rules import METADATA_MAX_AGE, slugify, utcnow
from musiccharts_pipeline.warehouse import SCHEMA, Warehouse

LINK_COLUMNS = ["track_uuid", "artist_uuid", "position", "is_primary"]
STUB_COLUMNS = ["uuid", "slug", "name", "app_url", "image_url"]


def track_row(song: m.Song, now: dt.datetime) -> dict:
    primary = song.primary_artist
    return {
        "uuid": song.uuid,
        "name": song.name,
        "slug": song.slug or slugify(song.name),
        "credit_name": song.credit_name,
        "image_url": song.image_url,
        "app_url": song.app_url,
        "release_date": song.release_date.date() if song.release_date else None,
        "duration": song.duration,
        "isrc": song.isrc,
        "label": song.label,
        "explicit": song.explicit,
        "language_code": song.language_code,
        "primary_artist_uuid": primary.uuid if primary else None,
        "metadata_fetched_at": now,
        "raw_json": json.dumps(song.raw, sort_keys=True),
    }


def credited_artists(song: m.Song) -> list[tuple[int, m.ArtistLight]]:
    """The song's credited artists with their credit position, each artist once (first credit)."""
    credited, seen = [], set()
    for k, artist in enumerate(song.artists or song.main_artists):
        if artist.uuid not in seen:
            seen.add(artist.uuid)
            credited.append((k, artist))
    return credited


def artist_links(song: m.Song) -> list[dict]:
    """track_artists rows of the song, the primary artist marked."""
    primary = song.primary_artist
    return [
        {
            "track_uuid": song.uuid,
            "artist_uuid": artist.uuid,
            "position": k,
            "is_primary": primary is not None and artist.uuid == primary.uuid,
        }
        for k, artist in credited_artists(song)
    ]


def artist_stubs(songs: list[m.Song]) -> dict[str, dict]:
    """An artists row for each artist the songs credit, from what the song metadata says."""
    return {
        artist.uuid: {
            "uuid": artist.uuid,
            "slug": artist.slug,
            "name": artist.name,
            "app_url": artist.app_url,
            "image_url": artist.image_url,
        }
        for song in songs
        for _, artist in credited_artists(song)
    }


def track_frames(
    songs: list[m.Song], now: dt.datetime
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(tracks, track_artists, artist stubs) rows of ``songs``."""
    return (
        pd.DataFrame([track_row(song, now) for song in songs]),
        pd.DataFrame([link for song in songs for link in artist_links(song)], columns=LINK_COLUMNS),
        pd.DataFrame(list(artist_stubs(songs).values()), columns=STUB_COLUMNS),
    )


def write_tracks(wh: Warehouse, songs: list[m.Song], now: dt.datetime) -> int:
    """One transaction: the tracks, their artist links replaced, the artists stubbed."""
    tracks, links, stubs = track_frames(songs, now)
    rows = 0
    with wh.transaction() as conn:
        rows += wh.upsert(tracks, "tracks", ["uuid"], conn=conn)
        if songs:
            wh.execute(
                f"DELETE FROM {SCHEMA}.track_artists WHERE track_uuid IN :uuids",
                {"uuids": [s.uuid for s in songs]},
                conn=conn,
            )
        rows += wh.upsert(links, "track_artists", ["track_uuid", "artist_uuid"], conn=conn)
        # artists seen in track metadata exist at once; their own metadata comes later
        rows += wh.upsert(stubs, "artists", ["uuid"], conn=conn)
    return rows


def sync_tracks(
    client: SoundChartsClient,
    wh: Warehouse,
    uuids: Iterable[str],
    now: dt.datetime | None = None,
    max_age: dt.timedelta = METADATA_MAX_AGE,
) -> EntityOutcome:
    """Fetch metadata of the songs that have none or stale metadata; link and stub artists."""
    now = now or utcnow()
    todo, out, known = start_sync(wh, "tracks", "metadata_fetched_at", uuids, now, max_age)
    stored = set(known)
    for batch in chunks(todo):
        songs = fetch_found(client.song, batch)
        out.rows += write_tracks(wh, songs, now)
        out.count_fetched(batch, [s.uuid for s in songs], stored)
    return out
