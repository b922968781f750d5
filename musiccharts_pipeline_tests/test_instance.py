"""The root dagster.yaml is a working production instance on PostgreSQL."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import dagster as dg
import psycopg2
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage

from musiccharts_pipeline.instance_storage import POOL_LOCK_KEY, PoolSafePostgresEventLogStorage

ROOT = Path(__file__).resolve().parent.parent


@dg.asset
def probe() -> int:
    return 1


def _root_instance_home(pg_database, tmp_path, monkeypatch) -> None:
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


def test_root_dagster_yaml_stores_runs_in_postgres(pg_database, tmp_path, monkeypatch):
    _root_instance_home(pg_database, tmp_path, monkeypatch)
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PoolSafePostgresEventLogStorage)
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


def test_pool_slot_claims_wait_for_each_other(pg_database, tmp_path, monkeypatch):
    """A claim made while another process holds the slot lock waits for it (Dagster's own claim,
    in autocommit, would not), then claims; the pool's limit holds across claimers."""
    _root_instance_home(pg_database, tmp_path, monkeypatch)
    with dg.DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, PostgresEventLogStorage)
        storage.set_concurrency_slots("soundcharts_api", 1)
        other = psycopg2.connect(host="127.0.0.1", user="postgres", dbname=pg_database)
        other.autocommit = True
        with other.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s)", (POOL_LOCK_KEY,))
        claimed = []
        claimer = threading.Thread(
            target=lambda: claimed.append(
                storage.claim_concurrency_slot("soundcharts_api", "run-a", "chart_rankings")
            )
        )
        claimer.start()
        # the claim is waiting on the pool's advisory lock (PostgreSQL says so), not done
        deadline = time.monotonic() + 30
        with other.cursor() as cur:
            while True:
                cur.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                )
                if cur.fetchone()[0]:
                    break
                assert claimer.is_alive() and time.monotonic() < deadline, "the claim never waited"
                time.sleep(0.05)
        assert claimed == []  # still waiting for the lock
        with other.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s)", (POOL_LOCK_KEY,))
        other.close()
        claimer.join(10)
        assert claimed[0].is_claimed
        second = storage.claim_concurrency_slot("soundcharts_api", "run-b", "chart_rankings")
        assert not second.is_claimed  # the one slot is held
        storage.free_concurrency_slot_for_step("run-a", "chart_rankings")
        third = storage.claim_concurrency_slot("soundcharts_api", "run-b", "chart_rankings")
        assert third.is_claimed


#: A run worker of its own: claims a soundcharts_api slot in a step and sleeps in it.
_SLOW_WORKER = r"""
import time
import dagster as dg

@dg.asset(pool="soundcharts_api")
def holds_the_api():
    time.sleep(600)

with dg.DagsterInstance.get() as instance:
    dg.materialize([holds_the_api], instance=instance)
"""


def test_a_killed_run_worker_gives_its_pool_slot_back(pg_database, tmp_path, monkeypatch):
    """kill -9 of a worker inside a pool step leaves the slot claimed; once the run is marked
    ended (run monitoring does it for a dead worker), the daemon's slot iteration frees it, as
    the instance configurations now ask, and the next run in the pool goes through."""
    import logging
    import os
    import signal
    import subprocess
    import sys
    import types

    import yaml
    from dagster._daemon.monitoring.concurrency import execute_concurrency_slots_iteration

    for config in ("dagster.yaml", "deploy/dagster.local.yaml", "deploy/dagster.docker.yaml"):
        seconds = yaml.safe_load((ROOT / config).read_text())["run_monitoring"]
        assert 0 < seconds["free_slots_after_run_end_seconds"] <= 300, config
    _root_instance_home(pg_database, tmp_path, monkeypatch)
    home = Path(os.environ["DAGSTER_HOME"])
    config = yaml.safe_load((home / "dagster.yaml").read_text())
    config["run_monitoring"]["free_slots_after_run_end_seconds"] = 1  # the test's patience
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    with dg.DagsterInstance.get() as instance:
        instance.event_log_storage.set_concurrency_slots("soundcharts_api", 1)
        worker = subprocess.Popen([sys.executable, "-c", _SLOW_WORKER], env=dict(os.environ))
        try:
            deadline = time.monotonic() + 120
            while (
                instance.event_log_storage.get_concurrency_info("soundcharts_api").active_slot_count
                != 1
            ):
                assert worker.poll() is None and time.monotonic() < deadline, "no slot claimed"
                time.sleep(0.2)
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait(30)
        (record,) = instance.get_run_records()
        assert record.dagster_run.status == dg.DagsterRunStatus.STARTED  # the worker is gone
        assert (
            instance.event_log_storage.get_concurrency_info("soundcharts_api").active_slot_count
            == 1
        )
        instance.report_run_failed(record.dagster_run)
        # the monitoring daemon's iteration frees the slots of a run ended the configured
        # seconds ago: run it until the slot is free, with a deadline
        context = types.SimpleNamespace(instance=instance)
        deadline = time.monotonic() + 60
        while instance.event_log_storage.get_concurrency_info("soundcharts_api").active_slot_count:
            assert time.monotonic() < deadline, "the ended run's slot was never freed"
            list(execute_concurrency_slots_iteration(context, logging.getLogger("test")))
            time.sleep(0.2)

        @dg.asset(pool="soundcharts_api")
        def next_sync() -> int:
            return 1

        assert dg.materialize([next_sync], instance=instance).success
