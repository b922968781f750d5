"""The pages on both warehouses: what they show against the raw tables, links between them,
hostile names escaped; in headless Chromium, the charts drawn and every link resolving."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pandas as pd
import pytest

from musiccharts_pipeline_tests import browser
from musiccharts_pipeline_tests.serving import build_marts, fill, live_server, serving

#: Quotes, markup, a right-to-left override, an emoji: in a track, its artist, a genre, a chart.
HOSTILE = '<script>alert("x")</script> O\'Brien & "Co" \u202eevil\u202c \U0001f3b5'


@pytest.fixture
def site(pipeline, warehouse_url, tmp_path, monkeypatch):
    """The filled warehouse with hostile names on the top track of the newest ranking, its
    primary artist and genre, and the chart; the marts built; the server over it."""
    today = fill(pipeline)
    wh = pipeline["warehouse"].get()
    track = wh.scalar(
        "SELECT song_uuid FROM soundcharts.chart_ranking_entries WHERE chart_slug = 'top-50-fr' "
        "AND ranking_date = (SELECT max(ranking_date) FROM soundcharts.chart_rankings "
        "WHERE chart_slug = 'top-50-fr') AND position = 1"
    )
    artist = wh.scalar(
        "SELECT primary_artist_uuid FROM soundcharts.tracks WHERE uuid = :u", {"u": track}
    )
    genre = wh.scalar(
        "SELECT genre_id FROM soundcharts.track_genres WHERE track_uuid = :u LIMIT 1", {"u": track}
    )
    with wh.transaction() as conn:
        for sql, params in (
            ("UPDATE soundcharts.tracks SET name = :h WHERE uuid = :u", {"u": track}),
            (
                "UPDATE soundcharts.chart_ranking_entries SET song_name = :h WHERE song_uuid = :u",
                {"u": track},
            ),
            ("UPDATE soundcharts.artists SET name = :h WHERE uuid = :u", {"u": artist}),
            ("UPDATE soundcharts.genres SET name = :h WHERE id = :u", {"u": genre}),
            ("UPDATE soundcharts.charts SET name = :h WHERE slug = 'top-50-fr'", {}),
        ):
            wh.execute(sql, {**params, "h": HOSTILE}, conn=conn)
    build_marts(pipeline, tmp_path, monkeypatch)
    with serving(pipeline, warehouse_url, today) as s:
        s.hostile = {"track": track, "artist": artist, "genre": genre}
        yield s


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.links.append(href)


def links(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return parser.links


def _page(s, path: str) -> str:
    answer = s.http.get(path, headers={"accept": "text/html"})
    assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
    assert answer.headers["content-type"].startswith("text/html")
    return answer.text


def test_pages_show_the_warehouse_and_link_each_other(site):
    s, wh = site, site.wh
    entries = wh.read_frame(
        "SELECT ranking_date, position, song_uuid FROM soundcharts.chart_ranking_entries "
        "WHERE chart_slug = 'top-50-fr'"
    )
    entries["ranking_date"] = [pd.Timestamp(d).date() for d in entries.ranking_date]
    dates = sorted(set(entries.ranking_date))
    pages = {}

    home = pages["/"] = _page(s, "/")
    for chart in ("rankings_fetched", "top_platforms", "genres"):  # the dashboard, live
        assert f'data-chart="{chart}"' in home
    assert 'href="/charts/top-50-fr"' in home and 'href="/genres"' in home

    chart = pages["/charts/top-50-fr"] = _page(s, "/charts/top-50-fr")
    newest = entries[entries.ranking_date == dates[-1]]
    for uuid in newest.song_uuid:
        assert f'href="/tracks/{uuid}"' in chart
    assert chart.count("<tr>") == 1 + len(newest)  # header and one row per entry
    options = re.findall(r'<option value="([0-9-]+)"( selected)?>', chart)
    assert [d for d, _ in options] == [str(d) for d in reversed(dates)]
    assert [d for d, sel in options if sel] == [str(dates[-1])]
    assert 'data-chart="movement_top-50-fr"' in chart and "<rect" in chart
    oldest = _page(s, f"/charts/top-50-fr?date={dates[0]}")
    assert re.findall(r'<option value="([0-9-]+)" selected>', oldest) == [str(dates[0])]
    pages[f"/charts/top-50-fr?date={dates[0]}"] = oldest

    uuid = s.hostile["track"]
    track = pages[f"/tracks/{uuid}"] = _page(s, f"/tracks/{uuid}")
    for artist in wh.read_frame(
        "SELECT artist_uuid FROM soundcharts.track_artists WHERE track_uuid = :u", {"u": uuid}
    ).artist_uuid:
        assert f'href="/artists/{artist}"' in track
    platforms = wh.read_frame(
        "SELECT platform, count(DISTINCT date) AS n FROM soundcharts.track_audience "
        "WHERE track_uuid = :u GROUP BY platform",
        {"u": uuid},
    )
    assert len(platforms) >= 2
    for p in platforms.itertuples():
        assert f'data-chart="audience_{p.platform}_value"' in track
        assert f"{p.n} days" in track
    assert 'name="start_date"' in track and 'name="end_date"' in track
    days = sorted(
        pd.Timestamp(d).date()
        for d in wh.read_frame(
            "SELECT DISTINCT date FROM soundcharts.track_audience "
            "WHERE track_uuid = :u AND platform = 'spotify'",
            {"u": uuid},
        ).date
    )
    window = _page(s, f"/tracks/{uuid}?start_date={days[3]}&end_date={days[12]}")
    assert f"10 days, {days[3]} to {days[12]}" in window

    artist = s.hostile["artist"]
    artist_page = pages[f"/artists/{artist}"] = _page(s, f"/artists/{artist}")
    for t in wh.read_frame(
        "SELECT track_uuid FROM soundcharts.track_artists WHERE artist_uuid = :u", {"u": artist}
    ).track_uuid:
        assert f'href="/tracks/{t}"' in artist_page
    assert 'data-chart="audience_spotify_value"' in artist_page

    genres = pages["/genres"] = _page(s, "/genres")
    for gid in wh.read_frame("SELECT id FROM soundcharts.genres").id:
        assert f'href="/tracks?genre={gid}"' in genres
    root = wh.scalar("SELECT parent_id FROM soundcharts.genres WHERE parent_id IS NOT NULL LIMIT 1")
    listed = pages[f"/tracks?genre={root}"] = _page(s, f"/tracks?genre={root}")
    in_root = wh.read_frame(
        "SELECT DISTINCT tg.track_uuid FROM soundcharts.track_genres tg "
        "JOIN soundcharts.genres g ON g.id = tg.genre_id WHERE g.id = :r OR g.parent_id = :r",
        {"r": root},
    ).track_uuid
    for t in in_root:
        assert f'href="/tracks/{t}"' in listed
    pages["/charts"] = _page(s, "/charts")
    pages["/tracks"] = _page(s, "/tracks")

    # every link on every page resolves
    seen = set()
    for path, html in pages.items():
        for href in links(html):
            target = urljoin(f"http://testserver{path}", href)
            parts = urlsplit(target)
            assert parts.netloc == "testserver", (path, href)  # nothing leaves the server
            local = parts.path + (f"?{parts.query}" if parts.query else "")
            if local in seen:
                continue
            seen.add(local)
            answer = s.http.get(local)
            assert answer.status_code == 200, (path, href, answer.status_code)
    assert len(seen) > 100


def test_hostile_names_are_escaped_on_every_page(site):
    s = site
    track, artist, genre = (s.hostile[k] for k in ("track", "artist", "genre"))
    root = genre.split("/")[0]
    paths = [
        "/",
        "/charts",
        "/charts/top-50-fr",
        f"/tracks/{track}",
        f"/artists/{artist}",
        "/genres",
        "/tracks?q=script",
        f"/tracks?artist={artist}",
        f"/tracks?genre={root}",
    ]
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; O&#39;Brien &amp; &#34;Co&#34;"
    for path in paths:
        html = _page(s, path)
        assert "<script" not in html, path
        assert "alert(" in html, path  # the name is shown...
        assert "&lt;script&gt;" in html, path  # ...escaped
        assert "\U0001f3b5" in html, path
    for path in paths[1:]:  # the server's own pages: escaped by the template, isolated
        html = _page(s, path)
        assert escaped in html, path
        assert re.search(r"<bdi>[^<]*\u202eevil\u202c[^<]*</bdi>", html), path
    body = s.http.get(f"/api/tracks/{track}").json()
    assert body["name"] == s.wh.scalar(
        "SELECT name FROM soundcharts.tracks WHERE uuid = :u", {"u": track}
    )
    assert body["name"] == '<script>alert("x")</script> O\'Brien & "Co" \u202eevil\u202c \U0001f3b5'


#: What the charts paint: the audience area's fill (#2563eb at 25% on white) and line; the
#: movement bars (the dashboard's palette). Links are another blue (#1d4ed8), not counted.
CHART_COLORS = {
    "track": [(201, 216, 250), (37, 99, 235)],
    "chart": [(37, 99, 235), (22, 163, 74), (234, 88, 12), (147, 51, 234), (8, 145, 178)],
}


def _near_any(rgb, targets, tolerance: int = 8) -> bool:
    return any(all(abs(a - b) <= tolerance for a, b in zip(rgb, t, strict=True)) for t in targets)


def test_browser_draws_the_charts_and_links_resolve(site, tmp_path):
    from PIL import ImageStat

    s = site
    track = s.hostile["track"]
    profile = tmp_path / "profile"
    with live_server(s.app) as base:
        for path, drawn in ((f"/tracks/{track}", "<polyline"), ("/charts/top-50-fr", "<rect")):
            dom = browser.dump_dom(base + path, profile)
            assert dom.count(drawn) >= (3 if drawn == "<rect" else 2), path
            assert "<script>alert" not in dom
            hrefs = {urljoin(base + path, h) for h in links(dom)}
            assert len(hrefs) > 10
            with httpx.Client(timeout=30) as http:
                for href in sorted(hrefs):
                    assert href.startswith(base), href
                    answer = http.get(href)
                    assert answer.status_code == 200, (path, href, answer.status_code)
            name = "track" if path.startswith("/tracks") else "chart"
            shot = tmp_path / f"{name}.png"
            image = browser.screenshot(base + path, shot, profile, size=(1280, 1600))
            assert image.size == (1280, 1600)
            colors = image.getcolors(maxcolors=1_000_000)
            assert len(colors) > 50 and max(ImageStat.Stat(image).stddev) > 20
            drawn_pixels = sum(n for n, rgb in colors if _near_any(rgb, CHART_COLORS[name]))
            assert drawn_pixels > 3000, (path, drawn_pixels)
