"""Chart health: the one rule for a chart's sync state, used by the read API and pages, `charts
status`, and, as the dbt macro ``chart_sync_state`` (dbt_project/macros/chart_health.sql), by the
``chart_health`` mart. test_health.py holds the macro to this rule on DuckDB and PostgreSQL.

A chart's age is the whole days since its newest stored ranking. It is *overdue* past one
publication period plus the grace (``rules.overdue``, which the alert rule and the ``chart_fresh``
check use too), *healthy* within one period, *late* in between. Before that: a chart with no
ranking is *never synced*, a paused subscription *paused*, a chart synced once but no longer
subscribed *not subscribed*."""

from __future__ import annotations

import datetime as dt

from musiccharts_pipeline.sync import rules

STATES = ("never synced", "paused", "not subscribed", "overdue", "late", "healthy")
#: The states a chart that should be publishing is in trouble in (the dashboard's red).
UNHEALTHY = ("never synced", "overdue")


def period_days(frequency: str | None, custom_hours: int | None = None) -> float:
    """One publication period in days (a custom interval's hours as a fraction of a day)."""
    return rules.period(frequency or "daily", custom_hours) / dt.timedelta(days=1)


def chart_state(
    latest: dt.date | None,
    today: dt.date,
    frequency: str | None,
    custom_hours: int | None = None,
    subscribed: bool = True,
    active: bool = True,
) -> str:
    """The chart's state, one of ``STATES``."""
    if latest is None:
        return "never synced"
    if subscribed and not active:
        return "paused"
    if not subscribed:
        return "not subscribed"
    if rules.overdue(frequency or "daily", latest, today, custom_hours, rules.GRACE_DAYS):
        return "overdue"
    return "healthy" if (today - latest).days <= period_days(frequency, custom_hours) else "late"
