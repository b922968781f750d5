"""chart_sync_sensor on an ephemeral instance: what is due, as few runs as possible."""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import pytest

from musiccharts_pipeline.assets import CASCADE_ASSETS
from musiccharts_pipeline.automation.sync_sensor import chart_sync_sensor
from musiccharts_pipeline.partitions import RANGE_END_TAG, RANGE_START_TAG, first_day
from musiccharts_pipeline.sync import rankings, subscriptions
from musiccharts_pipeline.sync.rules import HISTORY_DAYS, RECENT_DAYS, utcnow

pytestmark = pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)


def _tick(pipeline, instance, cursor=None):
    with dg.build_sensor_context(instance=instance, resources=pipeline, cursor=cursor) as context:
        return chart_sync_sensor(context)


def _span(request) -> tuple[str, str]:
    if request.partition_key:
        return request.partition_key, request.partition_key
    return request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]


def test_new_subscription_adds_partition_and_launches_one_historical_fill(pipeline):
    wh, client = pipeline["warehouse"].get(), pipeline["soundcharts"].get()
    subscriptions.add(wh, client, "top-50-fr", sync_historical_data=True)
    instance = dg.DagsterInstance.ephemeral()

    result = _tick(pipeline, instance)
    assert isinstance(result, dg.SensorResult)
    [add] = result.dynamic_partitions_requests
    assert add.partitions_def_name == "charts" and list(add.partition_keys) == ["top-50-fr"]
    [request] = result.run_requests
    today = client.simulator.world.today
    start = max(first_day(), today - dt.timedelta(days=HISTORY_DAYS))
    assert request.run_key == f"history:top-50-fr:{start}:{today}"
    assert _span(request) == (f"top-50-fr|{start}", f"top-50-fr|{today}")
    assert request.tags["musiccharts/only_missing"] == "true"
    assert {k.path[-1] for k in request.asset_selection} == {a.key.path[-1] for a in CASCADE_ASSETS}
    assert subscriptions.get_subscription(wh, "top-50-fr").historical_backfill_id == request.run_key

    # the next check, once due again, asks only for the recent dates: the fill was launched once
    instance.add_dynamic_partitions("charts", ["top-50-fr"])
    again = _tick(pipeline, instance)
    assert [r.run_key.split(":")[0] for r in again.run_requests] == ["sync"]
    assert again.dynamic_partitions_requests == []


def test_due_rankings_make_one_range_run_then_nothing_is_due(pipeline):
    wh, client = pipeline["warehouse"].get(), pipeline["soundcharts"].get()
    subscriptions.add(wh, client, "top-50-fr")
    instance = dg.DagsterInstance.ephemeral()
    today = client.simulator.world.today
    start = today - dt.timedelta(days=RECENT_DAYS)
    [request] = _tick(pipeline, instance).run_requests
    assert request.run_key == f"sync:top-50-fr:{start}:{today}"
    assert _span(request) == (f"top-50-fr|{start}", f"top-50-fr|{today}")

    # once they are stored nothing is due, even with the interval elapsed
    dates = [start + dt.timedelta(days=k) for k in range(RECENT_DAYS + 1)]
    available = client.available_rankings("top-50-fr", since=start)
    published = {dt.date.fromisoformat(d[:10]): d for d in available.datetimes}
    rankings.sync_rankings(client, wh, "top-50-fr", dates, published, "test-run")
    instance.add_dynamic_partitions("charts", ["top-50-fr"])
    assert isinstance(_tick(pipeline, instance), dg.SkipReason)


def test_a_stored_date_between_due_dates_splits_the_range(pipeline):
    wh, client = pipeline["warehouse"].get(), pipeline["soundcharts"].get()
    subscriptions.add(wh, client, "top-50-fr")
    today = client.simulator.world.today
    middle = today - dt.timedelta(days=3)
    available = client.available_rankings("top-50-fr", since=middle)
    published = {dt.date.fromisoformat(d[:10]): d for d in available.datetimes}
    rankings.sync_rankings(client, wh, "top-50-fr", [middle], published, "test-run")
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("charts", ["top-50-fr"])
    spans = [_span(r) for r in _tick(pipeline, instance).run_requests]
    day = dt.timedelta(days=1)
    assert spans == [
        (f"top-50-fr|{today - RECENT_DAYS * day}", f"top-50-fr|{middle - day}"),
        (f"top-50-fr|{middle + day}", f"top-50-fr|{today}"),
    ]


def test_first_start_with_the_default_subscriptions_requests_one_run_per_chart(pipeline):
    instance = dg.DagsterInstance.ephemeral()
    result = _tick(pipeline, instance)
    wh = pipeline["warehouse"].get()
    subscribed = [s.chart_slug for s in subscriptions.list_subscriptions(wh)]
    assert subscribed == sorted(subscriptions.DEFAULT_CHARTS)
    charts = [r.tags["musiccharts/chart"] for r in result.run_requests]
    assert sorted(charts) == subscribed  # every chart, monthly and weekly too, in one run each


@pytest.mark.parametrize("slug", ["tiktok-top-50-weekly", "apple-music-monthly-global"])
def test_weekly_and_monthly_charts_get_their_newest_publication(pipeline, slug):
    wh, client = pipeline["warehouse"].get(), pipeline["soundcharts"].get()
    subscriptions.add(wh, client, slug)
    newest = max(client.available_rankings(slug, newest_only=True).dates)
    today = client.simulator.world.today
    assert (today - newest).days >= 0
    [request] = _tick(pipeline, dg.DagsterInstance.ephemeral()).run_requests
    first, last = (dt.date.fromisoformat(k.split("|")[1]) for k in _span(request))
    assert first <= newest <= last


def test_not_due_within_the_check_interval_costs_no_api_call(pipeline):
    wh, client = pipeline["warehouse"].get(), pipeline["soundcharts"].get()
    subscriptions.add(wh, client, "tiktok-top-50-weekly")
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("charts", ["tiktok-top-50-weekly"])
    client.simulator.reset_log()
    cursor = json.dumps({"tiktok-top-50-weekly": utcnow().isoformat()})
    result = _tick(pipeline, instance, cursor)
    assert isinstance(result, dg.SkipReason)
    assert client.simulator.request_log == []


def test_auto_fetch_flags_narrow_the_selection(pipeline):
    wh, client = pipeline["warehouse"].get(), pipeline["soundcharts"].get()
    subscriptions.add(wh, client, "top-50-fr", auto_fetch_metadata=False)
    subscriptions.add(wh, client, "viral-50-global", auto_fetch_audience=False)
    result = _tick(pipeline, dg.DagsterInstance.ephemeral())
    selections = {
        r.tags["musiccharts/chart"]: {k.path[-1] for k in r.asset_selection}
        for r in result.run_requests
    }
    assert selections == {
        "top-50-fr": {"chart_rankings"},
        "viral-50-global": {"chart_rankings", "tracks", "artists", "genres"},
    }


def test_paused_subscription_is_not_synced(pipeline):
    wh, client = pipeline["warehouse"].get(), pipeline["soundcharts"].get()
    subscriptions.add(wh, client, "top-50-fr")
    subscriptions.set_active(wh, "top-50-fr", False)
    assert isinstance(_tick(pipeline, dg.DagsterInstance.ephemeral()), dg.SkipReason)
