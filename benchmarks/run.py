"""`make bench`: the performance figures, each measured side by side in one run on this machine.

Prints a table and writes benchmarks/results.json. Needs PostgreSQL at 127.0.0.1:5432 (user
postgres); creates and drops its own databases.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import math
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pandas as pd
import psycopg2
import sqlalchemy as sa
from sqlalchemy import orm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the shared test helpers drive the sensors as the daemon does
RESULTS = ROOT / "benchmarks" / "results.json"
PG = "postgresql+psycopg2://postgres@127.0.0.1:5432/{db}"


@contextlib.contextmanager
def pg_database():
    name = f"mc_bench_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG.format(db=name)
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def entries(n: int) -> pd.DataFrame:
    """n ranking entries: 200 per ranking, as the writer receives them from the assets."""
    day0 = dt.date(2025, 1, 1)
    return pd.DataFrame(
        {
            "chart_slug": "global-28",
            "ranking_date": [day0 + dt.timedelta(days=i // 200) for i in range(n)],
            "position": [i % 200 + 1 for i in range(n)],
            "song_uuid": [str(uuid.UUID(int=i % 5000)) for i in range(n)],
            "song_name": [f"Song «{i % 5000}» it's" for i in range(n)],
            "credit_name": [f"Artist {i % 900}" for i in range(n)],
            "old_position": pd.array(
                [None if i % 13 == 0 else (i % 200) + 2 for i in range(n)], dtype="Int64"
            ),
            "position_evolution": [(-1) ** i for i in range(n)],
            "metric": [float(1_000_000 - i) for i in range(n)],
            "entry_state": ["" if i % 13 else "NEW" for i in range(n)],
            "entry_date": day0,
            "time_on_chart": [i % 40 + 1 for i in range(n)],
            "time_on_chart_unit": "DOC",
            "raw_json": [json.dumps({"position": i % 200 + 1}) for i in range(n)],
        }
    )


def bench_bulk(rows: int, orm_rows: int) -> dict:
    """Our writer (replace_partitions: a run's rankings in one load, as chart_rankings writes
    them) against row-at-a-time ORM inserts committed one by one (the old Django save()) and
    PostgreSQL's own COPY of the same rows into the same empty table."""
    from musiccharts_pipeline.warehouse import Warehouse

    frame = entries(rows)
    out = {}
    with pg_database() as url:
        wh = Warehouse(url)
        wh.migrate()
        raw = psycopg2.connect(url.replace("postgresql+psycopg2", "postgresql"))
        cols = ", ".join(frame.columns)

        def ours() -> float:
            started = time.perf_counter()
            wh.replace_partitions(frame, "chart_ranking_entries", ["chart_slug", "ranking_date"])
            return time.perf_counter() - started

        def ceiling() -> float:
            # the same rows rendered as CSV and copied straight into the table
            started = time.perf_counter()
            buf = io.StringIO()
            frame.to_csv(buf, index=False, header=False)
            buf.seek(0)
            with raw, raw.cursor() as cur:
                cur.copy_expert(
                    f"COPY soundcharts.chart_ranking_entries ({cols}) FROM STDIN CSV", buf
                )
            return time.perf_counter() - started

        # alternate the two into the same emptied table, three rounds, medians
        timings: dict[str, list[float]] = {"ours": [], "copy": []}
        for _ in range(3):
            for name, load in (("ours", ours), ("copy", ceiling)):
                wh.execute("TRUNCATE soundcharts.chart_ranking_entries")
                timings[name].append(load())
        out["ours_pg_rows_per_s"] = rows / statistics.median(timings["ours"])
        out["copy_pg_rows_per_s"] = rows / statistics.median(timings["copy"])
        raw.close()

        # row at a time through an ORM, one commit per row
        wh.execute("TRUNCATE soundcharts.chart_ranking_entries")
        engine = sa.create_engine(url)
        table = sa.Table(
            "chart_ranking_entries", sa.MetaData(), schema="soundcharts", autoload_with=engine
        )

        class Entry:
            pass

        registry = orm.registry()
        registry.map_imperatively(Entry, table)
        records = frame.head(orm_rows).astype(object).where(frame.head(orm_rows).notna(), None)
        started = time.perf_counter()
        with orm.Session(engine) as session:
            for record in records.to_dict("records"):
                obj = Entry()
                for key, value in record.items():
                    setattr(obj, key, value)
                session.add(obj)
                session.commit()
        out["orm_pg_rows_per_s"] = orm_rows / (time.perf_counter() - started)
        engine.dispose()
        wh.engine.dispose()

    with tempfile.TemporaryDirectory() as tmp:
        wh = Warehouse(f"duckdb:///{tmp}/bench.duckdb")
        wh.migrate()
        started = time.perf_counter()
        wh.replace_partitions(frame, "chart_ranking_entries", ["chart_slug", "ranking_date"])
        out["ours_duckdb_rows_per_s"] = rows / (time.perf_counter() - started)
    out["bulk_vs_row_at_a_time"] = out["ours_pg_rows_per_s"] / out["orm_pg_rows_per_s"]
    out["bulk_vs_copy_ceiling"] = out["ours_pg_rows_per_s"] / out["copy_pg_rows_per_s"]
    return out


