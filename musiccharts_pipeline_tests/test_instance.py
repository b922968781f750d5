"""The root dagster.yaml is a working production instance on PostgreSQL."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import psycopg2
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage

ROOT = Path(__file__).resolve().parent.parent


@dg.asset
def probe() -> int:
    return 1


def test_root_dagster_yaml_stores_runs_in_postgres(pg_database, tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    for key, value in {
        "HOST": "127.0.0.1",
        "PORT": "5432",
        "USER": "postgres",
        "PASSWORD": "",
        "DB": pg_database,
    }.items():
        monkeypatch.setenv(f"DAGSTER_POSTGRES_{key}", value)

    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.run_coordinator, dg.QueuedRunCoordinator)
        assert instance.run_monitoring_enabled
        assert instance.run_retries_enabled
        result = dg.materialize([probe], instance=instance)
        assert result.success
        run_id = result.run_id
        assert instance.get_run_by_id(run_id).is_success

    conn = psycopg2.connect(host="127.0.0.1", user="postgres", dbname=pg_database)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM runs WHERE run_id = %s", (run_id,))
            assert cur.fetchone()[0] == 1
    finally:
        conn.close()


def test_pool_limit_is_configured():
    """Both instance files give the soundcharts_api pool (the only pool) a limit of 4."""
    import yaml

    for name in ("dagster.yaml", "deploy/dagster.local.yaml"):
        config = yaml.safe_load((ROOT / name).read_text())
        assert config["concurrency"]["pools"]["default_limit"] == 4, name
