"""Server-rendered pages: Jinja2 templates (autoescaped), inline SVG charts, nothing fetched
from the network."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from musiccharts_pipeline.dashboard.render import load_marts, render
from musiccharts_pipeline.serve import audience_queries, entity_queries, queries
from musiccharts_pipeline.serve import charts as draw
from musiccharts_pipeline.serve.api import album_detail, entity_detail, resolve_ranking_date
from musiccharts_pipeline.serve.discover import find
from musiccharts_pipeline.serve.http import (
    DEFAULT_LIMIT,
    MAX_OFFSET,
    ApiError,
    bad,
    parse_genre,
    parse_range,
    parse_slug,
    parse_text,
    parse_uuid,
)
from musiccharts_pipeline.serve.routing import State
from musiccharts_pipeline.serve.state import ServeState
from musiccharts_pipeline.sync import rules
from musiccharts_pipeline.sync.movement import MOVEMENTS

router = APIRouter()


def _name(value) -> Markup:
    """A name from the data: escaped, and isolated so right-to-left marks in it cannot reorder
    the text around it."""
    if value is None or value == "":
        return Markup("")
    return Markup("<bdi>{}</bdi>").format(value)


def _num(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


env = Environment(
    loader=PackageLoader("musiccharts_pipeline.serve", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters.update(
    name=_name, num=_num, move=lambda m: draw.MOVE_LABELS.get(m, m), compact=draw.compact
)
env.globals.update(urlencode=urlencode, movements=MOVEMENTS)


def page(template: str, status: int = 200, **context) -> HTMLResponse:
    return HTMLResponse(env.get_template(template).render(**context), status_code=status)


@router.get("/", response_class=HTMLResponse)
def dashboard(st: State) -> HTMLResponse:
    with st.reader.read() as wh:
        total, known = queries.charts(wh, rules.utcnow().date(), 1000, 0)
        try:
            marts = load_marts(wh)
        except sa.exc.DBAPIError:
            marts = None
    nav = env.get_template("nav.html").render(nav_charts=known)
    if marts is None:
        return page(
            "message.html",
            title="Dashboard",
            nav_charts=known,
            message="The dashboard's dbt marts are not built yet: `make run` builds them, and "
            "`make dev` rebuilds them after each sync.",
        )
    return HTMLResponse(render(marts).replace("<body>", "<body>" + nav, 1))


@router.get("/charts", response_class=HTMLResponse)
def chart_list(
    st: State,
    platform: str | None = None,
    country: str | None = None,
    search: str | None = None,
    subscribed: str | None = None,
) -> HTMLResponse:
    with st.reader.read() as wh:
        total, known = queries.charts(wh, rules.utcnow().date(), 1000, 0)
    try:
        offered, problem = find(st, platform, country, search), None
    except ApiError as exc:
        offered, problem = [], exc.message
    return page(
        "charts.html",
        title="Charts",
        charts=known,
        total=total,
        offered=offered,
        problem=problem,
        filters={"platform": platform or "", "country": country or "", "search": search or ""},
        just_subscribed=subscribed if subscribed in {c.slug for c in offered} else None,
    )


@router.get("/charts/{slug}", response_class=HTMLResponse)
def chart_page(st: State, slug: str, date: str | None = None) -> HTMLResponse:
    slug = parse_slug(slug)
    with st.reader.read() as wh:
        day, dates = resolve_ranking_date(wh, slug, date)
        total, entries = queries.ranking(wh, slug, day, 1000, 0)
        counts = queries.movement_counts(wh, slug, day)
        meta = queries.chart(wh, slug) or {"chart_slug": slug, "name": None, "platform": None}
        previous = queries.previous_ranking_date(wh, slug, day)
    return page(
        "chart.html",
        title=meta.get("name") or slug,
        chart=meta,
        slug=slug,
        day=day,
        dates=dates,
        previous=previous,
        entries=entries,
        counts=counts,
        movement_svg=Markup(draw.movement_chart(counts, f"movement_{slug}")),
    )


@router.get("/tracks", response_class=HTMLResponse)
def track_list(
    st: State,
    q: str | None = None,
    artist: str | None = None,
    genre: str | None = None,
    offset: int = 0,
) -> HTMLResponse:
    q, genre = parse_text(q, "q"), parse_genre(genre)
    artist = parse_uuid(artist, "artist") if artist else None
    if not 0 <= offset <= MAX_OFFSET:
        raise bad(f"offset must be between 0 and {MAX_OFFSET}")
    with st.reader.read() as wh:
        total, items = entity_queries.tracks(
            wh, DEFAULT_LIMIT, offset, artist=artist, genre=genre, q=q
        )
        artist_row = entity_queries.artist(wh, artist) if artist else None
    filters = {k: v for k, v in (("q", q), ("artist", artist), ("genre", genre)) if v}
    return page(
        "tracks.html",
        title="Tracks",
        tracks=items,
        total=total,
        offset=offset,
        limit=DEFAULT_LIMIT,
        q=q or "",
        genre=genre,
        artist=artist_row,
        filters=filters,
    )


def _audience_svgs(wh, owner: str, uuid: str, start, end) -> list[dict]:
    found = audience_queries.audience(
        wh, owner, uuid, None, audience_queries.SeriesWindow(start, end, 5000)
    )
    out = []
    for platform, s in found.items():
        fields = [("value", "followers" if owner == "artist" else "audience")]
        if owner == "artist":
            fields.append(("listeners", "monthly listeners"))
        for field, what in fields:
            svg = draw.series_chart(s["series"], f"audience_{platform}_{field}", field)
            if svg:
                last = [p for p in s["series"] if p.get(field) is not None][-1]
                out.append(
                    {
                        "platform": platform,
                        "what": what,
                        "svg": Markup(svg),
                        "points": len([p for p in s["series"] if p.get(field) is not None]),
                        "first": s["series"][0]["date"],
                        "last": last["date"],
                        "latest": last[field],
                    }
                )
    return out


def entity_page(
    st: ServeState,
    owner: Literal["track", "artist"],
    uuid: str,
    start_date: str | None,
    end_date: str | None,
) -> HTMLResponse:
    """A track's or an artist's page: its details and its audience charts over a date range."""
    uuid = parse_uuid(uuid, f"{owner} uuid")
    start, end = parse_range(start_date, end_date)
    with st.reader.read() as wh:
        entity = entity_detail(wh, owner, uuid)
        audience = _audience_svgs(wh, owner, uuid, start, end)
    return page(
        f"{owner}.html",
        title=entity["name"] or uuid,
        audience=audience,
        start=start,
        end=end,
        **{owner: entity},
    )


@router.get("/tracks/{uuid}", response_class=HTMLResponse)
def track_page(
    st: State, uuid: str, start_date: str | None = None, end_date: str | None = None
) -> HTMLResponse:
    return entity_page(st, "track", uuid, start_date, end_date)


@router.get("/albums/{uuid}", response_class=HTMLResponse)
def album_page(st: State, uuid: str) -> HTMLResponse:
    found = album_detail(st, uuid)
    return page("album.html", title=found["name"] or found["uuid"], album=found)


@router.get("/artists/{uuid}", response_class=HTMLResponse)
def artist_page(
    st: State, uuid: str, start_date: str | None = None, end_date: str | None = None
) -> HTMLResponse:
    return entity_page(st, "artist", uuid, start_date, end_date)


@router.get("/genres", response_class=HTMLResponse)
def genre_page(st: State) -> HTMLResponse:
    with st.reader.read() as wh:
        tree = entity_queries.genre_tree(entity_queries.genres(wh))
    return page("genres.html", title="Genres", genres=tree)


def error_page(status: int, message: str) -> HTMLResponse:
    return page("message.html", status=status, title=f"Error {status}", message=message)
