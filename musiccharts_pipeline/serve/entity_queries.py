"""The server's reads of tracks, artists and genres: one named function per question, plain SQL
on the raw SoundCharts tables, portable between DuckDB and PostgreSQL (queries.py reads charts and
rankings)."""

from __future__ import annotations

from musiccharts_pipeline.serve.sql import fetch_all, fetch_one, fetch_page
from musiccharts_pipeline.warehouse import SCHEMA, Warehouse

S = SCHEMA


TRACK_COLUMNS = (
    "uuid",
    "name",
    "credit_name",
    "artist_uuid",
    "artist_name",
    "primary_genre",
    "release_date",
    "isrc",
    "label",
)


def tracks(
    wh: Warehouse,
    limit: int,
    offset: int,
    artist: str | None = None,
    genre: str | None = None,
    q: str | None = None,
) -> tuple[int, list[dict]]:
    """Tracks with metadata, filtered by artist (any credited), genre (a genre id or slug; a
    root genre takes in its sub-genres) and a text found in the name or credit."""
    where, params = [], {}
    if artist:
        where.append(
            f"EXISTS (SELECT 1 FROM {S}.track_artists AS ta "
            "WHERE ta.track_uuid = t.uuid AND ta.artist_uuid = :artist)"
        )
        params["artist"] = artist
    if genre:
        where.append(
            f"EXISTS (SELECT 1 FROM {S}.track_genres AS tg JOIN {S}.genres AS g "
            "ON g.id = tg.genre_id WHERE tg.track_uuid = t.uuid "
            "AND (g.id = :genre OR g.slug = :genre OR g.parent_id = :genre))"
        )
        params["genre"] = genre
    if q:
        where.append(
            "(strpos(lower(t.name), lower(:q)) > 0 "
            "OR strpos(lower(coalesce(t.credit_name, '')), lower(:q)) > 0)"
        )
        params["q"] = q
    sql = (
        "SELECT t.uuid, t.name, t.credit_name, t.primary_artist_uuid AS artist_uuid, "
        "a.name AS artist_name, t.primary_genre, t.release_date, t.isrc, t.label "
        f"FROM {S}.tracks AS t LEFT JOIN {S}.artists AS a ON a.uuid = t.primary_artist_uuid"
        + (" WHERE " + " AND ".join(where) if where else "")
    )
    return fetch_page(wh, sql, "name, uuid", params, limit, offset)


def track(wh: Warehouse, uuid: str) -> dict | None:
    """A track's metadata; a track seen only in rankings (metadata not fetched) by its entry."""
    row = fetch_one(
        wh,
        "SELECT uuid, name, slug, credit_name, image_url, app_url, release_date, duration, isrc, "
        "label, explicit, language_code, primary_artist_uuid, primary_genre, "
        f"metadata_fetched_at, audience_fetched_at FROM {S}.tracks WHERE uuid = :u",
        {"u": uuid},
    )
    if row is None:
        row = fetch_one(
            wh,
            "SELECT song_uuid AS uuid, max(song_name) AS name, max(credit_name) AS credit_name "
            f"FROM {S}.chart_ranking_entries WHERE song_uuid = :u GROUP BY song_uuid",
            {"u": uuid},
        )
    return row


def track_artists(wh: Warehouse, uuid: str) -> list[dict]:
    return fetch_all(
        wh,
        "SELECT ta.artist_uuid AS uuid, a.name, ta.position, ta.is_primary "
        f"FROM {S}.track_artists AS ta LEFT JOIN {S}.artists AS a ON a.uuid = ta.artist_uuid "
        "WHERE ta.track_uuid = :u ORDER BY ta.position, ta.artist_uuid",
        {"u": uuid},
    )


def track_genres(wh: Warehouse, uuid: str) -> list[dict]:
    return _owner_genres(wh, "track", uuid)


