"""Warehouse access: one object per SQLAlchemy URL, atomic bulk writes through each backend's
fast path (PostgreSQL: COPY, into a staging table for upserts and straight into the table for
partition replacement; DuckDB: scanning a pandas frame)."""

from __future__ import annotations

import contextlib
import io
import logging
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool
from tenacity import (
    before_sleep_log,
    retry,
    retry_if_exception,
    stop_after_delay,
    wait_random_exponential,
)

log = logging.getLogger(__name__)

SCHEMA = "soundcharts"

_migrated: set[str] = set()
_migrate_lock = threading.Lock()


class WarehouseError(RuntimeError):
    """A warehouse operation failed for a reason the caller should show to a person."""


def _is_duckdb_lock_error(exc: BaseException) -> bool:
    text = str(exc)
    return "Could not set lock on file" in text or "Conflicting lock is held" in text


#: DuckDB lets one process write a file at a time; concurrent Dagster step processes wait for
#: the lock with jittered backoff instead of failing.
_retry_duckdb_lock = retry(
    retry=retry_if_exception(_is_duckdb_lock_error),
    wait=wait_random_exponential(multiplier=0.05, max=2.0),
    stop=stop_after_delay(120),
    before_sleep=before_sleep_log(log, logging.INFO),
    reraise=True,
)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Warehouse:
    """The SoundCharts warehouse behind one SQLAlchemy URL."""

    def __init__(self, url: str):
        self.url = url
        parsed = sa.engine.make_url(url)
        self.backend = parsed.get_backend_name()
        if self.backend not in ("duckdb", "postgresql"):
            raise WarehouseError(
                f"unsupported warehouse backend {self.backend!r}: use postgresql+psycopg2:// "
                "or duckdb:///"
            )
        # DuckDB holds a file lock while a connection is open: never pool, so other
        # processes can write between our transactions.
        if self.backend == "duckdb":
            # DuckDB creates the file, not its folder (the default is under .musiccharts/)
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = sa.create_engine(url, poolclass=NullPool)
        else:
            self.engine = sa.create_engine(url, pool_pre_ping=True)
        self._columns: dict[str, dict[str, str]] = {}

    def __repr__(self) -> str:
        return f"Warehouse({self.engine.url.render_as_string(hide_password=True)!r})"

    # -- schema -----------------------------------------------------------------------------

    def migrate(self) -> str:
        """Bring the schema to the newest revision (idempotent, once per process and URL)."""
        from musiccharts_pipeline.warehouse.migrations import upgrade_to_head

        with _migrate_lock:
            if self.url in _migrated:
                return "head"
            with self.transaction() as conn:
                revision = upgrade_to_head(conn)
            _migrated.add(self.url)
            self._columns.clear()
            return revision

    def columns(self, table: str) -> dict[str, str]:
        """Column name -> kind (text, integer, float, boolean, date, timestamp).

        Read from information_schema rather than SQLAlchemy reflection, which duckdb-engine
        only partly supports.
        """
        if table not in self._columns:
            frame = self.read_frame(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = :schema AND table_name = :table",
                {"schema": SCHEMA, "table": table},
            )
            if frame.empty:
                raise WarehouseError(f"no table {SCHEMA}.{table}: run the migrations first")
            self._columns[table] = {
                row.column_name: _kind(row.data_type) for row in frame.itertuples()
            }
        return self._columns[table]

    # -- connections ------------------------------------------------------------------------

    @_retry_duckdb_lock
    def _open(self) -> Connection:
        return self.engine.connect()

    @contextlib.contextmanager
    def connect(self) -> Iterator[Connection]:
        conn = self._open()
        try:
            yield conn
        finally:
            conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One atomic unit: everything written inside commits together or not at all."""
        with self.connect() as conn, conn.begin():
            yield conn

    def read_frame(
        self, sql: str, params: Mapping[str, Any] | None = None, conn: Connection | None = None
    ) -> pd.DataFrame:
        """Run a query; list or tuple parameters expand for ``IN :name``."""
        with self._using(conn, transaction=False) as c:
            result = c.execute(_text(sql, params), dict(params or {}))
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))

    def scalar(
        self, sql: str, params: Mapping[str, Any] | None = None, conn: Connection | None = None
    ) -> Any:
        with self._using(conn, transaction=False) as c:
            return c.execute(_text(sql, params), dict(params or {})).scalar()

    def execute(
        self, sql: str, params: Mapping[str, Any] | None = None, conn: Connection | None = None
    ) -> int:
        with self._using(conn) as c:
            return c.execute(_text(sql, params), dict(params or {})).rowcount

    # -- bulk writes ------------------------------------------------------------------------

    def upsert(
        self,
        frame: pd.DataFrame,
        table: str,
        keys: Sequence[str],
        conn: Connection | None = None,
    ) -> int:
        """Insert new rows and update existing ones (matched on ``keys``); returns rows written.

        Rows repeated within ``frame`` collapse to the last one, so a retry never duplicates.
        """
        if frame.empty:
            return 0
        frame = self._conform(frame.drop_duplicates(subset=list(keys), keep="last"), table)
        columns = [_quote(c) for c in frame.columns]
        updates = [c for c in frame.columns if c not in keys]
        conflict = ", ".join(_quote(k) for k in keys)
        if updates:
            action = "DO UPDATE SET " + ", ".join(
                f"{_quote(c)} = excluded.{_quote(c)}" for c in updates
            )
        else:
            action = "DO NOTHING"
        with self._using(conn) as tx, self._staged(tx, frame, table) as stage:
            tx.exec_driver_sql(
                f"INSERT INTO {self._qualified(table)} ({', '.join(columns)}) "
                f"SELECT {', '.join(columns)} FROM {stage} "
                f"ON CONFLICT ({conflict}) {action}"
            )
        return len(frame)

    def replace_partitions(
        self,
        frame: pd.DataFrame,
        table: str,
        keys: Sequence[str],
        conn: Connection | None = None,
    ) -> int:
        """Replace every partition present in ``frame`` (partitions = distinct ``keys``
        values) with the frame's rows: one delete of those partitions, one bulk insert."""
        if frame.empty:
            return 0
        frame = self._conform(frame, table)
        keys = list(keys)
        match = " AND ".join(f"t.{_quote(k)} = d.{_quote(k)}" for k in keys)
        # only the (few) partition keys are staged for the delete; the rows themselves go
        # straight into the table (PostgreSQL: one COPY), all in one transaction
        partitions = frame[keys].drop_duplicates()
        with self._using(conn) as tx:
            with self._staged(tx, partitions, table) as stage:
                tx.exec_driver_sql(
                    f"DELETE FROM {self._qualified(table)} AS t USING {stage} AS d WHERE {match}"
                )
            self._insert(tx, frame, table)
        return len(frame)

    # -- internals --------------------------------------------------------------------------

    def _qualified(self, table: str) -> str:
        return f"{_quote(SCHEMA)}.{_quote(table)}"

    @contextlib.contextmanager
    def _using(self, conn: Connection | None, transaction: bool = True) -> Iterator[Connection]:
        """The caller's connection (its transaction decides), else a new one of our own: a
        transaction for writes, a plain connection for reads."""
        if conn is not None:
            yield conn
        else:
            with self.transaction() if transaction else self.connect() as own:
                yield own

    def _conform(self, frame: pd.DataFrame, table: str) -> pd.DataFrame:
        """Cast the frame to the table's column types so both loaders see clean values."""
        kinds = self.columns(table)
        unknown = [c for c in frame.columns if c not in kinds]
        if unknown:
            raise WarehouseError(f"{table} has no column(s) {', '.join(map(str, unknown))}")
        out = {}
        for name in frame.columns:
            kind = kinds[name]
            series = frame[name]
            if kind == "integer":
                series = pd.to_numeric(series, errors="raise").astype("Int64")
            elif kind == "float":
                series = pd.to_numeric(series, errors="raise").astype("Float64")
            elif kind == "boolean":
                series = series.astype("boolean")
            elif kind == "timestamp":
                series = pd.to_datetime(series, utc=True, format="ISO8601").dt.tz_localize(None)
            elif kind == "date":
                series = pd.to_datetime(series).dt.date.astype(object)
                series = series.where(frame[name].notna(), None)
            else:
                series = series.astype(object).where(series.notna(), None)
            out[name] = series
        return pd.DataFrame(out, index=frame.index)

    @contextlib.contextmanager
    def _staged(self, conn: Connection, frame: pd.DataFrame, table: str) -> Iterator[str]:
        """The frame as a relation for one statement: a registered frame on DuckDB, a temporary
        table of the frame's columns (typed like ``table``'s) filled by COPY on PostgreSQL."""
        name = f"stage_{table}_{uuid.uuid4().hex[:12]}"
        raw = conn.connection.driver_connection
        if self.backend == "duckdb":
            raw.register(name, frame)
            try:
                yield name
            finally:
                raw.unregister(name)
            return
        cols = ", ".join(_quote(c) for c in frame.columns)
        with raw.cursor() as cur:
            cur.execute(
                f"CREATE TEMP TABLE {name} ON COMMIT DROP AS "
                f"SELECT {cols} FROM {self._qualified(table)} WITH NO DATA"
            )
            _copy(cur, name, frame)
        yield name

    def _insert(self, conn: Connection, frame: pd.DataFrame, table: str) -> None:
        """Append a conformed frame: DuckDB scans it, PostgreSQL COPYs it into the table."""
        if self.backend == "duckdb":
            cols = ", ".join(_quote(c) for c in frame.columns)
            with self._staged(conn, frame, table) as stage:
                conn.exec_driver_sql(
                    f"INSERT INTO {self._qualified(table)} ({cols}) SELECT {cols} FROM {stage}"
                )
            return
        with conn.connection.driver_connection.cursor() as cur:
            _copy(cur, self._qualified(table), frame)


