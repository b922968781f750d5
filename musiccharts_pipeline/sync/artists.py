"""Artist metadata: fetched only when missing or stale (a stub from track metadata counts as
missing)."""

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


def artist_frame(artists: list[m.Artist], now: dt.datetime) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "uuid": a.uuid,
                "slug": a.slug or slugify(a.name),
                "name": a.name,
                "app_url": a.app_url,
                "image_url": a.image_url,
                "country_code": a.country_code,
                "gender": a.gender,
                "artist_type": a.type,
                "career_stage": a.career_stage,
                "metadata_fetched_at": now,
                "raw_json": json.dumps(a.raw, sort_keys=True),
            }
            for a in artists
        ]
    )


def write_artists(wh: Warehouse, artists: list[m.Artist], now: dt.datetime) -> int:
    """The artists' metadata rows (their genres are derived from it by the genres asset)."""
    return wh.upsert(artist_frame(artists, now), "artists", ["uuid"])


def sync_artists(
    client: SoundChartsClient,
    wh: Warehouse,
    uuids: Iterable[str],
    now: dt.datetime | None = None,
    max_age: dt.timedelta = METADATA_MAX_AGE,
) -> EntityOutcome:
    now = now or utcnow()
    todo, out, known = start_sync(wh, "artists", "metadata_fetched_at", uuids, now, max_age)
    # a stub row made from track metadata is not "known": its metadata was never fetched
    fetched = {u for u in todo if known.get(u) is not None}
    for batch in chunks(todo):
        artists = fetch_found(client.artist, batch)
        out.rows += write_artists(wh, artists, now)
        out.count_fetched(batch, [a.uuid for a in artists], fetched)
    return out


def artists_by_track(wh: Warehouse, track_uuids: Iterable[str]) -> dict[str, list[str]]:
    """Each track's credited artists (one query)."""
    track_uuids = sorted(set(track_uuids))
    if not track_uuids:
        return {}
    frame = wh.read_frame(
        f"SELECT track_uuid, artist_uuid FROM {SCHEMA}.track_artists WHERE track_uuid IN :uuids",
        {"uuids": track_uuids},
    )
    out: dict[str, list[str]] = {}
    for track, artist in zip(frame.track_uuid, frame.artist_uuid, strict=True):
        out.setdefault(track, []).append(artist)
    return out


def artists_of_tracks(wh: Warehouse, track_uuids: Iterable[str]) -> list[str]:
    track_uuids = sorted(set(track_uuids))
    if not track_uuids:
        return []
    frame = wh.read_frame(
        f"SELECT DISTINCT artist_uuid FROM {SCHEMA}.track_artists WHERE track_uuid IN :uuids",
        {"uuids": track_uuids},
    )
    return sorted(frame.artist_uuid)
