"""The server's reads: one named function per question, plain SQL on the raw SoundCharts tables,
portable between DuckDB and PostgreSQL. Every value is a bound parameter."""

from __future__ import annotations

import datetime as dt

from musiccharts_pipeline.serve.sql import as_date, as_float, fetch_all, fetch_one, fetch_page
from musiccharts_pipeline.sync import health, movement, rules
from musiccharts_pipeline.warehouse import SCHEMA, Warehouse

S = SCHEMA


# -- health and charts --------------------------------------------------------------------------


def ping(wh: Warehouse) -> dict:
    return fetch_one(
        wh,
        f"SELECT (SELECT count(*) FROM {S}.chart_rankings) AS rankings, "
        f"(SELECT max(fetched_at) FROM {S}.chart_rankings) AS last_fetched_at",
    )


def chart_exists(wh: Warehouse, slug: str) -> bool:
    return bool(
        fetch_one(
            wh,
            f"SELECT 1 AS x FROM {S}.charts WHERE slug = :s UNION ALL "
            f"SELECT 1 FROM {S}.chart_subscriptions WHERE chart_slug = :s UNION ALL "
            f"SELECT 1 FROM {S}.chart_rankings WHERE chart_slug = :s",
            {"s": slug},
        )
    )


_CHARTS = f"""
    WITH known AS (
        SELECT slug AS chart_slug FROM {S}.charts
        UNION SELECT chart_slug FROM {S}.chart_subscriptions
        UNION SELECT chart_slug FROM {S}.chart_rankings
    ),
    latest AS (
        SELECT chart_slug, max(ranking_date) AS latest_ranking, count(*) AS rankings
        FROM {S}.chart_rankings GROUP BY chart_slug
    ),
    syncs AS (
        SELECT chart_slug,
               sum(CASE WHEN status = 'success' THEN 1 ELSE 0 END) AS successes,
               sum(CASE WHEN status IN ('success', 'failed') THEN 1 ELSE 0 END) AS attempts,
               avg(CASE WHEN status = 'success' THEN duration_seconds END) AS mean_seconds,
               max(finished_at) AS last_sync_at
        FROM {S}.chart_sync_log GROUP BY chart_slug
    )
    SELECT k.chart_slug, c.name, coalesce(c.platform, s.platform) AS platform,
           coalesce(s.frequency, lower(c.frequency)) AS frequency, c.country_code,
           s.chart_slug IS NOT NULL AS subscribed, s.active, s.custom_interval_hours,
           s.sync_historical_data, s.auto_fetch_metadata, s.auto_fetch_audience,
           s.priority_platforms, l.latest_ranking, coalesce(l.rankings, 0) AS rankings,
           y.successes, y.attempts, y.mean_seconds, y.last_sync_at
    FROM known AS k
    LEFT JOIN {S}.charts AS c ON c.slug = k.chart_slug
    LEFT JOIN {S}.chart_subscriptions AS s ON s.chart_slug = k.chart_slug
    LEFT JOIN latest AS l ON l.chart_slug = k.chart_slug
    LEFT JOIN syncs AS y ON y.chart_slug = k.chart_slug
"""


def charts(wh: Warehouse, today: dt.date, limit: int, offset: int) -> tuple[int, list[dict]]:
    """Every known chart (synced or subscribed) with its subscription and sync health."""
    total, rows = fetch_page(wh, _CHARTS, "chart_slug", {}, limit, offset)
    out = []
    for r in rows:
        latest = as_date(r["latest_ranking"])
        hours = r["custom_interval_hours"]
        subscription = None
        if r["subscribed"]:
            subscription = {
                "is_active": bool(r["active"]),  # as POST and PATCH name it
                "frequency": r["frequency"],
                "custom_interval_hours": hours,
                "sync_historical_data": bool(r["sync_historical_data"]),
                "auto_fetch_metadata": bool(r["auto_fetch_metadata"]),
                "auto_fetch_audience": bool(r["auto_fetch_audience"]),
                "priority_platforms": [p for p in (r["priority_platforms"] or "").split(",") if p],
            }
        overdue = rules.overdue(r["frequency"] or "daily", latest, today, hours)
        state = health.chart_state(
            latest,
            today,
            r["frequency"],
            hours,
            subscribed=subscription is not None,
            active=bool(subscription and subscription["is_active"]),
        )
        attempts = int(r["attempts"] or 0)
        out.append(
            {
                "chart_slug": r["chart_slug"],
                "name": r["name"],
                "platform": r["platform"],
                "frequency": r["frequency"],
                "country_code": r["country_code"],
                "subscription": subscription,
                "health": {
                    "state": state,
                    "latest_ranking": latest,
                    "rankings": int(r["rankings"]),
                    "overdue": overdue,
                    "success_rate": (int(r["successes"]) / attempts) if attempts else None,
                    "mean_sync_seconds": as_float(r["mean_seconds"]),
                    "last_sync_at": r["last_sync_at"],
                },
            }
        )
    return total, out


