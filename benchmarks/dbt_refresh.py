"""dbt refresh: an incremental refresh after one new day against a full build, over three charts.

dbt parses once before anything is timed (partial parsing then serves every invocation, so the
full build is not charged for a parse the refresh reuses). Each round times a full build, lands
one new day of one chart through the assets, then times the refresh; the median of the rounds is
reported. A build that selects nothing is timed too: dbt-core's own floor per invocation
(start-up, parse cache, connection), which no refresh can go below.
"""

from __future__ import annotations

import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

import dagster as dg

from benchmarks.common import backfill, fresh_pipeline
from musiccharts_pipeline.dbt import invoke

CHARTS = ("top-50-fr", "viral-50-global", "tiktok-top-50-weekly")
TARGETS: dict = {}


def bench_dbt(days: int, rounds: int = 3) -> dict:
    with tempfile.TemporaryDirectory() as tmp, dg.DagsterInstance.ephemeral() as instance:
        resources, client = fresh_pipeline(tmp)
        world = client.simulator.world
        start = world.today - dt.timedelta(days=days)
        last = world.today - dt.timedelta(days=rounds)  # each round then adds one new day
        for slug in CHARTS:
            assert backfill(resources, instance, slug, start, last).success
        url = resources["warehouse"].get().url

        # one target directory for every invocation: the warm-up parse leaves the partial-parse
        # cache there for this warehouse's profile, as a deployment's prepared project does
        # (dagster-dbt otherwise copies the repository's cache, made for another profile)
        target = Path(tmp) / "dbt-target"

        def timed(*args: str) -> float:
            started = time.perf_counter()
            invoke(list(args), url, raise_on_error=True, target_path=target).wait()
            return time.perf_counter() - started

        timed("parse")
        floors, fulls, refreshes = [], [], []
        for k in range(1, rounds + 1):
            floors.append(timed("build", "--select", "tag:benchmark_selects_nothing"))
            fulls.append(timed("build", "--full-refresh"))
            day = last + dt.timedelta(days=k)
            assert backfill(resources, instance, "top-50-fr", day, day).success
            refreshes.append(timed("build"))
    full, refresh, floor = (statistics.median(v) for v in (fulls, refreshes, floors))
    ratios = [r / f for r, f in zip(refreshes, fulls, strict=True)]
    return {
        "dbt_full_build_seconds": full,
        "dbt_refresh_seconds": refresh,
        "dbt_invocation_floor_seconds": floor,
        "dbt_refresh_over_full": statistics.median(ratios),
        "dbt_floor_over_full": floor / full,
    }
