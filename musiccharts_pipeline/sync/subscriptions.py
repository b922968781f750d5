"""Chart subscriptions: which charts are synced, how often, and what cascades from them."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd

from musiccharts_pipeline.soundcharts import SoundChartsClient, errors
from musiccharts_pipeline.sync.audience import DEFAULT_PRIORITY_PLATFORMS
from musiccharts_pipeline.sync.rules import FREQUENCIES, overdue, utcnow, validate_slug
from musiccharts_pipeline.warehouse import SCHEMA, Warehouse

#: Seeded on first run: a few daily charts, one weekly, one monthly.
DEFAULT_CHARTS = (
    "global-28",
    "top-50-fr",
    "viral-50-global",
    "tiktok-top-50-weekly",
    "apple-music-monthly-global",
)


class SubscriptionError(ValueError):
    """A subscription request a person can fix (unknown chart, bad value)."""


@dataclasses.dataclass(frozen=True)
class Subscription:
    chart_slug: str
    platform: str | None
    frequency: str
    custom_interval_hours: int | None = None
    active: bool = True
    sync_historical_data: bool = False
    auto_fetch_metadata: bool = True
    auto_fetch_audience: bool = True
    priority_platforms: tuple[str, ...] = DEFAULT_PRIORITY_PLATFORMS
    historical_backfill_id: str | None = None

    def row(self) -> dict:
        row = dataclasses.asdict(self)
        row["priority_platforms"] = ",".join(self.priority_platforms)
        return row


def _from_row(row: dict) -> Subscription:
    platforms = tuple(p for p in (row.get("priority_platforms") or "").split(",") if p)
    hours = row.get("custom_interval_hours")
    return Subscription(
        chart_slug=row["chart_slug"],
        platform=row.get("platform"),
        frequency=row["frequency"],
        custom_interval_hours=None if pd.isna(hours) else int(hours),
        active=bool(row["active"]),
        sync_historical_data=bool(row["sync_historical_data"]),
        auto_fetch_metadata=bool(row["auto_fetch_metadata"]),
        auto_fetch_audience=bool(row["auto_fetch_audience"]),
        priority_platforms=platforms or DEFAULT_PRIORITY_PLATFORMS,
        historical_backfill_id=row.get("historical_backfill_id") or None,
    )


def list_subscriptions(wh: Warehouse, active_only: bool = False) -> list[Subscription]:
    frame = wh.read_frame(
        f"SELECT * FROM {SCHEMA}.chart_subscriptions"
        + (" WHERE active" if active_only else "")
        + " ORDER BY chart_slug"
    )
    return [_from_row(r) for r in frame.to_dict("records")]


def get_subscription(wh: Warehouse, slug: str) -> Subscription | None:
    frame = wh.read_frame(
        f"SELECT * FROM {SCHEMA}.chart_subscriptions WHERE chart_slug = :s", {"s": slug}
    )
    return _from_row(frame.to_dict("records")[0]) if len(frame) else None


def save(wh: Warehouse, sub: Subscription) -> None:
    now = utcnow()
    existing = get_subscription(wh, sub.chart_slug)
    row = {**sub.row(), "updated_at": now}
    if existing is None:
        row["created_at"] = now
    wh.upsert(pd.DataFrame([row]), "chart_subscriptions", ["chart_slug"])


def add(
    wh: Warehouse,
    client: SoundChartsClient,
    slug: str,
    *,
    frequency: str | None = None,
    custom_interval_hours: int | None = None,
    sync_historical_data: bool = False,
    auto_fetch_metadata: bool = True,
    auto_fetch_audience: bool = True,
    priority_platforms: tuple[str, ...] = DEFAULT_PRIORITY_PLATFORMS,
) -> Subscription:
    """Subscribe to a chart; its frequency is read from the chart's own metadata."""
    try:
        validate_slug(slug)
    except ValueError as exc:
        raise SubscriptionError(str(exc)) from None
    if frequency is not None and frequency not in FREQUENCIES:
        raise SubscriptionError(f"frequency must be one of {', '.join(FREQUENCIES)}")
    if frequency == "custom" and not custom_interval_hours:
        raise SubscriptionError("a custom frequency needs --interval-hours")
    try:
        chart = client.available_rankings(slug, newest_only=True).chart
    except errors.NotFound:
        raise SubscriptionError(f"SoundCharts has no chart {slug!r}") from None
    sub = Subscription(
        chart_slug=slug,
        platform=chart.platform,
        frequency=frequency or (chart.frequency or "daily").lower(),
        custom_interval_hours=custom_interval_hours,
        sync_historical_data=sync_historical_data,
        auto_fetch_metadata=auto_fetch_metadata,
        auto_fetch_audience=auto_fetch_audience,
        priority_platforms=tuple(priority_platforms),
    )
    save(wh, sub)
    return sub


