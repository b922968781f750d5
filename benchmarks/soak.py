"""`make soak`: weeks of operation on the simulated clock, in minutes.

The code location runs as the daemon runs it: `chart_sync_sensor` evaluated through Dagster's
own ``evaluate_tick`` with the cursor carried from tick to tick, every run it requests executed
in process with the daemon's tags and selection (a run key the sensor already used is not run
again, as the daemon does; a failed run is retried as the instance's run retries do), on a
persistent SQLite instance and a DuckDB or PostgreSQL warehouse. The simulator publishes each
chart at its own hour with jitter, some rankings late, a few republished corrected.

Ticks are one simulated minute apart; the clock jumps over the minutes the sensor's cursor
proves idle (no chart's check has come), which `test_idle_ticks_carry_the_cursor_and_ask_the_api
_nothing` shows cost no call and request nothing. Every API call is counted, whichever path made
it.

The measured month starts after a two-day warm-up (``WARMUP``) from the subscriptions: their
first syncs bring the recent week (the product's lookback), and the sensor learns each chart's
publication time; the figures count from the end of the warm-up.

Scope of this version: the subscriptions are rankings only (the cascade's metadata and audience
are measured by the other benchmarks), so the minimum is exact: each publication's ranking pages
plus one availability check. Faults: 5% injected server errors for two days and a two-hour
outage (every call 503).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import dagster_instance, met  # noqa: E402
from musiccharts_pipeline import clock  # noqa: E402
from musiccharts_pipeline.automation.sync_sensor import Cursor, chart_sync_sensor  # noqa: E402
from musiccharts_pipeline.partitions import chart_dates_of_run  # noqa: E402
from musiccharts_pipeline.resources import SoundChartsResource, WarehouseResource  # noqa: E402
from musiccharts_pipeline.soundcharts.simulator import (  # noqa: E402
    SimulatedClient,
    Simulator,
    SimulatorConfig,
)
from musiccharts_pipeline.sync import subscriptions  # noqa: E402
from musiccharts_pipeline.warehouse import SCHEMA  # noqa: E402
from musiccharts_pipeline_tests.helpers import Sensors  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results.json"
MINUTE = dt.timedelta(minutes=1)
RUN_RETRIES = 3  # as the instance's run_retries.max_retries
WARMUP = dt.timedelta(days=2)
#: after the month, the sensor goes on for two days (not counted) so that the rankings published
#: near its end are stored and judged; a correction out in the last day may show either version
SETTLE = dt.timedelta(days=2)
DEBUG = bool(os.environ.get("SOAK_DEBUG"))

TARGETS = {
    "soak_api_calls_over_minimum": ("<=", 1.10),
    "soak_checks_per_publication": ("<=", 2),
    "soak_publication_to_stored_minutes_p95": ("<=", 60),
    "soak_runs_per_publication": ("<=", 1.05),
    "soak_warehouse_equals_truth": ("==", 1),
}


def _charts(world, count: int) -> list:
    """The simulator's own charts (daily, weekly, monthly), then its extra daily ones."""
    own = list(world.charts.values())
    return own[:count]


