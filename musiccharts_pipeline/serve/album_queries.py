"""The albums' SQL: an album with its tracks and performance, the albums of a track or an
artist. Performance is read from the dbt view ``analytics.album_performance`` when it exists."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from musiccharts_pipeline.serve.sql import fetch_all, fetch_one
from musiccharts_pipeline.warehouse import SCHEMA as S
from musiccharts_pipeline.warehouse import Warehouse

ALBUM_COLUMNS = (
    "a.uuid, a.name, a.album_type, a.upc, a.release_date, a.label, a.total_tracks, "
    "a.metadata_fetched_at"
)
PERFORMANCE = ("chart_entries", "charts", "best_position", "last_charted", "audience_growth_30d")


def album(wh: Warehouse, uuid: str) -> dict[str, Any] | None:
    row = fetch_one(
        wh, f"SELECT {ALBUM_COLUMNS} FROM {S}.albums AS a WHERE a.uuid = :u", {"u": uuid}
    )
    if row is None:
        return None
    row["tracks"] = fetch_all(
        wh,
        "SELECT t.uuid, t.name, t.credit_name, t.release_date, ta.is_original "
        f"FROM {S}.track_albums AS ta JOIN {S}.tracks AS t ON t.uuid = ta.track_uuid "
        "WHERE ta.album_uuid = :u ORDER BY t.release_date, t.name, t.uuid",
        {"u": uuid},
    )
    row["performance"] = performance(wh, uuid)
    return row


def performance(wh: Warehouse, uuid: str) -> dict[str, Any] | None:
    """The album's line of the dbt view; None before dbt has built it."""
    try:
        return fetch_one(
            wh,
            f"SELECT {', '.join(PERFORMANCE)} FROM analytics.album_performance "
            "WHERE album_uuid = :u",
            {"u": uuid},
        )
    except sa.exc.DBAPIError:
        return None


def albums_of_track(wh: Warehouse, uuid: str) -> list[dict[str, Any]]:
    return fetch_all(
        wh,
        f"SELECT {ALBUM_COLUMNS}, ta.is_original FROM {S}.track_albums AS ta "
        f"JOIN {S}.albums AS a ON a.uuid = ta.album_uuid WHERE ta.track_uuid = :u "
        "ORDER BY ta.is_original DESC, a.release_date, a.uuid",
        {"u": uuid},
    )


def albums_of_artist(wh: Warehouse, uuid: str) -> list[dict[str, Any]]:
    """The releases the artist's credited tracks are on, newest first."""
    return fetch_all(
        wh,
        f"SELECT DISTINCT {ALBUM_COLUMNS} FROM {S}.track_artists AS tr "
        f"JOIN {S}.track_albums AS ta ON ta.track_uuid = tr.track_uuid "
        f"JOIN {S}.albums AS a ON a.uuid = ta.album_uuid WHERE tr.artist_uuid = :u "
        "ORDER BY a.release_date DESC, a.uuid",
        {"u": uuid},
    )
