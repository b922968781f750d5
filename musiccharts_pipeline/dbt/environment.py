"""The environment dbt's profiles.yml reads, derived from the warehouse URL (no Dagster)."""

from __future__ import annotations

import os
import sys
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


def apply_dbt_env(warehouse_url: str | None = None) -> dict[str, str]:
    """Point dbt at the warehouse: dbt runs as a subprocess that inherits this environment.
    The interpreter's own bin directory goes on PATH so its dbt is found without activation."""
    env = dbt_env(warehouse_url)
    os.environ.update(env)
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    return env
