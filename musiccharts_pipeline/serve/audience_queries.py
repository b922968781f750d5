"""The audience series' SQL: a track's or an artist's points per platform in a window of dates,
with the day's change, and which platforms an entity has series on."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from musiccharts_pipeline.serve.sql import as_date, fetch_all
from musiccharts_pipeline.warehouse import SCHEMA as S
from musiccharts_pipeline.warehouse import Warehouse

#: A track's points per platform and date, its identifiers summed (as track_audience_daily
#: does); an artist's followers and monthly listeners (two tables), one row each.
_TRACK_POINTS = f"""
    SELECT platform, date, sum(value) AS value FROM {S}.track_audience
    WHERE track_uuid = :uuid {{platform}} GROUP BY platform, date ORDER BY platform, date
"""
_ARTIST_POINTS = f"""
    SELECT platform, date, follower_count AS value, CAST(NULL AS BIGINT) AS listeners
    FROM {S}.artist_audience WHERE artist_uuid = :uuid {{platform}}
    UNION ALL
    SELECT platform, date, CAST(NULL AS BIGINT), value
    FROM {S}.artist_streaming WHERE artist_uuid = :uuid {{platform}}
    ORDER BY platform, date
"""


@dataclasses.dataclass(frozen=True)
class SeriesWindow:
    """Which points of a series to answer: those dated in ``[start, end]`` (``None``: open),
    ``limit`` of them from ``offset``."""

    start: dt.date | None
    end: dt.date | None
    limit: int
    offset: int = 0


def audience(
    wh: Warehouse, owner: str, uuid: str, platform: str | None, window: SeriesWindow
) -> dict[str, dict]:
    """{platform: {"total": points in the window, "series": [{date, value, daily, ...}]}} of a
    track or an artist (artists: followers as ``value``, monthly listeners where stored).

    One plain query reads the entity's whole series (a few hundred points per platform a year):
    the day's change needs the point before the window, and DuckDB answers this query several
    times faster than the same work as window functions."""
    params: dict[str, Any] = {"uuid": uuid}
    only = ""
    if platform is not None:
        only = "AND platform = :platform"
        params["platform"] = platform
    sql = (_TRACK_POINTS if owner == "track" else _ARTIST_POINTS).format(platform=only)
    with wh.connect() as conn:
        rows = conn.execute(sa.text(sql), params).fetchall()
    return series_window(rows, owner == "artist", window)


def series_window(
    rows: Sequence[Sequence], listeners: bool, window: SeriesWindow
) -> dict[str, dict]:
    """Pure: (platform, date, value[, listeners]) rows sorted by platform and date -> each
    platform's points in the window's dates, paged, with ``daily``: the change of ``value``
    from the platform's previous point that has one (before the window too)."""
    start, end = window.start, window.end
    merged: dict[str, dict[dt.date, dict]] = {}
    for row in rows:
        day = as_date(row[1])
        point = merged.setdefault(row[0], {}).setdefault(
            day,
            {
                "date": day,
                "value": None,
                "daily": None,
                **({"listeners": None} if listeners else {}),
            },
        )
        if row[2] is not None:
            point["value"] = int(row[2])
        if listeners and row[3] is not None:
            point["listeners"] = int(row[3])
    out = {}
    for name, points in merged.items():
        previous = None
        inside = []
        for day in sorted(points):
            point = points[day]
            if point["value"] is not None:
                if previous is not None:
                    point["daily"] = point["value"] - previous
                previous = point["value"]
            if (start is None or day >= start) and (end is None or day <= end):
                inside.append(point)
        first = window.offset
        out[name] = {"total": len(inside), "series": inside[first : first + window.limit]}
    return out


def audience_platforms(wh: Warehouse, owner: str, uuid: str) -> dict[str, dict]:
    """{platform: {points, first_date, last_date}} of the series an entity has."""
    if owner == "track":
        sql = (
            "SELECT platform, count(DISTINCT date) AS points, min(date) AS first_date, "
            f"max(date) AS last_date FROM {S}.track_audience WHERE track_uuid = :u "
            "GROUP BY platform"
        )
    else:
        sql = (
            "SELECT platform, count(DISTINCT date) AS points, min(date) AS first_date, "
            "max(date) AS last_date FROM ("
            f"SELECT platform, date FROM {S}.artist_audience WHERE artist_uuid = :u UNION ALL "
            f"SELECT platform, date FROM {S}.artist_streaming WHERE artist_uuid = :u) AS p "
            "GROUP BY platform"
        )
    return {
        r["platform"]: {
            "points": int(r["points"]),
            "first_date": as_date(r["first_date"]),
            "last_date": as_date(r["last_date"]),
        }
        for r in sorted(fetch_all(wh, sql, {"u": uuid}), key=lambda r: r["platform"])
    }