def chart(wh: Warehouse, slug: str) -> dict | None:
    return fetch_one(
        wh,
        f"SELECT slug AS chart_slug, name, platform, frequency, country_code, country_name "
        f"FROM {S}.charts WHERE slug = :s",
        {"s": slug},
    )


def ranking_dates(wh: Warehouse, slug: str) -> list[dt.date]:
    """The stored ranking dates of a chart, newest first."""
    rows = fetch_all(
        wh,
        f"SELECT ranking_date FROM {S}.chart_rankings WHERE chart_slug = :s "
        "ORDER BY ranking_date DESC",
        {"s": slug},
    )
    return [as_date(r["ranking_date"]) for r in rows]


#: One ranking with each entry's movement against the chart's previous stored ranking (the
#: API's own old position when none is stored), as the dbt model int_ranking_movements says it;
#: the label by the one movement rule.
_RANKING = f"""
    WITH previous AS (
        SELECT max(ranking_date) AS ranking_date FROM {S}.chart_rankings
        WHERE chart_slug = :slug AND ranking_date < :date
    ),
    previous_positions AS (
        SELECT p.song_uuid, min(p.position) AS position
        FROM {S}.chart_ranking_entries AS p
        JOIN previous ON p.ranking_date = previous.ranking_date
        WHERE p.chart_slug = :slug
        GROUP BY p.song_uuid
    ),
    seen_before AS (
        SELECT DISTINCT song_uuid FROM {S}.chart_ranking_entries
        WHERE chart_slug = :slug AND ranking_date < :date
    ),
    entries AS (
        SELECT e.position, e.song_uuid AS track_uuid,
               coalesce(t.name, e.song_name) AS track_name,
               t.primary_artist_uuid AS artist_uuid,
               coalesce(a.name, t.credit_name, e.credit_name) AS artist_name,
               CASE WHEN previous.ranking_date IS NOT NULL THEN pp.position
                    ELSE e.old_position END AS previous_position,
               e.entry_state, sb.song_uuid IS NOT NULL AS seen_before,
               e.metric, e.time_on_chart, e.time_on_chart_unit
        FROM {S}.chart_ranking_entries AS e
        CROSS JOIN previous
        LEFT JOIN previous_positions AS pp ON pp.song_uuid = e.song_uuid
        LEFT JOIN seen_before AS sb ON sb.song_uuid = e.song_uuid
        LEFT JOIN {S}.tracks AS t ON t.uuid = e.song_uuid
        LEFT JOIN {S}.artists AS a ON a.uuid = t.primary_artist_uuid
        WHERE e.chart_slug = :slug AND e.ranking_date = :date
    )
    SELECT position, track_uuid, track_name, artist_uuid, artist_name,
           {movement.sql_case("position", "previous_position", "seen_before", "entry_state")}
               AS movement,
           previous_position, previous_position - position AS position_change,
           metric, time_on_chart, time_on_chart_unit
    FROM entries
"""

RANKING_COLUMNS = (
    "position",
    "track_uuid",
    "track_name",
    "artist_uuid",
    "artist_name",
    "movement",
    "previous_position",
    "position_change",
    "metric",
    "time_on_chart",
    "time_on_chart_unit",
)


def previous_ranking_date(wh: Warehouse, slug: str, date: dt.date) -> dt.date | None:
    row = fetch_one(
        wh,
        f"SELECT max(ranking_date) AS d FROM {S}.chart_rankings "
        "WHERE chart_slug = :s AND ranking_date < :d",
        {"s": slug, "d": date},
    )
    return as_date(row["d"])


def ranking(
    wh: Warehouse, slug: str, date: dt.date, limit: int, offset: int
) -> tuple[int, list[dict]]:
    return fetch_page(wh, _RANKING, "position", {"slug": slug, "date": date}, limit, offset)


def movement_counts(wh: Warehouse, slug: str, date: dt.date) -> dict[str, int]:
    rows = fetch_all(
        wh,
        f"SELECT movement, count(*) AS n FROM ({_RANKING}) AS q GROUP BY movement",
        {"slug": slug, "date": date},
    )
    return {r["movement"]: int(r["n"]) for r in rows}


# -- subscriptions ----------------------------------------------------------------------------


def last_sync(wh: Warehouse, slug: str) -> dict | None:
    """The chart's newest sync log row: the last run that synced it."""
    return fetch_one(
        wh,
        "SELECT run_id, ranking_date, status, started_at, finished_at, duration_seconds, error "
        f"FROM {S}.chart_sync_log WHERE chart_slug = :s "
        "ORDER BY started_at DESC NULLS LAST, finished_at DESC NULLS LAST LIMIT 1",
        {"s": slug},
    )
