"""The weekly refresh job of aged metadata and audience."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from musiccharts_pipeline.assets import CASCADE_ASSETS
from musiccharts_pipeline.partitions import chart_day_key
from musiccharts_pipeline.sync.rules import utcnow

pytestmark = pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)


def test_refresh_stale_job_refreshes_aged_entities(pipeline):
    from musiccharts_pipeline.automation.refresh import refresh_stale_job
    from musiccharts_pipeline.sync import refresh

    client = pipeline["soundcharts"].get()
    wh, sim = pipeline["warehouse"].get(), client.simulator
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("charts", ["top-50-fr"])
    dg.materialize(
        CASCADE_ASSETS,
        resources=pipeline,
        instance=instance,
        partition_key=str(chart_day_key("top-50-fr", sim.world.today)),
    )
    old = utcnow() - dt.timedelta(days=40)
    wh.execute(
        "UPDATE soundcharts.tracks SET metadata_fetched_at = :t, audience_fetched_at = :t",
        {"t": old},
    )
    planned = refresh.stale_work(wh)
    assert len(planned.track_metadata) == 50 and len(planned.track_audience) == 50
    assert planned.artist_metadata == []
    sim.reset_log()
    result = refresh_stale_job.execute_in_process(resources=pipeline, instance=instance)
    assert result.success
    counts = sim.successful_counts()
    assert counts["song"] == 50
    # audience: only the dates after the newest stored one (today's points are stored already)
    assert counts.get("song_audience", 0) == 0
    assert refresh.stale_work(wh).api_calls == 0
