"""`musiccharts serve` on both warehouses: every JSON route against numbers computed here from
the raw tables, CSV equal to JSON, bad input answered 4xx with a JSON body, the subscriptions API
behind its token."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pandas as pd
import pytest

from musiccharts_pipeline.serve import guard as serve_guard
from musiccharts_pipeline.sync.movement import classify
from musiccharts_pipeline_tests.serving import TOKEN, fill, serving

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def served(pipeline, warehouse_url):
    today = fill(pipeline)
    with serving(pipeline, warehouse_url, today) as s:
        yield s


def _get(s, path: str, status: int = 200, **kwargs):
    answer = s.http.get(path, **kwargs)
    assert answer.status_code == status, (path, answer.status_code, answer.text[:500])
    return answer


def _dates(values) -> list[dt.date]:
    return [pd.Timestamp(v).date() for v in values]


def _expected_ranking(wh, slug: str, date: dt.date) -> list[dict]:
    """Each entry's movement, computed from the raw entries as the dbt model says it, labelled
    by the one movement rule."""
    raw = wh.read_frame(
        "SELECT ranking_date, position, song_uuid, old_position, entry_state "
        "FROM soundcharts.chart_ranking_entries WHERE chart_slug = :s",
        {"s": slug},
    )
    raw["ranking_date"] = _dates(raw.ranking_date)
    stored = sorted(set(raw.ranking_date))
    earlier = [d for d in stored if d < date]
    before = raw[raw.ranking_date == earlier[-1]] if earlier else None
    seen = set(raw[raw.ranking_date < date].song_uuid)
    names = wh.read_frame("SELECT uuid, name FROM soundcharts.tracks").set_index("uuid").name
    out = []
    for row in raw[raw.ranking_date == date].sort_values("position").itertuples():
        if before is not None:
            match = before[before.song_uuid == row.song_uuid].position
            previous = int(match.min()) if len(match) else None
        else:
            previous = None if pd.isna(row.old_position) else int(row.old_position)
        kind = classify(row.position, previous, row.song_uuid in seen, row.entry_state)
        out.append(
            {
                "position": int(row.position),
                "track_uuid": row.song_uuid,
                "track_name": names.get(row.song_uuid),
                "movement": kind,
                "previous_position": previous,
            }
        )
    return out


def test_rankings_and_charts_match_the_raw_tables(served):
    s, wh = served, served.wh
    health = _get(s, "/api/health").json()
    assert health["status"] == "ok" and health["warehouse"] == wh.backend
    assert health["rankings"] == int(wh.scalar("SELECT count(*) FROM soundcharts.chart_rankings"))

    charts = _get(s, "/api/charts").json()
    latest = wh.read_frame(
        "SELECT chart_slug, max(ranking_date) AS d, count(*) AS n "
        "FROM soundcharts.chart_rankings GROUP BY chart_slug"
    )
    assert charts["total"] == len(latest) == 2
    by_slug = {c["chart_slug"]: c for c in charts["items"]}
    for row in latest.itertuples():
        assert by_slug[row.chart_slug]["health"]["latest_ranking"] == str(
            pd.Timestamp(row.d).date()
        )
        assert by_slug[row.chart_slug]["health"]["rankings"] == row.n
    assert by_slug["top-50-fr"]["subscription"]["is_active"] is True
    assert by_slug["top-50-fr"]["health"]["state"] == "healthy"
    assert by_slug["tiktok-top-50-weekly"]["subscription"] is None
    assert _get(s, "/api/charts?limit=1&offset=1").json()["items"][0]["chart_slug"] == "top-50-fr"
    for route in ("/api/charts", "/api/genres", "/api/subscriptions", "/api/health"):
        for fmt in ("csv", "xml"):  # JSON-only routes refuse another format, never ignore it
            answer = s.http.get(f"{route}?format={fmt}")
            assert answer.status_code == 400 and "JSON only" in answer.json()["error"]

    dates = sorted(_dates(latest[latest.chart_slug == "top-50-fr"].d))
    stored = sorted(
        _dates(
            wh.read_frame(
                "SELECT ranking_date FROM soundcharts.chart_rankings WHERE chart_slug = 'top-50-fr'"
            ).ranking_date
        )
    )
    assert len(stored) == 3
    for date, path in (
        (dates[-1], "/api/charts/top-50-fr/rankings"),  # latest by default
        (stored[0], f"/api/charts/top-50-fr/rankings?date={stored[0]}"),  # no previous stored
        (stored[1], f"/api/charts/top-50-fr/rankings?date={stored[1]}"),
    ):
        body = _get(s, path).json()
        assert body["date"] == str(date) and body["total"] == 50
        expected = _expected_ranking(wh, "top-50-fr", date)
        got = [{k: item[k] for k in expected[0]} for item in body["items"]]
        assert got == expected
        first = date == stored[0]  # no earlier ranking stored: the API's old position is used
        assert (body["previous_date"] is None) == first
        assert body["movement_basis"] == (
            "api_old_position" if first else "previous_stored_ranking"
        )
    moves = {i["movement"] for i in _get(s, "/api/charts/top-50-fr/rankings").json()["items"]}
    assert len(moves) >= 3  # a real mix: not everything "new"

    paged = _get(s, "/api/charts/top-50-fr/rankings?limit=10&offset=5").json()
    assert [i["position"] for i in paged["items"]] == list(range(6, 16))
    assert (paged["total"], paged["limit"], paged["offset"]) == (50, 10, 5)
    past = _get(s, "/api/charts/top-50-fr/rankings?offset=60").json()
    assert past["items"] == [] and past["total"] == 50


def test_tracks_artists_genres_match_the_raw_tables(served):
    s, wh = served, served.wh
    tracks = wh.read_frame("SELECT uuid, name, credit_name FROM soundcharts.tracks")
    body = _get(s, "/api/tracks?limit=1000").json()
    assert body["total"] == len(tracks) > 50
    assert {t["uuid"] for t in body["items"]} == set(tracks.uuid)
    names = [t["name"] for t in body["items"]]
    assert names == sorted(names)

    word = tracks.name.iloc[0].split()[0].lower()
    expected = {
        r.uuid
        for r in tracks.itertuples()
        if word in r.name.lower() or word in (r.credit_name or "").lower()
    }
    found = _get(s, f"/api/tracks?q={word.upper()}&limit=1000").json()
    assert found["total"] == len(expected) and {t["uuid"] for t in found["items"]} == expected

    links = wh.read_frame("SELECT track_uuid, artist_uuid FROM soundcharts.track_artists")
    artist = links.artist_uuid.value_counts().index[0]
    by_artist = _get(s, f"/api/tracks?artist={artist}").json()
    assert {t["uuid"] for t in by_artist["items"]} == set(
        links[links.artist_uuid == artist].track_uuid
    )

    genres = wh.read_frame(
        "SELECT tg.track_uuid, g.id, g.parent_id FROM soundcharts.track_genres tg "
        "JOIN soundcharts.genres g ON g.id = tg.genre_id"
    )
    root = genres.parent_id.dropna().value_counts().index[0]
    in_root = set(genres[(genres.id == root) | (genres.parent_id == root)].track_uuid)
    by_genre = _get(s, f"/api/tracks?genre={root}&limit=1000").json()
    assert {t["uuid"] for t in by_genre["items"]} == in_root and in_root
    tree = _get(s, "/api/genres").json()
    roots = {g["id"]: g for g in tree["items"]}
    assert (
        tree["total"]
        == len(roots)
        == int(wh.scalar("SELECT count(*) FROM soundcharts.genres WHERE parent_id IS NULL"))
    )
    assert roots[root]["tracks"] == len(in_root)
    for sub in roots[root]["subgenres"]:
        assert sub["tracks"] == len(set(genres[genres.id == sub["id"]].track_uuid))

    entries = wh.read_frame(
        "SELECT chart_slug, ranking_date, position, song_uuid "
        "FROM soundcharts.chart_ranking_entries"
    )
    uuid = entries.song_uuid.value_counts().index[0]
    track = _get(s, f"/api/tracks/{uuid}").json()
    row = wh.read_frame(
        "SELECT name, isrc, label, primary_genre FROM soundcharts.tracks WHERE uuid = :u",
        {"u": uuid},
    ).iloc[0]
    assert (track["name"], track["isrc"], track["label"], track["primary_genre"]) == tuple(row)
    assert [a["uuid"] for a in track["artists"]] == list(
        wh.read_frame(
            "SELECT artist_uuid FROM soundcharts.track_artists WHERE track_uuid = :u "
            "ORDER BY position",
            {"u": uuid},
        ).artist_uuid
    )
    mine = entries[entries.song_uuid == uuid]
    history = {c["chart_slug"]: c for c in track["charts"]}
    assert set(history) == set(mine.chart_slug)
    for slug, group in mine.groupby("chart_slug"):
        assert history[slug]["appearances"] == len(group)
        assert history[slug]["best_position"] == group.position.min()
        last = max(_dates(group.ranking_date))
        assert history[slug]["last_date"] == str(last)
    assert set(track["audience_platforms"]) == set(
        wh.read_frame(
            "SELECT DISTINCT platform FROM soundcharts.track_audience WHERE track_uuid = :u",
            {"u": uuid},
        ).platform
    )

    artist_body = _get(s, f"/api/artists/{artist}").json()
    assert artist_body["name"] == wh.scalar(
        "SELECT name FROM soundcharts.artists WHERE uuid = :u", {"u": artist}
    )
    assert {t["uuid"] for t in artist_body["tracks"]} == set(
        links[links.artist_uuid == artist].track_uuid
    )


def _track_series(wh, uuid: str) -> pd.DataFrame:
    points = wh.read_frame(
        "SELECT platform, date, value FROM soundcharts.track_audience WHERE track_uuid = :u",
        {"u": uuid},
    )
    points["date"] = _dates(points.date)
    series = points.groupby(["platform", "date"]).value.sum().reset_index()
    series = series.sort_values(["platform", "date"])
    series["daily"] = series.groupby("platform").value.diff()
    return series


def _as_points(frame: pd.DataFrame) -> list[dict]:
    return [
        {
            "date": str(r.date),
            "value": int(r.value),
            "daily": None if pd.isna(r.daily) else int(r.daily),
        }
        for r in frame.itertuples()
    ]


def test_audience_series_match_the_raw_tables(served):
    s, wh = served, served.wh
    uuid = wh.scalar(
        "SELECT track_uuid FROM soundcharts.track_audience GROUP BY track_uuid "
        "ORDER BY count(*) DESC, track_uuid LIMIT 1"
    )
    series = _track_series(wh, uuid)
    spotify = series[series.platform == "spotify"]
    assert len(spotify) > 20

    body = _get(s, f"/api/audience/tracks/{uuid}/spotify").json()
    assert (body["track"], body["platform"], body["total"]) == (uuid, "spotify", len(spotify))
    assert body["series"] == _as_points(spotify)

    # a window: the first day's change is taken against the day before it
    dates = list(spotify.date)
    start, end = dates[5], dates[15]
    windowed = spotify[(spotify.date >= start) & (spotify.date <= end)]
    body = _get(
        s, f"/api/audience/tracks/{uuid}/spotify?start_date={start}&end_date={end}&limit=4"
    ).json()
    assert body["total"] == len(windowed) == 11
    assert body["series"] == _as_points(windowed.head(4))
    assert body["series"][0]["daily"] is not None
    body = _get(
        s, f"/api/audience/tracks/{uuid}/spotify?start_date={start}&end_date={end}&offset=8"
    ).json()
    assert body["series"] == _as_points(windowed.iloc[8:])

    every = _get(s, f"/api/audience/tracks/{uuid}").json()
    assert [p["platform"] for p in every["platforms"]] == sorted(set(series.platform))
    for p in every["platforms"]:
        assert p["series"] == _as_points(series[series.platform == p["platform"]])

    artist = wh.scalar(
        "SELECT artist_uuid FROM soundcharts.artist_streaming GROUP BY artist_uuid "
        "ORDER BY count(*) DESC, artist_uuid LIMIT 1"
    )
    followers = wh.read_frame(
        "SELECT platform, date, follower_count FROM soundcharts.artist_audience "
        "WHERE artist_uuid = :u",
        {"u": artist},
    )
    listeners = wh.read_frame(
        "SELECT platform, date, value FROM soundcharts.artist_streaming WHERE artist_uuid = :u",
        {"u": artist},
    )
    body = _get(s, f"/api/audience/artists/{artist}/spotify").json()
    got = {p["date"]: p for p in body["series"]}
    mine_f = followers[followers.platform == "spotify"]
    mine_l = listeners[listeners.platform == "spotify"]
    assert len(got) == len(set(_dates(mine_f.date)) | set(_dates(mine_l.date)))
    for r in mine_f.itertuples():
        assert got[str(pd.Timestamp(r.date).date())]["value"] == r.follower_count
    for r in mine_l.itertuples():
        assert got[str(pd.Timestamp(r.date).date())]["listeners"] == r.value
    every = _get(s, f"/api/audience/artists/{artist}").json()
    assert {p["platform"] for p in every["platforms"]} == set(followers.platform) | set(
        listeners.platform
    )


def _csv(answer) -> list[dict]:
    assert answer.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(answer.text)))


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def test_csv_parses_and_matches_the_json(served):
    s, wh = served, served.wh
    uuid = wh.scalar("SELECT track_uuid FROM soundcharts.track_audience LIMIT 1")
    artist = wh.scalar("SELECT artist_uuid FROM soundcharts.artist_streaming LIMIT 1")
    cases = [
        ("/api/charts/top-50-fr/rankings?limit=30&offset=3", lambda b: b["items"]),
        ("/api/tracks?limit=40&q=a", lambda b: b["items"]),
        (
            f"/api/audience/tracks/{uuid}/spotify?limit=20",
            lambda b: [{"platform": b["platform"], **x} for x in b["series"]],
        ),
        (
            f"/api/audience/tracks/{uuid}",
            lambda b: [
                {"platform": p["platform"], **x} for p in b["platforms"] for x in p["series"]
            ],
        ),
        (
            f"/api/audience/artists/{artist}",
            lambda b: [
                {"platform": p["platform"], **x} for p in b["platforms"] for x in p["series"]
            ],
        ),
    ]
    for path, items in cases:
        body = _get(s, path).json()
        expected = items(body)
        sep = "&" if "?" in path else "?"
        answer = _get(s, f"{path}{sep}format=csv")
        rows = _csv(answer)
        assert len(rows) == len(expected) > 0, path
        for row, item in zip(rows, expected, strict=True):
            assert row == {k: _text(item.get(k)) for k in row}, path
            assert set(row) <= set(item) | {"platform"}
        total = body.get("total", sum(p["total"] for p in body.get("platforms", [])))
        assert int(answer.headers["x-total-count"]) == total


BAD = [
    # dates: malformed, impossible, reversed, SQL-looking
    ("/api/charts/top-50-fr/rankings?date=2025-13-01", 400),
    ("/api/charts/top-50-fr/rankings?date=yesterday", 400),
    ("/api/charts/top-50-fr/rankings?date=2025-01-01'%20OR%20'1'='1", 400),
    ("/api/charts/top-50-fr/rankings?date=2020-01-01", 404),  # well formed, not stored
    ("/api/audience/tracks/{track}?start_date=2025-02-30", 400),
    ("/api/audience/tracks/{track}?start_date=2025-03-02&end_date=2025-03-01", 400),
    ("/api/audience/tracks/{track}/spotify?end_date=1;DROP%20TABLE%20x", 400),
    # limits and offsets
    ("/api/tracks?limit=0", 400),
    ("/api/tracks?limit=1001", 400),
    ("/api/tracks?limit=ten", 400),
    ("/api/tracks?offset=-1", 400),
    ("/api/charts/top-50-fr/rankings?limit=99999999999999999999", 400),
    ("/api/audience/tracks/{track}?limit=0", 400),
    ("/api/audience/tracks/{track}?limit=5001", 400),
    # unknown or malformed uuids, slugs, platforms, formats
    ("/api/tracks/00000000-0000-4000-8000-000000000000", 404),
    ("/api/tracks/not-a-uuid", 400),
    ("/api/tracks/'%20OR%201=1%20--", 400),
    ("/api/artists/00000000-0000-4000-8000-000000000000", 404),
    ("/api/audience/tracks/00000000-0000-4000-8000-000000000000", 404),
    ("/api/audience/artists/00000000-0000-4000-8000-000000000000/spotify", 404),
    ("/api/audience/tracks/{track}/myspace", 404),
    ("/api/audience/tracks/{track}/melon", 404),  # a platform, none stored for this track
    ("/api/audience/tracks/{track}/Spotify;--", 400),
    ("/api/charts/no-such-chart/rankings", 404),
    ("/api/charts/top%2050/rankings", 400),
    ("/api/charts/x'%3BDROP%20TABLE%20soundcharts.tracks%3B--/rankings", 400),
    ("/api/subscriptions/no-such-chart/status", 404),
    ("/api/tracks?artist=1%20OR%201=1", 400),
    ("/api/tracks?genre=<script>", 400),
    ("/api/tracks?format=xml", 400),
    ("/api/tracks?q=" + "x" * 201, 400),
    ("/api/no/such/route", 404),
]


def test_bad_input_is_a_4xx_json_that_says_why(served):
    s, wh = served, served.wh
    track = wh.scalar("SELECT track_uuid FROM soundcharts.track_audience LIMIT 1")
    counts = {
        t: int(wh.scalar(f"SELECT count(*) FROM soundcharts.{t}"))
        for t in ("tracks", "chart_ranking_entries", "chart_subscriptions")
    }
    for path, status in BAD:
        answer = s.http.get(path.format(track=track))
        assert answer.status_code == status, (path, answer.status_code, answer.text[:300])
        assert answer.headers["content-type"].startswith("application/json"), path
        body = answer.json()
        assert isinstance(body["error"], str) and len(body["error"]) > 10, (path, body)
        assert "Traceback" not in answer.text
    assert "limit" in s.http.get("/api/tracks?limit=0").json()["error"]
    assert (
        "after end_date"
        in s.http.get(
            f"/api/audience/tracks/{track}?start_date=2025-03-02&end_date=2025-03-01"
        ).json()["error"]
    )
    # free text is searched as a literal: SQL in it is text no track contains
    for q in ("' OR '1'='1", "x'; DROP TABLE soundcharts.tracks; --", "%", "_"):
        body = _get(s, "/api/tracks", params={"q": q}).json()
        assert body["total"] == 0, q
    # a bad write body is a 4xx too
    bad_bodies = [{"chart_slug": "a b"}, {"chart_slug": "x", "frequency": "hourly"}, {"nope": 1}]
    for body in bad_bodies:
        answer = s.http.post("/api/subscriptions", json=body, headers=AUTH)
        assert 400 <= answer.status_code < 500 and "error" in answer.json(), body
    answer = s.http.post(
        "/api/subscriptions",
        content=b"{not json",
        headers={**AUTH, "content-type": "application/json"},
    )
    assert answer.status_code == 400 and "error" in answer.json()
    # pages: the same answer, as a page for a browser
    page = s.http.get("/tracks/not-a-uuid", headers={"accept": "text/html"})
    assert page.status_code == 400 and "text/html" in page.headers["content-type"]
    assert "must be a SoundCharts uuid" in page.text
    assert s.http.get("/charts/top-50-fr?date=2025-02-30").status_code == 400
    for table, n in counts.items():
        assert int(wh.scalar(f"SELECT count(*) FROM soundcharts.{table}")) == n


def _subscription_row(wh, slug: str) -> dict | None:
    frame = wh.read_frame(
        "SELECT * FROM soundcharts.chart_subscriptions WHERE chart_slug = :s", {"s": slug}
    )
    return frame.to_dict("records")[0] if len(frame) else None


def test_subscriptions_over_http(served, monkeypatch):
    s, wh = served, served.wh
    compared = []
    real = serve_guard.hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(serve_guard.hmac, "compare_digest", spy)
    new = {"chart_slug": "viral-50-global", "sync_historical_data": True, "is_active": False}
    assert s.http.post("/api/subscriptions", json=new).status_code == 401
    wrong = s.http.post("/api/subscriptions", json=new, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
    assert compared == [(b"nope", TOKEN.encode())]  # compared in constant time
    assert _subscription_row(wh, "viral-50-global") is None

    unknown = s.http.post("/api/subscriptions", json={"chart_slug": "no-such-chart"}, headers=AUTH)
    assert unknown.status_code == 400 and "no chart 'no-such-chart'" in unknown.json()["error"]

    created = s.http.post("/api/subscriptions", json=new, headers=AUTH)
    assert created.status_code == 201, created.text
    row = _subscription_row(wh, "viral-50-global")
    assert row["frequency"] == created.json()["frequency"] == "daily"  # from the chart's metadata
    assert (bool(row["active"]), bool(row["sync_historical_data"])) == (False, True)
    assert row["platform"] == created.json()["platform"] == "spotify"
    again = s.http.post("/api/subscriptions", json=new, headers=AUTH)
    assert again.status_code == 409

    listed = _get(s, "/api/subscriptions").json()
    assert [i["chart_slug"] for i in listed["items"]] == ["top-50-fr", "viral-50-global"]
    assert listed["total"] == int(wh.scalar("SELECT count(*) FROM soundcharts.chart_subscriptions"))

    changed = s.http.patch(
        "/api/subscriptions/viral-50-global",
        json={"is_active": True, "frequency": "custom", "custom_interval_hours": 6},
        headers=AUTH,
    )
    assert changed.status_code == 200, changed.text
    row = _subscription_row(wh, "viral-50-global")
    assert (bool(row["active"]), row["frequency"], row["custom_interval_hours"]) == (
        True,
        "custom",
        6,
    )
    for body, status in (
        ({"frequency": "hourly"}, 400),
        ({"frequency": "custom", "custom_interval_hours": None}, 400),
        ({}, 400),
        ({"priority_platforms": ["spotify", "<b>"]}, 400),
    ):
        answer = s.http.patch("/api/subscriptions/viral-50-global", json=body, headers=AUTH)
        assert answer.status_code == status, (body, answer.text)
    missing = s.http.patch("/api/subscriptions/nope", json={"is_active": True}, headers=AUTH)
    assert missing.status_code == 404
    # what GET /api/charts reads is what PATCH takes: sending it back changes nothing
    read = {c["chart_slug"]: c for c in _get(s, "/api/charts").json()["items"]}
    back = s.http.patch(
        "/api/subscriptions/viral-50-global",
        json=read["viral-50-global"]["subscription"],
        headers=AUTH,
    )
    assert back.status_code == 200, back.text
    assert _subscription_row(wh, "viral-50-global")["custom_interval_hours"] == 6

    status = _get(s, "/api/subscriptions/top-50-fr/status").json()
    log = wh.read_frame(
        "SELECT run_id, status, started_at FROM soundcharts.chart_sync_log "
        "WHERE chart_slug = 'top-50-fr'"
    )
    newest = wh.scalar(
        "SELECT max(ranking_date) FROM soundcharts.chart_rankings WHERE chart_slug = 'top-50-fr'"
    )
    assert status["latest_ranking"] == str(pd.Timestamp(newest).date())
    assert status["rankings"] == 3 and status["overdue"] is False
    assert status["success_rate"] == 1.0 and status["mean_duration_seconds"] > 0
    assert status["last_run"]["run_id"] in set(log.run_id)
    assert status["last_run"]["status"] == "success"

    # Dagster is not running: a clear 503, nothing launched
    sync = s.http.post("/api/subscriptions/top-50-fr/sync", headers=AUTH)
    assert sync.status_code == 503
    assert "no Dagster webserver answers" in sync.json()["error"]
    assert "MUSICCHARTS_DAGSTER_URL" in sync.json()["error"]
    bad_range = s.http.post(
        "/api/subscriptions/top-50-fr/sync",
        json={"from": "2026-02-02", "to": "2026-02-01"},
        headers=AUTH,
    )
    assert bad_range.status_code == 400
    assert s.http.post("/api/subscriptions/nope/sync", headers=AUTH).status_code == 404

    assert s.http.delete("/api/subscriptions/viral-50-global").status_code == 401
    gone = s.http.delete("/api/subscriptions/viral-50-global", headers=AUTH)
    assert gone.status_code == 200 and _subscription_row(wh, "viral-50-global") is None
    assert s.http.delete("/api/subscriptions/viral-50-global", headers=AUTH).status_code == 404
    assert [i["chart_slug"] for i in _get(s, "/api/subscriptions").json()["items"]] == ["top-50-fr"]


def test_writes_are_refused_with_no_token_configured(pipeline, warehouse_url, monkeypatch):
    monkeypatch.delenv("MUSICCHARTS_API_TOKEN", raising=False)
    today = pipeline["soundcharts"].get().simulator.world.today
    with serving(pipeline, warehouse_url, today, api_token=None) as s:
        for method, path in (
            ("post", "/api/subscriptions"),
            ("patch", "/api/subscriptions/top-50-fr"),
            ("delete", "/api/subscriptions/top-50-fr"),
            ("post", "/api/subscriptions/top-50-fr/sync"),
        ):
            answer = s.http.request(
                method,
                path,
                json={"chart_slug": "top-50-fr"},
                headers={"Authorization": "Bearer x"},
            )
            assert answer.status_code == 403, (method, path, answer.text)
            assert "MUSICCHARTS_API_TOKEN" in answer.json()["error"]
        assert s.http.get("/api/subscriptions").json()["total"] == 0  # reads stay open
