"""Eight chart syncs at once on a PostgreSQL-backed Dagster instance and a PostgreSQL
warehouse: no lock errors or deadlocks, and the soundcharts_api pool limit holds."""

from __future__ import annotations

import json
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

#: The simulator routes each API-calling step asks (a run executes its steps one after another).
STEP_OF_ROUTE = {
    "available_rankings": "chart_rankings",
    "ranking": "chart_rankings",
    "song": "tracks",
    "artist": "artists",
    "song_identifiers": "track_audience",
    "song_audience": "track_audience",
    "artist_audience": "artist_audience",
    "artist_streaming": "artist_audience",
}

SYNC_SCRIPT = r"""
import datetime as dt, json, sys
import dagster as dg
from musiccharts_pipeline.assets.materialize import materialize_chart
from musiccharts_pipeline.resources import SoundChartsResource, WarehouseResource

slug, url = sys.argv[1], sys.argv[2]
soundcharts = SoundChartsResource()
with dg.DagsterInstance.get() as instance:
    result = materialize_chart(
        {"warehouse": WarehouseResource(url=url), "soundcharts": soundcharts},
        instance, slug, dt.date.today(), raise_on_error=False,
    )
    simulator = soundcharts.get().simulator
    answered = [
        (route, t) for (route, _, status), t
        in zip(simulator.request_log, simulator.request_times) if status < 400
    ]
    print(result.run_id)
    print(json.dumps(answered))
    sys.exit(0 if result.success else 1)
"""


def api_intervals(answered: list[tuple[str, float]]) -> list[tuple[float, float]]:
    """Per API-calling step of one run: from its first answered request to its last. The
    simulator's clock (time.monotonic, shared by the processes of this machine) sees the API
    calls themselves, which happen strictly inside the step's pool slot; the event log's
    STEP_START/STEP_SUCCESS stamps do not bracket the slot hand-over between runs."""
    spans: dict[str, list[float]] = {}
    for route, t in answered:
        spans.setdefault(STEP_OF_ROUTE[route], []).append(t)
    return [(min(times), max(times)) for times in spans.values()]


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
        intervals = []
        for proc, (out, err) in zip(procs, outputs, strict=True):
            assert proc.returncode == 0, err[-2000:]
            assert "deadlock" not in err.lower() and "could not set lock" not in err.lower()
            intervals += api_intervals(json.loads(out.strip().splitlines()[-1]))

        with dg.DagsterInstance.get() as instance:
            runs = instance.get_run_records()
            assert len(runs) == 8 and all(r.dagster_run.is_success for r in runs)
        assert len(intervals) == 8 * 5  # every API-calling step of every run
        assert peak_overlap(intervals) <= POOL_LIMIT
        assert peak_overlap(intervals) == POOL_LIMIT  # and the runs did overlap up to it

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


def peak_overlap(intervals: list[tuple[float, float]]) -> int:
    """The most intervals open at one instant (an end and a start at the same instant do not
    overlap)."""
    edges = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    busy = peak = 0
    for _, delta in edges:
        busy += delta
        peak = max(peak, busy)
    return peak


def test_peak_overlap_counts_what_is_open_at_once():
    assert peak_overlap([(0, 2), (1, 3), (2, 4)]) == 2
    assert peak_overlap([(0, 5), (1, 2), (1.5, 3)]) == 3
