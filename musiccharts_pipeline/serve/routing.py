"""What every ``/api`` route shares: the serve state, paging and format parameters, the JSON-only
rule, and the token that writes need."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from musiccharts_pipeline.serve.guard import token_problem
from musiccharts_pipeline.serve.http import MAX_LIMIT, MAX_OFFSET, bad
from musiccharts_pipeline.serve.state import ServeState

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
SeriesLimit = Annotated[int, Query(ge=1, le=MAX_LIMIT * 5)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
Format = Annotated[str | None, Query(alias="format")]


def state(request: Request) -> ServeState:
    return request.app.state.serve


State = Annotated[ServeState, Depends(state)]


def json_only(fmt: Format = None) -> None:
    """Routes that answer JSON only refuse another format, as the CSV routes refuse an unknown
    one, instead of answering JSON to a request for CSV."""
    if fmt not in (None, "", "json"):
        raise bad(f"this route answers JSON only, got format={fmt!r}")


JsonOnly = [Depends(json_only)]


def require_token(request: Request) -> None:
    """Writes need ``Authorization: Bearer <MUSICCHARTS_API_TOKEN>`` (checked first by the
    request guard, before the body is read; again here, so a route never depends on it)."""
    problem = token_problem(state(request).api_token, request.headers.get("authorization", ""))
    if problem is not None:
        raise problem


Writer = Depends(require_token)
