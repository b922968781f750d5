"""The code location as Dagster loads it: its assets, jobs, sensors, schedules and checks."""

from __future__ import annotations

import dagster as dg

from musiccharts_pipeline.dashboard.render import MARTS as DASHBOARD_MARTS
from musiccharts_pipeline.definitions import defs

SOUNDCHARTS = {"chart_rankings", "tracks", "artists", "genres", "track_audience", "artist_audience"}
#: the second root: the label's catalogue, and the albums of every synced track
CATALOGUE = {
    "watchlist_catalogue",
    "watchlist_tracks",
    "watchlist_artists",
    "watchlist_genres",
    "watchlist_audience",
    "albums",
}
#: the marts the dashboard reads, and the audience marts
MARTS = {*DASHBOARD_MARTS, "track_audience_daily", "artist_audience_daily"}


def test_the_code_location_loads_with_every_asset_job_sensor_and_schedule():
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    materializable = {
        key.to_user_string()
        for key in graph.get_all_asset_keys()
        if graph.get(key).is_materializable
    }
    assert SOUNDCHARTS | MARTS | {"dashboard"} <= materializable
    assert {k for k in keys if k.startswith("stg_")} >= {"stg_tracks", "stg_chart_subscriptions"}

    jobs = {job.name for job in defs.resolve_all_job_defs()} - {"__ASSET_JOB"}
    assert jobs == {
        "chart_sync",
        "analytics",
        "refresh_stale_job",
        "prune_history_job",
        "catalogue",
    }
    sensors = {s.name: s for s in defs.sensors}
    assert set(sensors) == {
        "chart_sync_sensor",
        "cascade_sensor",
        "alerts_sensor",
        "alert_on_run_failure",
    }
    assert {s.name for s in defs.schedules} == {
        "refresh_stale_job_schedule",
        "prune_history_job_schedule",
        "catalogue_schedule",
    }
    for name in ("chart_sync_sensor", "cascade_sensor"):
        assert sensors[name].default_status == dg.DefaultSensorStatus.RUNNING
    # the alert sensors run by default only where a webhook is configured (none here: conftest)
    for name in ("alerts_sensor", "alert_on_run_failure"):
        assert sensors[name].default_status == dg.DefaultSensorStatus.STOPPED
    assert isinstance(sensors["alert_on_run_failure"], dg.RunStatusSensorDefinition)

    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert {
        ("chart_rankings", "positions_contiguous"),
        ("chart_rankings", "chart_fresh"),
    } <= checks
    assert any(asset == "int_ranking_movements" for asset, _ in checks)  # dbt tests as checks


def test_no_asset_carries_an_automation_condition():
    """The sensors drive the cascade: a condition here would bring back per-partition ticks."""
    graph = defs.resolve_asset_graph()
    assert [k for k in graph.get_all_asset_keys() if graph.get(k).automation_condition] == []


def test_the_cascade_assets_share_the_pool_and_partitions_and_analytics_is_one_group():
    graph = defs.resolve_asset_graph()
    for name in SOUNDCHARTS:
        node = graph.get(dg.AssetKey(name))
        assert node.partitions_def is not None and node.backfill_policy is not None
    pools = {
        key.to_user_string(): assets_def.op.pool
        for assets_def in defs.assets
        if isinstance(assets_def, dg.AssetsDefinition) and assets_def.is_executable
        for key in assets_def.keys
    }
    assert {name for name, pool in pools.items() if pool == "soundcharts_api"} == (
        SOUNDCHARTS | CATALOGUE
    ) - {"genres", "watchlist_genres"}
    for name in CATALOGUE:  # the second root is not partitioned by chart and date
        assert graph.get(dg.AssetKey(name)).partitions_def is None
    analytics = dg.AssetSelection.groups("analytics").resolve(graph)
    assert {k.to_user_string() for k in analytics} >= MARTS | {"dashboard"}


def test_every_raw_table_names_the_asset_that_writes_it_and_models_depend_on_it():
    import json

    from musiccharts_pipeline.dbt import dbt_project
    from musiccharts_pipeline.dbt.assets import side_table_writers

    manifest = json.loads(dbt_project.manifest_path.read_text())
    writers = side_table_writers(manifest)
    for source in manifest["sources"].values():
        key = dg.AssetKey(source["meta"]["dagster"]["asset_key"])
        assert writers.get(key, key).to_user_string() in SOUNDCHARTS | CATALOGUE, source["name"]
    graph = defs.resolve_asset_graph()
    parents = {p.to_user_string() for p in graph.get(dg.AssetKey("stg_track_artists")).parent_keys}
    assert parents == {"tracks"}  # track_artists is a side table of tracks
    every_parent = {p for k in graph.get_all_asset_keys() for p in graph.get(k).parent_keys}
    assert not any(key in every_parent for key in writers)  # no model waits on a stand-in key


def test_dbt_is_parsed_at_import_only_under_dagster_dev(monkeypatch):
    """dagster-dbt's DbtProject idiom: the build prepares the manifest; a process importing the
    definitions parses an edited project only under `dagster dev` (prepare_if_dev)."""
    from pathlib import Path

    from musiccharts_pipeline.dbt import assets, dbt_project

    prepared = []
    monkeypatch.setattr(
        type(dbt_project.preparer), "prepare", lambda self, project: prepared.append(project)
    )
    monkeypatch.setattr(assets, "edited_since", lambda *args: [Path("models/edited.sql")])
    monkeypatch.delenv("DAGSTER_IS_DEV_CLI", raising=False)
    assert assets.manifest_path() == dbt_project.manifest_path
    assert prepared == []
    monkeypatch.setenv("DAGSTER_IS_DEV_CLI", "1")
    assert assets.manifest_path() == dbt_project.manifest_path
    assert prepared == [dbt_project]


def test_dbt_gets_the_warehouse_in_its_own_environment_only(monkeypatch, tmp_path):
    """dbt is started with the warehouse's variables; this process's environment is unchanged."""
    import os

    from musiccharts_pipeline.dbt import invoke

    monkeypatch.delenv("MUSICCHARTS_DBT_TARGET", raising=False)
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    invocation = invoke(["parse", "--quiet"], url, target_path=tmp_path / "target").wait()
    assert invocation.is_successful()
    assert "MUSICCHARTS_DBT_TARGET" not in os.environ
    assert invocation.process.args[0].endswith("dbt")
