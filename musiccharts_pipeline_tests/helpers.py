"""Shared test helpers: the data tables, and a driver that ticks the sensors as the daemon does."""

from __future__ import annotations

import dagster as dg
from dagster._core.definitions.partitions.context import partition_loading_context

from musiccharts_pipeline import assets, automation, dashboard, dbt

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


def _defs(pipeline):
    return dg.Definitions.merge(
        assets.defs, dbt.defs, dashboard.defs, automation.defs, dg.Definitions(resources=pipeline)
    )


def apply_partition_requests(instance: dg.DagsterInstance, changes) -> None:
    """A tick's dynamic partition requests, added and deleted as the daemon applies them."""
    for change in changes or []:
        if isinstance(change, dg.DeleteDynamicPartitionsRequest):
            for key in change.partition_keys:
                instance.delete_dynamic_partition(change.partitions_def_name, key)
        else:
            instance.add_dynamic_partitions(change.partitions_def_name, change.partition_keys)


class Sensors:
    """Ticks the sensors as the daemon does, keeping their cursors, and runs what they ask."""

    def __init__(self, pipeline, instance):
        self.defs, self.instance = _defs(pipeline), instance
        self.resources = {**pipeline, "dbt": dbt.dbt_cli}
        self.cursors: dict[str, str | None] = {}
        self.requests: list[dg.RunRequest] = []
        self.skip_message: str | None = None

    def tick(self, sensor) -> list[dg.RunRequest]:
        """One evaluation through Dagster's own ``evaluate_tick``, keeping the cursor it returns
        (the old one on a bare skip, as the daemon does) and applying its partition requests."""
        with dg.build_sensor_context(  # a context manager: it sets the resources up
            instance=self.instance,
            # as the daemon's: run requests resolve against the tick's own partition requests
            instance_ref=self.instance.get_ref() if self.instance.is_persistent else None,
            cursor=self.cursors.get(sensor.name),
            resources=self.resources,
            definitions=self.defs,
        ) as context:
            with partition_loading_context(dynamic_partitions_store=self.instance):  # as the daemon
                data = sensor.evaluate_tick(context)
        self.cursors[sensor.name] = data.cursor
        apply_partition_requests(self.instance, data.dynamic_partitions_requests)
        self.skip_message = data.skip_message
        requests = list(data.run_requests or [])
        self.requests += requests
        return requests

    def run(self, request: dg.RunRequest, job_name: str = "chart_sync", succeed: bool = True):
        job = self.defs.resolve_job_def(request.job_name or job_name)
        selection = list(request.asset_selection)
        if request.asset_check_keys is not None:  # the subset the daemon's run would execute
            job = job.get_subset(
                asset_selection=set(selection),
                asset_check_selection=set(request.asset_check_keys),
            )
            selection = None  # subset already: selecting again would drop the checks
        result = job.execute_in_process(
            instance=self.instance,
            partition_key=request.partition_key,
            asset_selection=selection,
            tags=request.tags,
            resources=self.resources,
            raise_on_error=succeed,
        )
        assert result.success or not succeed
        return result
