"""The JSON read API (``/api``): charts, rankings, tracks, artists, albums, genres, audience."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Response

from musiccharts_pipeline.serve import album_queries, audience_queries, entity_queries, queries
from musiccharts_pipeline.serve.http import (
    DEFAULT_LIMIT,
    DEFAULT_SERIES_LIMIT,
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
from musiccharts_pipeline.serve.routing import Format, JsonOnly, Limit, Offset, SeriesLimit, State
from musiccharts_pipeline.serve.state import ServeState
from musiccharts_pipeline.sync import rules

router = APIRouter(prefix="/api")


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
        total, items = entity_queries.tracks(wh, limit, offset, artist=artist, genre=genre, q=q)
    if kind == "csv":
        return csv_response(items, entity_queries.TRACK_COLUMNS, "tracks.csv", total)
    return json_response(page(total, limit, offset, items))


#: A track's or an artist's row, and what its answer holds besides, in order.
ENTITY_ROW = {"track": entity_queries.track, "artist": entity_queries.artist}
ENTITY_RELATED = {
    "track": {
        "artists": entity_queries.track_artists,
        "genres": entity_queries.track_genres,
        "charts": entity_queries.track_chart_history,
        "albums": album_queries.albums_of_track,
    },
    "artist": {
        "genres": entity_queries.artist_genres,
        "tracks": entity_queries.artist_tracks,
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
        "audience_platforms": audience_queries.audience_platforms(wh, owner, uuid),
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
        tree = entity_queries.genre_tree(entity_queries.genres(wh))
    return json_response(page(len(tree), limit, offset, tree[offset : offset + limit]))


AUDIENCE_COLUMNS = {
    "track": ("platform", "date", "value", "daily"),
    "artist": ("platform", "date", "value", "daily", "listeners"),
}


def read_audience(
    wh, owner: Literal["track", "artist"], uuid: str, platform: str | None, window
) -> dict[str, dict]:
    """The series of one entity in a :class:`audience_queries.SeriesWindow`; a 404 that says
    why when there is none."""
    found = audience_queries.audience(wh, owner, uuid, platform, window)
    if found:
        return found
    # no point at all: say whether the entity or its platform is what is missing
    exists = ENTITY_ROW[owner](wh, uuid)
    if exists is None:
        raise not_found(f"no {owner} {uuid}")
    platforms = audience_queries.audience_platforms(wh, owner, uuid)
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
            wh, owner, uuid, platform, audience_queries.SeriesWindow(start, end, q.limit, q.offset)
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