def _fresh_pipeline(tmp: str, max_rps: float = 0, latency_ms: int = 0):
    """Resources on a fresh DuckDB warehouse and a fresh in-process simulator."""
    from musiccharts_pipeline.resources import SoundChartsResource, WarehouseResource
    from musiccharts_pipeline.resources.soundcharts import _client

    os.environ["SOUNDCHARTS_SIMULATOR_LATENCY_MS"] = str(latency_ms)
    _client.cache_clear()
    resources = {
        "warehouse": WarehouseResource(url=f"duckdb:///{tmp}/w.duckdb"),
        "soundcharts": SoundChartsResource(max_rps=max_rps),
    }
    return resources, resources["soundcharts"].get()


def _backfill(resources, instance, slug: str, start: dt.date, end: dt.date):
    from musiccharts_pipeline.assets.materialize import materialize_chart

    return materialize_chart(resources, instance, slug, start, end)


def bench_api_economy(days: int) -> dict:
    """Calls made over the minimum for a one-year backfill of three charts."""
    import dagster as dg

    from musiccharts_pipeline.sync.audience import (
        DEFAULT_PRIORITY_PLATFORMS,
        SOCIAL_PLATFORMS,
        SONG_AUDIENCE_PLATFORMS,
        STREAMING_PLATFORMS,
    )

    charts = ("top-50-fr", "viral-50-global", "tiktok-top-50-weekly")
    with tempfile.TemporaryDirectory() as tmp, dg.DagsterInstance.ephemeral() as instance:
        resources, client = _fresh_pipeline(tmp)
        world = client.simulator.world
        start = world.today - dt.timedelta(days=days - 1)
        started = time.perf_counter()
        for slug in charts:
            assert _backfill(resources, instance, slug, start, world.today).success
        seconds = time.perf_counter() - started
        made = len(client.simulator.request_log)
        pages, songs = 0, set()
        for slug in charts:
            chart = world.charts[slug]
            for date in world.chart_dates(chart):
                if date >= start:
                    ranking = world.ranking(chart, date)
                    pages += math.ceil(len(ranking.songs) / 100)
                    songs.update(ranking.songs)
        artists = {a for i in songs for a in world.song_artists(i)}
        song_platforms = [p for p in DEFAULT_PRIORITY_PLATFORMS if p in SONG_AUDIENCE_PLATFORMS]
        artist_platforms = [p for p in DEFAULT_PRIORITY_PLATFORMS if p in SOCIAL_PLATFORMS] + [
            p for p in DEFAULT_PRIORITY_PLATFORMS if p in STREAMING_PLATFORMS
        ]
        minimum = (
            pages
            + len(songs)
            + len(artists)
            + len(songs) * len(song_platforms)
            + len(artists) * len(artist_platforms)
        )
    return {
        "api_calls_made": made,
        "api_calls_minimum": minimum,
        "api_calls_over_minimum": made / minimum,
        "year_backfill_seconds": seconds,
        "distinct_songs": len(songs),
        "distinct_artists": len(artists),
    }


