"""The sync sensor on an ephemeral instance, and the cascade's automation conditions."""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import pytest

from musiccharts_pipeline.assets import CASCADE_ASSETS
from musiccharts_pipeline.automation.sync_sensor import chart_sync_sensor
from musiccharts_pipeline.partitions import chart_day_key, first_day
from musiccharts_pipeline.sync import rankings, subscriptions
from musiccharts_pipeline.sync.rules import HISTORY_DAYS, RECENT_DAYS, utcnow

pytestmark = pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)


def _tick(pipeline, instance, cursor=None):
    context = dg.build_sensor_context(instance=instance, resources=pipeline, cursor=cursor)
    return chart_sync_sensor(context)


def test_new_subscription_adds_partition_and_launches_one_historical_fill(pipeline):
    wh, client = pipeline["warehouse"].get(), pipeline["soundcharts"].get()
    subscriptions.add(wh, client, "top-50-fr", sync_historical_data=True)
    instance = dg.DagsterInstance.ephemeral()

    result = _tick(pipeline, instance)
    assert isinstance(result, dg.SensorResult)
    [add] = result.dynamic_partitions_requests
    assert add.partitions_def_name == "charts" and list(add.partition_keys) == ["top-50-fr"]
    [request] = result.run_requests
    today = client.simulator.world.today
    start = max(first_day(), today - dt.timedelta(days=HISTORY_DAYS))
    assert request.run_key == f"history:top-50-fr:{start}:{today}"
    assert request.tags["dagster/asset_partition_range_start"] == f"top-50-fr|{start}"
    assert request.tags["dagster/asset_partition_range_end"] == f"top-50-fr|{today}"
    assert request.tags["musiccharts/only_missing"] == "true"
    assert {k.path[-1] for k in request.asset_selection} == {a.key.path[-1] for a in CASCADE_ASSETS}
    assert subscriptions.get_subscription(wh, "top-50-fr").historical_backfill_id == request.run_key

    # the next check, once due again, asks only for the recent dates: the fill was launched once
    instance.add_dynamic_partitions("charts", ["top-50-fr"])
    again = _tick(pipeline, instance)
    assert all(r.run_key.startswith("sync:") for r in again.run_requests)
    assert again.dynamic_partitions_requests == []


def test_due_rankings_get_deterministic_run_keys_then_nothing_is_due(pipeline):
    wh, client = pipeline["warehouse"].get(), pipeline["soundcharts"].get()
    subscriptions.add(wh, client, "top-50-fr")
    instance = dg.DagsterInstance.ephemeral()
    result = _tick(pipeline, instance)
    today = client.simulator.world.today
    dates = [today - dt.timedelta(days=k) for k in range(RECENT_DAYS, -1, -1)]
    assert [r.run_key for r in result.run_requests] == [f"sync:top-50-fr:{d}" for d in dates]
    assert [r.partition_key for r in result.run_requests] == [
        str(chart_day_key("top-50-fr", d)) for d in dates
    ]
    # once they are stored nothing is due, even with the interval elapsed
    available = client.available_rankings("top-50-fr", since=dates[0])
    published = {dt.date.fromisoformat(d[:10]): d for d in available.datetimes}
    rankings.sync_rankings(client, wh, "top-50-fr", dates, published, "test-run")
    instance.add_dynamic_partitions("charts", ["top-50-fr"])
    skipped = _tick(pipeline, instance)
    assert isinstance(skipped, dg.SkipReason)


def test_not_due_within_the_check_interval_costs_no_api_call(pipeline):
    wh, client = pipeline["warehouse"].get(), pipeline["soundcharts"].get()
    subscriptions.add(wh, client, "tiktok-top-50-weekly")
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("charts", ["tiktok-top-50-weekly"])
    client.simulator.reset_log()
    cursor = json.dumps({"tiktok-top-50-weekly": utcnow().isoformat()})
    result = _tick(pipeline, instance, cursor)
    assert isinstance(result, dg.SkipReason)
    assert client.simulator.request_log == []


