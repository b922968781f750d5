from __future__ import annotations

import os
import uuid

import psycopg2
import pytest

from musiccharts_pipeline.warehouse import Warehouse

#: The suite's tests start their own webhook receivers: none comes from the environment, so the
#: definitions load as on a deployment without alerts (their sensors stopped by default).
os.environ.pop("MUSICCHARTS_ALERT_WEBHOOK_URL", None)

PG_DSN = os.environ.get("MUSICCHARTS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def admin_connection():
    try:
        conn = psycopg2.connect(PG_DSN, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI and is unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    conn.autocommit = True
    return conn


@pytest.fixture
def pg_database():
    """A fresh PostgreSQL database for one test, dropped afterwards; yields its name."""
    name = f"mc_test_{uuid.uuid4().hex[:10]}"
    admin = admin_connection()
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def pg_url(pg_database):
    return f"postgresql+psycopg2://postgres@127.0.0.1:5432/{pg_database}"


@pytest.fixture
def duckdb_url(tmp_path):
    return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"


@pytest.fixture(params=["duckdb", "postgresql"])
def warehouse_url(request, tmp_path):
    if request.param == "duckdb":
        return request.getfixturevalue("duckdb_url")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def warehouse(warehouse_url) -> Warehouse:
    wh = Warehouse(warehouse_url)
    wh.migrate()
    yield wh
    wh.engine.dispose()


@pytest.fixture
def simulator():
    from musiccharts_pipeline.soundcharts.simulator import Simulator

    return Simulator(seed=7)


@pytest.fixture
def http_simulator(simulator):
    """The simulator on a real loopback HTTP server; yields (simulator, base_url)."""
    from musiccharts_pipeline.soundcharts.simulator import serve

    with serve(simulator) as url:
        yield simulator, url


@pytest.fixture
def http_client(http_simulator):
    from musiccharts_pipeline.soundcharts import SoundChartsClient

    _, url = http_simulator
    client = SoundChartsClient(url, "soundcharts", "soundcharts", max_rps=0, backoff=0.01)
    yield client
    client.close()


@pytest.fixture
def pipeline(warehouse_url, simulator, monkeypatch):
    """Resources for materializing the assets: a fresh warehouse, and a client of the test's own
    in-process simulator shared by every asset."""
    from musiccharts_pipeline import settings
    from musiccharts_pipeline.resources import SoundChartsResource, WarehouseResource

    for var in (*settings.API_VARIABLES, "SOUNDCHARTS_MAX_RPS"):
        monkeypatch.delenv(var, raising=False)
    resources = {
        "warehouse": WarehouseResource(url=warehouse_url),
        "soundcharts": SoundChartsResource.simulated(simulator),
    }
    yield resources
    resources["soundcharts"].get().close()
