"""`musiccharts serve` over a year of data in the DuckDB default warehouse.

The server runs as `musiccharts serve` in its own process; a sync runs in another process, as
a Dagster run would, writing the same DuckDB file. The clients are threads of this process, each
with its own keep-alive connection.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import dagster as dg
import httpx

from musiccharts_pipeline.assets.materialize import materialize_chart
from musiccharts_pipeline.resources import SoundChartsResource, WarehouseResource
from musiccharts_pipeline.warehouse import Warehouse
from musiccharts_pipeline_tests.serving import free_port

CHARTS = ("top-50-fr", "viral-50-global", "tiktok-top-50-weekly")
#: The chart the concurrent sync writes during the load (not in the year's data).
SYNC_CHART = "global-28"
CLIENTS = 32

#: A sync that keeps writing until told to stop (a file appears): one run per three days of the
#: chart, newest first. Says "ready" once imported, so the load starts with the sync writing.
SYNC_LOOP = r"""
import datetime as dt, os, sys
import dagster as dg
from musiccharts_pipeline.assets.materialize import materialize_chart
from musiccharts_pipeline.resources import SoundChartsResource, WarehouseResource

url, slug, stop = sys.argv[1:4]
pipeline = {"warehouse": WarehouseResource(url=url), "soundcharts": SoundChartsResource()}
end = pipeline["soundcharts"].get().simulator.world.today
runs = failed = 0
with dg.DagsterInstance.ephemeral() as instance:
    print("ready", flush=True)
    while not os.path.exists(stop):
        start = end - dt.timedelta(days=2)
        result = materialize_chart(pipeline, instance, slug, start, end, raise_on_error=False)
        runs += 1
        failed += not result.success
        end = start - dt.timedelta(days=1)
