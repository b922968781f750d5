"""Dagster overhead: the share of a one-year backfill's wall time spent outside the assets' own
work (one in-process run). How many runs a backfill takes is measured as the UI launches it, by
benchmarks/ui_backfill.py."""

from __future__ import annotations

import datetime as dt
import tempfile
import time

import dagster as dg

from benchmarks.common import backfill, fresh_pipeline

TARGETS: dict = {}


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
        steps = step_seconds(instance, result.run_id)
    return {
        "year_backfill_one_chart_seconds": wall,
        "dagster_overhead_share": max(0.0, (wall - steps) / wall),
    }
