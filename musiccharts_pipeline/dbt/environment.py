"""The environment dbt's profiles.yml reads, derived from the warehouse URL (no Dagster)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

from musiccharts_pipeline import settings

DBT_PROJECT_DIR = settings.PROJECT_ROOT / "dbt_project"


def dbt_env(warehouse_url: str | None = None) -> dict[str, str]:
    """MUSICCHARTS_DBT_TARGET and the connection variables of that target."""
    url = sa.engine.make_url(warehouse_url or settings.warehouse_url())
    if url.get_backend_name() == "duckdb":
        return {
            "MUSICCHARTS_DBT_TARGET": "duckdb",
            "MUSICCHARTS_DUCKDB_PATH": os.path.abspath(url.database or ":memory:"),
        }
    return {
        "MUSICCHARTS_DBT_TARGET": "postgres",
        "MUSICCHARTS_PG_HOST": url.host or "127.0.0.1",
        "MUSICCHARTS_PG_PORT": str(url.port or 5432),
        "MUSICCHARTS_PG_USER": url.username or "postgres",
        "MUSICCHARTS_PG_PASSWORD": url.password or "",
        "MUSICCHARTS_PG_DB": url.database or "postgres",
    }


#: The dbt of the interpreter running this code (a virtualenv's own), found without PATH.
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")


@contextlib.contextmanager
def patched_environ(values: dict[str, str]) -> Iterator[None]:
    """``values`` in the environment for the block only (a dbt subprocess started inside)."""
    before = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
