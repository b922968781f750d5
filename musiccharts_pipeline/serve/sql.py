"""The helpers every query module of the server shares: rows of a bound-parameter query, one
row, a page with its total, and the values the drivers answer made plain."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from musiccharts_pipeline.warehouse import Warehouse


def fetch_all(wh: Warehouse, sql: str, params: dict | None = None) -> list[dict[str, Any]]:
    with wh.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(sql), params or {}).mappings()]


def fetch_one(wh: Warehouse, sql: str, params: dict | None = None) -> dict[str, Any] | None:
    rows = fetch_all(wh, sql, params)
    return rows[0] if rows else None


def fetch_page(
    wh: Warehouse, sql: str, order: str, params: dict, limit: int, offset: int
) -> tuple[int, list[dict]]:
    """(total, one page) of a query: the total rides along as a window count; a page past the
    end costs a second, counting query."""
    rows = fetch_all(
        wh,
        f"SELECT q.*, count(*) OVER () AS total_rows FROM ({sql}) AS q "
        f"ORDER BY {order} LIMIT :limit OFFSET :offset",
        {**params, "limit": limit, "offset": offset},
    )
    if rows:
        total = int(rows[0]["total_rows"])
    else:
        total = int(fetch_one(wh, f"SELECT count(*) AS n FROM ({sql}) AS q", params)["n"])
    for row in rows:
        del row["total_rows"]
    return total, rows


def as_date(value) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def as_float(value) -> float | None:
    return None if value is None else float(value)
