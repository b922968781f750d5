"""API economy: calls made over the minimum for a one-year backfill of three charts."""

from __future__ import annotations

import datetime as dt
import math
import tempfile
import time

import dagster as dg

from benchmarks.common import backfill, fresh_pipeline
from musiccharts_pipeline.sync.audience import (
    DEFAULT_PRIORITY_PLATFORMS,
    SOCIAL_PLATFORMS,
    SONG_AUDIENCE_PLATFORMS,
    STREAMING_PLATFORMS,
)

CHARTS = ("top-50-fr", "viral-50-global", "tiktok-top-50-weekly")
TARGETS = {"api_calls_over_minimum": ("<=", 1.02)}


def minimum_calls(world, start: dt.date) -> tuple[int, set, set]:
    """The fewest calls that fetch the charts' rankings since ``start``, each song's and each
    artist's metadata once and their audience on the priority platforms once; and the songs and
    artists."""
    pages, songs = 0, set()
    for slug in CHARTS:
        chart = world.charts[slug]
        for date in world.chart_dates(chart):
            if date >= start:
                ranking = world.ranking(chart, date)
                pages += math.ceil(len(ranking.songs) / 100)
                songs.update(ranking.songs)
    artists = {a for i in songs for a in world.song_artists(i)}
    song_platforms = [p for p in DEFAULT_PRIORITY_PLATFORMS if p in SONG_AUDIENCE_PLATFORMS]
    artist_platforms = [p for p in DEFAULT_PRIORITY_PLATFORMS if p in SOCIAL_PLATFORMS] + [
        p for p in DEFAULT_PRIORITY_PLATFORMS if p in STREAMING_PLATFORMS
    ]
    minimum = (
        pages
        + len(songs)
        + len(artists)
        + len(songs) * len(song_platforms)
        + len(artists) * len(artist_platforms)
    )
    return minimum, songs, artists


def bench_api_economy(days: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp, dg.DagsterInstance.ephemeral() as instance:
        resources, client = fresh_pipeline(tmp)
        world = client.simulator.world
        start = world.today - dt.timedelta(days=days - 1)
        started = time.perf_counter()
        for slug in CHARTS:
            assert backfill(resources, instance, slug, start, world.today).success
        seconds = time.perf_counter() - started
        made = len(client.simulator.request_log)
        minimum, songs, artists = minimum_calls(world, start)
    return {
        "api_calls_made": made,
        "api_calls_minimum": minimum,
        "api_calls_over_minimum": made / minimum,
        "year_backfill_seconds": seconds,
        "distinct_songs": len(songs),
        "distinct_artists": len(artists),
    }
