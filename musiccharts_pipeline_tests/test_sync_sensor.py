"""chart_sync_sensor on an ephemeral instance: what is due, as few runs as possible."""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import pytest

from musiccharts_pipeline import assets, clock
from musiccharts_pipeline.assets import CASCADE_ASSETS
from musiccharts_pipeline.automation.sync_sensor import chart_sync_job, chart_sync_sensor
from musiccharts_pipeline.partitions import RANGE_END_TAG, RANGE_START_TAG, first_day
from musiccharts_pipeline.sync import rankings, subscriptions
from musiccharts_pipeline.sync.rules import HISTORY_DAYS, RECENT_DAYS, utcnow
from musiccharts_pipeline_tests.helpers import apply_partition_requests

pytestmark = pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)


def _defs(pipeline) -> dg.Definitions:
    return dg.Definitions.merge(
        assets.defs,
        dg.Definitions(jobs=[chart_sync_job], sensors=[chart_sync_sensor], resources=pipeline),
    )


class Ticker:
    """Evaluates chart_sync_sensor as the daemon does: through ``evaluate_tick`` on a persistent
    instance (the daemon's run requests resolve against its partitions and the tick's own
    partition requests), carrying the cursor it returns and adding the partitions it asks for."""

    def __init__(self, pipeline, instance):
        self.pipeline, self.defs, self.instance = pipeline, _defs(pipeline), instance
        self.cursor = None
        self.skip_message = None

    def __call__(self) -> list[dg.RunRequest]:
        with dg.build_sensor_context(
            instance=self.instance,
            instance_ref=self.instance.get_ref(),
            resources=self.pipeline,
            cursor=self.cursor,
            definitions=self.defs,
        ) as context:
            data = chart_sync_sensor.evaluate_tick(context)
        self.cursor, self.skip_message = data.cursor, data.skip_message
        apply_partition_requests(self.instance, data.dynamic_partitions_requests)
        self.last = data
        return list(data.run_requests or [])


@pytest.fixture
def ticker(pipeline):
    with dg.instance_for_test() as instance:
        yield Ticker(pipeline, instance)


def _span(request) -> tuple[str, str]:
    if request.partition_key:
        return request.partition_key, request.partition_key
    return request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]


def _store(client, wh, slug, dates):
    """Land ``dates`` of a chart as a sync run would."""
    available = client.available_rankings(slug, since=min(dates))
    published = {dt.date.fromisoformat(d[:10]): d for d in available.datetimes}
    rankings.sync_rankings(client, wh, slug, dates, published, "test-run")


def test_new_subscription_adds_partition_and_launches_one_historical_fill(pipeline, ticker):
    wh, client = pipeline["warehouse"].get(), pipeline["soundcharts"].get()
    subscriptions.add(wh, client, "top-50-fr", sync_historical_data=True)
    tick = ticker

    [request] = tick()
    [add] = tick.last.dynamic_partitions_requests
    assert add.partitions_def_name == "charts" and list(add.partition_keys) == ["top-50-fr"]
    today = client.simulator.world.today
    start = max(first_day(), today - dt.timedelta(days=HISTORY_DAYS))
    assert request.run_key == f"history:top-50-fr:{start}:{today}"
    assert _span(request) == (f"top-50-fr|{start}", f"top-50-fr|{today}")
    assert request.tags["musiccharts/only_missing"] == "true"
    assert {k.path[-1] for k in request.asset_selection} == {a.key.path[-1] for a in CASCADE_ASSETS}
    # not marked launched until Dagster has created the run: a lost request is asked again
    assert subscriptions.get_subscription(wh, "top-50-fr").historical_backfill_id is None
    assert json.loads(tick.cursor)["fills"] == {"top-50-fr": request.run_key}
    tick.cursor = json.dumps({"fills": json.loads(tick.cursor)["fills"]})  # due again now
    [again] = tick()
    assert again.run_key == request.run_key

    # once the run exists, the next check marks it launched and asks only for the recent dates
    run_key_tag = {"dagster/run_key": again.run_key}
    tick.instance.add_run(dg.DagsterRun(job_name="chart_sync", tags=run_key_tag))
    tick.cursor = json.dumps({"fills": json.loads(tick.cursor)["fills"]})
    assert [r.run_key.split(":")[0] for r in tick()] == ["sync"]
    assert tick.last.dynamic_partitions_requests == []
    assert subscriptions.get_subscription(wh, "top-50-fr").historical_backfill_id == request.run_key
    assert json.loads(tick.cursor)["fills"] == {}


