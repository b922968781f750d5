"""Entities that left the charts still age: refresh every stale track and artist in batches."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd

from musiccharts_pipeline.soundcharts import SoundChartsClient, split_windows
from musiccharts_pipeline.sync import audience
from musiccharts_pipeline.sync.artists import sync_artists
from musiccharts_pipeline.sync.genres import derive_genres
from musiccharts_pipeline.sync.rules import (
    AUDIENCE_MAX_AGE,
    METADATA_MAX_AGE,
    is_stale,
    utcnow,
)
from musiccharts_pipeline.sync.tracks import sync_tracks
from musiccharts_pipeline.warehouse import SCHEMA, Warehouse


@dataclasses.dataclass
class StaleWork:
    """What a refresh would fetch, and what that costs in API calls."""

    track_metadata: list[str]
    artist_metadata: list[str]
    track_audience: list[str]
    artist_audience: list[str]
    audience_windows: int

    @property
    def api_calls(self) -> int:
        """Calls the refresh costs: one per metadata fetch, one per missing ≤90-day window."""
        return len(self.track_metadata) + len(self.artist_metadata) + self.audience_windows

    def summary(self) -> dict:
        return {
            "track_metadata": len(self.track_metadata),
            "artist_metadata": len(self.artist_metadata),
            "track_audience": len(self.track_audience),
            "artist_audience": len(self.artist_audience),
            "audience_windows": self.audience_windows,
            "api_calls": self.api_calls,
        }


def _stale(wh: Warehouse, table: str, column: str, now: dt.datetime, max_age) -> list[str]:
    frame = wh.read_frame(f"SELECT uuid, {column} AS ts FROM {SCHEMA}.{table}")
    return sorted(
        r.uuid
        for r in frame.itertuples()
        if is_stale(None if pd.isna(r.ts) else pd.Timestamp(r.ts), now, max_age)
    )


def stale_work(
    wh: Warehouse, now: dt.datetime | None = None, platforms=audience.DEFAULT_PRIORITY_PLATFORMS
) -> StaleWork:
    now = now or utcnow()
    today = now.date()
    tracks_aud = _stale(wh, "tracks", "audience_fetched_at", now, AUDIENCE_MAX_AGE)
    artists_aud = _stale(wh, "artists", "audience_fetched_at", now, AUDIENCE_MAX_AGE)
    windows = 0
    for table, owner, uuids, supported in (
        ("track_audience", "track_uuid", tracks_aud, audience.SONG_AUDIENCE_PLATFORMS),
        ("artist_audience", "artist_uuid", artists_aud, audience.SOCIAL_PLATFORMS),
        ("artist_streaming", "artist_uuid", artists_aud, audience.STREAMING_PLATFORMS),
    ):
        wanted = [p for p in platforms if p in supported]
        for *_, first, last in audience.missing_windows(wh, table, owner, uuids, wanted, today):
            windows += len(split_windows(first, last))
    return StaleWork(
        track_metadata=_stale(wh, "tracks", "metadata_fetched_at", now, METADATA_MAX_AGE),
        artist_metadata=_stale(wh, "artists", "metadata_fetched_at", now, METADATA_MAX_AGE),
        track_audience=tracks_aud,
        artist_audience=artists_aud,
        audience_windows=windows,
    )


def refresh(client: SoundChartsClient, wh: Warehouse, todo: StaleWork, log=print) -> dict:
    """Fetch ``todo`` through the same code paths as the assets (which write batch by batch)."""
    tracks = sync_tracks(client, wh, todo.track_metadata).uuids
    log(f"track metadata: {len(tracks)}/{len(todo.track_metadata)}")
    artists = sync_artists(client, wh, todo.artist_metadata).uuids
    log(f"artist metadata: {len(artists)}/{len(todo.artist_metadata)}")
    derive_genres(wh, tracks, artists)
    done = {
        "tracks": len(tracks),
        "artists": len(artists),
        "track_audience_rows": audience.sync_track_audience(client, wh, todo.track_audience).rows,
        "artist_audience_rows": audience.sync_artist_audience(
            client, wh, todo.artist_audience
        ).rows,
    }
    log(f"audience: {done['track_audience_rows'] + done['artist_audience_rows']} points")
    return done
