"""Rate-limited throughput: requests per second against a 20/s ceiling with 100 ms of simulator
latency."""

from __future__ import annotations

import datetime as dt
import tempfile

import dagster as dg

from benchmarks.common import backfill, fresh_pipeline

CEILING = 20
TARGETS = {"throughput_over_ceiling": (">=", 0.85)}


def bench_throughput(days: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp, dg.DagsterInstance.ephemeral() as instance:
        resources, client = fresh_pipeline(tmp, max_rps=CEILING, latency_ms=100)
        world = client.simulator.world
        assert backfill(
            resources, instance, "top-50-fr", world.today - dt.timedelta(days=days - 1), world.today
        ).success
        times = client.simulator.request_times
        rate = (len(times) - 1) / (times[-1] - times[0])
    return {
        "throughput_requests": len(times),
        "throughput_rps": rate,
        "throughput_over_ceiling": rate / CEILING,
    }
