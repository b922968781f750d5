"""Audience series: only stale entities, only the dates not stored yet, ≤90-day windows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence

import pandas as pd

from musiccharts_pipeline.soundcharts import SoundChartsClient
from musiccharts_pipeline.soundcharts.platforms import (
    SOCIAL_PLATFORMS,
    SONG_AUDIENCE_PLATFORMS,
    STREAMING_PLATFORMS,
)
from musiccharts_pipeline.sync.batching import (
    EntityOutcome,
    chunks,
    fetch_concurrently,
    start_sync,
)
from musiccharts_pipeline.sync.rules import AUDIENCE_MAX_AGE, audience_window, utcnow
from musiccharts_pipeline.warehouse import SCHEMA, Warehouse

DEFAULT_PRIORITY_PLATFORMS = ("spotify", "youtube", "shazam")


def last_dates(wh: Warehouse, table: str, owner: str, uuids: Sequence[str]) -> dict:
    if not uuids:
        return {}
    frame = wh.read_frame(
        f"SELECT {owner} AS uuid, platform, max(date) AS last FROM {SCHEMA}.{table} "
        f"WHERE {owner} IN :uuids GROUP BY {owner}, platform",
        {"uuids": list(uuids)},
    )
    return {(r.uuid, r.platform): pd.Timestamp(r.last).date() for r in frame.itertuples()}


def missing_windows(
    wh: Warehouse,
    table: str,
    owner: str,
    uuids: Sequence[str],
    platforms: Iterable[str],
    today: dt.date,
) -> list[tuple[str, str, dt.date, dt.date]]:
    """(entity, platform, first, last date) still to fetch for each entity and platform: the
    one home of the audience-window rule, used by the sync and by the refresh's cost estimate."""
    last = last_dates(wh, table, owner, uuids)
    platforms = list(platforms)
    jobs = []
    for uuid in uuids:
        for platform in platforms:
            window = audience_window(last.get((uuid, platform)), today)
            if window:
                jobs.append((uuid, platform, *window))
    return jobs


def sync_track_audience(
    client: SoundChartsClient,
    wh: Warehouse,
    uuids: Iterable[str],
    platforms: Iterable[str] = DEFAULT_PRIORITY_PLATFORMS,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
    max_age: dt.timedelta = AUDIENCE_MAX_AGE,
) -> EntityOutcome:
    """Per batch of stale tracks: fetch the missing dates, then write points and the fetch
    time in one transaction, so a crash loses at most one batch and a retry refetches it."""
    now = now or utcnow()
    today = today or now.date()
    platforms = _among(platforms, SONG_AUDIENCE_PLATFORMS)
    todo, out, _ = start_sync(wh, "tracks", "audience_fetched_at", uuids, now, max_age)
    for batch in chunks(todo):
        out.rows += write_batch(
            wh, "tracks", batch, now, _track_series(client, wh, batch, platforms, today)
        )
        out.count_updated(batch)
    return out


def sync_artist_audience(
    client: SoundChartsClient,
    wh: Warehouse,
    uuids: Iterable[str],
    platforms: Iterable[str] = DEFAULT_PRIORITY_PLATFORMS,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
    max_age: dt.timedelta = AUDIENCE_MAX_AGE,
) -> EntityOutcome:
    """Followers (social platforms) and listeners (streaming platforms), batch by batch."""
    now = now or utcnow()
    today = today or now.date()
    platforms = list(platforms)
    todo, out, _ = start_sync(wh, "artists", "audience_fetched_at", uuids, now, max_age)
    for batch in chunks(todo):
        series = _artist_series(client, wh, batch, platforms, today)
        out.rows += write_batch(wh, "artists", batch, now, series)
        out.count_updated(batch)
    return out


