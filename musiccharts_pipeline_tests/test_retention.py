"""prune_history: old finished runs go, but never the latest materialization of a partition."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from musiccharts_pipeline.assets.materialize import materialize_chart
from musiccharts_pipeline.automation.retention import prune
from musiccharts_pipeline.sync.rules import utcnow

pytestmark = pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)
RANKINGS = dg.AssetKey("chart_rankings")


def test_old_runs_are_pruned_but_not_those_holding_a_partitions_latest_materialization(pipeline):
    today = pipeline["soundcharts"].get().simulator.world.today
    d1, d2 = today - dt.timedelta(days=1), today
    with dg.instance_for_test() as instance:

        def sync(start, end):
            return materialize_chart(
                pipeline, instance, "top-50-fr", start, end, selection=[RANKINGS]
            ).run_id

        both, second, first = sync(d1, d2), sync(d2, d2), sync(d1, d1)  # `both` now holds none
        partitions = instance.get_materialized_partitions(RANKINGS)
        assert len(partitions) == 2

        young = prune(instance, [RANKINGS], utcnow(), days=1)
        assert young == {"deleted": 0, "kept_for_latest": 0}  # nothing is old enough yet

        done = prune(instance, [RANKINGS], utcnow() + dt.timedelta(days=2), days=1)
        assert done == {"deleted": 1, "kept_for_latest": 2}
        assert instance.get_run_by_id(both) is None
        assert instance.get_run_by_id(second) and instance.get_run_by_id(first)
        assert instance.get_materialized_partitions(RANKINGS) == partitions  # the UI's status
        latest = instance.get_latest_materialization_event(RANKINGS)
        assert latest is not None and latest.run_id == first


def test_the_job_prunes_with_the_retention_setting(pipeline, monkeypatch):
    from musiccharts_pipeline_tests.helpers import _defs

    monkeypatch.setenv("MUSICCHARTS_RUN_RETENTION_DAYS", "1")
    with dg.instance_for_test() as instance:
        job = _defs(pipeline).resolve_job_def("prune_history_job")
        result = job.execute_in_process(instance=instance)
        assert result.success
        logged = [
            e.message for e in instance.all_logs(result.run_id) if "retention 1 days" in e.message
        ]
        assert logged == ["retention 1 days: {'deleted': 0, 'kept_for_latest': 0}"]
    monkeypatch.setenv("MUSICCHARTS_RUN_RETENTION_DAYS", "0")
    with pytest.raises(ValueError, match="MUSICCHARTS_RUN_RETENTION_DAYS"):
        from musiccharts_pipeline import settings

        settings.run_retention_days()
