"""Chart subscriptions: which charts are synced, how often, and what cascades from them."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd

from musiccharts_pipeline.soundcharts import SoundChartsClient, errors
from musiccharts_pipeline.soundcharts.platforms import AUDIENCE_PLATFORMS
from musiccharts_pipeline.sync import health
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


#: A custom interval is at least an hour and at most a year (the API's own bounds).
MIN_INTERVAL_HOURS, MAX_INTERVAL_HOURS = 1, 24 * 366
MAX_PLATFORMS = 20


class SubscriptionError(ValueError):
    """A subscription request a person can fix (unknown chart, bad value)."""


class AlreadySubscribed(SubscriptionError):
    """``add`` of a chart that has a subscription, without ``replace``."""


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


def check(sub: Subscription) -> Subscription:
    """The one rule set for a subscription, whoever writes it (the CLI, the serve API, the
    defaults): a valid slug, a known frequency, a custom interval of 1 hour to a year (required
    for ``custom``), priority platforms from the platform referential. Returns it normalized
    (platforms deduplicated in order); raises SubscriptionError saying what to fix."""
    try:
        validate_slug(sub.chart_slug)
    except ValueError as exc:
        raise SubscriptionError(str(exc)) from None
    if sub.frequency not in FREQUENCIES:
        raise SubscriptionError(
            f"frequency must be one of {', '.join(FREQUENCIES)}, got {sub.frequency!r}"
        )
    hours = sub.custom_interval_hours
    if hours is not None and (
        isinstance(hours, bool)
        or not isinstance(hours, int)
        or not MIN_INTERVAL_HOURS <= hours <= MAX_INTERVAL_HOURS
    ):
        raise SubscriptionError(
            f"the custom interval must be a whole number of hours from {MIN_INTERVAL_HOURS} to "
            f"{MAX_INTERVAL_HOURS}, got {hours!r}"
        )
    if sub.frequency == "custom" and hours is None:
        raise SubscriptionError("a custom frequency needs an interval in hours (--interval-hours)")
    platforms = tuple(dict.fromkeys(p.strip().lower() for p in sub.priority_platforms))
    if not platforms:
        raise SubscriptionError("at least one priority platform is needed")
    if len(platforms) > MAX_PLATFORMS:
        raise SubscriptionError(f"at most {MAX_PLATFORMS} priority platforms")
    unknown = [p for p in platforms if p not in AUDIENCE_PLATFORMS]
    if unknown:
        shown = ", ".join(repr(p[:40]) for p in unknown[:5])
        raise SubscriptionError(
            f"unknown platform(s) {shown}; known: {', '.join(sorted(AUDIENCE_PLATFORMS))}"
        )
    return dataclasses.replace(sub, priority_platforms=platforms)


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


def save(wh: Warehouse, sub: Subscription) -> Subscription:
    """Write ``sub`` (insert or update) once ``check`` accepts it; returns what was written."""
    sub = check(sub)
    now = utcnow()
    existing = get_subscription(wh, sub.chart_slug)
    row = {**sub.row(), "updated_at": now}
    if existing is None:
        row["created_at"] = now
    wh.upsert(pd.DataFrame([row]), "chart_subscriptions", ["chart_slug"])
    return sub


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
    replace: bool = False,
) -> Subscription:
    """Subscribe to a chart; its frequency is read from the chart's own metadata unless given.
    Everything is checked (``check``) before the API is asked; a chart already subscribed is
    refused unless ``replace``. Nothing is written when anything is refused."""
    draft = check(
        Subscription(
            chart_slug=slug,
            platform=None,
            frequency=frequency or "daily",
            custom_interval_hours=custom_interval_hours,
            sync_historical_data=sync_historical_data,
            auto_fetch_metadata=auto_fetch_metadata,
            auto_fetch_audience=auto_fetch_audience,
            priority_platforms=tuple(priority_platforms),
        )
    )
    if not replace and get_subscription(wh, slug) is not None:
        raise AlreadySubscribed(
            f"{slug} is already subscribed: change it (the API's PATCH), or add it again with "
            "--replace to start over from these settings"
        )
    try:
        chart = client.available_rankings(slug, newest_only=True).chart
    except errors.NotFound:
        raise SubscriptionError(f"SoundCharts has no chart {slug!r}") from None
    sub = dataclasses.replace(
        draft,
        platform=chart.platform,
        frequency=frequency or (chart.frequency or "daily").lower(),
    )
    return save(wh, sub)


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
    """Per subscription: newest stored ranking, rankings stored, its state (sync/health.py),
    whether it is overdue, success rate, mean duration."""
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
    hours = [None if pd.isna(v) else int(v) for v in frame.custom_interval_hours]
    frame["state"] = [
        health.chart_state(r.latest_ranking, today, r.frequency, h, True, bool(r.active))
        for r, h in zip(frame.itertuples(), hours, strict=True)
    ]
    frame["overdue"] = [
        bool(r.active) and overdue(r.frequency, r.latest_ranking, today, h)
        for r, h in zip(frame.itertuples(), hours, strict=True)
    ]
    frame["success_rate"] = [
        (r.successes / r.attempts) if r.attempts else None for r in frame.itertuples()
    ]
    return frame.drop(columns=["custom_interval_hours"])
