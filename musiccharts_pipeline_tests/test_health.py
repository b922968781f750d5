"""Chart health is defined once (sync/health.py): the dbt macro chart_sync_state gives the same
state as the Python rule for every case, on DuckDB and PostgreSQL, and the read API, `charts
status` and the chart_health mart answer with it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa
from jinja2 import Environment

from musiccharts_pipeline.sync import health, rules
from musiccharts_pipeline.warehouse import Warehouse

DBT = Path(__file__).resolve().parents[1] / "dbt_project"
TODAY = dt.date(2026, 12, 7)

#: (age in days or None, frequency, custom hours, subscribed, active) -> state: every branch, and
#: each frequency's edges (one period: healthy; past it: late; past period + grace: overdue).
CASES = [
    ((None, "daily", None, True, True), "never synced"),
    ((None, "weekly", None, False, False), "never synced"),
    ((3, "daily", None, True, False), "paused"),
    ((30, "daily", None, False, False), "not subscribed"),
    ((0, "daily", None, True, True), "healthy"),
    ((1, "daily", None, True, True), "healthy"),
    ((2, "daily", None, True, True), "late"),
    ((3, "daily", None, True, True), "late"),
    ((4, "daily", None, True, True), "overdue"),
    ((7, "weekly", None, True, True), "healthy"),
    ((9, "weekly", None, True, True), "late"),
    ((10, "weekly", None, True, True), "overdue"),
    ((31, "monthly", None, True, True), "healthy"),
    ((33, "monthly", None, True, True), "late"),
    ((34, "monthly", None, True, True), "overdue"),
    # a custom interval counts its hours as a fraction of a day: 36 h is 1.5 days
    ((1, "custom", 36, True, True), "healthy"),
    ((2, "custom", 36, True, True), "late"),
    ((3, "custom", 36, True, True), "late"),
    ((4, "custom", 36, True, True), "overdue"),
    ((0, "custom", 12, True, True), "healthy"),
    ((1, "custom", 12, True, True), "late"),
    ((3, "custom", 12, True, True), "overdue"),
    ((1, "custom", None, True, True), "healthy"),
    ((2, None, None, True, True), "late"),
]


def _python(age, frequency, hours, subscribed, active) -> str:
    latest = None if age is None else TODAY - dt.timedelta(days=age)
    return health.chart_state(latest, TODAY, frequency, hours, subscribed, active)


def test_the_rule_over_every_case():
    assert [_python(*case) for case, _ in CASES] == [state for _, state in CASES]
    assert {state for _, state in CASES} == set(health.STATES)


def test_overdue_is_the_states_overdue():
    """rules.overdue (the alert rule's and the chart_fresh check's) agrees with the state."""
    for (age, frequency, hours, subscribed, active), state in CASES:
        if age is None or not (subscribed and active):
            continue
        latest = TODAY - dt.timedelta(days=age)
        assert rules.overdue(frequency or "daily", latest, TODAY, hours) == (state == "overdue")


def _dbt_macro(*columns: str) -> str:
    """The dbt macro chart_sync_state rendered as dbt renders it (plain Jinja)."""
    source = (DBT / "macros" / "chart_health.sql").read_text()
    call = "{{ chart_sync_state(" + ", ".join(f"'{c}'" for c in columns) + ") }}"
    return Environment().from_string(source + call).render().strip()


def test_the_dbt_macro_says_what_the_rule_says(warehouse_url):
    case_sql = _dbt_macro("age_days", "frequency", "custom_hours", "subscribed", "active")
    cases = " UNION ALL ".join(
        f"SELECT {i} AS i, CAST(:a{i} AS integer) AS age_days, "
        f"CAST(:f{i} AS varchar) AS frequency, CAST(:h{i} AS integer) AS custom_hours, "
        f"CAST(:s{i} AS boolean) AS subscribed, CAST(:v{i} AS boolean) AS active"
        for i in range(len(CASES))
    )
    params = {}
    for i, ((age, frequency, hours, subscribed, active), _) in enumerate(CASES):
        params |= {f"a{i}": age, f"f{i}": frequency, f"h{i}": hours}
        params |= {f"s{i}": subscribed, f"v{i}": active}
    wh = Warehouse(warehouse_url)
    try:
        with wh.connect() as conn:
            got = conn.execute(
                sa.text(f"SELECT {case_sql} AS state FROM ({cases}) AS c ORDER BY i"), params
            ).scalars()
            assert list(got) == [state for _, state in CASES]
    finally:
        wh.engine.dispose()


def test_the_mart_uses_the_macro():
    sql = (DBT / "models" / "marts" / "chart_health.sql").read_text()
    assert "chart_sync_state(" in sql and "chart_period_days(" in sql
    assert "'never synced'" not in sql  # no second copy of the rule
