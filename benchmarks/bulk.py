"""Bulk load: our writer (replace_partitions: a run's rankings in one load, as chart_rankings
writes them) against row-at-a-time ORM inserts committed one by one (the old Django save()) and
PostgreSQL's own COPY of the same rows into the same empty table."""

from __future__ import annotations

import datetime as dt
import io
import json
import statistics
import tempfile
import time
import uuid

import pandas as pd
import psycopg2
import sqlalchemy as sa
from sqlalchemy import orm

from benchmarks.common import pg_database
from musiccharts_pipeline.warehouse import Warehouse

TARGETS = {
    "bulk_vs_row_at_a_time": (">=", 50),
    "bulk_vs_copy_ceiling": (">=", 0.5),
}


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


def ours_against_copy(wh: Warehouse, url: str, frame: pd.DataFrame) -> dict:
    """Rows per second of our writer and of COPY, alternated into the same emptied table, three
    rounds, medians."""
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
            cur.copy_expert(f"COPY soundcharts.chart_ranking_entries ({cols}) FROM STDIN CSV", buf)
        return time.perf_counter() - started

    timings: dict[str, list[float]] = {"ours": [], "copy": []}
    for _ in range(3):
        for name, load in (("ours", ours), ("copy", ceiling)):
            wh.execute("TRUNCATE soundcharts.chart_ranking_entries")
            timings[name].append(load())
    raw.close()
    return {
        "ours_pg_rows_per_s": len(frame) / statistics.median(timings["ours"]),
        "copy_pg_rows_per_s": len(frame) / statistics.median(timings["copy"]),
    }


def row_at_a_time(wh: Warehouse, url: str, frame: pd.DataFrame) -> float:
    """Rows per second inserted through an ORM, one commit per row, into the emptied table."""
    wh.execute("TRUNCATE soundcharts.chart_ranking_entries")
    engine = sa.create_engine(url)
    table = sa.Table(
        "chart_ranking_entries", sa.MetaData(), schema="soundcharts", autoload_with=engine
    )

    class Entry:
        pass

    registry = orm.registry()
    registry.map_imperatively(Entry, table)
    records = frame.astype(object).where(frame.notna(), None)
    started = time.perf_counter()
    with orm.Session(engine) as session:
        for record in records.to_dict("records"):
            obj = Entry()
            for key, value in record.items():
                setattr(obj, key, value)
            session.add(obj)
            session.commit()
    rate = len(frame) / (time.perf_counter() - started)
    engine.dispose()
    return rate


def ours_on_duckdb(frame: pd.DataFrame) -> float:
    """Rows per second of our writer into a fresh DuckDB warehouse."""
    with tempfile.TemporaryDirectory() as tmp:
        wh = Warehouse(f"duckdb:///{tmp}/bench.duckdb")
        wh.migrate()
        started = time.perf_counter()
        wh.replace_partitions(frame, "chart_ranking_entries", ["chart_slug", "ranking_date"])
        return len(frame) / (time.perf_counter() - started)


def bench_bulk(rows: int, orm_rows: int) -> dict:
    frame = entries(rows)
    with pg_database() as url:
        wh = Warehouse(url)
        wh.migrate()
        out = ours_against_copy(wh, url, frame)
        out["orm_pg_rows_per_s"] = row_at_a_time(wh, url, frame.head(orm_rows))
        wh.engine.dispose()
    out["ours_duckdb_rows_per_s"] = ours_on_duckdb(frame)
    out["bulk_vs_row_at_a_time"] = out["ours_pg_rows_per_s"] / out["orm_pg_rows_per_s"]
    out["bulk_vs_copy_ceiling"] = out["ours_pg_rows_per_s"] / out["copy_pg_rows_per_s"]
    return out
