"""cascade_sensor: rankings materialized alone reach the rest of the cascade; a sync reaches one
analytics build; partitions that a running run covers are never requested again."""

from __future__ import annotations

import datetime as dt
import threading

import dagster as dg
import pytest

from musiccharts_pipeline.assets.materialize import materialize_chart
from musiccharts_pipeline.automation.cascade_sensor import cascade_sensor
from musiccharts_pipeline.automation.sync_sensor import chart_sync_sensor
from musiccharts_pipeline.partitions import RANGE_END_TAG, RANGE_START_TAG, chart_day_key
from musiccharts_pipeline.sync import subscriptions
from musiccharts_pipeline_tests.helpers import Sensors

DOWNSTREAM = {"tracks", "artists", "genres", "track_audience", "artist_audience"}
#: The views that have dbt tests of their own (asset checks on them).
VIEW_CHECKS = {
    "stg_chart_rankings",
    "stg_chart_sync_log",
    "stg_track_artists",
    "stg_track_genres",
    "stg_genres",
}


def _names(request) -> set[str]:
    return {k.to_user_string() for k in request.asset_selection}


@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)
def test_rankings_materialized_alone_cascade_once_then_one_analytics_build(pipeline):
    client = pipeline["soundcharts"].get()
    instance = dg.DagsterInstance.ephemeral()
    sensors = Sensors(pipeline, instance)
    assert sensors.tick(cascade_sensor) == []  # a fresh instance builds nothing from nothing

    # a UI backfill of chart_rankings alone, over three old dates (one run, as single-run)
    today = client.simulator.world.today
    start, end = today - dt.timedelta(days=42), today - dt.timedelta(days=40)
    materialize_chart(pipeline, instance, "top-50-fr", start, end, selection=["chart_rankings"])

    [catch_up] = sensors.tick(cascade_sensor)
    assert _names(catch_up) == DOWNSTREAM
    assert (catch_up.tags[RANGE_START_TAG], catch_up.tags[RANGE_END_TAG]) == (
        str(chart_day_key("top-50-fr", start)),
        str(chart_day_key("top-50-fr", end)),
    )
    sensors.run(catch_up)

    [build] = sensors.tick(cascade_sensor)
    assert build.job_name == "analytics"
    assert {"dashboard", "top_tracks", "chart_health", "stg_tracks"} <= _names(build)
    sensors.run(build)
    assert sensors.tick(cascade_sensor) == []  # built once; nothing new since

    # a later change rebuilds only what is downstream of it, and leaves the views in place
    # (their SQL is unchanged) out of the run, with their checks still run
    materialize_chart(
        pipeline, instance, "top-50-fr", today, selection=list(DOWNSTREAM | {"chart_rankings"})
    )
    [rebuild] = sensors.tick(cascade_sensor)
    assert rebuild.job_name == "analytics" and "dashboard" in _names(rebuild)
    assert not {n for n in _names(rebuild) if n.startswith("stg_")} | (
        _names(rebuild) & {"int_ranking_entries"}
    )
    assert {"top_tracks", "int_ranking_movements", "track_audience_daily"} <= _names(rebuild)
    result = sensors.run(rebuild)
    checked = {e.asset_key.to_user_string() for e in result.get_asset_check_evaluations()}
    assert checked >= VIEW_CHECKS
    built = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert built == _names(rebuild)
    assert len(sensors.requests) == 3

    # a view dropped after the tick that left it out: the run fails on it (its tests and the
    # models that read it), and the retry the sensor requests builds it again
    materialize_chart(
        pipeline, instance, "top-50-fr", today, selection=list(DOWNSTREAM | {"chart_rankings"})
    )
    [again] = sensors.tick(cascade_sensor)
    assert not {n for n in _names(again) if n.startswith("stg_")}
    pipeline["warehouse"].get().execute("DROP VIEW analytics.stg_genres")
    assert not sensors.run(again, succeed=False).success
    [retry] = sensors.tick(cascade_sensor)
    assert retry.tags["musiccharts/attempt"] == "2"
    assert {n for n in _names(retry) if n.startswith("stg_")} == {"stg_genres"}
    sensors.run(retry)
    assert sensors.tick(cascade_sensor) == []


@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)
def test_one_sync_reaches_one_dbt_build_and_several_changes_share_it(pipeline):
    wh, client = pipeline["warehouse"].get(), pipeline["soundcharts"].get()
    subscriptions.add(wh, client, "top-50-fr")
    subscriptions.add(wh, client, "viral-50-global")
    instance = dg.DagsterInstance.ephemeral()
    sensors = Sensors(pipeline, instance)
    syncs = sensors.tick(chart_sync_sensor)
    assert sorted(r.tags["musiccharts/chart"] for r in syncs) == ["top-50-fr", "viral-50-global"]
    for request in syncs:
        assert _names(request) == DOWNSTREAM | {"chart_rankings"}
        sensors.run(request)
    builds = sensors.tick(cascade_sensor)
    assert [r.job_name for r in builds] == ["analytics"]  # the syncs carried their cascade
    sensors.run(builds[0])
    assert sensors.tick(cascade_sensor) == []
    dashboard_runs = instance.fetch_materializations(dg.AssetKey("dashboard"), limit=10).records
    assert len(dashboard_runs) == 1


