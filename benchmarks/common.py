"""What the benchmark figures share: a throw-away PostgreSQL database, a fresh pipeline on the
in-process simulator, and a chart's date range materialized through the assets."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import uuid
from pathlib import Path

import dagster as dg
import psycopg2

from musiccharts_pipeline.assets.materialize import materialize_chart
from musiccharts_pipeline.resources import SoundChartsResource, WarehouseResource

PG = "postgresql+psycopg2://postgres@127.0.0.1:5432/{db}"


@contextlib.contextmanager
def pg_databases(*suffixes: str):
    """New, empty PostgreSQL databases, one per suffix (their names), dropped on exit."""
    tag = uuid.uuid4().hex[:8]
    names = tuple(f"mc_bench_{tag}_{suffix}" for suffix in suffixes)
    admin = psycopg2.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        for name in names:
            cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield names
    finally:
        with admin.cursor() as cur:
            for name in names:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@contextlib.contextmanager
def pg_database():
    """A new, empty PostgreSQL database (its SQLAlchemy URL), dropped on exit."""
    with pg_databases("db") as (name,):
        yield PG.format(db=name)


def fresh_pipeline(tmp: str, max_rps: float = 0, latency_ms: int = 0):
    """Resources on a fresh DuckDB warehouse and a fresh in-process simulator."""
    os.environ["SOUNDCHARTS_SIMULATOR_LATENCY_MS"] = str(latency_ms)
    resources = {
        "warehouse": WarehouseResource(url=f"duckdb:///{tmp}/w.duckdb"),
        "soundcharts": SoundChartsResource.simulated(max_rps=max_rps),
    }
    return resources, resources["soundcharts"].get()


def backfill(resources, instance, slug: str, start: dt.date, end: dt.date):
    return materialize_chart(resources, instance, slug, start, end)


@contextlib.contextmanager
def dagster_instance(tmp: Path):
    """A persistent SQLite Dagster instance (as `make dev` has) in ``tmp``: (instance, home)."""
    home = tmp / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        yield instance, home
    finally:
        instance.dispose()


def met(value, op: str, target) -> bool:
    """Whether a figure meets its target (``op`` one of <=, >=, ==)."""
    return {">=": value >= target, "<=": value <= target, "==": value == target}[op]
