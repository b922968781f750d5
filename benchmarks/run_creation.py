"""The creation of a new subscription's year-long history run on a PostgreSQL instance, as the
daemon creates it for the sync sensor's request: the run, its execution plan, and Dagster's
planned-materialization events (one per asset and partition: six assets over 366 dates, written
in batches by Dagster 1.13). Timed with Dagster's default, and with
DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS (one event per asset, but a failed run no longer
marks its partitions failed in the UI), for the record."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
import time
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from benchmarks.common import pg_database
from musiccharts_pipeline.automation.sync_sensor import history_request
from musiccharts_pipeline.partitions import charts
from musiccharts_pipeline.sync.subscriptions import Subscription

TARGETS = {"history_run_create_seconds": ("<=", 30)}
SUBSET_VARIABLE = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"


@contextlib.contextmanager
def postgres_instance(url: str):
    parts = sa.engine.make_url(url)
    with tempfile.TemporaryDirectory() as home:
        Path(home, "dagster.yaml").write_text(
            "telemetry:\n  enabled: false\nstorage:\n  postgres:\n    postgres_db:\n"
            f"      hostname: {parts.host}\n      port: {parts.port}\n"
            f"      username: {parts.username}\n      password: ''\n"
            f"      db_name: {parts.database}\n"
        )
        instance = dg.DagsterInstance.from_config(home)
        try:
            yield instance
        finally:
            instance.dispose()


def _create(instance: dg.DagsterInstance, job, request: dg.RunRequest) -> tuple[float, int]:
    started = time.perf_counter()
    run = instance.create_run_for_job(
        job_def=job, tags=request.tags, asset_selection=frozenset(request.asset_selection)
    )
    seconds = time.perf_counter() - started
    planned = instance.get_records_for_run(
        run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
    ).records
    return seconds, len(planned)


def bench_run_creation(quick: bool = False) -> dict:
    from musiccharts_pipeline.definitions import defs

    job = defs.resolve_job_def("chart_sync")
    today = dt.date.today()
    days = 60 if quick else 366
    listed = [today - dt.timedelta(days=k) for k in range(days)][::-1]
    sub = Subscription(chart_slug="global-28", platform="spotify", frequency="daily")
    request = history_request(sub, listed, set(), today)
    assert request is not None
    out = {}
    with pg_database() as url, postgres_instance(url) as instance:
        instance.add_dynamic_partitions(charts.name, ["global-28"])
        _create(instance, job, request)  # warm: the plan, the storage's connections
        seconds, planned = _create(instance, job, request)
        os.environ[SUBSET_VARIABLE] = "true"
        try:
            subset_seconds, subset_planned = _create(instance, job, request)
        finally:
            del os.environ[SUBSET_VARIABLE]
    assert planned >= days, "the run planned fewer events than partitions: nothing measured"
    out["history_run_create_seconds"] = round(seconds, 2)
    out["history_run_planned_events"] = planned
    out["history_run_create_seconds_subset_events"] = round(subset_seconds, 2)
    out["history_run_planned_events_subset"] = subset_planned
    out["history_run_partitions"] = days
    return out
