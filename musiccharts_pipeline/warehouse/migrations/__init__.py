"""Alembic migrations for the ``soundcharts`` schema, run programmatically (no alembic.ini)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.ddl.impl import DefaultImpl
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

SCHEMA = "soundcharts"
VERSION_TABLE = "schema_version"
_LOCK_ID = 0x6D757369  # PostgreSQL advisory lock: one migrator at a time


class DuckDBImpl(DefaultImpl):
    """Alembic has no DuckDB dialect of its own; DuckDB's DDL is transactional."""

    __dialect__ = "duckdb"
    transactional_ddl = True


def _config(conn: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent))
    cfg.attributes["connection"] = conn
    return cfg


def head_revision() -> str:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent))
    return ScriptDirectory.from_config(cfg).get_current_head()


def current_revision(conn: Connection) -> str | None:
    ctx = MigrationContext.configure(
        conn, opts={"version_table": VERSION_TABLE, "version_table_schema": SCHEMA}
    )
    return ctx.get_current_revision()


def upgrade_to_head(conn: Connection, revision: str = "head") -> str | None:
    """Create the schema and apply every pending migration on ``conn`` (inside its transaction)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
    conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
    command.upgrade(_config(conn), revision)
    return current_revision(conn)
