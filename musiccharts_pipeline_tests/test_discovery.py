"""Chart discovery: what the API offers, filtered, marked subscribed, through the CLI, the API
and the /charts page (whose subscribe button takes the write token)."""

from __future__ import annotations

import pytest

from musiccharts_pipeline import cli
from musiccharts_pipeline.resources import resources_from_env
from musiccharts_pipeline.soundcharts.simulator import SimulatedClient, Simulator
from musiccharts_pipeline.sync import discovery
from musiccharts_pipeline.sync import subscriptions as subs
from musiccharts_pipeline_tests.serving import TOKEN, serving

DUCKDB = pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)


@DUCKDB
def test_filters_and_the_subscribed_mark(warehouse):
    client = SimulatedClient(Simulator(seed=7))
    every = discovery.list_charts(client, discovery.Filters())
    assert len(every) >= 60 and len({c.country_code for c in every} - {None}) >= 12
    assert client.simulator.counts()["chart_platforms"] == 1
    platforms = {c.platform for c in every}
    assert client.simulator.counts()["charts_by_platform"] == len(platforms)
    german = discovery.list_charts(client, discovery.Filters(country="de"))
    assert {c.slug for c in german} == {
        "top-200-de",
        "apple-top-100-de",
        "shazam-top-50-de",
        "deezer-top-100-de",
    }
    fr = discovery.list_charts(client, discovery.Filters(platform="spotify", country="FR"))
    assert [(c.slug, c.size, c.frequency) for c in fr] == [("top-50-fr", 50, "daily")]
    assert [c.slug for c in discovery.list_charts(client, discovery.Filters(search="VIRAL"))] == [
        "viral-50-global"
    ]
    subs.add(warehouse, client, "top-50-fr")
    marked = discovery.available(client, warehouse, discovery.Filters(country="FR"))
    assert {c.slug: c.subscribed for c in marked} == {
        "top-50-fr": True,
        "deezer-top-100-fr": False,
    }


@pytest.mark.parametrize(
    "filters, message",
    [
        (discovery.Filters(country="FRA"), "2-letter ISO code"),
        (discovery.Filters(platform="Spo tify"), "platform code"),
        (discovery.Filters(search="x" * 101), "at most 100"),
        (discovery.Filters(platform="myspace"), "no chart platform 'myspace'"),
    ],
)
def test_bad_filters_are_refused_before_a_wasted_call(filters, message):
    client = SimulatedClient(Simulator(seed=7))
    with pytest.raises(discovery.DiscoveryError, match=message):
        discovery.list_charts(client, filters)
    malformed = "no chart platform" not in message
    assert sum(client.simulator.counts().values()) == (0 if malformed else 1)


def test_a_listing_is_kept_and_searched_without_asking_again():
    client = SimulatedClient(Simulator(seed=7))
    catalogue = discovery.Catalogue()
    first = catalogue.charts(client, discovery.Filters(country="US"))
    calls = sum(client.simulator.counts().values())
    again = catalogue.charts(client, discovery.Filters(country="us", search="shazam"))
    assert [c.slug for c in again] == [c.slug for c in first if "shazam" in c.slug.lower()]
    # any other filter, and a platform it does not offer, are answered from the kept listing
    assert {c.country_code for c in catalogue.charts(client, discovery.Filters(country="de"))} == {
        "DE"
    }
    with pytest.raises(discovery.DiscoveryError, match="no chart platform 'myspace'"):
        catalogue.charts(client, discovery.Filters(platform="myspace"))
    assert sum(client.simulator.counts().values()) == calls


@DUCKDB
def test_the_cli_lists_what_is_offered(warehouse_url, pipeline, monkeypatch, capsys):
    monkeypatch.setenv("MUSICCHARTS_WAREHOUSE_URL", warehouse_url)
    assert cli.main(["charts", "add", "top-50-fr", "--no-audience"]) == 0
    capsys.readouterr()
    assert cli.main(["charts", "available", "--country", "fr"]) == 0
    lines = capsys.readouterr().out.splitlines()
    row = next(line for line in lines if line.startswith("top-50-fr "))
    assert row.split()[-1] == "yes"
    assert any(line.startswith("deezer-top-100-fr ") for line in lines)
    assert "2 chart(s)" in lines[-1]
    assert cli.main(["charts", "available", "--country", "France"]) == 2
    assert "2-letter ISO code" in capsys.readouterr().err
    resources_from_env(resolved=True)  # the command's client: nothing else to close


@DUCKDB
def test_the_api_and_the_page_offer_and_subscribe(pipeline, warehouse_url):
    today = pipeline["soundcharts"].get().simulator.world.today
    with serving(pipeline, warehouse_url, today) as s:
        answer = s.http.get("/api/charts/available?country=FR")
        assert answer.status_code == 200
        assert {i["slug"]: i["subscribed"] for i in answer.json()["items"]} == {
            "top-50-fr": False,
            "deezer-top-100-fr": False,
        }
        assert s.http.get("/api/charts/available?country=FRA").status_code == 400
        page = s.http.get("/charts?country=FR")
        assert page.status_code == 200 and "deezer-top-100-fr" in page.text
        assert 'action="/charts/subscribe"' in page.text
        # beside each subscribe button, what the first sync would cost, from the plan route
        assert 'href="/api/plan?chart=deezer-top-100-fr"' in page.text
        plan = s.http.get("/api/plan?chart=deezer-top-100-fr").json()
        assert plan["total_calls"] > 0 and plan["calls"]["ranking_pages"] == 1
        refused = s.http.post(
            "/charts/subscribe", data={"slug": "deezer-top-100-fr", "token": "wrong"}
        )
        assert refused.status_code == 401
        assert subs.get_subscription(s.wh, "deezer-top-100-fr") is None
        done = s.http.post(
            "/charts/subscribe",
            data={"slug": "deezer-top-100-fr", "token": TOKEN},
            follow_redirects=False,
        )
        assert done.status_code == 303 and done.headers["location"].startswith("/charts?")
        assert subs.get_subscription(s.wh, "deezer-top-100-fr").platform == "deezer"
        after = s.http.get("/api/charts/available?country=FR").json()["items"]
        assert {i["slug"]: i["subscribed"] for i in after}["deezer-top-100-fr"] is True


@DUCKDB
def test_the_plan_route(pipeline, warehouse_url):
    today = pipeline["soundcharts"].get().simulator.world.today
    with serving(pipeline, warehouse_url, today) as s:
        body = s.http.get("/api/plan?chart=viral-50-global&history=true").json()
        assert body["total_calls"] == sum(body["calls"].values()) > 365
        assert body["calls"]["ranking_pages"] >= 365 and body["max_rps"] == 10
        ranged = s.http.get(f"/api/plan?chart=top-50-fr&start={today}&end={today}").json()
        assert ranged["calls"]["ranking_pages"] == 1
        assert s.http.get("/api/plan?chart=no-such-chart").status_code == 404
        reversed_range = s.http.get(f"/api/plan?chart=top-50-fr&start={today}&end=2026-01-01")
        assert reversed_range.status_code == 400
