"""Shared by the serve tests: a warehouse filled through the real assets, and the server over it."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import socket
import threading
import time

import dagster as dg
import uvicorn
from fastapi.testclient import TestClient

from musiccharts_pipeline.assets.materialize import materialize_chart
from musiccharts_pipeline.serve import create_app
from musiccharts_pipeline.sync import subscriptions
from musiccharts_pipeline.warehouse import Warehouse

TOKEN = "test-token-0123456789-abcdef"


@dataclasses.dataclass
class Served:
    http: TestClient
    wh: Warehouse
    client: object
    today: dt.date
    app: object


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fill(pipeline) -> dt.date:
    """Three days of a daily chart and the newest weekly ranking through the whole cascade; the
    daily chart subscribed. Returns the simulator's today."""
    client, wh = pipeline["soundcharts"].get(), pipeline["warehouse"].get()
    today = client.simulator.world.today
    with dg.DagsterInstance.ephemeral() as instance:
        first, last = today - dt.timedelta(days=3), today - dt.timedelta(days=1)
        assert materialize_chart(pipeline, instance, "top-50-fr", first, last).success
        weekly = client.available_rankings("tiktok-top-50-weekly", newest_only=True).dates[-1]
        assert materialize_chart(pipeline, instance, "tiktok-top-50-weekly", weekly).success
    subscriptions.add(wh, client, "top-50-fr")
    return today


@contextlib.contextmanager
def serving(pipeline, warehouse_url: str, today: dt.date, **kwargs):
    """The app over the warehouse (Dagster: a port nobody listens on), through TestClient."""
    kwargs.setdefault("api_token", TOKEN)
    kwargs.setdefault("dagster_url", f"http://127.0.0.1:{free_port()}")
    client = pipeline["soundcharts"].get()
    app = create_app(warehouse_url, soundcharts=client, snapshot_interval=0.2, **kwargs)
    with TestClient(app) as http:
        yield Served(http, pipeline["warehouse"].get(), client, today, app)


@contextlib.contextmanager
def live_server(app):
    """The app on a real loopback port (uvicorn in a thread); yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def build_marts(pipeline, tmp_path, monkeypatch) -> None:
    """dbt build and the dashboard over the warehouse, as the analytics run does."""
    from musiccharts_pipeline.assets.materialize import materialize_analytics

    monkeypatch.setenv("MUSICCHARTS_DASHBOARD_PATH", str(tmp_path / "dashboard.html"))
    with dg.DagsterInstance.ephemeral() as instance:
        result = materialize_analytics(pipeline, instance)
    assert result.success