print(runs, failed, flush=True)
"""

#: The same data as GET /api/audience/tracks/{uuid}, read with one query.
AUDIENCE_SQL = (
    "SELECT platform, date, sum(value) AS value FROM soundcharts.track_audience "
    "WHERE track_uuid = :u GROUP BY platform, date ORDER BY platform, date"
)


def _fill(url: str, days: int) -> dict:
    os.environ["SOUNDCHARTS_SIMULATOR_LATENCY_MS"] = "0"
    pipeline = {
        "warehouse": WarehouseResource(url=url),
        "soundcharts": SoundChartsResource.simulated(),
    }
    today = pipeline["soundcharts"].get().simulator.world.today
    started = time.perf_counter()
    with dg.DagsterInstance.ephemeral() as instance:
        for slug in CHARTS:
            start = today - dt.timedelta(days=days - 1)
            assert materialize_chart(pipeline, instance, slug, start, today).success
    wh = pipeline["warehouse"].get()
    counts = {
        table: int(wh.scalar(f"SELECT count(*) FROM soundcharts.{table}"))
        for table in ("chart_ranking_entries", "tracks", "track_audience")
    }
    wh.engine.dispose()
    return {"seconds": time.perf_counter() - started, **counts}


@contextlib.contextmanager
def _server(url: str):
    """`musiccharts serve` on a free loopback port, over ``url``."""
    port = free_port()
    env = {**os.environ, "MUSICCHARTS_WAREHOUSE_URL": url}
    proc = subprocess.Popen(
        [sys.executable, "-m", "musiccharts_pipeline.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/api/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("musiccharts serve did not start")
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        proc.wait(30)


def _audience_over_sql(base: str, url: str, tracks: list[str], rounds: int = 3) -> dict:
    """Median latency of the audience route over many tracks against the same data read with
    one direct query through the Warehouse on a held connection (the floor of a read)."""
    served: list[float] = []
    direct: list[float] = []
    fresh: list[float] = []
    wh = Warehouse(url)
    with httpx.Client(base_url=base, timeout=60) as http, wh.connect() as conn:
        for uuid in tracks[:20]:  # warm both paths
            http.get(f"/api/audience/tracks/{uuid}")
            wh.read_frame(AUDIENCE_SQL, {"u": uuid}, conn=conn)
        for _ in range(rounds):
            for uuid in tracks:
                started = time.perf_counter()
                answer = http.get(f"/api/audience/tracks/{uuid}")
                served.append(time.perf_counter() - started)
                assert answer.status_code == 200, answer.text
                started = time.perf_counter()
                frame = wh.read_frame(AUDIENCE_SQL, {"u": uuid}, conn=conn)
                direct.append(time.perf_counter() - started)
                points = sum(len(p["series"]) for p in answer.json()["platforms"])
                assert points == len(frame), (uuid, points, len(frame))
    for uuid in tracks[:50]:  # the Warehouse's own read path: a connection per query
        started = time.perf_counter()
        wh.read_frame(AUDIENCE_SQL, {"u": uuid})
        fresh.append(time.perf_counter() - started)
    wh.engine.dispose()
    ms = statistics.median(served) * 1000, statistics.median(direct) * 1000
    return {
        "serve_audience_over_sql": ms[0] / ms[1],
        "serve_audience_median_ms": ms[0],
        "serve_audience_sql_median_ms": ms[1],
        "serve_audience_sql_new_connection_median_ms": statistics.median(fresh) * 1000,
        "serve_audience_tracks": len(tracks),
    }


def _load(base: str, url: str, seconds: float, tracks: list[str], dates: dict) -> dict:
    """CLIENTS threads reading rankings, tracks and audience for ``seconds`` while a sync
    process writes the warehouse."""
    stop = Path(url.removeprefix("duckdb:///")).with_suffix(".stop")
    sync = subprocess.Popen(
        [sys.executable, "-c", SYNC_LOOP, url, SYNC_CHART, str(stop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert sync.stdout.readline().strip() == "ready"
    deadline = time.time() + seconds
    counts = {"ok": 0, "bad": 0}
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def client(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=base, timeout=120) as http:
            while time.time() < deadline:
                kind = rng.choice(("ranking", "tracks", "track", "audience"))
                if kind == "ranking":
                    slug = rng.choice(list(dates))
                    path = f"/api/charts/{slug}/rankings?date={rng.choice(dates[slug])}"
                elif kind == "tracks":
                    path = f"/api/tracks?limit=50&offset={rng.randrange(0, len(tracks))}"
                else:
                    prefix = "/api/tracks/" if kind == "track" else "/api/audience/tracks/"
                    path = prefix + rng.choice(tracks)
                started = time.perf_counter()
                try:
                    status = http.get(path).status_code
                except httpx.HTTPError as exc:
                    status, note = 0, repr(exc)
                else:
                    note = path
                with lock:
                    latencies.append(time.perf_counter() - started)
                    if 200 <= status < 300:
                        counts["ok"] += 1
                    else:
                        counts["bad"] += 1
                        failures.append(f"{status} {note}")

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    stop.touch()
    out, err = sync.communicate(timeout=600)
    runs, failed = (int(x) for x in out.split()[-2:]) if out.strip() else (0, -1)
    health = httpx.get(f"{base}/api/health", timeout=30).json()
    latencies.sort()
    return {
        "serve_errors_under_load": counts["bad"],
        "serve_requests_per_s": (counts["ok"] + counts["bad"]) / elapsed,
        "serve_load_requests": counts["ok"] + counts["bad"],
        "serve_load_p50_ms": latencies[len(latencies) // 2] * 1000,
        "serve_load_p95_ms": latencies[int(len(latencies) * 0.95)] * 1000,
        "serve_load_sync_runs": runs,
        "serve_load_sync_failed_runs": failed,
        "serve_load_sync_lock_errors": err.count("Could not set lock"),
        "serve_load_snapshot_refreshes": health.get("snapshot_refreshes"),
        "serve_load_first_failures": failures[:5],
    }


def bench_serve(quick: bool = False) -> dict:
    days = 30 if quick else 365
    with tempfile.TemporaryDirectory() as tmp:
        url = f"duckdb:///{Path(tmp) / 'warehouse.duckdb'}"
        filled = _fill(url, days)
        wh = Warehouse(url)
        tracks = list(
            wh.read_frame(
                "SELECT DISTINCT track_uuid FROM soundcharts.track_audience ORDER BY track_uuid"
            ).track_uuid
        )
        stored = wh.read_frame("SELECT chart_slug, ranking_date FROM soundcharts.chart_rankings")
        dates = {
            slug: [str(d)[:10] for d in group.ranking_date]
            for slug, group in stored.groupby("chart_slug")
        }
        wh.engine.dispose()
        sample = random.Random(7).sample(tracks, min(len(tracks), 200))
        with _server(url) as base:
            latency = _audience_over_sql(base, url, sample)
            load = _load(base, url, 10 if quick else 30, tracks, dates)
        size = Path(tmp, "warehouse.duckdb").stat().st_size
    return {
        **latency,
        **load,
        "serve_days": days,
        "serve_fill_seconds": filled["seconds"],
        "serve_warehouse_mb": size / 1e6,
        "serve_ranking_entries": filled["chart_ranking_entries"],
        "serve_audience_points": filled["track_audience"],
    }


TARGETS = {
    "serve_audience_over_sql": ("<=", 2),
    "serve_errors_under_load": ("==", 0),
}