def _copy(cursor, target: str, frame: pd.DataFrame) -> None:
    """COPY a conformed frame into ``target`` (CSV through pandas' C writer; the exact text
    format when a value is the literal null marker)."""
    cols = ", ".join(_quote(c) for c in frame.columns)
    if _has_null_marker(frame):  # a literal \\N string: the exact, slower format
        cursor.copy_expert(f"COPY {target} ({cols}) FROM STDIN", _copy_text(frame))
    else:
        cursor.copy_expert(
            f"COPY {target} ({cols}) FROM STDIN WITH (FORMAT csv, NULL '\\N')",
            _copy_csv(frame),
        )


def _text(sql: str, params: Mapping[str, Any] | None) -> sa.TextClause:
    clause = sa.text(sql)
    expanding = [k for k, v in (params or {}).items() if isinstance(v, (list, tuple, set))]
    if expanding:
        clause = clause.bindparams(*(sa.bindparam(k, expanding=True) for k in expanding))
    return clause


def _kind(data_type: str) -> str:
    name = data_type.lower()
    for needle, kind in (
        ("timestamp", "timestamp"),
        ("date", "date"),
        ("bool", "boolean"),
        ("int", "integer"),
        ("double", "float"),
        ("real", "float"),
        ("float", "float"),
        ("numeric", "float"),
        ("decimal", "float"),
    ):
        if needle in name:
            return kind
    return "text"


