"""Audience series: only stale entities, only the dates not stored yet, ≤90-day windows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import pandas as pd

from musiccharts_pipeline.soundcharts import SoundChartsClient
from musiccharts_pipeline.sync.entities import (
    EntityOutcome,
    chunks,
    fetch_concurrently,
    plan_refresh,
)
from musiccharts_pipeline.sync.rules import AUDIENCE_MAX_AGE, audience_window, utcnow
from musiccharts_pipeline.warehouse import SCHEMA, Warehouse

DEFAULT_PRIORITY_PLATFORMS = ("spotify", "youtube", "shazam")
# Which platforms each SoundCharts series endpoint serves (API reference, sections 5 and 6).
SONG_AUDIENCE_PLATFORMS = {
    "spotify",
    "shazam",
    "youtube",
    "soundcloud",
    "tiktok",
    "audiomack",
    "genius",
    "gaana",
    "jiosaavn",
    "melon",
    "line-music",
    "anghami",
    "lastfm",
    "awa",
}
SOCIAL_PLATFORMS = {
    "spotify",
    "instagram",
    "tiktok",
    "youtube",
    "soundcloud",
    "deezer",
    "amazon",
    "songkick",
    "line-music",
    "yandex",
    "melon",
    "weibo",
    "joox",
    "x",
    "facebook",
}
STREAMING_PLATFORMS = {
    "spotify",
    "jiosaavn",
    "pandora",
    "yandex",
    "kugou",
    "youtube",
    "anghami",
    "audiomack",
    "lastfm",
    "deezer",
}


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
    todo, fresh, _ = plan_refresh(wh, "tracks", "audience_fetched_at", uuids, now, max_age)
    out = EntityOutcome(considered=len(todo) + fresh, fresh=fresh)
    for batch in chunks(todo):
        jobs = missing_windows(wh, "track_audience", "track_uuid", batch, platforms, today)
        results = fetch_concurrently(lambda job: client.song_audience(*job), jobs)
        frame = pd.DataFrame(
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
        with wh.transaction() as conn:
            out.rows += wh.upsert(
                frame, "track_audience", ["track_uuid", "platform", "identifier", "date"], conn=conn
            )
            wh.upsert(
                pd.DataFrame({"uuid": batch, "audience_fetched_at": now}),
                "tracks",
                ["uuid"],
                conn=conn,
            )
        out.updated += len(batch)
        out.uuids.extend(batch)
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
    todo, fresh, _ = plan_refresh(wh, "artists", "audience_fetched_at", uuids, now, max_age)
    out = EntityOutcome(considered=len(todo) + fresh, fresh=fresh)
    for batch in chunks(todo):
        social = missing_windows(
            wh, "artist_audience", "artist_uuid", batch, _among(platforms, SOCIAL_PLATFORMS), today
        )
        streaming = missing_windows(
            wh,
            "artist_streaming",
            "artist_uuid",
            batch,
            _among(platforms, STREAMING_PLATFORMS),
            today,
        )
        follower_frame = _followers(
            fetch_concurrently(lambda job: client.artist_audience(*job), social)
        )
        listener_frame = _listeners(
            fetch_concurrently(lambda job: client.artist_streaming(*job), streaming)
        )
        with wh.transaction() as conn:
            out.rows += wh.upsert(
                follower_frame, "artist_audience", ["artist_uuid", "platform", "date"], conn=conn
            )
            out.rows += wh.upsert(
                listener_frame, "artist_streaming", ["artist_uuid", "platform", "date"], conn=conn
            )
            wh.upsert(
                pd.DataFrame({"uuid": batch, "audience_fetched_at": now}),
                "artists",
                ["uuid"],
                conn=conn,
            )
        out.updated += len(batch)
        out.uuids.extend(batch)
    return out


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


def _listeners(results) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"artist_uuid": job[0], "platform": job[1], "date": p.date.date(), "value": p.value}
            for job, points in results
            for p in points
        ],
        columns=["artist_uuid", "platform", "date", "value"],
    )
