"""The watchlist over HTTP: ``GET /api/watchlist``; writes behind the token: ``POST
/api/watchlist`` (uuids and ISRCs, all or nothing), ``POST /api/watchlist/import`` (a CSV body:
bad rows reported by line, good ones kept), ``DELETE /api/watchlist/{kind}/{ident}``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from musiccharts_pipeline.serve import dagster_runs
from musiccharts_pipeline.serve.http import ApiError, bad, json_response, not_found
from musiccharts_pipeline.serve.routing import JsonOnly, State, Writer
from musiccharts_pipeline.sync import watchlist

router = APIRouter(prefix="/api")
MAX_IDS = 1000


class NewWatches(BaseModel):
    model_config = ConfigDict(extra="forbid")

    artists: list[str] = Field(default_factory=list, max_length=MAX_IDS)
    songs: list[str] = Field(default_factory=list, max_length=MAX_IDS)
    isrcs: list[str] = Field(default_factory=list, max_length=MAX_IDS)


def _row(entry: watchlist.Entry) -> dict:
    return {"kind": entry.kind, "ident": entry.ident}


@router.get("/watchlist", dependencies=JsonOnly)
def watched(st: State) -> Response:
    with st.reader.read() as wh:
        frame = watchlist.listing(wh)
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return json_response({"total": len(rows), "items": rows})


@router.post("/watchlist", dependencies=[Writer])
def watch(st: State, body: NewWatches) -> Response:
    entries, refused = [], []
    for kind, values in (
        (watchlist.ARTIST, body.artists),
        (watchlist.SONG, body.songs),
        (watchlist.ISRC, body.isrcs),
    ):
        for value in values:
            try:
                entries.append(watchlist.parse(kind, value))
            except watchlist.WatchError as exc:
                refused.append({"kind": kind, "value": value[:60], "reason": str(exc)})
    if refused:
        raise bad("nothing was added: fix or drop the refused values", refused=refused)
    if not entries:
        raise bad("send at least one of artists, songs, isrcs")
    added, already = watchlist.add(st.reader.writer, entries, "api")
    st.reader.refresh(wait=5)
    return json_response(
        {"added": [_row(e) for e in added], "already": [_row(e) for e in already]}, status=201
    )


@router.post("/watchlist/import", dependencies=[Writer])
async def import_file(st: State, request: Request) -> Response:
    raw = await request.body()  # bounded by the request guard's body limit
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise bad("the body must be UTF-8 CSV text") from None
    try:
        report = watchlist.import_csv(st.reader.writer, text, source="api")
    except watchlist.WatchError as exc:
        raise bad(str(exc)) from None
    st.reader.refresh(wait=5)
    return json_response(
        {
            "added": len(report.added),
            "already": len(report.already),
            "duplicate_lines": report.duplicates,
            "bad": [{"line": line, "reason": why} for line, why in report.bad],
        }
    )


@router.post("/watchlist/sync", dependencies=[Writer])
def sync_now(st: State) -> Response:
    """The catalogue run now, through the Dagster webserver (as `musiccharts watch sync`)."""
    try:
        run_id = dagster_runs.launch_catalogue(st.dagster_url)
    except dagster_runs.DagsterUnreachable as exc:
        raise ApiError(503, str(exc), dagster_url=st.dagster_url) from None
    except dagster_runs.DagsterRefused as exc:
        raise ApiError(502, str(exc), dagster_url=st.dagster_url) from None
    return json_response(
        {"run_id": run_id, "run_url": f"{st.dagster_url.rstrip('/')}/runs/{run_id}"}, status=202
    )


@router.delete("/watchlist/{kind}/{ident}", dependencies=[Writer])
def unwatch(st: State, kind: str, ident: str) -> Response:
    try:
        entry = watchlist.parse(kind, ident)
    except watchlist.WatchError as exc:
        raise bad(str(exc)) from None
    try:
        watchlist.remove(st.reader.writer, entry)
    except watchlist.WatchError as exc:
        raise not_found(str(exc)) from None
    st.reader.refresh(wait=5)
    return json_response({"deleted": _row(entry), "note": "what was fetched stays"})
