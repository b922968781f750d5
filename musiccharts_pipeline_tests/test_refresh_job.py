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
    # the refresh is a materialization of what it rewrote, so the analytics build follows it
    wrote = {
        e.asset_key.to_user_string()
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION
    }
    assert wrote == {"tracks", "genres"}
    from musiccharts_pipeline.automation.cascade_sensor import analytics_request
    from musiccharts_pipeline_tests.helpers import _defs

    graph = _defs(pipeline).resolve_asset_graph()
    refresh_ids = [
        r.storage_id
        for r in instance.fetch_materializations(dg.AssetKey("tracks"), limit=10).records
        if r.run_id == result.run_id
    ]
    request, _ = analytics_request(instance, graph, wh, min(refresh_ids) - 1)
    selected = {k.to_user_string() for k in request.asset_selection}
    assert "top_tracks" in selected and "genre_popularity" in selected
