"""Dagster overhead: runs launched for a one-year backfill of one chart, and the share of wall
time spent outside the assets' own work."""

from __future__ import annotations

import datetime as dt
import tempfile
import time

import dagster as dg

from benchmarks.common import backfill, fresh_pipeline

TARGETS = {"runs_per_asset_for_year_backfill": ("<=", 1)}


def runs_per_asset(instance: dg.DagsterInstance, runs) -> dict[str, set[str]]:
    """The runs that materialized each asset."""
    per_asset: dict[str, set[str]] = {}
    for record in runs:
        run_id = record.dagster_run.run_id
        for event in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
            per_asset.setdefault(event.dagster_event.asset_key.to_user_string(), set()).add(run_id)
    return per_asset


def step_seconds(instance: dg.DagsterInstance, run_id: str) -> float:
    """Seconds the run's steps spent between their start and their success."""
    total, starts = 0.0, {}
    for event in instance.all_logs(run_id):
        if event.dagster_event is None:
            continue
        kind = event.dagster_event.event_type_value
        if kind == "STEP_START":
            starts[event.step_key] = event.timestamp
        elif kind == "STEP_SUCCESS":
            total += event.timestamp - starts[event.step_key]
    return total


def bench_dagster_overhead(days: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp, dg.DagsterInstance.ephemeral() as instance:
        resources, client = fresh_pipeline(tmp)
        world = client.simulator.world
        started = time.perf_counter()
        result = backfill(
            resources, instance, "global-28", world.today - dt.timedelta(days=days - 1), world.today
        )
        wall = time.perf_counter() - started
        assert result.success
        runs = instance.get_run_records()
        per_asset = runs_per_asset(instance, runs)
        steps = step_seconds(instance, result.run_id)
    return {
        "runs_per_asset_for_year_backfill": max(len(runs_) for runs_ in per_asset.values()),
        "runs_launched": len(runs),
        "year_backfill_one_chart_seconds": wall,
        "dagster_overhead_share": max(0.0, (wall - steps) / wall),
    }