def _track_series(
    client: SoundChartsClient,
    wh: Warehouse,
    batch: Sequence[str],
    platforms: list[str],
    today: dt.date,
) -> list[tuple[str, pd.DataFrame, list[str]]]:
    """(table, points, key) of the audience missing for a batch of tracks."""
    fetched = fetch_missing(
        wh, "track_audience", "track_uuid", batch, platforms, today, client.song_audience
    )
    return [("track_audience", _track_points(fetched), TRACK_AUDIENCE_KEYS)]


def _artist_series(
    client: SoundChartsClient,
    wh: Warehouse,
    batch: Sequence[str],
    platforms: list[str],
    today: dt.date,
) -> list[tuple[str, pd.DataFrame, list[str]]]:
    """(table, points, key) of the followers and of the listeners missing for a batch of
    artists."""
    social, streaming = _among(platforms, SOCIAL_PLATFORMS), _among(platforms, STREAMING_PLATFORMS)
    followers = fetch_missing(
        wh, "artist_audience", "artist_uuid", batch, social, today, client.artist_audience
    )
    listeners = fetch_missing(
        wh, "artist_streaming", "artist_uuid", batch, streaming, today, client.artist_streaming
    )
    return [
        ("artist_audience", _followers(followers), ARTIST_SERIES_KEYS),
        ("artist_streaming", _listeners(listeners), ARTIST_SERIES_KEYS),
    ]


def fetch_missing(
    wh: Warehouse,
    table: str,
    owner: str,
    batch: Sequence[str],
    platforms: list[str],
    today: dt.date,
    fetch: Callable,
) -> list[tuple[tuple, list]]:
    """Each (entity, platform, first, last) window missing from ``table``, with the points
    ``fetch(entity, platform, first, last)`` returned for it, fetched concurrently."""
    jobs = missing_windows(wh, table, owner, batch, platforms, today)
    return fetch_concurrently(lambda job: fetch(*job), jobs)


def write_batch(
    wh: Warehouse,
    entity_table: str,
    batch: Sequence[str],
    now: dt.datetime,
    series: list[tuple[str, pd.DataFrame, list[str]]],
) -> int:
    """One transaction: each (table, points, key) of the batch, then the batch's audience fetch
    time in ``entity_table``, so a crash loses at most this batch. Rows of points written."""
    rows = 0
    with wh.transaction() as conn:
        for table, frame, keys in series:
            rows += wh.upsert(frame, table, keys, conn=conn)
        wh.upsert(
            pd.DataFrame({"uuid": batch, "audience_fetched_at": now}),
            entity_table,
            ["uuid"],
            conn=conn,
        )
    return rows


TRACK_AUDIENCE_KEYS = ["track_uuid", "platform", "identifier", "date"]
ARTIST_SERIES_KEYS = ["artist_uuid", "platform", "date"]


def _among(platforms: Iterable[str], supported: set[str]) -> list[str]:
    return [p for p in platforms if p in supported]


FOLLOWER_COLUMNS = [
    "artist_uuid",
    "platform",
    "date",
    "follower_count",
    "like_count",
    "following_count",
    "post_count",
    "view_count",
]


def _followers(results) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "artist_uuid": job[0],
                "platform": job[1],
                "date": p.date.date(),
                "follower_count": p.follower_count,
                "like_count": p.like_count,
                "following_count": p.following_count,
                "post_count": p.post_count,
                "view_count": p.view_count,
            }
            for job, points in results
            for p in points
        ],
        columns=FOLLOWER_COLUMNS,
    )


def _track_points(results) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "track_uuid": job[0],
                "platform": job[1],
                "identifier": p.identifier,
                "date": p.date,
                "value": p.value,
            }
            for job, points in results
            for p in points
        ],
        columns=["track_uuid", "platform", "identifier", "date", "value"],
    )


def _listeners(results) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"artist_uuid": job[0], "platform": job[1], "date": p.date.date(), "value": p.value}
            for job, points in results
            for p in points
        ],
        columns=["artist_uuid", "platform", "date", "value"],
    )
