"""Chart health read from the warehouse for the overdue and slow-sync rules.

Each query is bounded by the subscriptions or by the syncs finished since the last
evaluation, never by the whole ranking history.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from musiccharts_pipeline.alerts.rules import SLOW_WINDOW, ChartFreshness, Sync
from musiccharts_pipeline.warehouse import SCHEMA, Warehouse


def _date(value) -> dt.date | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def chart_freshness(wh: Warehouse) -> list[ChartFreshness]:
    """Every active subscription with its newest stored ranking (the primary key's index
    answers each max)."""
    frame = wh.read_frame(f"""
        SELECT s.chart_slug, s.frequency, s.custom_interval_hours, s.created_at,
               (SELECT max(r.ranking_date) FROM {SCHEMA}.chart_rankings r
                 WHERE r.chart_slug = s.chart_slug) AS latest
        FROM {SCHEMA}.chart_subscriptions s WHERE s.active ORDER BY s.chart_slug
    """)
    return [
        ChartFreshness(
            slug=r.chart_slug,
            frequency=r.frequency,
            custom_hours=None if pd.isna(r.custom_interval_hours) else int(r.custom_interval_hours),
            latest=_date(r.latest),
            subscribed_on=_date(r.created_at),
        )
        for r in frame.itertuples()
    ]


def charts_synced_since(
    wh: Warehouse, after: dt.datetime | None
) -> tuple[list[str], dt.datetime | None]:
    """Charts with a sync finished after ``after`` (all recorded ones when None), and the
    newest finish time seen: the next evaluation's ``after``."""
    frame = wh.read_frame(
        f"SELECT chart_slug, max(finished_at) AS finished FROM {SCHEMA}.chart_sync_log "
        + ("WHERE finished_at > :after " if after else "")
        + "GROUP BY chart_slug ORDER BY chart_slug",
        {"after": after} if after else None,
    )
    if frame.empty:
        return [], after
    newest = pd.Timestamp(frame.finished.max()).to_pydatetime()
    return list(frame.chart_slug), newest


def recent_syncs(wh: Warehouse, slugs: list[str]) -> dict[str, list[Sync]]:
    """Per chart, its last ``SLOW_WINDOW + 1`` syncs that fetched a ranking, oldest first."""
    if not slugs:
        return {}
    frame = wh.read_frame(
        f"""
        SELECT chart_slug, run_id, max(finished_at) AS finished,
               max(duration_seconds) AS seconds,
               sum(CASE WHEN status = 'success' THEN 1 ELSE 0 END) AS rankings
        FROM {SCHEMA}.chart_sync_log WHERE chart_slug IN :slugs
        GROUP BY chart_slug, run_id
        """,
        {"slugs": sorted(slugs)},
    )
    frame = frame[frame.rankings > 0].sort_values(["chart_slug", "finished"])
    return {
        slug: [
            Sync(r.run_id, float(r.seconds), int(r.rankings))
            for r in group.tail(SLOW_WINDOW + 1).itertuples()
        ]
        for slug, group in frame.groupby("chart_slug")
    }
