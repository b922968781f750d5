"""The JSON read API and the subscriptions API (``/api``)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from musiccharts_pipeline import settings
from musiccharts_pipeline.serve import album_queries, dagster_runs, queries
from musiccharts_pipeline.serve.guard import token_problem
from musiccharts_pipeline.serve.http import (
    DEFAULT_LIMIT,
    DEFAULT_SERIES_LIMIT,
    MAX_LIMIT,
    MAX_OFFSET,
    ApiError,
    bad,
    csv_response,
    json_response,
    not_found,
    page,
    parse_date,
    parse_format,
    parse_genre,
    parse_platform,
    parse_range,
    parse_slug,
    parse_text,
    parse_uuid,
)
from musiccharts_pipeline.serve.state import ServeState
from musiccharts_pipeline.soundcharts import errors as api_errors
from musiccharts_pipeline.sync import rules
from musiccharts_pipeline.sync import subscriptions as subs

router = APIRouter(prefix="/api")

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


# -- reads --------------------------------------------------------------------------------------


@router.get("/health", dependencies=JsonOnly)
def health(st: State) -> Response:
    with st.reader.read() as wh:
        ping = queries.ping(wh)
    return json_response(
        {
            "status": "ok",
            "warehouse": st.reader.kind,
            "rankings": int(ping["rankings"]),
            "last_fetched_at": ping["last_fetched_at"],
            **st.reader.status(),
        }
    )


@router.get("/charts", dependencies=JsonOnly)
def charts(st: State, limit: Limit = DEFAULT_LIMIT, offset: Offset = 0) -> Response:
    with st.reader.read() as wh:
        total, items = queries.charts(wh, rules.utcnow().date(), limit, offset)
    return json_response(page(total, limit, offset, items))


def resolve_ranking_date(wh, slug: str, date: str | None) -> tuple[dt.date, list[dt.date]]:
    """The requested (or newest) stored ranking date of a chart, and every stored date."""
    wanted = parse_date(date, "date")
    dates = queries.ranking_dates(wh, slug)
    if not dates:
        if not queries.chart_exists(wh, slug):
            raise not_found(f"no chart {slug!r} is known: subscribe to it first")
        raise not_found(f"no ranking of {slug} is stored yet")
    if wanted is None:
        return dates[0], dates
    if wanted not in set(dates):
        raise not_found(
            f"no ranking of {slug} is stored for {wanted}",
            latest=dates[0],
            stored_dates=len(dates),
        )
    return wanted, dates


@router.get("/charts/{slug}/rankings")
def rankings(
    st: State,
    slug: str,
    date: str | None = None,
    limit: Limit = 200,
    offset: Offset = 0,
    fmt: Format = None,
) -> Response:
    slug, kind = parse_slug(slug), parse_format(fmt)
    with st.reader.read() as wh:
        day, _ = resolve_ranking_date(wh, slug, date)
        total, items = queries.ranking(wh, slug, day, limit, offset)
        previous = queries.previous_ranking_date(wh, slug, day)
    if kind == "csv":
        return csv_response(items, queries.RANKING_COLUMNS, f"{slug}-{day}.csv", total)
    return json_response(
        {
            "chart_slug": slug,
            "date": day,
            "previous_date": previous,
            # the rule of int_ranking_movements: the previous stored ranking, else the API's own
            "movement_basis": "previous_stored_ranking" if previous else "api_old_position",
            **page(total, limit, offset, items),
        }
    )


@router.get("/tracks")
def tracks(
    st: State,
    artist: str | None = None,
    genre: str | None = None,
    q: str | None = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
    fmt: Format = None,
) -> Response:
    kind = parse_format(fmt)
    artist = parse_uuid(artist, "artist") if artist else None
    genre, q = parse_genre(genre), parse_text(q, "q")
    with st.reader.read() as wh:
        total, items = queries.tracks(wh, limit, offset, artist=artist, genre=genre, q=q)
    if kind == "csv":
        return csv_response(items, queries.TRACK_COLUMNS, "tracks.csv", total)
    return json_response(page(total, limit, offset, items))


#: A track's or an artist's row, and what its answer holds besides, in order.
ENTITY_ROW = {"track": queries.track, "artist": queries.artist}
ENTITY_RELATED = {
    "track": {
        "artists": queries.track_artists,
        "genres": queries.track_genres,
        "charts": queries.track_chart_history,
        "albums": album_queries.albums_of_track,
    },
    "artist": {
        "genres": queries.artist_genres,
        "tracks": queries.artist_tracks,
        "albums": album_queries.albums_of_artist,
    },
}


def entity_detail(wh, owner: Literal["track", "artist"], uuid: str) -> dict:
    row = ENTITY_ROW[owner](wh, uuid)
    if row is None:
        raise not_found(f"no {owner} {uuid}")
    return {
        **row,
        **{key: read(wh, uuid) for key, read in ENTITY_RELATED[owner].items()},
        "audience_platforms": queries.audience_platforms(wh, owner, uuid),
    }


def entity_answer(st: ServeState, owner: Literal["track", "artist"], uuid: str) -> Response:
    uuid = parse_uuid(uuid, f"{owner} uuid")
    with st.reader.read() as wh:
        return json_response(entity_detail(wh, owner, uuid))


@router.get("/tracks/{uuid}", dependencies=JsonOnly)
def track(st: State, uuid: str) -> Response:
    return entity_answer(st, "track", uuid)


@router.get("/artists/{uuid}", dependencies=JsonOnly)
def artist(st: State, uuid: str) -> Response:
    return entity_answer(st, "artist", uuid)


def album_detail(st: ServeState, uuid: str) -> dict:
    """An album with its tracks and performance (the route's and the page's); 404 if unknown."""
    uuid = parse_uuid(uuid, "album uuid")
    with st.reader.read() as wh:
        found = album_queries.album(wh, uuid)
    if found is None:
        raise not_found(f"no album {uuid}")
    return found


@router.get("/albums/{uuid}", dependencies=JsonOnly)
def album(st: State, uuid: str) -> Response:
    return json_response(album_detail(st, uuid))


@router.get("/genres", dependencies=JsonOnly)
def genres(st: State, limit: Limit = DEFAULT_LIMIT, offset: Offset = 0) -> Response:
    with st.reader.read() as wh:
        tree = queries.genre_tree(queries.genres(wh))
    return json_response(page(len(tree), limit, offset, tree[offset : offset + limit]))


AUDIENCE_COLUMNS = {
    "track": ("platform", "date", "value", "daily"),
    "artist": ("platform", "date", "value", "daily", "listeners"),
}


def read_audience(
    wh, owner: Literal["track", "artist"], uuid: str, platform: str | None, window
) -> dict[str, dict]:
    """The series of one entity in a :class:`queries.SeriesWindow`; a 404 that says why when
    there is none."""
    found = queries.audience(wh, owner, uuid, platform, window)
    if found:
        return found
    # no point at all: say whether the entity or its platform is what is missing
    exists = ENTITY_ROW[owner](wh, uuid)
    if exists is None:
        raise not_found(f"no {owner} {uuid}")
    platforms = queries.audience_platforms(wh, owner, uuid)
    if platform is not None and platform not in platforms:
        raise not_found(
            f"{owner} {uuid} has no audience stored for {platform}",
            platforms=sorted(platforms),
        )
    raise not_found(f"{owner} {uuid} has no audience stored", platforms=sorted(platforms))


@dataclasses.dataclass(frozen=True)
class SeriesParams:
    """The query parameters of every audience route, as received: ``audience_answer`` parses
    them after the path's."""

    start_date: str | None
    end_date: str | None
    limit: int
    offset: int
    fmt: str | None


