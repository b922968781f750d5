"""Every PartitionsDefinition of the project, defined once."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from musiccharts_pipeline import settings
from musiccharts_pipeline.sync.rules import validate_slug

charts = dg.DynamicPartitionsDefinition(name="charts")

#: Includes today (end_offset=1): SoundCharts publishes today's daily rankings today.
days = dg.DailyPartitionsDefinition(start_date=settings.partition_start(), end_offset=1)

chart_days = dg.MultiPartitionsDefinition({"chart": charts, "date": days})


def chart_day_key(slug: str, date: dt.date | str) -> dg.MultiPartitionKey:
    """The partition key of one chart's ranking on one date; rejects unusable slugs."""
    date = date.isoformat() if isinstance(date, dt.date) else date
    return dg.MultiPartitionKey({"chart": validate_slug(slug), "date": date})


def split_key(key: str) -> tuple[str, dt.date]:
    """(chart slug, date) of a ``chart_days`` key."""
    if isinstance(key, dg.MultiPartitionKey):
        parts = key.keys_by_dimension
        return parts["chart"], dt.date.fromisoformat(parts["date"])
    slug, _, date = str(key).partition("|")
    return slug, dt.date.fromisoformat(date)


def first_day() -> dt.date:
    return dt.date.fromisoformat(settings.partition_start())


CHART_TAG = "musiccharts/chart"  # the chart a sync run is for
#: The run tags Dagster reads a partition range from (a single-run backfill sets the same).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
PARTITION_TAG = "dagster/partition"


def range_tags(slug: str, start: dt.date, end: dt.date) -> dict[str, str]:
    """Tags that make one run cover one chart's dates ``start..end`` (inclusive)."""
    return {
        RANGE_START_TAG: str(chart_day_key(slug, start)),
        RANGE_END_TAG: str(chart_day_key(slug, end)),
    }


def partition_request(slug: str, start: dt.date, end: dt.date) -> dict:
    """RunRequest keyword arguments for one chart's date range: a plain partition key for a
    single date, range tags otherwise."""
    if start == end:
        return {"partition_key": str(chart_day_key(slug, start)), "tags": {}}
    return {"tags": range_tags(slug, start, end)}


def chart_dates_of_run(tags: dict[str, str]) -> dict[str, tuple[dt.date, dt.date]]:
    """{chart: (first, last date)} that a run's tags cover; empty for an unpartitioned run.
    A range across charts (a multi-chart backfill) is taken as its whole date span for both
    ends' charts: an over-estimate, which only makes the duplicate guard more careful."""
    if PARTITION_TAG in tags and "|" in tags[PARTITION_TAG]:
        slug, date = split_key(tags[PARTITION_TAG])
        return {slug: (date, date)}
    if RANGE_START_TAG in tags and RANGE_END_TAG in tags:
        (a, start), (b, end) = split_key(tags[RANGE_START_TAG]), split_key(tags[RANGE_END_TAG])
        span = (min(start, end), max(start, end))
        return {a: span, b: span}
    return {}
