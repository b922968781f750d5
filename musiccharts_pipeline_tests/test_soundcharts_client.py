"""The client against the simulator over real HTTP on loopback."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time

import pytest
import requests

from musiccharts_pipeline.soundcharts import SoundChartsClient, errors, split_windows
from musiccharts_pipeline.soundcharts import models as m
from musiccharts_pipeline.soundcharts.client import parse_payload
from musiccharts_pipeline.soundcharts.simulator import SimulatedClient, Simulator, serve

SECRET = "s3cr3t-key-that-must-never-leak"


def test_split_windows():
    d = dt.date(2025, 1, 1)
    assert split_windows(d, d) == [(d, d)]
    assert split_windows(d, d + dt.timedelta(days=89)) == [(d, d + dt.timedelta(days=89))]
    two = split_windows(d, d + dt.timedelta(days=90))
    assert two == [(d, d + dt.timedelta(days=89)), (d + dt.timedelta(days=90),) * 2]
    year = split_windows(d, d + dt.timedelta(days=359))
    assert len(year) == 4
    assert all((hi - lo).days < 90 for lo, hi in year)
    assert sum((hi - lo).days + 1 for lo, hi in year) == 360
    assert split_windows(d, d - dt.timedelta(days=1)) == []


def test_platforms_and_charts(http_client):
    assert "instagram" in {p.code for p in http_client.platforms("social")}
    assert "spotify" in {p.code for p in http_client.platforms("streaming")}
    assert len(http_client.platforms()) >= 8
    charts = http_client.charts("spotify")
    assert "global-28" in {c.slug for c in charts}
    assert {c.frequency for c in charts} >= {"daily", "weekly"}
    assert [c.slug for c in http_client.charts("spotify", country_code="FR")] == ["top-50-fr"]
    with pytest.raises(errors.NotFound, match="Platform not found"):
        http_client.charts("nope")


def test_ranking_pages_and_consistency(http_simulator, http_client):
    sim, _ = http_simulator
    ranking = http_client.ranking("global-28")
    assert ranking.chart.frequency == "daily" and ranking.chart.metric.type == "streams"
    assert [entry.position for entry in ranking.entries] == list(range(1, 201))
    assert sim.successful_counts()["ranking"] == 2  # 200 entries, pages of 100
    assert ranking.ranking_date == sim.world.today
    for entry in ranking.entries:
        if entry.old_position:
            assert entry.position_evolution == entry.old_position - entry.position
    by_date = http_client.ranking("global-28", sim.world.today - dt.timedelta(days=3))
    assert by_date.ranking_date == sim.world.today - dt.timedelta(days=3)
    # the ATOM string from available-rankings works as is, with its literal '+'
    atom = http_client.available_rankings("global-28").datetimes[5]
    assert http_client.ranking("global-28", atom).date == atom


def test_available_rankings_follow_page_next(http_simulator, http_client):
    sim, _ = http_simulator
    available = http_client.available_rankings("weekly-top-200-global")
    assert available.chart.frequency == "weekly"
    expected = sim.world.chart_dates(sim.world.charts["weekly-top-200-global"])
    assert available.dates == expected
    daily = http_client.available_rankings("global-28")
    assert len(daily.datetimes) == 801
    assert sim.successful_counts()["available_rankings"] == 2 + 9


def test_song_and_artist_metadata(http_simulator, http_client):
    sim, _ = http_simulator
    world = sim.world
    uuid = world.song_uuid(0)
    song = http_client.song(uuid)
    truth = world.song_object(0)
    assert song.name == truth["name"] and song.duration == truth["duration"]
    assert song.isrc == world.isrc_of(0)
    assert song.primary_artist.uuid == world.artist_uuid(world.song_artists(0)[0])
    ids = http_client.song_identifiers(uuid)
    assert {i["platformCode"] for i in ids} >= {"spotify", "shazam"}
    artist = http_client.artist(song.primary_artist.uuid)
    assert artist.name == world.artist_name(world.song_artists(0)[0])
    assert http_client.song("00000000-0000-4000-8000-000000000000") is None
    with pytest.raises(errors.NotFound):
        http_client.artist("00000000-0000-4000-8000-000000000000", missing_ok=False)


def test_time_series_split_into_90_day_calls_sorted(http_simulator, http_client):
    sim, _ = http_simulator
    world = sim.world
    song = next(
        i for i in range(50) if world.release_date(i) < world.today - dt.timedelta(days=300)
    )
    end = world.today
    start = end - dt.timedelta(days=199)
    points = http_client.song_audience(world.song_uuid(song), "spotify", start, end)
    assert sim.successful_counts()["song_audience"] == 3
    idents = world.song_identifiers(song)["spotify"]
    assert len(points) == 200 * len(idents)
    assert [p.date for p in points] == sorted(p.date for p in points)  # server sends newest first
    for ident in idents:
        values = [p.value for p in points if p.identifier == ident]
        assert values == sorted(values)

    artist = world.artist_uuid(1)
    followers = http_client.artist_audience(artist, "spotify", start, end)
    streaming = http_client.artist_streaming(artist, "spotify", start, end)
    assert len(streaming) == 200
    assert followers == sorted(followers, key=lambda p: p.date)
    assert sim.successful_counts()["artist_streaming"] == 3


def test_auth_error_is_typed_and_clear(http_simulator):
    _, url = http_simulator
    client = SoundChartsClient(url, "someone", SECRET, max_rps=0)
    with pytest.raises(errors.AuthError, match="401: You are not logged in") as info:
        client.ranking("global-28")
    assert SECRET not in str(info.value) and SECRET not in repr(client)
    with pytest.raises(errors.AuthError, match="SOUNDCHARTS_API_KEY"):
        SoundChartsClient(url, "someone", None)


def test_simulator_accepts_its_configured_credentials():
    sim = Simulator(app_id="team", api_key=SECRET)
    with serve(sim) as url:
        assert SoundChartsClient(url, "team", SECRET, max_rps=0).ranking("top-50-fr").entries
        with pytest.raises(errors.AuthError):
            SoundChartsClient(url, "team", "wrong", max_rps=0).ranking("top-50-fr")


def test_bad_request_and_gone_paths(http_client, http_simulator):
    sim, _ = http_simulator
    with pytest.raises(errors.BadRequest, match="supported platforms"):
        http_client.song_audience(
            sim.world.song_uuid(0), "airplay", sim.world.today, sim.world.today
        )
    with pytest.raises(errors.NotFound, match="Chart not found"):
        http_client.ranking("no-such-chart")
    with pytest.raises(errors.NotFound):
        http_client.ranking("global-28", dt.date(2000, 1, 1))


def test_retries_on_429_and_503_then_succeeds(http_simulator, http_client):
    sim, _ = http_simulator
    sim.set_faults({"rate_limit": 0.2, "server_error": 0.2}, seed=1)
    for k in range(6):
        ranking = http_client.ranking("top-50-fr", sim.world.today - dt.timedelta(days=k))
        assert len(ranking.entries) == 50
    injected = sum(sim.faults_injected.values())
    assert injected > 0
    assert http_client.stats()["retries"] == injected
    assert http_client.stats()["calls"]["ranking"] == 6


def test_resets_and_truncated_bodies_are_retried(http_simulator, http_client):
    sim, _ = http_simulator
    sim.set_faults({"reset": 0.2, "truncate": 0.2, "slow": 0.1}, seed=5)
    sim.config.slow_seconds = 0.05
    for k in range(15):
        assert (
            len(http_client.ranking("top-50-fr", sim.world.today - dt.timedelta(days=k)).entries)
            == 50
        )
    assert sim.faults_injected["reset"] > 0 and sim.faults_injected["truncate"] > 0
    assert (
        http_client.stats()["retries"]
        >= sim.faults_injected["reset"] + sim.faults_injected["truncate"]
    )


def test_quota_exhaustion_stops_without_retry_storm(http_simulator, http_client):
    sim, _ = http_simulator
    sim.set_quota(3)
    http_client.ranking("top-50-fr")
    assert http_client.quota_remaining == 2
    http_client.song(sim.world.song_uuid(0))
    http_client.song(sim.world.song_uuid(1))
    assert http_client.quota_remaining == 0
    sim.reset_log()
    with pytest.raises(errors.QuotaExhausted, match="quota"):
        http_client.song(sim.world.song_uuid(2))
    assert len(sim.request_log) == 1  # one request, no retries
    assert http_client.stats()["retries"] == 0


def test_server_error_after_retries_is_typed(http_simulator):
    sim, url = http_simulator
    sim.set_faults({"server_error": 1.0})
    client = SoundChartsClient(url, "soundcharts", "soundcharts", max_rps=0, retries=2, backoff=0)
    with pytest.raises(errors.ServerError, match="503"):
        client.song(sim.world.song_uuid(0))
    assert len(sim.request_log) == 3


def test_a_dead_host_costs_retries_plus_one_connection_attempts_and_bounded_time():
    """A loopback listener that accepts and hangs up at once: every attempt is one accepted
    connection. One retry layer: ``retries + 1`` attempts, not that many times another's."""
    import socket

    accepted = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            accepted.append(time.monotonic())
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    client = SoundChartsClient(url, "a", "b", max_rps=0, retries=3, backoff=0.01, timeout=2)
    started = time.monotonic()
    try:
        with pytest.raises(errors.TransportError, match="after retries"):
            client.song("00000000-0000-4000-8000-000000000000")
    finally:
        stop.set()
        thread.join(5)
        listener.close()
        client.close()
    assert len(accepted) == 3 + 1
    assert time.monotonic() - started < 5