class Hold:
    """Holds a run inside one client method until the test lets it go, so the sensors tick while
    the run is certainly in progress (no race with a run that happens to finish meanwhile)."""

    def __init__(self, monkeypatch, client, method: str):
        self.reached, self.release = threading.Event(), threading.Event()
        real = getattr(client, method)

        def held(*args, **kwargs):
            self.reached.set()
            assert self.release.wait(60), "the test never released the run"
            return real(*args, **kwargs)

        monkeypatch.setattr(client, method, held)


@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)
def test_partitions_of_a_running_sync_are_never_requested_again(pipeline, tmp_path, monkeypatch):
    """A sync run is in progress while both sensors tick: neither asks for its partitions, and
    analytics waits for it to finish. The run is held twice: while it fetches rankings (nothing
    materialized yet) and while it fetches tracks (chart_rankings materialized, the rest not)."""
    wh, client = pipeline["warehouse"].get(), pipeline["soundcharts"].get()
    subscriptions.add(wh, client, "top-50-fr")
    today = client.simulator.world.today
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        sensors = Sensors(pipeline, instance)
        [sync] = sensors.tick(chart_sync_sensor)
        holds = [Hold(monkeypatch, client, "ranking"), Hold(monkeypatch, client, "song")]
        # the same run, started by hand (say from the UI) before the sensor's run launched
        start = today - dt.timedelta(days=7)
        worker = threading.Thread(
            target=materialize_chart, args=(pipeline, instance, "top-50-fr", start, today)
        )
        worker.start()
        try:
            for hold in holds:
                assert hold.reached.wait(120), "the run never reached the held call"
                [run] = instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
                sensors.cursors.pop("chart_sync_sensor", None)  # check the chart again now
                assert sensors.tick(chart_sync_sensor) == []
                assert sensors.tick(cascade_sensor) == []
                assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED
                hold.release.set()
        finally:
            for hold in holds:
                hold.release.set()
            worker.join()
        rankings = instance.fetch_materializations(dg.AssetKey("chart_rankings"), limit=20)
        assert {r.run_id for r in rankings.records} == {run.run_id}
        [build] = sensors.tick(cascade_sensor)
        assert build.job_name == "analytics"
        assert [r.run_key for r in sensors.requests] == [sync.run_key, build.run_key]


@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)
def test_a_sync_that_failed_after_its_rankings_gets_its_cascade_caught_up(pipeline, monkeypatch):
    from musiccharts_pipeline.soundcharts import errors

    client = pipeline["soundcharts"].get()
    instance = dg.DagsterInstance.ephemeral()
    sensors = Sensors(pipeline, instance)
    today = client.simulator.world.today

    def refused(*args, **kwargs):
        raise errors.AuthError("invalid credentials")

    monkeypatch.setattr(client, "song", refused)  # tracks fails for good after chart_rankings
    run = materialize_chart(pipeline, instance, "top-50-fr", today, raise_on_error=False)
    assert not run.success
    assert instance.fetch_materializations(dg.AssetKey("chart_rankings"), limit=5).records
    monkeypatch.undo()
    [catch_up] = sensors.tick(cascade_sensor)
    assert _names(catch_up) == DOWNSTREAM
    assert catch_up.partition_key == str(chart_day_key("top-50-fr", today))
    sensors.run(catch_up)
    assert instance.fetch_materializations(dg.AssetKey("artist_audience"), limit=5).records


def test_what_a_run_covers_is_read_from_the_run_not_from_its_planned_events():
    """A daemon killed while it writes a run's planned events leaves them part-way; the run's
    asset selection is stored with the run itself, so coverage never depends on them. A run
    without a selection (a whole job) is still read from its plan."""
    from musiccharts_pipeline.automation.active_work import assets_of

    class PlanLost:
        asked = 0

        def get_records_for_run(self, run_id, of_type):
            self.asked += 1
            return type("Records", (), {"records": []})()

    instance = PlanLost()
    run = dg.DagsterRun(
        job_name="chart_sync",
        run_id="r1",
        asset_selection=frozenset(dg.AssetKey(a) for a in ("chart_rankings", "tracks")),
    )
    among = {"chart_rankings", "tracks", "artists"}
    assert assets_of(instance, run, among) == {"chart_rankings", "tracks"}
    assert instance.asked == 0
    assert assets_of(instance, dg.DagsterRun(job_name="chart_sync", run_id="r2"), among) == set()
    assert instance.asked == 1


@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)
def test_rankings_of_a_removed_chart_do_not_stop_the_sensor(pipeline, tmp_path):
    """A chart's rankings landed without their cascade, then its subscription and its partition
    key were removed: the tick passes over them (a request for a key that is gone would fail
    every tick after)."""
    wh, client = pipeline["warehouse"].get(), pipeline["soundcharts"].get()
    subscriptions.add(wh, client, "top-50-fr")
    day = client.simulator.world.today - dt.timedelta(days=1)
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        sensors = Sensors(pipeline, instance)
        sensors.tick(cascade_sensor)
        materialize_chart(pipeline, instance, "top-50-fr", day, selection=["chart_rankings"])
        subscriptions.remove(wh, "top-50-fr")
        instance.delete_dynamic_partition("charts", "top-50-fr")
        requests = sensors.tick(cascade_sensor)  # raised DagsterUnknownPartitionError before
        assert all(r.job_name == "analytics" for r in requests)
        assert sensors.tick(cascade_sensor) == []