def test_auto_fetch_flags_narrow_the_selection(pipeline):
    wh, client = pipeline["warehouse"].get(), pipeline["soundcharts"].get()
    subscriptions.add(wh, client, "top-50-fr", auto_fetch_metadata=False)
    subscriptions.add(wh, client, "viral-50-global", auto_fetch_audience=False)
    result = _tick(pipeline, dg.DagsterInstance.ephemeral())
    selections = {
        r.tags["musiccharts/chart"]: {k.path[-1] for k in r.asset_selection}
        for r in result.run_requests
    }
    assert selections["top-50-fr"] == {"chart_rankings"}
    assert selections["viral-50-global"] == {"chart_rankings", "tracks", "artists", "genres"}


def test_paused_subscription_is_not_synced(pipeline):
    wh, client = pipeline["warehouse"].get(), pipeline["soundcharts"].get()
    subscriptions.add(wh, client, "top-50-fr")
    subscriptions.set_active(wh, "top-50-fr", False)
    assert isinstance(_tick(pipeline, dg.DagsterInstance.ephemeral()), dg.SkipReason)


def test_a_backfilled_ranking_cascades_downstream(pipeline):
    """eager() alone ignores dates outside the latest window; ours cascades an old date too."""
    client = pipeline["soundcharts"].get()
    defs = dg.Definitions(assets=CASCADE_ASSETS, resources=pipeline)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("charts", ["top-50-fr"])
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    old = str(chart_day_key("top-50-fr", client.simulator.world.today - dt.timedelta(days=40)))
    dg.materialize(
        CASCADE_ASSETS,
        selection=["chart_rankings"],
        partition_key=old,
        resources=pipeline,
        instance=instance,
    )
    second = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    requested = {
        key.path[-1]: set(second.get_requested_partitions(key))
        for key in (dg.AssetKey(a) for a in ("tracks", "artists", "track_audience"))
    }
    assert old in requested["tracks"]
    assert second.total_requested >= 1


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
    planned = refresh.plan(wh)
    assert len(planned.track_metadata) == 50 and len(planned.track_audience) == 50
    assert planned.artist_metadata == []
    sim.reset_log()
    result = refresh_stale_job.execute_in_process(resources=pipeline, instance=instance)
    assert result.success
    counts = sim.successful_counts()
    assert counts["song"] == 50
    # audience: only the dates after the newest stored one (today's points are stored already)
    assert counts.get("song_audience", 0) == 0
    assert refresh.plan(wh).api_calls == 0


def test_dbt_models_build_once_then_rebuild_once_per_tick_after_new_rankings(pipeline):
    """dbt models are unpartitioned: a fresh deployment builds them all once; afterwards new
    rankings request each mart once per tick, not once per raw partition."""
    from dagster_dbt import DbtCliResource

    from musiccharts_pipeline import dashboard
    from musiccharts_pipeline import dbt as dbt_defs

    client = pipeline["soundcharts"].get()
    defs = dg.Definitions.merge(
        dg.Definitions(assets=CASCADE_ASSETS, resources=pipeline), dbt_defs.defs, dashboard.defs
    )
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("charts", ["top-50-fr"])
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    analytics = [*dbt_defs.musiccharts_dbt.keys, dashboard.dashboard.key]
    assert {k: first.get_num_requested(k) for k in analytics} == {k: 1 for k in analytics}
    assert first.get_num_requested(dg.AssetKey("tracks")) == 0

    built = dg.materialize(
        [dbt_defs.musiccharts_dbt, dashboard.dashboard],
        instance=instance,
        resources={**pipeline, "dbt": DbtCliResource(project_dir=dbt_defs.dbt_project)},
    )
    assert built.success  # an empty warehouse builds and passes its tests
    quiet = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    assert quiet.total_requested == 0

    today = client.simulator.world.today
    for k in range(2):
        key = str(chart_day_key("top-50-fr", today - dt.timedelta(days=k)))
        dg.materialize(
            CASCADE_ASSETS,
            selection=["chart_rankings"],
            partition_key=key,
            resources=pipeline,
            instance=instance,
        )
    after = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=quiet.cursor)
    assert after.get_num_requested(dg.AssetKey("tracks")) == 2
    for mart in ("top_tracks", "chart_latest_rankings", "chart_health", "dashboard"):
        assert after.get_num_requested(dg.AssetKey(mart)) == 1
