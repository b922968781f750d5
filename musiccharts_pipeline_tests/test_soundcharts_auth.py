"""Access tokens: one per process and API client, refreshed before expiry and once on a 401,
the secret and the token kept out of every message; the legacy pair still works."""

from __future__ import annotations

import concurrent.futures
import logging

import pytest
import requests

from musiccharts_pipeline import redact
from musiccharts_pipeline.soundcharts import SoundChartsClient, auth, errors
from musiccharts_pipeline.soundcharts.simulator import SimulatedClient, Simulator, serve
from musiccharts_pipeline.soundcharts.simulator.config import DEFAULT_TOKEN_CLIENT, TOKEN_PATH
from musiccharts_pipeline_tests.standins import StandIn

CLIENT_ID, SECRET, TEAM = DEFAULT_TOKEN_CLIENT
TOKENS = {"client_id": CLIENT_ID, "client_secret": SECRET, "team_id": TEAM}


def test_one_token_serves_every_thread_and_client_of_the_process():
    sim = Simulator(seed=7)
    first, second = SimulatedClient(sim, **TOKENS), SimulatedClient(sim, **TOKENS)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        charts = list(pool.map(lambda c: c.ranking("global-28").chart.slug, [first, second] * 8))
    assert charts == ["global-28"] * 16
    assert sim.counts()["oauth_token"] == 1
    assert first.tokens is second.tokens and first.tokens.fetched == 1
    # the bearer token is what authenticated: no legacy header was sent
    assert "x-api-key" not in first._session.headers


def test_a_refused_token_is_replaced_once_then_the_call_succeeds():
    sim = Simulator(seed=7)
    client = SimulatedClient(sim, **TOKENS)
    client.ranking("global-28")
    sim.expire_tokens()  # as a token revoked or expired early on the server's side
    sim.reset_log()
    assert client.ranking("global-28").chart.slug == "global-28"
    assert [(r, s) for r, _, s in sim.request_log] == [
        ("ranking", 401),
        ("oauth_token", 200),
        ("ranking", 200),
        ("ranking", 200),
    ]


def test_a_token_refused_twice_is_a_clear_auth_error():
    sim = Simulator(seed=7, token_ttl=-1)  # every token it issues is already expired
    client = SimulatedClient(sim, **TOKENS)
    with pytest.raises(errors.AuthError, match="refused a fresh access token too"):
        client.ranking("global-28")
    assert sim.counts()["oauth_token"] == 2 and sim.counts()["ranking"] == 2


def test_a_wrong_secret_is_an_auth_error_that_does_not_quote_it():
    sim = Simulator(seed=7)
    wrong = "not-the-secret-but-still-secret"
    client = SimulatedClient(sim, client_id=CLIENT_ID, client_secret=wrong, team_id=TEAM)
    with pytest.raises(errors.AuthError) as refused:
        client.ranking("global-28")
    message = str(refused.value)
    assert "token endpoint refused the API client (invalid_client)" in message
    assert "SOUNDCHARTS_CLIENT_SECRET" in message and wrong not in message
    unknown_team = SimulatedClient(sim, client_id=CLIENT_ID, client_secret=SECRET, team_id="x")
    with pytest.raises(errors.AuthError, match="unknown team"):
        unknown_team.ranking("global-28")
    assert sim.counts()["ranking"] == 0  # no API call without a token


def test_the_token_is_replaced_shortly_before_it_expires():
    sim = Simulator(seed=7, token_ttl=600)
    clock = [1000.0]
    with serve(sim) as url:
        holder = auth.AccessTokens(
            url + TOKEN_PATH, CLIENT_ID, SECRET, TEAM, requests.Session(), now=lambda: clock[0]
        )
        token = holder.current()
        clock[0] += 500  # 100 s left: more than a minute, kept
        assert holder.current() == token and holder.fetched == 1
        clock[0] += 45  # 55 s left: replaced before the API could refuse it
        assert holder.current() != token and holder.fetched == 2
    assert sim.counts()["oauth_token"] == 2


@pytest.mark.parametrize(
    "given, message",
    [
        ({"app_id": "a", "api_key": "k" * 8, **TOKENS}, "both credential flows are configured"),
        ({"client_id": CLIENT_ID, "team_id": TEAM}, "set SOUNDCHARTS_CLIENT_SECRET too"),
        ({}, "missing credentials"),
    ],
)
def test_credentials_name_exactly_one_flow(given, message):
    with pytest.raises(errors.AuthError, match=message):
        SoundChartsClient("http://127.0.0.1:9", **given)


def test_over_http_the_secret_and_the_token_reach_no_log_and_no_other_host(caplog):
    other = StandIn()
    sim = Simulator(seed=7)
    try:
        with serve(sim) as url, caplog.at_level(logging.DEBUG):
            redact.install()
            client = SoundChartsClient(url, **TOKENS, auth_url=url + TOKEN_PATH, max_rps=0)
            assert client.available_rankings("global-28", newest_only=True).dates
            token = client.tokens.current()
            logging.getLogger("musiccharts_pipeline").info("token %s secret %s", token, SECRET)
            # a token endpoint that redirects elsewhere gets nothing sent on
            bounce = StandIn(lambda *a: (307, {"Location": other.url + TOKEN_PATH}, ""))
            try:
                moved = SoundChartsClient(url, **TOKENS, auth_url=bounce.url + TOKEN_PATH)
                with pytest.raises(errors.ContractError, match="another host"):
                    moved.ranking("global-28")
            finally:
                bounce.close()
    finally:
        other.close()
    assert other.received == []
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "token *** secret ***" in logged
    assert token not in logged and SECRET not in logged
    assert redact.scrub(f"Bearer {token}") == "Bearer ***"


def test_a_credential_with_a_trailing_newline_is_refused_by_name_never_shown():
    key = "k3y-from-a-secrets-file\n"
    with pytest.raises(errors.AuthError) as refused:
        SoundChartsClient("http://127.0.0.1:9", "app", key)
    assert "SOUNDCHARTS_API_KEY holds spaces or control characters" in str(refused.value)
    assert "k3y-from-a-secrets-file" not in str(refused.value)
    with pytest.raises(errors.AuthError, match="SOUNDCHARTS_CLIENT_SECRET"):
        SoundChartsClient("http://127.0.0.1:9", client_id="c", client_secret="s e", team_id="t")