def series_params(
    start_date: str | None = None,
    end_date: str | None = None,
    limit: SeriesLimit = DEFAULT_SERIES_LIMIT,
    offset: Offset = 0,
    fmt: Format = None,
) -> SeriesParams:
    return SeriesParams(start_date, end_date, limit, offset, fmt)


Series = Annotated[SeriesParams, Depends(series_params)]


def audience_answer(
    st: ServeState,
    owner: Literal["track", "artist"],
    uuid: str,
    platform: str | None,
    q: SeriesParams,
) -> Response:
    uuid = parse_uuid(uuid, f"{owner} uuid")
    platform = parse_platform(platform) if platform is not None else None
    start, end = parse_range(q.start_date, q.end_date)
    kind = parse_format(q.fmt)
    with st.reader.read() as wh:
        found = read_audience(
            wh, owner, uuid, platform, queries.SeriesWindow(start, end, q.limit, q.offset)
        )
    if kind == "csv":
        rows = [{"platform": p, **point} for p, s in found.items() for point in s["series"]]
        name = f"{owner}-{uuid}-{platform or 'all'}.csv"
        return csv_response(
            rows, AUDIENCE_COLUMNS[owner], name, sum(s["total"] for s in found.values())
        )
    window = {"start_date": start, "end_date": end, "limit": q.limit, "offset": q.offset}
    if platform is not None:
        return json_response({owner: uuid, "platform": platform, **window, **found[platform]})
    return json_response(
        {
            owner: uuid,
            **window,
            "platforms": [{"platform": p, **s} for p, s in found.items()],
        }
    )


def audience_routes(owner: Literal["track", "artist"]) -> None:
    """``GET /api/audience/{owner}s/{uuid}/{platform}`` (one platform) and
    ``GET /api/audience/{owner}s/{uuid}`` (every platform the entity has)."""

    @router.get(f"/audience/{owner}s/{{uuid}}/{{platform}}", name=f"{owner}_audience_platform")
    def one_platform(st: State, uuid: str, platform: str, q: Series) -> Response:
        return audience_answer(st, owner, uuid, platform, q)

    @router.get(f"/audience/{owner}s/{{uuid}}", name=f"{owner}_audience")
    def every_platform(st: State, uuid: str, q: Series) -> Response:
        return audience_answer(st, owner, uuid, None, q)


audience_routes("track")
audience_routes("artist")


# -- subscriptions --------------------------------------------------------------------------------


def require_token(request: Request) -> None:
    """Writes need ``Authorization: Bearer <MUSICCHARTS_API_TOKEN>`` (checked first by the
    request guard, before the body is read; again here, so a route never depends on it)."""
    problem = token_problem(state(request).api_token, request.headers.get("authorization", ""))
    if problem is not None:
        raise problem


Writer = Depends(require_token)


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
            "overdue": bool(row.overdue),
            "success_rate": None if rate is None or rate != rate else float(rate),
            "mean_duration_seconds": None if mean is None or mean != mean else float(mean),
            "last_run": last,
        }
    )