def test_due_rankings_make_one_range_run_then_nothing_is_due(pipeline, ticker):
    wh, client = pipeline["warehouse"].get(), pipeline["soundcharts"].get()
    subscriptions.add(wh, client, "top-50-fr")
    tick = ticker
    today = client.simulator.world.today
    start = today - dt.timedelta(days=RECENT_DAYS)
    [request] = tick()
    assert request.run_key.startswith(f"sync:top-50-fr:{start}:{today}:")
    assert _span(request) == (f"top-50-fr|{start}", f"top-50-fr|{today}")
    # the run knows what the check saw: its ranking step asks the API no availability again
    listed = json.loads(request.tags["musiccharts/published"])
    assert sorted(listed) == [str(start + dt.timedelta(days=k)) for k in range(RECENT_DAYS + 1)]

    # once they are stored nothing is due, even with the check due again
    _store(client, wh, "top-50-fr", [start + dt.timedelta(days=k) for k in range(RECENT_DAYS + 1)])
    tick.cursor = None
    assert tick() == []
    assert tick.skip_message.startswith("nothing due: 1 chart(s) checked")


def test_idle_ticks_carry_the_cursor_and_ask_the_api_nothing(pipeline, ticker):
    """The regression: a skip used to return a bare SkipReason, so Dagster kept the old cursor
    and every tick asked the API about every chart again ([2, 2, 2, 2] calls over four ticks)."""
    wh, client = pipeline["warehouse"].get(), pipeline["soundcharts"].get()
    today = client.simulator.world.today
    for slug in ("top-50-fr", "viral-50-global"):
        subscriptions.add(wh, client, slug)
        _store(client, wh, slug, [today - dt.timedelta(days=k) for k in range(RECENT_DAYS + 1)])
    tick = ticker
    tick.instance.add_dynamic_partitions("charts", ["top-50-fr", "viral-50-global"])
    calls = []
    with clock.simulated(dt.datetime.combine(today, dt.time(20, 0))):
        for _ in range(4):
            client.simulator.reset_log()
            assert tick() == []
            calls.append(client.simulator.counts()["available_rankings"])
            clock.advance(dt.timedelta(minutes=1))
        assert calls == [2, 0, 0, 0]
        assert tick.skip_message == "nothing due: 0 chart(s) checked; all charts up to date"
        # the next check of each daily chart is planned at the start of its next day
        timings = json.loads(tick.cursor)["charts"]
        assert {t["n"] for t in timings.values()} == {f"{today + dt.timedelta(days=1)}T00:00"}
        clock.set_time(dt.datetime.combine(today + dt.timedelta(days=1), dt.time(0, 1)))
        client.simulator.reset_log()
        assert tick() == []  # tomorrow's ranking is not out in this world: asked, not found
        assert client.simulator.counts()["available_rankings"] == 2