_NULL = "\\N"


def _has_null_marker(frame: pd.DataFrame) -> bool:
    return any(frame[c].dtype == object and (frame[c] == _NULL).any() for c in frame.columns)


def _copy_csv(frame: pd.DataFrame) -> io.StringIO:
    """CSV for COPY, rendered by pandas' C writer: unquoted ``\\N`` is NULL, while an empty
    string stays an empty string (PostgreSQL reads an unquoted empty CSV field as "")."""
    buf = io.StringIO()
    frame.to_csv(buf, index=False, header=False, na_rep=_NULL, date_format="%Y-%m-%d %H:%M:%S.%f")
    buf.seek(0)
    return buf


def _copy_text(frame: pd.DataFrame) -> io.StringIO:
    """Render a frame in PostgreSQL's COPY text format (``\\N`` nulls, escaped controls)."""
    rendered = []
    for name in frame.columns:
        series = frame[name]
        mask = series.isna()
        if pd.api.types.is_bool_dtype(series):
            text = series.map({True: "t", False: "f"}, na_action="ignore")
        elif pd.api.types.is_datetime64_any_dtype(series):
            text = series.dt.strftime("%Y-%m-%d %H:%M:%S.%f")
        else:
            text = series.astype(str)
            if series.dtype == object:
                text = (
                    text.str.replace("\\", "\\\\", regex=False)
                    .str.replace("\t", "\\t", regex=False)
                    .str.replace("\n", "\\n", regex=False)
                    .str.replace("\r", "\\r", regex=False)
                )
        rendered.append(text.astype(object).where(~mask, "\\N"))
    if not rendered:
        return io.StringIO("")
    lines = rendered[0].str.cat(rendered[1:], sep="\t") if len(rendered) > 1 else rendered[0]
    return io.StringIO("\n".join(lines.tolist()) + "\n")