def set_active(wh: Warehouse, slug: str, active: bool) -> Subscription:
    sub = get_subscription(wh, slug)
    if sub is None:
        raise SubscriptionError(f"no subscription for chart {slug!r}")
    sub = dataclasses.replace(sub, active=active)
    save(wh, sub)
    return sub


def remove(wh: Warehouse, slug: str) -> None:
    if get_subscription(wh, slug) is None:
        raise SubscriptionError(f"no subscription for chart {slug!r}")
    wh.execute(f"DELETE FROM {SCHEMA}.chart_subscriptions WHERE chart_slug = :s", {"s": slug})


def mark_history_launched(wh: Warehouse, slug: str, run_key: str) -> None:
    wh.execute(
        f"UPDATE {SCHEMA}.chart_subscriptions SET historical_backfill_id = :k, updated_at = :t "
        "WHERE chart_slug = :s",
        {"k": run_key, "t": utcnow(), "s": slug},
    )


def seed_defaults(
    wh: Warehouse, client: SoundChartsClient, charts: tuple[str, ...] = DEFAULT_CHARTS
) -> list[Subscription]:
    """Subscribe to the default charts when no subscription exists yet (first run)."""
    if wh.scalar(f"SELECT count(*) FROM {SCHEMA}.chart_subscriptions"):
        return []
    return [add(wh, client, slug) for slug in charts]


def sync_status(wh: Warehouse, today: dt.date) -> pd.DataFrame:
    """Per subscription: newest stored ranking, rankings stored, success rate, mean duration."""
    frame = wh.read_frame(f"""
        SELECT s.chart_slug, s.frequency, s.custom_interval_hours, s.active,
               (SELECT max(r.ranking_date) FROM {SCHEMA}.chart_rankings r
                 WHERE r.chart_slug = s.chart_slug) AS latest_ranking,
               (SELECT count(*) FROM {SCHEMA}.chart_rankings r
                 WHERE r.chart_slug = s.chart_slug) AS rankings,
               (SELECT count(*) FROM {SCHEMA}.chart_sync_log l
                 WHERE l.chart_slug = s.chart_slug AND l.status = 'success') AS successes,
               (SELECT count(*) FROM {SCHEMA}.chart_sync_log l
                 WHERE l.chart_slug = s.chart_slug AND l.status IN ('success', 'failed'))
                 AS attempts,
               (SELECT avg(l.duration_seconds) FROM {SCHEMA}.chart_sync_log l
                 WHERE l.chart_slug = s.chart_slug AND l.status = 'success') AS mean_seconds
        FROM {SCHEMA}.chart_subscriptions s ORDER BY s.chart_slug
    """)
    frame["latest_ranking"] = [
        None if pd.isna(v) else pd.Timestamp(v).date() for v in frame.latest_ranking
    ]
    frame["overdue"] = [
        bool(r.active)
        and overdue(
            r.frequency,
            r.latest_ranking,
            today,
            None if pd.isna(r.custom_interval_hours) else int(r.custom_interval_hours),
        )
        for r in frame.itertuples()
    ]
    frame["success_rate"] = [
        (r.successes / r.attempts) if r.attempts else None for r in frame.itertuples()
    ]
    return frame.drop(columns=["custom_interval_hours"])
