"""Chart discovery over HTTP: ``GET /api/charts/available`` and the "Discover" section of the
``/charts`` page, whose subscribe buttons post the write token in a form (the pages run no
script, so the browser cannot send it as a header)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from musiccharts_pipeline.serve.http import ApiError, bad, json_response, page, parse_slug
from musiccharts_pipeline.serve.state import ServeState
from musiccharts_pipeline.soundcharts import errors as api_errors
from musiccharts_pipeline.sync import discovery
from musiccharts_pipeline.sync import subscriptions as subs

api_router = APIRouter(prefix="/api")
page_router = APIRouter()


def _state(request: Request) -> ServeState:
    return request.app.state.serve


State = Annotated[ServeState, Depends(_state)]


def find(
    st: ServeState, platform: str | None, country: str | None, search: str | None
) -> list[discovery.AvailableChart]:
    """The charts the API offers for these filters (from the hour's listing), marked subscribed;
    bad filters are a 400, an unreachable API a 502."""
    try:
        charts = st.catalogue.charts(st.soundcharts(), discovery.Filters(platform, country, search))
    except discovery.DiscoveryError as exc:
        raise bad(str(exc)) from None
    except api_errors.SoundChartsError as exc:
        raise ApiError(502, f"the SoundCharts API did not answer: {exc}") from None
    return discovery.mark_subscribed(st.reader.writer, charts)


@api_router.get("/charts/available")
def available(
    st: State,
    platform: str | None = None,
    country: str | None = None,
    search: str | None = None,
) -> Response:
    rows = [c.row() for c in find(st, platform, country, search)]
    return json_response(page(len(rows), len(rows), 0, rows))


@page_router.post("/charts/subscribe")
def subscribe_from_page(
    st: State, slug: Annotated[str, Form()], token: Annotated[str, Form()] = ""
) -> Response:
    """The page's subscribe button: the token typed in the form, compared in constant time,
    then the same rules as ``POST /api/subscriptions``; back to ``/charts`` with the outcome."""
    slug = parse_slug(slug)
    expected = st.api_token
    if not expected:
        raise ApiError(403, "writes are disabled: no MUSICCHARTS_API_TOKEN is configured")
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise ApiError(401, "the write token is not valid")
    try:
        subs.add(st.reader.writer, st.soundcharts(), slug)
    except subs.AlreadySubscribed:
        pass
    except subs.SubscriptionError as exc:
        raise bad(str(exc)) from None
    except api_errors.SoundChartsError as exc:
        raise ApiError(502, f"the SoundCharts API did not answer: {exc}") from None
    st.reader.refresh(wait=5)
    return RedirectResponse(f"/charts?subscribed={slug}", status_code=303)
