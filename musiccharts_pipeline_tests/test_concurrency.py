"""Eight chart syncs at once on a PostgreSQL-backed Dagster instance and a PostgreSQL
warehouse: no lock errors or deadlocks, and the soundcharts_api pool limit holds."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import dagster as dg
import psycopg2
import yaml

from musiccharts_pipeline.warehouse import SCHEMA, Warehouse

ROOT = Path(__file__).resolve().parent.parent
CHARTS = [
    "global-28",
    "top-200-us",
    "top-200-gb",
    "top-50-fr",
    "viral-50-global",
    "top-100-global",
    "shazam-top-50-us",
    "deezer-top-100-fr",
]
POOL_LIMIT = 2

SYNC_SCRIPT = r"""
import datetime as dt, sys
import dagster as dg
from musiccharts_pipeline.assets import CASCADE_ASSETS
from musiccharts_pipeline.partitions import chart_day_key
from musiccharts_pipeline.resources import SoundChartsResource, WarehouseResource

slug, url = sys.argv[1], sys.argv[2]
with dg.DagsterInstance.get() as instance:
    result = dg.materialize(
        CASCADE_ASSETS, instance=instance, raise_on_error=False,
        partition_key=str(chart_day_key(slug, dt.date.today())),
        resources={"warehouse": WarehouseResource(url=url), "soundcharts": SoundChartsResource()},
    )
    print(result.run_id)
    sys.exit(0 if result.success else 1)
"""


def test_eight_syncs_at_once_hold_the_pool_limit(pg_database, tmp_path, monkeypatch):
    storage_db = pg_database
    warehouse_db = f"mc_test_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{warehouse_db}"')
    try:
        home = tmp_path / "dagster_home"
        home.mkdir()
        config = yaml.safe_load((ROOT / "dagster.yaml").read_text())
        config["concurrency"]["pools"]["default_limit"] = POOL_LIMIT
        (home / "dagster.yaml").write_text(yaml.safe_dump(config))
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "DAGSTER_POSTGRES_HOST": "127.0.0.1",
            "DAGSTER_POSTGRES_PORT": "5432",
            "DAGSTER_POSTGRES_USER": "postgres",
            "DAGSTER_POSTGRES_PASSWORD": "",
            "DAGSTER_POSTGRES_DB": storage_db,
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        url = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{warehouse_db}"
        Warehouse(url).migrate()
        with dg.DagsterInstance.get() as instance:
            instance.add_dynamic_partitions("charts", CHARTS)
            # set the pool's limit up front, as `make dagster-home` does: left to the first
            # runs, Dagster initialises it lazily and two runs racing to do so collide
            instance.event_log_storage.set_concurrency_slots("soundcharts_api", POOL_LIMIT)

        procs = [
            subprocess.Popen(
                [sys.executable, "-c", SYNC_SCRIPT, slug, url],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for slug in CHARTS
        ]
        outputs = [p.communicate(timeout=600) for p in procs]
        for proc, (_, err) in zip(procs, outputs, strict=True):
            assert proc.returncode == 0, err[-2000:]
            assert "deadlock" not in err.lower() and "could not set lock" not in err.lower()

        with dg.DagsterInstance.get() as instance:
            runs = instance.get_run_records()
            assert len(runs) == 8 and all(r.dagster_run.is_success for r in runs)
            intervals = []
            for record in runs:
                starts = {}
                for event in instance.all_logs(record.dagster_run.run_id):
                    kind = event.dagster_event and event.dagster_event.event_type_value
                    if kind == "STEP_START":
                        starts[event.step_key] = event.timestamp
                    elif kind == "STEP_SUCCESS" and event.step_key != "genres":
                        intervals.append((starts[event.step_key], event.timestamp))
        assert len(intervals) == 8 * 5  # every API-calling step of every run
        edges = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
        busy = peak = 0
        for _, delta in edges:
            busy += delta
            peak = max(peak, busy)
        assert peak <= POOL_LIMIT
        assert peak == POOL_LIMIT  # and the runs did overlap up to it

        wh = Warehouse(url)
        stored = wh.read_frame(
            f"SELECT chart_slug, count(*) AS n FROM {SCHEMA}.chart_rankings GROUP BY chart_slug"
        )
        assert sorted(stored.chart_slug) == sorted(CHARTS)
        assert (
            wh.scalar(f"SELECT count(*) FROM {SCHEMA}.chart_sync_log WHERE status = 'failed'") == 0
        )
        wh.engine.dispose()
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{warehouse_db}" WITH (FORCE)')
        admin.close()