def _owner_genres(wh: Warehouse, owner: str, uuid: str) -> list[dict]:
    return fetch_all(
        wh,
        "SELECT g.id, g.name, g.slug, g.level, g.parent_id, o.is_primary "
        f"FROM {S}.{owner}_genres AS o JOIN {S}.genres AS g ON g.id = o.genre_id "
        f"WHERE o.{owner}_uuid = :u ORDER BY o.is_primary DESC, g.id",
        {"u": uuid},
    )


def track_chart_history(wh: Warehouse, uuid: str) -> list[dict]:
    """Per chart: appearances, best position, first and last date, position on the last."""
    return fetch_all(
        wh,
        f"""
        WITH per_chart AS (
            SELECT chart_slug, count(*) AS appearances, min(position) AS best_position,
                   min(ranking_date) AS first_date, max(ranking_date) AS last_date
            FROM {S}.chart_ranking_entries WHERE song_uuid = :u GROUP BY chart_slug
        )
        SELECT p.chart_slug, c.name AS chart_name, p.appearances, p.best_position,
               p.first_date, p.last_date, min(e.position) AS last_position
        FROM per_chart AS p
        JOIN {S}.chart_ranking_entries AS e
          ON e.chart_slug = p.chart_slug AND e.ranking_date = p.last_date AND e.song_uuid = :u
        LEFT JOIN {S}.charts AS c ON c.slug = p.chart_slug
        GROUP BY p.chart_slug, c.name, p.appearances, p.best_position, p.first_date, p.last_date
        ORDER BY p.chart_slug
        """,
        {"u": uuid},
    )


def artist(wh: Warehouse, uuid: str) -> dict | None:
    return fetch_one(
        wh,
        "SELECT uuid, slug, name, app_url, image_url, country_code, gender, artist_type, "
        f"career_stage, metadata_fetched_at, audience_fetched_at FROM {S}.artists WHERE uuid = :u",
        {"u": uuid},
    )


def artist_genres(wh: Warehouse, uuid: str) -> list[dict]:
    return _owner_genres(wh, "artist", uuid)


def artist_tracks(wh: Warehouse, uuid: str) -> list[dict]:
    """The artist's tracks with their best chart position and appearances."""
    return fetch_all(
        wh,
        f"""
        WITH charted AS (
            SELECT song_uuid, min(position) AS best_position, count(*) AS chart_appearances
            FROM {S}.chart_ranking_entries
            WHERE song_uuid IN (SELECT track_uuid FROM {S}.track_artists WHERE artist_uuid = :u)
            GROUP BY song_uuid
        )
        SELECT ta.track_uuid AS uuid, t.name, t.release_date, ta.is_primary,
               c.best_position, coalesce(c.chart_appearances, 0) AS chart_appearances
        FROM {S}.track_artists AS ta
        LEFT JOIN {S}.tracks AS t ON t.uuid = ta.track_uuid
        LEFT JOIN charted AS c ON c.song_uuid = ta.track_uuid
        WHERE ta.artist_uuid = :u
        ORDER BY c.best_position, t.name, ta.track_uuid
        """,
        {"u": uuid},
    )


def genres(wh: Warehouse) -> list[dict]:
    """Every genre with its track count (a root's takes in its sub-genres')."""
    return fetch_all(
        wh,
        f"""
        SELECT g.id, g.name, g.slug, g.parent_id, g.level, g.soundcharts_root,
               (SELECT count(DISTINCT tg.track_uuid) FROM {S}.track_genres AS tg
                JOIN {S}.genres AS s ON s.id = tg.genre_id
                WHERE s.id = g.id OR s.parent_id = g.id) AS tracks
        FROM {S}.genres AS g ORDER BY g.level, g.name, g.id
        """,
    )


def genre_tree(rows: list[dict]) -> list[dict]:
    """Roots with their sub-genres nested (pure)."""
    roots = {r["id"]: {**r, "subgenres": []} for r in rows if r["parent_id"] is None}
    for r in rows:
        if r["parent_id"] is not None and r["parent_id"] in roots:
            roots[r["parent_id"]]["subgenres"].append(r)
    return list(roots.values())