def bench_throughput(days: int) -> dict:
    """Requests per second against a 20/s ceiling with 100 ms of simulator latency."""
    import dagster as dg

    with tempfile.TemporaryDirectory() as tmp, dg.DagsterInstance.ephemeral() as instance:
        resources, client = _fresh_pipeline(tmp, max_rps=20, latency_ms=100)
        world = client.simulator.world
        assert _backfill(
            resources, instance, "top-50-fr", world.today - dt.timedelta(days=days - 1), world.today
        ).success
        times = client.simulator.request_times
        rate = (len(times) - 1) / (times[-1] - times[0])
    return {
        "throughput_requests": len(times),
        "throughput_rps": rate,
        "throughput_over_ceiling": rate / 20,
    }


def bench_dagster_overhead(days: int) -> dict:
    """Runs launched for a one-year backfill of one chart, and the share of wall time spent
    outside the assets' own work."""
    import dagster as dg

    with tempfile.TemporaryDirectory() as tmp, dg.DagsterInstance.ephemeral() as instance:
        resources, client = _fresh_pipeline(tmp)
        world = client.simulator.world
        started = time.perf_counter()
        result = _backfill(
            resources, instance, "global-28", world.today - dt.timedelta(days=days - 1), world.today
        )
        wall = time.perf_counter() - started
        assert result.success
        runs = instance.get_run_records()
        per_asset: dict[str, set[str]] = {}
        for record in runs:
            run_id = record.dagster_run.run_id
            for event in instance.all_logs(
                run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
            ):
                per_asset.setdefault(event.dagster_event.asset_key.to_user_string(), set()).add(
                    run_id
                )
        step_seconds = 0.0
        starts = {}
        for event in instance.all_logs(result.run_id):
            if event.dagster_event is None:
                continue
            kind = event.dagster_event.event_type_value
            if kind == "STEP_START":
                starts[event.step_key] = event.timestamp
            elif kind == "STEP_SUCCESS":
                step_seconds += event.timestamp - starts[event.step_key]
    return {
        "runs_per_asset_for_year_backfill": max(len(runs_) for runs_ in per_asset.values()),
        "runs_launched": len(runs),
        "year_backfill_one_chart_seconds": wall,
        "dagster_overhead_share": max(0.0, (wall - step_seconds) / wall),
    }


def bench_dbt(days: int, rounds: int = 3) -> dict:
    """Incremental refresh after one new day against a full build, over three charts.

    dbt parses once before anything is timed (partial parsing then serves every invocation, so
    the full build is not charged for a parse the refresh reuses). Each round times a full build,
    lands one new day of one chart through the assets, then times the refresh; the median of the
    rounds is reported. A build that selects nothing is timed too: dbt-core's own floor per
    invocation (start-up, parse cache, connection), which no refresh can go below.
    """

    import dagster as dg

    from musiccharts_pipeline.dbt import dbt_cli
    from musiccharts_pipeline.dbt.environment import apply_dbt_env

    charts = ("top-50-fr", "viral-50-global", "tiktok-top-50-weekly")
    with tempfile.TemporaryDirectory() as tmp, dg.DagsterInstance.ephemeral() as instance:
        resources, client = _fresh_pipeline(tmp)
        world = client.simulator.world
        start = world.today - dt.timedelta(days=days)
        last = world.today - dt.timedelta(days=rounds)  # each round then adds one new day
        for slug in charts:
            assert _backfill(resources, instance, slug, start, last).success
        apply_dbt_env(resources["warehouse"].get().url)
        dbt = dbt_cli

        # one target directory for every invocation: the warm-up parse leaves the partial-parse
        # cache there for this warehouse's profile, as a deployment's prepared project does
        # (dagster-dbt otherwise copies the repository's cache, made for another profile)
        target = Path(tmp) / "dbt-target"

        def timed(*args: str) -> float:
            started = time.perf_counter()
            dbt.cli(list(args), raise_on_error=True, target_path=target).wait()
            return time.perf_counter() - started

        timed("parse")
        floors, fulls, refreshes = [], [], []
        for k in range(1, rounds + 1):
            floors.append(timed("build", "--select", "tag:benchmark_selects_nothing"))
            fulls.append(timed("build", "--full-refresh"))
            day = last + dt.timedelta(days=k)
            assert _backfill(resources, instance, "top-50-fr", day, day).success
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


