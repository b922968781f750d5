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
import datetime as dt, json, sys, time
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
    print(time.time() - time.monotonic())  # to place the run's event timestamps on that clock
    print(json.dumps(answered))
    sys.exit(0 if result.success else 1)
"""


def api_intervals(
    answered: list[tuple[str, float]], attempts: dict[str, list[float]]
) -> list[tuple[str, float, float]]:
    """Per attempt of each API-calling step of one run: from its first answered request to its
    last. The simulator's clock (time.monotonic, shared by the processes of this machine) sees
    the API calls themselves, which happen strictly inside the attempt's pool slot; the event
    log's STEP_START/STEP_SUCCESS stamps do not bracket the slot hand-over between runs. A
    retried step releases its slot between attempts, so each attempt is an interval of its own
    (``attempts``: the step's STEP_START times on the same clock)."""
    spans: dict[tuple[str, int], list[float]] = {}
    for route, t in answered:
        step = STEP_OF_ROUTE[route]
        attempt = sum(1 for start in attempts.get(step, []) if start <= t)
        spans.setdefault((step, attempt), []).append(t)
    return [(f"{step}#{n}", min(ts), max(ts)) for (step, n), ts in spans.items()]


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
        with dg.DagsterInstance.get() as instance:
            for proc, (out, err) in zip(procs, outputs, strict=True):
                assert proc.returncode == 0, err[-2000:]
                assert "deadlock" not in err.lower() and "could not set lock" not in err.lower()
                run_id, offset, answered = out.strip().splitlines()[-3:]
                attempts: dict[str, list[float]] = {}
                for event in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_START):
                    attempts.setdefault(event.step_key, []).append(event.timestamp - float(offset))
                intervals += [
                    (run_id[:8], *span) for span in api_intervals(json.loads(answered), attempts)
                ]
            runs = instance.get_run_records()
            assert len(runs) == 8 and all(r.dagster_run.is_success for r in runs)
        assert len({(run, step.split("#")[0]) for run, step, _, _ in intervals}) == 8 * 5
        peak, at = peak_overlap([(start, end) for _, _, start, end in intervals])
        during = [f"{run} {step}" for run, step, start, end in intervals if start <= at <= end]
        assert peak <= POOL_LIMIT, f"{peak} API-calling steps at once: {during}"
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


def peak_overlap(intervals: list[tuple[float, float]]) -> tuple[int, float]:
    """The most intervals open at one instant, and that instant (an end and a start at the
    same instant do not overlap)."""
    edges = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    busy = peak = 0
    at = 0.0
    for t, delta in edges:
        busy += delta
        if busy > peak:
            peak, at = busy, t
    return peak, at


def test_peak_overlap_counts_what_is_open_at_once():
    assert peak_overlap([(0, 2), (1, 3), (2, 4)]) == (2, 1)
    assert peak_overlap([(0, 5), (1, 2), (1.5, 3)]) == (3, 1.5)


def test_a_retried_step_is_one_interval_per_attempt():
    answered = [("song", 1.0), ("song", 2.0), ("song", 9.0), ("artist", 10.0)]
    spans = api_intervals(answered, {"tracks": [0.5, 8.0], "artists": [9.5]})
    assert sorted(spans) == [
        ("artists#1", 10.0, 10.0),
        ("tracks#1", 1.0, 2.0),
        ("tracks#2", 9.0, 9.0),
    ]
