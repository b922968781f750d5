"""``GET /api/plan``: the API calls a chart's first sync or a backfill would make, before it
runs (the cost model of ``sync/plan.py``, as `musiccharts plan` prints it)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from fastapi.responses import Response

from musiccharts_pipeline import settings
from musiccharts_pipeline.serve.http import ApiError, bad, json_response, parse_date, parse_slug
from musiccharts_pipeline.serve.routing import JsonOnly, State
from musiccharts_pipeline.soundcharts import errors as api_errors
from musiccharts_pipeline.sync import plan as cost
from musiccharts_pipeline.sync import rankings, rules

router = APIRouter(prefix="/api")


@router.get("/plan", dependencies=JsonOnly)
def plan(
    st: State,
    chart: str,
    history: bool = False,
    start: str | None = None,
    end: str | None = None,
) -> Response:
    """``?chart=SLUG`` (its newest ranking), ``&history=true`` (a year), or ``&start=&end=``."""
    slug = parse_slug(chart)
    first = dt.date.fromisoformat(settings.partition_start())
    today = rules.utcnow().date()
    client = st.soundcharts()
    try:
        if start or end:
            lo, hi = rules.manual_range(
                None, parse_date(start, "start"), parse_date(end, "end"), today, first, lambda: None
            )
        else:
            listed = client.available_rankings(slug, newest_only=not history)
            if not listed.dates:
                raise bad(f"{slug} has no published ranking")
            with st.reader.read() as wh:
                stored = rankings.stored_dates(wh, slug)
            span = rules.history_range(listed.dates, stored, today, first) if history else None
            lo, hi = span or (listed.dates[-1], listed.dates[-1])
        with st.reader.read() as wh:
            found = cost.plan_chart(client, wh, slug, lo, hi)
    except rules.InvalidRange as exc:
        raise bad(str(exc)) from None
    except (cost.PlanError, api_errors.NotFound) as exc:
        raise ApiError(404, str(exc)) from None
    except api_errors.SoundChartsError as exc:
        raise ApiError(502, f"the SoundCharts API did not answer: {exc}") from None
    return json_response(
        {"chart": slug, "start": lo, "end": hi, **found.as_dict(cost.rate_ceiling())}
    )
