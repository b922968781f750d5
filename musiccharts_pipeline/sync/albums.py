"""Albums of the synced tracks: each track's releases listed when never listed or older than
30 days (``song/{uuid}/albums``, one call), each album's metadata fetched once and refreshed as
track metadata is (``album/by-uuid``). The original release of a track is its earliest."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

import pandas as pd

from musiccharts_pipeline.soundcharts import SoundChartsClient
from musiccharts_pipeline.soundcharts import models as m
from musiccharts_pipeline.sync.batching import (
    EntityOutcome,
    chunks,
    fetch_concurrently,
    fetch_found,
    start_sync,
)
from musiccharts_pipeline.sync.rules import METADATA_MAX_AGE, utcnow
from musiccharts_pipeline.warehouse import SCHEMA, Warehouse


def tracks_with_metadata(wh: Warehouse) -> list[str]:
    frame = wh.read_frame(f"SELECT uuid FROM {SCHEMA}.tracks WHERE metadata_fetched_at IS NOT NULL")
    return sorted(frame.uuid)


def album_row(album: m.Album, now: dt.datetime) -> dict:
    return {
        "uuid": album.uuid,
        "name": album.name,
        "album_type": album.type,
        "upc": album.upc,
        "release_date": album.release_date.date() if album.release_date else None,
        "label": album.label,
        "total_tracks": album.total_tracks,
        "metadata_fetched_at": now,
        "raw_json": json.dumps(album.raw, sort_keys=True),
    }


def links(track_uuid: str, albums: list[m.Album]) -> list[dict]:
    """track_albums rows of one track, its earliest release marked original (the API's order
    breaks a tie: it lists the original first)."""
    if not albums:
        return []
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    original = min(enumerate(albums), key=lambda kv: (kv[1].release_date or far, kv[0]))[1].uuid
    seen, rows = set(), []
    for album in albums:
        if album.uuid not in seen:
            seen.add(album.uuid)
            rows.append(
                {
                    "track_uuid": track_uuid,
                    "album_uuid": album.uuid,
                    "is_original": album.uuid == original,
                }
            )
    return rows


def sync_albums(
    client: SoundChartsClient,
    wh: Warehouse,
    track_uuids: Iterable[str],
    now: dt.datetime | None = None,
    max_age: dt.timedelta = METADATA_MAX_AGE,
) -> EntityOutcome:
    """Per batch of tracks whose releases are due: list them, fetch the albums not stored or
    stale, then write albums, the tracks' links (replaced whole) and the listing time in one
    transaction."""
    now = now or utcnow()
    todo, out, _ = start_sync(wh, "tracks", "albums_fetched_at", track_uuids, now, max_age)
    for batch in chunks(todo):
        listed = {t: a for t, a in fetch_concurrently(client.song_albums, batch) if a is not None}
        wanted = sorted({album.uuid for albums in listed.values() for album in albums})
        due, _, _ = start_sync(wh, "albums", "metadata_fetched_at", wanted, now, max_age)
        albums = fetch_found(client.album, due)
        rows = [row for track, found in listed.items() for row in links(track, found)]
        with wh.transaction() as conn:
            out.rows += wh.upsert(
                pd.DataFrame([album_row(a, now) for a in albums]), "albums", ["uuid"], conn
            )
            if listed:
                wh.execute(
                    f"DELETE FROM {SCHEMA}.track_albums WHERE track_uuid IN :t",
                    {"t": sorted(listed)},
                    conn,
                )
            frame = pd.DataFrame(rows, columns=["track_uuid", "album_uuid", "is_original"])
            out.rows += wh.upsert(frame, "track_albums", ["track_uuid", "album_uuid"], conn)
            wh.execute(
                f"UPDATE {SCHEMA}.tracks SET albums_fetched_at = :t WHERE uuid IN :u",
                {"t": now, "u": list(batch)},
                conn,
            )
        out.count_updated(batch)
    return out
