"""The subscriptions API (``/api/subscriptions``): list, add, change, remove, sync, status. Writes
need the API token."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Response
from pydantic import BaseModel, ConfigDict, Field

from musiccharts_pipeline import settings
from musiccharts_pipeline.serve import dagster_runs, queries
from musiccharts_pipeline.serve.http import (
    DEFAULT_LIMIT,
    ApiError,
    bad,
    json_response,
    not_found,
    page,
    parse_date,
    parse_slug,
)
from musiccharts_pipeline.serve.routing import JsonOnly, Limit, Offset, State, Writer
from musiccharts_pipeline.serve.state import ServeState
from musiccharts_pipeline.soundcharts import errors as api_errors
from musiccharts_pipeline.sync import rules
from musiccharts_pipeline.sync import subscriptions as subs

router = APIRouter(prefix="/api")


def _subscription(sub: subs.Subscription) -> dict:
    row = dataclasses.asdict(sub)
    row["is_active"] = row.pop("active")
    row["priority_platforms"] = list(sub.priority_platforms)
    return row


class SubscriptionChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    frequency: Literal["daily", "weekly", "monthly", "custom"] | None = None
    custom_interval_hours: int | None = Field(default=None, ge=1, le=24 * 366)
    is_active: bool | None = None
    sync_historical_data: bool | None = None
    auto_fetch_metadata: bool | None = None
    auto_fetch_audience: bool | None = None
    priority_platforms: list[str] | None = Field(default=None, min_length=1, max_length=20)


class NewSubscription(SubscriptionChange):
    chart_slug: str = Field(min_length=1, max_length=128)


def _platforms(values: list[str] | None) -> tuple[str, ...] | None:
    """As sent: the subscription rule set (``subs.check``) refuses unknown ones."""
    return None if values is None else tuple(values)


@router.get("/subscriptions", dependencies=JsonOnly)
def list_subscriptions(st: State, limit: Limit = DEFAULT_LIMIT, offset: Offset = 0) -> Response:
    with st.reader.read() as wh:
        rows = [_subscription(s) for s in subs.list_subscriptions(wh)]
    return json_response(page(len(rows), limit, offset, rows[offset : offset + limit]))


@router.post("/subscriptions", dependencies=[Writer])
def create_subscription(st: State, body: NewSubscription) -> Response:
    slug = parse_slug(body.chart_slug)
    wh = st.reader.writer
    platforms = _platforms(body.priority_platforms)
    try:
        sub = subs.add(
            wh,
            st.soundcharts(),
            slug,
            frequency=body.frequency,
            custom_interval_hours=body.custom_interval_hours,
            sync_historical_data=bool(body.sync_historical_data),
            auto_fetch_metadata=body.auto_fetch_metadata is not False,
            auto_fetch_audience=body.auto_fetch_audience is not False,
            **({"priority_platforms": platforms} if platforms else {}),
        )
    except subs.AlreadySubscribed:
        raise ApiError(
            409, f"{slug} is already subscribed: PATCH /api/subscriptions/{slug}"
        ) from None
    except subs.SubscriptionError as exc:
        raise bad(str(exc)) from None
    except api_errors.SoundChartsError as exc:
        raise ApiError(502, f"the SoundCharts API did not answer: {exc}") from None
    if body.is_active is False:
        sub = subs.set_active(wh, slug, False)
    st.reader.refresh(wait=5)
    return json_response(_subscription(sub), status=201)


@router.patch("/subscriptions/{slug}", dependencies=[Writer])
def change_subscription(st: State, slug: str, body: SubscriptionChange) -> Response:
    slug = parse_slug(slug)
    wh = st.reader.writer
    sub = subs.get_subscription(wh, slug)
    if sub is None:
        raise not_found(f"no subscription for chart {slug!r}")
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise bad("nothing to change: send at least one field")
    if "is_active" in changes:
        changes["active"] = changes.pop("is_active")
    if "priority_platforms" in changes:
        changes["priority_platforms"] = _platforms(changes["priority_platforms"])
    if any(v is None for k, v in changes.items() if k != "custom_interval_hours"):
        raise bad("fields other than custom_interval_hours cannot be null")
    try:
        new = subs.save(wh, dataclasses.replace(sub, **changes))
    except subs.SubscriptionError as exc:
        raise bad(str(exc)) from None
    st.reader.refresh(wait=5)
    return json_response(_subscription(new))


@router.delete("/subscriptions/{slug}", dependencies=[Writer])
def delete_subscription(st: State, slug: str) -> Response:
    slug = parse_slug(slug)
    try:
        subs.remove(st.reader.writer, slug)
    except subs.SubscriptionError as exc:
        raise not_found(str(exc)) from None
    st.reader.refresh(wait=5)
    return json_response({"deleted": slug, "note": "the chart's stored data stays"})


class SyncRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    date: str | None = None
    start: str | None = Field(default=None, alias="from")
    end: str | None = Field(default=None, alias="to")


@router.post("/subscriptions/{slug}/sync", dependencies=[Writer])
def sync_subscription(
    st: State, slug: str, body: Annotated[SyncRequest | None, Body()] = None
) -> Response:
    slug = parse_slug(slug)
    body = body or SyncRequest()
    sub = subs.get_subscription(st.reader.writer, slug)
    if sub is None:
        raise not_found(f"no subscription for chart {slug!r}: POST /api/subscriptions first")
    start, end = sync_range(st, slug, body)
    try:
        run_id = dagster_runs.launch_sync(st.dagster_url, sub, start, end)
    except dagster_runs.DagsterUnreachable as exc:
        raise ApiError(503, str(exc), dagster_url=st.dagster_url) from None
    except dagster_runs.DagsterRefused as exc:
        raise ApiError(502, str(exc), dagster_url=st.dagster_url) from None
    return json_response(
        {
            "run_id": run_id,
            "chart_slug": slug,
            "start": start,
            "end": end,
            "run_url": f"{st.dagster_url.rstrip('/')}/runs/{run_id}",
        },
        status=202,
    )


def sync_range(st: ServeState, slug: str, body: SyncRequest) -> tuple[dt.date, dt.date]:
    """The dates to sync: one date, a range, or (neither) the newest published ranking."""

    def newest() -> dt.date | None:
        try:
            dates = st.soundcharts().available_rankings(slug, newest_only=True).dates
        except api_errors.SoundChartsError as exc:
            raise ApiError(502, f"the SoundCharts API did not answer: {exc}") from None
        if not dates:
            raise not_found(f"{slug} has no published ranking")
        return dates[-1]

    try:
        return rules.manual_range(
            parse_date(body.date, "date") if body.date else None,
            parse_date(body.start, "from") if body.start else None,
            parse_date(body.end, "to") if body.end else None,
            rules.utcnow().date(),
            dt.date.fromisoformat(settings.partition_start()),
            newest,
        )
    except rules.InvalidRange as exc:
        raise bad(str(exc)) from None


@router.get("/subscriptions/{slug}/status", dependencies=JsonOnly)
def subscription_status(st: State, slug: str) -> Response:
    slug = parse_slug(slug)
    with st.reader.read() as wh:
        status = subs.sync_status(wh, rules.utcnow().date())
        mine = status[status.chart_slug == slug]
        if mine.empty:
            raise not_found(f"no subscription for chart {slug!r}")
        row = mine.iloc[0]
        last = queries.last_sync(wh, slug)
    rate = row.success_rate
    mean = row.mean_seconds
    return json_response(
        {
            "chart_slug": slug,
            "frequency": row.frequency,
            "is_active": bool(row.active),
            "latest_ranking": row.latest_ranking,
            "rankings": int(row.rankings),
            "state": row.state,
            "overdue": bool(row.overdue),
            "success_rate": None if rate is None or rate != rate else float(rate),
            "mean_duration_seconds": None if mean is None or mean != mean else float(mean),
            "last_run": last,
        }
    )