def test_a_republished_ranking_is_fetched_again(pipeline, ticker):
    wh, client = pipeline["warehouse"].get(), pipeline["soundcharts"].get()
    subscriptions.add(wh, client, "top-50-fr")
    today = client.simulator.world.today
    _store(client, wh, "top-50-fr", [today - dt.timedelta(days=k) for k in range(RECENT_DAYS + 1)])
    fixed = today - dt.timedelta(days=2)
    stamp = f"{fixed}T17:05:00+00:00"

    def republish(body, path):
        if "offset=" not in path or "offset=0" in path:
            body["items"] = [stamp if i.startswith(str(fixed)) else i for i in body["items"]]
        return body

    client.simulator.tampering["available_rankings"] = republish
    tick = ticker
    tick.instance.add_dynamic_partitions("charts", ["top-50-fr"])
    [request] = tick()
    assert request.run_key.startswith(f"republished:top-50-fr:{fixed}:{fixed}:")
    assert request.partition_key == f"top-50-fr|{fixed}"
    assert json.loads(request.tags["musiccharts/published"]) == {str(fixed): stamp}

    # the run fetches it with the datetime the check saw, asking no availability of its own
    client.simulator.reset_log()
    result = dg.materialize(
        assets.CASCADE_ASSETS,
        resources=pipeline,
        instance=tick.instance,
        partition_key=request.partition_key,
        tags=request.tags,
        selection=request.asset_selection,
    )
    assert result.success
    counts = client.simulator.counts()  # the cascade's calls too: its songs were never fetched
    assert counts["ranking"] == 1 and "available_rankings" not in counts
    assert rankings.stored_stamps(wh, "top-50-fr", fixed)[fixed] == stamp
    tick.cursor = None  # checked again: the stored datetime is the listed one, nothing is due
    assert tick() == []


def test_a_quiet_chart_already_synced_costs_one_check_and_requests_nothing(pipeline, ticker):
    wh, client = pipeline["warehouse"].get(), pipeline["soundcharts"].get()
    subscriptions.add(wh, client, "top-50-fr")
    today = client.simulator.world.today
    _store(client, wh, "top-50-fr", [today - dt.timedelta(days=30)])
    ticker.instance.add_dynamic_partitions("charts", ["top-50-fr"])

    def quiet(body, path):  # the chart stopped publishing: nothing listed
        return {**body, "items": [], "page": {**body["page"], "next": None, "total": 0}}

    client.simulator.tampering["available_rankings"] = quiet
    client.simulator.reset_log()
    assert ticker() == []  # it published nothing lately: no newest-ranking call, no run
    assert client.simulator.counts() == {"available_rankings": 1}


def test_a_removed_subscription_leaves_the_cursor_and_the_partitions(pipeline, ticker):
    wh, client = pipeline["warehouse"].get(), pipeline["soundcharts"].get()
    subscriptions.add(wh, client, "top-50-fr")
    subscriptions.add(wh, client, "viral-50-global")
    ticker()
    assert set(json.loads(ticker.cursor)["charts"]) == {"top-50-fr", "viral-50-global"}
    assert set(ticker.instance.get_dynamic_partitions("charts")) == {"top-50-fr", "viral-50-global"}
    subscriptions.remove(wh, "viral-50-global")
    ticker()
    assert set(json.loads(ticker.cursor)["charts"]) == {"top-50-fr"}
    # its key goes with it: the launch dialog offers subscribed charts only
    assert ticker.instance.get_dynamic_partitions("charts") == ["top-50-fr"]


def test_first_start_with_the_default_subscriptions_requests_one_run_per_chart(pipeline, ticker):
    requests = ticker()
    wh = pipeline["warehouse"].get()
    subscribed = [s.chart_slug for s in subscriptions.list_subscriptions(wh)]
    assert subscribed == sorted(subscriptions.DEFAULT_CHARTS)
    charts = [r.tags["musiccharts/chart"] for r in requests]
    assert sorted(charts) == subscribed  # every chart, monthly and weekly too, in one run each


def test_defaults_are_seeded_on_the_first_evaluation_only(pipeline, ticker):
    wh = pipeline["warehouse"].get()
    tick = ticker
    tick()
    for sub in subscriptions.list_subscriptions(wh):
        subscriptions.remove(wh, sub.chart_slug)
    assert tick() == []
    assert subscriptions.list_subscriptions(wh) == []  # removing every chart is respected


@pytest.mark.parametrize("slug", ["tiktok-top-50-weekly", "apple-music-monthly-global"])
def test_weekly_and_monthly_charts_get_their_newest_publication(pipeline, ticker, slug):
    wh, client = pipeline["warehouse"].get(), pipeline["soundcharts"].get()
    subscriptions.add(wh, client, slug)
    newest = max(client.available_rankings(slug, newest_only=True).dates)
    today = client.simulator.world.today
    assert (today - newest).days >= 0
    [request] = ticker()
    first, last = (dt.date.fromisoformat(k.split("|")[1]) for k in _span(request))
    assert first <= newest <= last