def _faults(start: dt.datetime, days: int) -> list[tuple[dt.datetime, dt.datetime, dict]]:
    """(from, until, faults): two days of 5% errors a third of the way in, a two-hour outage
    two thirds of the way in."""
    errors_at = start + dt.timedelta(days=days // 3, hours=6)
    outage_at = start + dt.timedelta(days=2 * days // 3, hours=14)
    return [
        (errors_at, errors_at + dt.timedelta(days=2), {"server_error": 0.05}),
        (outage_at, outage_at + dt.timedelta(hours=2), {"server_error": 1.0}),
    ]


def _bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class Soak:
    def __init__(self, pipeline, instance, home: Path, simulator: Simulator):
        self.sensors = Sensors(pipeline, instance)
        self.instance, self.home, self.simulator = instance, home, simulator
        self.launched: set[str] = set()
        self.stored_at: dict[tuple[str, dt.date, str], dt.datetime] = {}
        self.runs = self.retries = self.failed_runs = 0
        self.tick_seconds: list[float] = []
        self.ticks = self.skipped_minutes = 0
        self.sizes: list[tuple[dt.datetime, int]] = []

    def snapshot(self, simulator: Simulator, wall: float) -> dict:
        """What the measured month cost, taken at its end."""
        return {
            "calls": dict(simulator.counts()),
            "made": len(simulator.request_log),
            "runs": self.runs,
            "retries": self.retries,
            "failed_runs": self.failed_runs,
            "ticks": self.ticks,
            "tick_seconds": list(self.tick_seconds),
            "skipped_minutes": self.skipped_minutes,
            "wall": wall,
        }

    def next_check(self) -> dt.datetime | None:
        cursor = Cursor.load(self.sensors.cursors.get(chart_sync_sensor.name))
        subs = subscriptions.list_subscriptions(self.sensors.resources["warehouse"].get(), True)
        times = [cursor.timing(s.chart_slug).next_check for s in subs]
        if any(t is None for t in times):
            return None
        return min(times, default=None)

    def tick(self) -> None:
        started = time.perf_counter()
        requests = self.sensors.tick(chart_sync_sensor)
        self.tick_seconds.append(time.perf_counter() - started)
        self.ticks += 1
        for request in requests:
            if request.run_key in self.launched:
                continue  # the daemon runs a run key once
            self.launched.add(request.run_key)
            self.run(request)

    def run(self, request: dg.RunRequest) -> None:
        self.runs += 1
        for attempt in range(RUN_RETRIES + 1):
            result = self.sensors.run(request, succeed=False)
            if result.success:
                listed = json.loads(request.tags.get("musiccharts/published", "{}"))
                for slug, (first, last) in chart_dates_of_run(request.tags).items():
                    for iso, stamp in listed.items():
                        date = dt.date.fromisoformat(iso)
                        if first <= date <= last:
                            self.stored_at.setdefault((slug, date, stamp), clock.now())
                return
            self.retries += attempt < RUN_RETRIES
        self.failed_runs += 1


def soak(charts: int, days: int, warehouse: str, tmp: Path, faults: bool = True) -> dict:
    start = dt.datetime.combine(dt.date(2026, 6, 1), dt.time())
    end = start + dt.timedelta(days=days)
    config = SimulatorConfig(
        seed=7,
        today=(end + SETTLE).date(),
        publish_on_clock=True,
        extra_charts=max(0, charts - 15),
    )
    simulator = Simulator(config)
    url = warehouse if warehouse != "duckdb" else f"duckdb:///{tmp}/w.duckdb"
    pipeline = {
        "warehouse": WarehouseResource(url=url),
        # the client's retries back off in real seconds: a millisecond keeps every retry (each
        # counted by the simulator) without sleeping through a simulated outage
        "soundcharts": SoundChartsResource(
            max_rps=0, client=SimulatedClient(simulator, max_rps=0, backoff=0.001)
        ),
    }
    wh, client = pipeline["warehouse"].get(), pipeline["soundcharts"].get()
    wh.migrate()
    chosen = _charts(simulator.world, charts)
    faults = _faults(start, days) if faults else []
    clock.set_time(start - WARMUP)
    try:
        for chart in chosen:
            subscriptions.add(wh, client, chart.slug, auto_fetch_metadata=False)
        with dagster_instance(tmp) as (instance, home):
            state = Soak(pipeline, instance, home, simulator)
            wall = time.perf_counter()
            next_size = start
            counted = None
            while clock.now() < end + SETTLE:
                now = clock.now()
                if now == start:  # the warm-up is over: count from here
                    simulator.reset_log()
                    state.runs = state.retries = state.failed_runs = state.ticks = 0
                    state.tick_seconds, state.skipped_minutes = [], 0
                if now == end:  # the month is over: what it cost
                    counted = state.snapshot(simulator, time.perf_counter() - wall)
                active = [f for a, b, f in faults if a <= now < b]
                simulator.set_faults(active[0] if active else {})
                state.tick()
                if now >= next_size and now <= end:
                    state.sizes.append((now, _bytes(home)))
                    next_size += dt.timedelta(days=1)
                nxt = state.next_check()
                target = now + MINUTE if nxt is None else max(now + MINUTE, _ceil(nxt))
                bounds = [a for a, _, _ in faults if a > now] + [b for _, b, _ in faults if b > now]
                bounds += [t for t in (start, end, next_size) if t > now]
                target = min([target, end + SETTLE, *bounds])
                state.skipped_minutes += max(0, int((target - now) / MINUTE) - 1)
                clock.set_time(target)
            return _figures(state, counted, simulator, wh, chosen, start, end)
    finally:
        clock.set_time(None)


def _ceil(when: dt.datetime) -> dt.datetime:
    floor = when.replace(second=0, microsecond=0)
    return floor if floor == when else floor + MINUTE


def _figures(state: Soak, counted: dict, simulator, wh, chosen, start, end) -> dict:
    world = simulator.world
    final = clock.now() - MINUTE
    either: dict[tuple[str, dt.date], list[str]] = {}  # a correction too recent to be judged
    publications, corrections, pages, delays, fixes = 0, 0, 0, [], []
    expected: dict[tuple[str, dt.date], list[str]] = {}
    for chart in chosen:
        for date in world.chart_dates(chart):
            pub = world.publication(chart, date)
            if date < start.date() or pub.published_at >= end:
                continue
            versions = [(pub.published_at, pub.stamp(pub.published_at), delays)]
            if pub.corrected(final):
                versions.append((pub.corrected_at, pub.stamp(pub.corrected_at), fixes))
            for at, stamp, into in versions:
                pages += math.ceil(chart.size / 100)
                stored = state.stored_at.get((chart.slug, date, stamp))
                into.append((stored - at).total_seconds() / 60 if stored else float("inf"))
                if DEBUG and (not stored or into[-1] > 60):
                    print("slow", chart.slug, date, at, stored, stamp, file=sys.stderr)
            publications += 1
            corrections += len(versions) - 1
            with clock.simulated(final):
                ranking, _ = world.published_ranking(chart, date)
            expected[(chart.slug, date)] = [world.song_uuid(i) for i in ranking.songs]
            if pub.corrected_at is not None and pub.corrected_at > final - dt.timedelta(hours=26):
                original = world.ranking(chart, date)
                either[(chart.slug, date)] = [world.song_uuid(i) for i in original.songs]
    stored = wh.read_frame(
        f"SELECT chart_slug, ranking_date, position, song_uuid FROM {SCHEMA}.chart_ranking_entries "
        f"WHERE ranking_date >= :start AND ranking_date < :end "
        "ORDER BY chart_slug, ranking_date, position",
        {"start": start.date(), "end": end.date()},
    )
    got: dict[tuple[str, dt.date], list[str]] = {}
    for row in stored.itertuples():
        got.setdefault((row.chart_slug, _date(row.ranking_date)), []).append(row.song_uuid)
    differing = sum(
        1 for k in expected if got.get(k) != expected[k] and got.get(k) != either.get(k)
    ) + sum(1 for k in got if k not in expected)
    counts = counted["calls"]
    checks = counts.get("available_rankings", 0)
    made = counted["made"]
    sizes = [size for _, size in state.sizes]
    week = 7
    growth = None
    if len(sizes) > 2 * week:
        first = sizes[week] - sizes[0]
        last = sizes[-1] - sizes[-1 - week]
        growth = last / first if first else None
    finite = sorted(d for d in delays if math.isfinite(d))
    return {
        "soak_days": (end - start).days,
        "soak_charts": len(chosen),
        "soak_publications": publications,
        "soak_api_calls": made,
        "soak_api_calls_by_route": dict(counts),
        # the minimum: every version's ranking pages, one availability check per publication
        "soak_api_calls_over_minimum": made / (pages + publications),
        "soak_checks_per_publication": checks / publications,
        "soak_publication_to_stored_minutes_p95": _p95(delays),
        "soak_publication_to_stored_minutes_median": statistics.median(finite) if finite else None,
        "soak_publications_never_stored": sum(1 for d in delays if not math.isfinite(d)),
        # a correction is seen at the chart's next check (its next publication)
        "soak_corrections": corrections,
        "soak_correction_to_stored_minutes_max": max(fixes, default=0.0),
        "soak_runs_per_publication": counted["runs"] / (publications + corrections),
        "soak_run_retries": counted["retries"],
        "soak_runs_failed_after_retries": counted["failed_runs"],
        "soak_warehouse_equals_truth": int(differing == 0),
        "soak_rankings_differing": differing,
        "soak_instance_growth_last_over_first_week": growth,
        "soak_tick_seconds_p95": _p95(counted["tick_seconds"]),
        "soak_ticks_evaluated": counted["ticks"],
        "soak_minutes_skipped_idle": counted["skipped_minutes"],
        "soak_wall_seconds": counted["wall"],
    }


def _date(value) -> dt.date:
    return (
        value
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime)
        else (dt.date.fromisoformat(str(value)[:10]))
    )


def _p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=20)[-1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--charts", type=int, default=20)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument(
        "--warehouse",
        default="duckdb",
        help="duckdb (default), or postgresql for a throw-away PostgreSQL database",
    )
    parser.add_argument(
        "--no-faults", action="store_true", help="no injected errors or outage (their share)"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        url = "duckdb"
        if args.warehouse == "postgresql":
            from benchmarks.common import pg_database

            url = stack.enter_context(pg_database())
        figures = soak(args.charts, args.days, url, Path(tmp), faults=not args.no_faults)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results.update(figures)
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    missed = []
    print(f"\n{'figure':<44}{'value':>12}  target")
    for key, value in figures.items():
        if isinstance(value, dict):
            continue
        op, target = TARGETS.get(key, ("", ""))
        shown = f"{value:>12.3f}" if isinstance(value, float) else f"{value!s:>12}"
        print(f"{key:<44}{shown}  {op}{target}")
        if op and not met(value, op, target):
            missed.append(f"{key} = {value} (target {op} {target})")
    print(f"API calls by route: {figures['soak_api_calls_by_route']}")
    for line in missed:
        print(f"missed target: {line}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
