"""Counting questions about the raw tables: table sizes (the run summary), the tracks that have
their metadata and the audience points below the one before (the assets' checks). Plain SQL; no
Dagster imports."""

from __future__ import annotations

from collections.abc import Sequence

from musiccharts_pipeline.warehouse.store import SCHEMA, Warehouse


def table_counts(wh: Warehouse, tables: Sequence[str]) -> dict[str, int]:
    """The row count of each of ``tables`` (raw tables, by name), in one query."""
    if not tables:
        return {}
    for table in tables:
        if not table.isidentifier():
            raise ValueError(f"not a table name: {table!r}")
    frame = wh.read_frame(
        " UNION ALL ".join(
            f"SELECT '{table}' AS name, count(*) AS n FROM {SCHEMA}.{table}" for table in tables
        )
    )
    return {name: int(n) for name, n in zip(frame.name, frame.n, strict=True)}


def tracks_with_metadata(wh: Warehouse, uuids: Sequence[str]) -> int:
    """How many of the tracks ``uuids`` are stored with their metadata fetched."""
    if not uuids:
        return 0
    return int(
        wh.scalar(
            f"SELECT count(*) FROM {SCHEMA}.tracks "
            "WHERE uuid IN :u AND metadata_fetched_at IS NOT NULL",
            {"u": list(uuids)},
        )
    )


def decreasing_points(wh: Warehouse, uuids: Sequence[str]) -> int:
    """The points of the tracks' audience series (cumulative: they never go down) lower than
    the point before them, over each track, platform and identifier."""
    if not uuids:
        return 0
    return int(
        wh.scalar(
            f"""
        SELECT count(*) FROM (
            SELECT value, lag(value) OVER (
                PARTITION BY track_uuid, platform, identifier ORDER BY date) AS previous
            FROM {SCHEMA}.track_audience WHERE track_uuid IN :u
        ) t WHERE value < previous
    """,
            {"u": list(uuids)},
        )
    )