def bench_automation(quick: bool) -> dict:
    from benchmarks.automation import bench_automation as measure

    return measure(quick)


def bench_dbt_volume(quick: bool) -> dict:
    from benchmarks.dbt_volume import bench_dbt_volume as measure

    return measure(quick)


def bench_serve(quick: bool) -> dict:
    from benchmarks.serve import bench_serve as measure

    return measure(quick)


def main() -> int:
    import warnings

    warnings.filterwarnings("ignore", message=".*is currently in beta.*")
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller inputs, for a smoke run")
    parser.add_argument(
        "--only", action="append", help="run only these steps (by name); keep the other figures"
    )
    args = parser.parse_args()
    days = 30 if args.quick else 365
    os.environ.setdefault("MUSICCHARTS_PARTITION_START", "2025-01-01")
    results = {
        "measured_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "days": days,
    }
    steps = [
        ("bulk load", lambda: bench_bulk(20_000 if args.quick else 100_000, 1_000)),
        ("API economy", lambda: bench_api_economy(days)),
        ("rate-limited throughput", lambda: bench_throughput(10 if args.quick else 30)),
        ("Dagster overhead", lambda: bench_dagster_overhead(days)),
        ("dbt refresh", lambda: bench_dbt(days)),
        ("automation", lambda: bench_automation(args.quick)),
        ("dbt volume", lambda: bench_dbt_volume(args.quick)),
        ("serve", lambda: bench_serve(args.quick)),
    ]
    if args.only:
        steps = [(name, step) for name, step in steps if name in args.only]
        results = {**json.loads(RESULTS.read_text()), **results} if RESULTS.exists() else results
    for name, step in steps:
        print(f"... {name}", file=sys.stderr, flush=True)
        results.update(step())
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    from benchmarks.automation import TARGETS as AUTOMATION_TARGETS
    from benchmarks.dbt_volume import TARGETS as DBT_VOLUME_TARGETS
    from benchmarks.serve import TARGETS as SERVE_TARGETS

    targets = {
        "bulk_vs_row_at_a_time": (">=", 50),
        "bulk_vs_copy_ceiling": (">=", 0.5),
        "api_calls_over_minimum": ("<=", 1.02),
        "throughput_over_ceiling": (">=", 0.85),
        "runs_per_asset_for_year_backfill": ("<=", 1),
        **AUTOMATION_TARGETS,
        **DBT_VOLUME_TARGETS,
        **SERVE_TARGETS,
    }
    print(f"\n{'figure':<34}{'value':>12}  target   met")
    for key, (op, target) in targets.items():
        if key not in results:
            continue
        value = results[key]
        met = {">=": value >= target, "<=": value <= target, "==": value == target}[op]
        print(f"{key:<34}{value:>12.3f}  {op}{target:<6} {'yes' if met else 'NO'}")
    print("\nother measurements:")
    for key, value in sorted(results.items()):
        if key not in targets:
            print(f"  {key:<34} {value}")
    print(f"\nwritten to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