def test_per_minute_limit_sends_reset_header(http_simulator):
    sim, url = http_simulator
    sim.config.rate_limit_per_minute = 2
    headers = {"x-app-id": "soundcharts", "x-api-key": "soundcharts"}
    statuses = [
        requests.get(url + "/api/v2/referential/platforms", headers=headers) for _ in range(3)
    ]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert 0 < int(statuses[2].headers["x-ratelimit-reset"]) <= 60
    assert "maximum request count" in statuses[2].json()["errors"][0]["message"]
    client = SoundChartsClient(url, "soundcharts", "soundcharts", max_rps=0, retries=0)
    with pytest.raises(errors.RateLimited):
        client.platforms()


def test_rate_ceiling_is_shared_by_threads(http_simulator):
    _, url = http_simulator
    client = SoundChartsClient(url, "soundcharts", "soundcharts", max_rps=40)
    started = time.monotonic()
    threads = [
        threading.Thread(target=lambda: [client.platforms() for _ in range(5)]) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    assert client.stats()["calls"]["platforms"] == 20
    assert elapsed >= 19 / 40  # 20 requests at 40/s cannot finish sooner, whatever the threads


def test_key_never_in_logs(http_simulator, caplog):
    sim, url = http_simulator
    sim.set_faults({"rate_limit": 0.15, "server_error": 0.15, "reset": 0.1}, seed=2)
    sim.config.app_id, sim.config.api_key = "team", SECRET
    caplog.set_level(logging.DEBUG)
    client = SoundChartsClient(url, "team", SECRET, max_rps=0, backoff=0.01)
    for k in range(4):
        client.ranking("top-50-fr", sim.world.today - dt.timedelta(days=k))
    with pytest.raises(errors.NotFound) as info:
        client.ranking("missing-chart")
    assert caplog.records  # urllib3 did log its retries
    assert SECRET not in caplog.text
    assert SECRET not in str(info.value) and SECRET not in repr(client)


def test_in_process_simulator_needs_no_port():
    client = SimulatedClient()
    assert len(client.ranking("top-50-fr").entries) == 50
    assert client.simulator.successful_counts()["ranking"] == 1


def test_the_resource_picks_the_client_and_shares_it_per_process(simulator, monkeypatch):
    from musiccharts_pipeline.resources import SoundChartsResource, resources_from_env

    for var in ("SOUNDCHARTS_API_URL", "SOUNDCHARTS_APP_ID", "SOUNDCHARTS_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    default = SoundChartsResource().get()
    assert isinstance(default, SimulatedClient)  # no URL: offline, on the simulator
    assert resources_from_env(resolved=True)["soundcharts"].get() is default
    monkeypatch.setenv("SOUNDCHARTS_SIMULATOR_QUOTA", "5")  # other knobs, another simulator
    assert SoundChartsResource().get().simulator.quota_remaining == 5
    assert SoundChartsResource.simulated(simulator).get().simulator is simulator
    real = SoundChartsResource(api_url="http://127.0.0.1:9", app_id="a", api_key="k").get()
    assert type(real) is SoundChartsClient and real.base_url == "http://127.0.0.1:9"


def test_variations_are_parsed():
    legacy = m.Song.model_validate(
        {
            "uuid": "u",
            "name": "n",
            "isrc": "USAT22003425",
            "label": "Interscope",
            "releaseDate": "2019-03-29T00:00:00+01:00",
            "genres": None,
            "unknownField": 1,
        }
    )
    assert legacy.isrc == "USAT22003425" and legacy.label == "Interscope"
    assert legacy.release_date.utcoffset() == dt.timedelta(hours=1)
    assert legacy.genres == [] and legacy.raw["unknownField"] == 1
    modern = m.Song.model_validate(
        {
            "uuid": "u",
            "isrc": {"value": "USUM71900764", "countryCode": "US"},
            "labels": [{"name": "Darkroom", "type": "Universal"}],
            "genres": [{"root": "pop", "sub": ["dance pop"]}],
        }
    )
    assert modern.isrc == "USUM71900764" and modern.label == "Darkroom"
    assert modern.genres[0].sub == ["dance pop"]
    artist = m.Artist.model_validate(
        {"uuid": "a", "genres": ["pop", {"root": "rock", "sub": ["punk"]}]}
    )
    assert [(g.root, g.sub) for g in artist.genres] == [("pop", []), ("rock", ["punk"])]
    bare = m.Artist.model_validate({"uuid": "a"})
    assert bare.country_code is None and bare.genres == []


def test_contract_violations_name_the_field():
    with pytest.raises(errors.ContractError, match="uuid"):
        parse_payload(m.Song, {"name": "no uuid"}, "song")
    entry = {"song": {"uuid": "u"}, "position": "first"}
    with pytest.raises(errors.ContractError, match="entries.0.position"):
        parse_payload(
            m.Ranking, {"chart": {"slug": "c"}, "date": "2026-01-01", "entries": [entry]}, "ranking"
        )
    dup = [{"song": {"uuid": "a"}, "position": 1}, {"song": {"uuid": "b"}, "position": 1}]
    with pytest.raises(errors.ContractError, match=r"duplicated position"):
        parse_payload(
            m.Ranking, {"chart": {"slug": "c"}, "date": "2026-01-01", "entries": dup}, "ranking"
        )


def test_simulator_serve_command_over_loopback(tmp_path):
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "musiccharts_pipeline.cli",
            "simulator",
            "serve",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert f"127.0.0.1:{port}" in proc.stdout.readline()
        client = SoundChartsClient(
            f"http://127.0.0.1:{port}", "soundcharts", "soundcharts", max_rps=0
        )
        assert len(client.ranking("top-50-fr").entries) == 50
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_low_quota_is_tracked_and_warned(http_simulator, http_client, caplog):
    sim, _ = http_simulator
    sim.set_quota(1_001)
    with caplog.at_level(logging.WARNING, logger="musiccharts_pipeline.soundcharts.client"):
        http_client.platforms()
    assert http_client.quota_remaining == 1_000
    assert http_client.stats()["quota_remaining"] == 1_000
    assert "quota is low: 1000 calls remaining" in caplog.text


def test_raw_payload_is_kept_exactly_as_received():
    """Normalisation fills the typed fields; the raw copy stays what the API sent."""
    from musiccharts_pipeline.soundcharts import models

    sent = {
        "uuid": "u1",
        "name": "Song",
        "isrc": {"value": "FRX202600001", "countryCode": "FR"},
        "labels": [{"name": "Label A", "type": "Original"}],
        "artists": None,
        "unknownField": 1,
    }
    song = models.Song.model_validate(sent)
    assert (song.isrc, song.label, song.artists) == ("FRX202600001", "Label A", [])
    assert song.raw == sent
    assert "label" not in song.raw and song.raw["isrc"]["countryCode"] == "FR"
    legacy = models.Song.model_validate({"uuid": "u2", "isrc": "X1", "label": {"name": "L"}})
    assert legacy.label == "L" and legacy.raw == {
        "uuid": "u2",
        "isrc": "X1",
        "label": {"name": "L"},
    }


def test_pagination_stops_where_next_is_null_whatever_total_says(http_client, monkeypatch):
    asked = []
    pages = {
        "/c": {"items": [1, 2], "page": {"offset": 0, "next": "/c?offset=2", "total": 9}},
        "/c?offset=2": {"items": [3], "page": {"offset": 2, "next": None, "total": 9}},
    }

    def get(path, params=None, route="other"):
        asked.append(path)
        return pages[path]

    monkeypatch.setattr(http_client, "get", get)
    assert [p["items"] for p in http_client.paginate("/c")] == [[1, 2], [3]]
    assert asked == ["/c", "/c?offset=2"]  # no offset the API did not offer


def test_pagination_computes_offsets_only_without_a_next_key(http_client, monkeypatch):
    asked = []

    def get(path, params=None, route="other"):
        asked.append(params["offset"])
        return {"items": [0] * 2, "page": {"total": 5}}

    monkeypatch.setattr(http_client, "get", get)
    assert len(list(http_client.paginate("/c"))) == 3
    assert asked == [0, 2, 4]
