"""Shared test helper: materialize the cascade for one chart's date or date range."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from musiccharts_pipeline import assets, automation, dashboard, dbt
from musiccharts_pipeline.assets import CASCADE_ASSETS
from musiccharts_pipeline.partitions import partition_request

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
    request = partition_request(slug, start, end or start)
    return dg.materialize(
        CASCADE_ASSETS,
        resources=resources,
        instance=instance,
        selection=selection,
        raise_on_error=raise_on_error,
        partition_key=request.get("partition_key"),
        tags=request["tags"],
    )


def _defs(pipeline):
    return dg.Definitions.merge(
        assets.defs, dbt.defs, dashboard.defs, automation.defs, dg.Definitions(resources=pipeline)
    )


class Sensors:
    """Ticks the sensors as the daemon does, keeping their cursors, and runs what they ask."""

    def __init__(self, pipeline, instance):
        self.defs, self.instance = _defs(pipeline), instance
        self.resources = {**pipeline, "dbt": dbt.dbt_cli}
        self.cursors: dict[str, str | None] = {}
        self.requests: list[dg.RunRequest] = []

    def tick(self, sensor) -> list[dg.RunRequest]:
        context = dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursors.get(sensor.name),
            resources=self.resources,
            definitions=self.defs,
        )
        result = sensor(context)
        if isinstance(result, dg.SensorResult):
            self.cursors[sensor.name] = result.cursor or self.cursors.get(sensor.name)
            for add in result.dynamic_partitions_requests or []:
                self.instance.add_dynamic_partitions(add.partitions_def_name, add.partition_keys)
            requests = list(result.run_requests or [])
        else:
            requests = []
        self.requests += requests
        return requests

    def run(self, request: dg.RunRequest, job_name: str = "chart_sync"):
        job = self.defs.resolve_job_def(request.job_name or job_name)
        result = job.execute_in_process(
            instance=self.instance,
            partition_key=request.partition_key,
            asset_selection=list(request.asset_selection),
            tags=request.tags,
            resources=self.resources,
        )
        assert result.success
        return result