def test_not_due_before_the_planned_check_costs_no_api_call(pipeline, ticker):
    wh, client = pipeline["warehouse"].get(), pipeline["soundcharts"].get()
    subscriptions.add(wh, client, "tiktok-top-50-weekly")
    tick = ticker
    tick.instance.add_dynamic_partitions("charts", ["tiktok-top-50-weekly"])
    later = (utcnow() + dt.timedelta(hours=1)).isoformat(timespec="minutes")
    tick.cursor = json.dumps({"charts": {"tiktok-top-50-weekly": {"n": later}}})
    client.simulator.reset_log()
    assert tick() == []
    assert client.simulator.request_log == []


def test_a_failed_check_stays_due_and_keeps_the_other_charts(pipeline, ticker):
    wh, client = pipeline["warehouse"].get(), pipeline["soundcharts"].get()
    subscriptions.add(wh, client, "top-50-fr")
    subscriptions.add(wh, client, "viral-50-global")
    tick = ticker
    tick()
    before = json.loads(tick.cursor)["charts"]
    tick.cursor = json.dumps({"charts": {"viral-50-global": before["viral-50-global"]}})
    client.simulator.set_faults({"server_error": 1.0})
    with clock.simulated(utcnow()):
        assert tick() == []
        after = json.loads(tick.cursor)["charts"]
        assert after["viral-50-global"] == before["viral-50-global"]  # the others kept
        assert after["top-50-fr"]["f"] == 1  # top-50-fr: due again at the next tick
        assert "top-50-fr: SoundCharts API 5" in tick.skip_message
        clock.advance(dt.timedelta(minutes=1))
        assert tick() == []
        assert json.loads(tick.cursor)["charts"]["top-50-fr"]["f"] == 2  # then 2 minutes later
        client.simulator.set_faults({})
        clock.advance(dt.timedelta(minutes=1))
        assert tick() == []  # not yet: backing off while the failures go on
        clock.advance(dt.timedelta(minutes=1))
        assert [r.tags["musiccharts/chart"] for r in tick()] == ["top-50-fr"]
        assert "f" not in json.loads(tick.cursor)["charts"]["top-50-fr"]


def test_a_chart_the_api_no_longer_knows_is_reported_once_not_asked_every_tick(pipeline, ticker):
    wh, client = pipeline["warehouse"].get(), pipeline["soundcharts"].get()
    subscriptions.add(wh, client, "top-50-fr")
    tick = ticker
    del client.simulator.world.charts["top-50-fr"]
    client.simulator.reset_log()
    assert tick() == []
    assert "top-50-fr: SoundCharts API 404" in tick.skip_message
    assert tick() == []
    assert "top-50-fr" not in tick.skip_message
    assert client.simulator.counts()["available_rankings"] == 1


def test_auto_fetch_flags_narrow_the_selection(pipeline, ticker):
    wh, client = pipeline["warehouse"].get(), pipeline["soundcharts"].get()
    subscriptions.add(wh, client, "top-50-fr", auto_fetch_metadata=False)
    subscriptions.add(wh, client, "viral-50-global", auto_fetch_audience=False)
    selections = {
        r.tags["musiccharts/chart"]: {k.path[-1] for k in r.asset_selection} for r in ticker()
    }
    assert selections == {
        "top-50-fr": {"chart_rankings"},
        "viral-50-global": {"chart_rankings", "tracks", "artists", "genres"},
    }


def test_paused_subscription_is_not_synced(pipeline, ticker):
    wh, client = pipeline["warehouse"].get(), pipeline["soundcharts"].get()
    subscriptions.add(wh, client, "top-50-fr")
    subscriptions.set_active(wh, "top-50-fr", False)
    tick = ticker
    assert tick() == []
    assert tick.skip_message.startswith("nothing due")
