"""The FastAPI application: the read API, the subscriptions API and the pages over one reader.

Every failure a client can cause is a 4xx with a JSON body saying what is wrong (an HTML page
for a browser on the pages); anything else is logged here and answered as a 500 without a
traceback."""

from __future__ import annotations

import contextlib
import logging

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from musiccharts_pipeline import settings
from musiccharts_pipeline.serve import api, discover, pages, plans, subscriptions_api, watch
from musiccharts_pipeline.serve.guard import RequestGuard
from musiccharts_pipeline.serve.http import ApiError, json_response
from musiccharts_pipeline.serve.readers import WarehouseUnavailable, reader_for
from musiccharts_pipeline.serve.state import ServeState
from musiccharts_pipeline.soundcharts import SoundChartsClient

log = logging.getLogger(__name__)

#: How long the first snapshot of a DuckDB warehouse may wait for a quiet moment at start.
FIRST_SNAPSHOT_WAIT = 60.0


def create_app(
    warehouse_url: str | None = None,
    api_token: str | None = None,
    dagster_url: str | None = None,
    soundcharts: SoundChartsClient | None = None,
    snapshot_interval: float = 1.0,
) -> FastAPI:
    """The server over ``warehouse_url`` (default: the pipeline's). ``api_token`` and
    ``dagster_url`` default to MUSICCHARTS_API_TOKEN and MUSICCHARTS_DAGSTER_URL."""
    url = warehouse_url or settings.warehouse_url()
    reader = reader_for(url, interval=snapshot_interval)
    state = ServeState(
        reader=reader,
        api_token=api_token if api_token is not None else settings.api_token(),
        dagster_url=dagster_url or settings.dagster_url(),
        client=soundcharts,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        # the schema, as every command of the project brings it up to date (a brief write)
        reader.writer.migrate()
        if not reader.refresh(wait=FIRST_SNAPSHOT_WAIT):
            log.warning("no snapshot of the warehouse yet: reads answer 503 until one is taken")
        reader.start()
        try:
            yield
        finally:
            reader.close()

    # no /docs or /redoc: their pages load scripts from a CDN; /openapi.json describes the API
    app = FastAPI(
        title="musiccharts",
        summary="Chart rankings, tracks, artists, genres and audience from the warehouse.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.serve = state
    app.add_middleware(RequestGuard, api_token=state.api_token, max_body=settings.max_body_bytes())
    app.include_router(discover.api_router)
    app.include_router(api.router)
    app.include_router(subscriptions_api.router)
    app.include_router(watch.router)
    app.include_router(plans.router)
    app.include_router(discover.page_router)
    app.include_router(pages.router)
    _errors(app)
    return app


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api") and "text/html" in request.headers.get(
        "accept", ""
    )


def _answer(request: Request, status: int, message: str, headers=None, **extra):
    if _wants_html(request):
        response = pages.error_page(status, message)
        if headers:
            response.headers.update(headers)
        return response
    return json_response({"error": message, "status": status, **extra}, status, headers)


def _errors(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return _answer(request, exc.status, exc.message, exc.headers, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        problems = [
            {
                "parameter": ".".join(str(p) for p in e["loc"] if p not in ("query", "path")),
                "message": e["msg"],
            }
            for e in exc.errors()
        ]
        text = "; ".join(f"{p['parameter']}: {p['message']}" for p in problems)
        return _answer(request, 400, f"invalid request: {text}", problems=problems)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        message = {404: "no such page or route", 405: "method not allowed here"}.get(
            exc.status_code, str(exc.detail)
        )
        return _answer(request, exc.status_code, message, getattr(exc, "headers", None))

    @app.exception_handler(WarehouseUnavailable)
    async def unavailable(request: Request, exc: WarehouseUnavailable):
        return _answer(request, 503, str(exc), {"Retry-After": "5"})

    @app.exception_handler(sa.exc.OperationalError)
    async def database_down(request: Request, exc: sa.exc.OperationalError):
        log.warning("warehouse unreachable: %s", exc.orig)
        return _answer(request, 503, "the warehouse cannot be reached", {"Retry-After": "5"})

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _answer(request, 500, "internal error: see the server's log")
