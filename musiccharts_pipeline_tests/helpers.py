"""Shared test helper: materialize the cascade for one chart's date or date range."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from musiccharts_pipeline.assets import CASCADE_ASSETS
from musiccharts_pipeline.partitions import chart_day_key

RANGE = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")

#: The tables the SoundCharts assets fill (not the sync bookkeeping).
DATA_TABLES = (
    "charts",
    "chart_rankings",
    "chart_ranking_entries",
    "tracks",
    "track_artists",
    "artists",
    "genres",
    "track_genres",
    "artist_genres",
    "track_audience",
    "artist_audience",
    "artist_streaming",
)


def materialize_chart(
    resources,
    instance,
    slug: str,
    start: dt.date,
    end: dt.date | None = None,
    selection=None,
    raise_on_error: bool = True,
):
    """One run: a single partition, or the chart's range (as a single-run backfill runs it)."""
    instance.add_dynamic_partitions("charts", [slug])
    if end is None or end == start:
        kwargs = {"partition_key": str(chart_day_key(slug, start))}
    else:
        kwargs = {
            "tags": {
                RANGE[0]: str(chart_day_key(slug, start)),
                RANGE[1]: str(chart_day_key(slug, end)),
            }
        }
    return dg.materialize(
        CASCADE_ASSETS,
        resources=resources,
        instance=instance,
        selection=selection,
        raise_on_error=raise_on_error,
        **kwargs,
    )
