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
