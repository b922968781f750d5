"""The server beside the pipeline: on the DuckDB default a sync writes the file from another
process while the server answers; a manual sync is launched through a running Dagster
webserver."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import dagster as dg
import httpx
import pytest

from musiccharts_pipeline.automation.sync_sensor import CHART_TAG, selection_for
from musiccharts_pipeline.partitions import RANGE_END_TAG, RANGE_START_TAG
from musiccharts_pipeline.serve import create_app
from musiccharts_pipeline.sync import subscriptions
from musiccharts_pipeline_tests.serving import TOKEN, fill, free_port, live_server

ROOT = Path(__file__).resolve().parent.parent
AUTH = {"Authorization": f"Bearer {TOKEN}"}

#: A sync in its own process, as a Dagster run writes the warehouse; logs the warehouse's waits
#: for the DuckDB lock (tenacity logs each retry).
SYNC_SCRIPT = r"""
import datetime as dt, logging, sys
import dagster as dg
from musiccharts_pipeline.assets.materialize import materialize_chart
from musiccharts_pipeline.resources import SoundChartsResource, WarehouseResource

logging.basicConfig(level=logging.WARNING)
logging.getLogger("musiccharts_pipeline.warehouse.store").setLevel(logging.INFO)
url, slug, start, end = sys.argv[1:5]
pipeline = {"warehouse": WarehouseResource(url=url), "soundcharts": SoundChartsResource()}
with dg.DagsterInstance.ephemeral() as instance:
    result = materialize_chart(
        pipeline, instance, slug, dt.date.fromisoformat(start), dt.date.fromisoformat(end),
        raise_on_error=False,
    )
sys.exit(0 if result.success else 1)
"""


@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)
def test_server_and_a_sync_at_once_on_duckdb(pipeline, warehouse_url):
    today = fill(pipeline)
    wh = pipeline["warehouse"].get()
    track = wh.scalar("SELECT track_uuid FROM soundcharts.track_audience LIMIT 1")
    app = create_app(warehouse_url, api_token=TOKEN, snapshot_interval=0.2)
    copies_before = set(Path(tempfile.gettempdir()).glob("musiccharts-serve-*"))
    statuses: list[int] = []
    errors: list[str] = []
    stop = threading.Event()

    def read(base: str, paths: list[str]) -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            while not stop.is_set():
                for path in paths:
                    try:
                        statuses.append(http.get(path).status_code)
                    except httpx.HTTPError as exc:
                        errors.append(repr(exc))

    with live_server(app) as base:
        readers = [
            threading.Thread(target=read, args=(base, paths))
            for paths in (
                ["/api/charts/top-50-fr/rankings", "/api/charts"],
                [f"/api/audience/tracks/{track}", "/api/health"],
                ["/api/tracks?limit=50", f"/tracks/{track}"],
            )
        ]
        for thread in readers:
            thread.start()
        start, end = today - dt.timedelta(days=6), today - dt.timedelta(days=1)
        sync = subprocess.run(
            [
                sys.executable,
                "-c",
                SYNC_SCRIPT,
                warehouse_url,
                "viral-50-global",
                str(start),
                str(end),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "SOUNDCHARTS_SIMULATOR_LATENCY_MS": "20"},
        )
        during = len(statuses)
        # the snapshot catches up with what the sync wrote
        expected = int(wh.scalar("SELECT count(*) FROM soundcharts.chart_rankings"))
        deadline = time.monotonic() + 30
        with httpx.Client(base_url=base, timeout=60) as http:
            while http.get("/api/health").json()["rankings"] != expected:
                assert time.monotonic() < deadline, "the server never saw the sync's rankings"
                time.sleep(0.2)
            charts = http.get("/api/charts").json()["items"]
            viral = http.get("/api/charts/viral-50-global/rankings").json()
        stop.set()
        for thread in readers:
            thread.join(60)
    # the server's snapshots leave with it
    assert set(Path(tempfile.gettempdir()).glob("musiccharts-serve-*")) == copies_before
    assert sync.returncode == 0, sync.stderr[-3000:]
    assert "Could not set lock" not in sync.stderr and "Conflicting lock" not in sync.stderr
    assert "Retrying" not in sync.stderr  # the sync never waited for the server
    assert errors == []
    assert during > 50 and set(statuses) == {200}, {s: statuses.count(s) for s in set(statuses)}
    assert "viral-50-global" in {c["chart_slug"] for c in charts}
    assert viral["date"] == str(end) and viral["total"] == 50


@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)
def test_a_sync_is_launched_through_the_dagster_webserver(pipeline, warehouse_url, tmp_path):
    wh, client = pipeline["warehouse"].get(), pipeline["soundcharts"].get()
    subscriptions.add(wh, client, "top-50-fr", auto_fetch_audience=False)
    home = tmp_path / "dagster_home"
    home.mkdir()
    # queued and never dequeued (no daemon): the run is recorded, not executed
    (home / "dagster.yaml").write_text(
        "run_coordinator:\n  module: dagster.core.run_coordinator\n"
        "  class: QueuedRunCoordinator\ntelemetry:\n  enabled: false\n"
    )
    port = free_port()
    log = (tmp_path / "webserver.log").open("w")
    webserver = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dagster-webserver"),
            "-w",
            str(ROOT / "workspace.yaml"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        env={**os.environ, "DAGSTER_HOME": str(home), "MUSICCHARTS_WAREHOUSE_URL": warehouse_url},
        cwd=home,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                if httpx.get(f"{url}/server_info", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert webserver.poll() is None, (tmp_path / "webserver.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "dagster-webserver did not start"
            time.sleep(1)
        app = create_app(warehouse_url, api_token=TOKEN, dagster_url=url, soundcharts=client)
        from fastapi.testclient import TestClient

        today = client.simulator.world.today
        start, end = today - dt.timedelta(days=3), today - dt.timedelta(days=1)
        with TestClient(app) as http:
            ranged = http.post(
                "/api/subscriptions/top-50-fr/sync",
                json={"from": str(start), "to": str(end)},
                headers=AUTH,
            )
            assert ranged.status_code == 202, ranged.text
            newest = http.post("/api/subscriptions/top-50-fr/sync", headers=AUTH)
            assert newest.status_code == 202, newest.text
        sub = subscriptions.get_subscription(wh, "top-50-fr")
        with dg.DagsterInstance.from_config(str(home)) as instance:
            assert instance.has_dynamic_partition("charts", "top-50-fr")
            run = instance.get_run_by_id(ranged.json()["run_id"])
            assert run.job_name == "chart_sync" and run.status == dg.DagsterRunStatus.QUEUED
            assert run.tags[RANGE_START_TAG] == f"top-50-fr|{start}"
            assert run.tags[RANGE_END_TAG] == f"top-50-fr|{end}"
            assert run.tags[CHART_TAG] == "top-50-fr"
            assert run.asset_selection == set(selection_for(sub))
            assert dg.AssetKey("track_audience") not in run.asset_selection  # as subscribed
            single = instance.get_run_by_id(newest.json()["run_id"])
            published = client.available_rankings("top-50-fr", newest_only=True).dates[-1]
            assert single.tags["dagster/partition"] == f"top-50-fr|{published}"
            assert newest.json()["start"] == newest.json()["end"] == str(published)
            assert ranged.json()["run_url"] == f"{url}/runs/{run.run_id}"
    finally:
        webserver.terminate()
        webserver.wait(60)
        log.close()
