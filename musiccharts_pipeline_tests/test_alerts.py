"""Alerts: each rule fires once and resolves once, through a Slack-compatible webhook served on
loopback; the state survives a restart; a failing webhook is retried and never fails a run;
many incidents at once make one summary; no secret leaves."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import socket
import threading

import dagster as dg
import pandas as pd
import pytest

from musiccharts_pipeline import cli
from musiccharts_pipeline.alerts import rules
from musiccharts_pipeline.alerts.sensors import (
    alert_on_run_failure,
    alerts_sensor,
    default_alert_status,
)
from musiccharts_pipeline.alerts.state import IncidentStore
from musiccharts_pipeline.assets.materialize import materialize_chart
from musiccharts_pipeline.automation.sync_sensor import chart_sync_sensor
from musiccharts_pipeline.resources import SoundChartsResource
from musiccharts_pipeline.sync import subscriptions
from musiccharts_pipeline.sync.rules import utcnow
from musiccharts_pipeline.warehouse import SCHEMA
from musiccharts_pipeline_tests.helpers import Sensors

SECRET_PATH = "/services/T0TEAMSECRET/B0HOOKSECRET/Zq8webhookSecretToken"
DAGSTER = "http://dagster.example:3000"
DUCKDB_ONLY = pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)


class Receiver:
    """An incoming webhook on loopback, as Slack or Mattermost run one: it keeps every JSON
    body posted and answers the statuses queued in ``script``, then 200."""

    def __init__(self):
        self.received: list[tuple[int, dict]] = []
        self.script: list[int] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the base class's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status = receiver.script.pop(0) if receiver.script else 200
                receiver.received.append((status, body))
                reply = b"ok" if status == 200 else b"error"
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{SECRET_PATH}"

    @property
    def delivered(self) -> list[dict]:
        return [body for status, body in self.received if status == 200]

    @property
    def texts(self) -> list[str]:
        return [body["text"] for body in self.delivered]

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}{SECRET_PATH}"


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


@pytest.fixture
def alerting(pipeline, receiver, monkeypatch):
    monkeypatch.setenv("MUSICCHARTS_ALERT_WEBHOOK_URL", receiver.url)
    monkeypatch.setenv("MUSICCHARTS_DAGSTER_URL", DAGSTER)
    monkeypatch.delenv("MUSICCHARTS_ALERT_QUOTA_BELOW", raising=False)
    return receiver


class Alerts:
    """Ticks the two alert sensors as the daemon does."""

    def __init__(self, pipeline, instance):
        self.pipeline, self.instance = pipeline, instance

    def tick(self) -> str:
        with dg.build_sensor_context(instance=self.instance, resources=self.pipeline) as context:
            return alerts_sensor(context).skip_message

    def on_failure(self, run_id: str) -> None:
        [failure] = self.instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.RUN_FAILURE
        ).records
        with dg.build_run_status_sensor_context(
            sensor_name=alert_on_run_failure.name,
            dagster_event=failure.event_log_entry.dagster_event,
            dagster_instance=self.instance,
            dagster_run=self.instance.get_run_by_id(run_id),
            resources=self.pipeline,
        ) as context:
            alert_on_run_failure(context.for_run_failure())


def _html(body, path):
    return b"<html>the ranking service is down for maintenance</html>"


# -- the rules as functions ---------------------------------------------------------------------


def test_a_success_clears_a_failure_of_the_same_job_and_dates_only():
    day = dt.date(2026, 3, 10)
    key = rules.failure_key("chart_sync", "top-50-fr", (day, day + dt.timedelta(days=2)))
    assert key == "run_failed:chart_sync:top-50-fr:2026-03-10..2026-03-12"
    wide = {"top-50-fr": (day - dt.timedelta(days=1), day + dt.timedelta(days=5))}
    assert rules.resolved_by_success(key, "chart_sync", wide)
    assert not rules.resolved_by_success(key, "analytics", wide)
    assert not rules.resolved_by_success(key, "chart_sync", {"top-50-fr": (day, day)})
    assert not rules.resolved_by_success(key, "chart_sync", {"global-28": wide["top-50-fr"]})
    assert rules.resolved_by_success(rules.failure_key("analytics", None, None), "analytics", {})


def test_quota_threshold_defaults_to_5_percent_of_the_total_else_1000_calls():
    default = rules.QuotaThreshold.parse(None)
    assert default.calls_for(200_000) == 10_000 and default.calls_for(None) == 1_000
    assert rules.QuotaThreshold.parse("2,500").calls_for(200_000) == 2_500
    assert rules.QuotaThreshold.parse("10%").calls_for(50_000) == 5_000
    with pytest.raises(ValueError, match="MUSICCHARTS_ALERT_QUOTA_BELOW"):
        rules.QuotaThreshold.parse("lots")
    links = rules.Links(DAGSTER)
    low = rules.QuotaReading(remaining=900, total=100_000, run_id="r1")
    [incident], scope = rules.quota(links, low, default)
    assert incident.key == rules.QUOTA_LOW_KEY and "900 calls left" in incident.cause
    assert scope == {rules.QUOTA_LOW_KEY, rules.QUOTA_EXHAUSTED_KEY}
    [spent], scope = rules.quota(links, low.then(0, "r2"), default)
    assert spent.key == rules.QUOTA_EXHAUSTED_KEY and spent.link == f"{DAGSTER}/runs/r2"
    assert scope == {rules.QUOTA_EXHAUSTED_KEY}  # the low incident is left as it is


def test_a_sync_is_slow_above_3x_its_median_per_ranking_and_a_long_backfill_is_not():
    links = rules.Links(DAGSTER)
    usual = [rules.Sync(f"r{i}", 1.0 + i % 3 * 0.1, 1) for i in range(20)]
    assert rules.slow_sync(links, "c", [*usual, rules.Sync("new", 3.2, 1)]) is None
    slow = rules.slow_sync(links, "c", [*usual, rules.Sync("new", 3.4, 1)])
    assert slow.key == "slow_sync:c" and slow.link == f"{DAGSTER}/runs/new"
    assert "3.1x its median of 1.10 s over the last 20 syncs" in slow.cause
    assert rules.slow_sync(links, "c", [*usual, rules.Sync("year", 365.0, 365)]) is None
    assert rules.slow_sync(links, "c", [*usual[:4], rules.Sync("new", 30.0, 1)]) is None
    fast = [rules.Sync(f"r{i}", 0.01, 1) for i in range(20)]
    assert rules.slow_sync(links, "c", [*fast, rules.Sync("new", 0.5, 1)]) is None


def test_causes_are_one_line_without_secrets(monkeypatch):
    monkeypatch.setenv("SOUNDCHARTS_API_KEY", "sk-live-abcdef123456")
    cause = rules.one_line(
        "boom: key sk-live-abcdef123456 at postgresql://app:hunter2pass@db/x?token=t0k3n99\n"
        "Traceback (most recent call last): ..."
    )
    assert cause == "boom: key *** at postgresql://***@db/x?token=***"


def test_alert_sensors_are_on_by_default_only_when_a_webhook_is_set(monkeypatch):
    monkeypatch.delenv("MUSICCHARTS_ALERT_WEBHOOK_URL", raising=False)
    assert default_alert_status() == dg.DefaultSensorStatus.STOPPED
    monkeypatch.setenv("MUSICCHARTS_ALERT_WEBHOOK_URL", "http://127.0.0.1:9/hook")
    assert default_alert_status() == dg.DefaultSensorStatus.RUNNING


# -- failed runs --------------------------------------------------------------------------------


def test_a_failed_run_alerts_once_naming_chart_and_dates_then_resolves_once(pipeline, alerting):
    sim = pipeline["soundcharts"].get().simulator
    instance = dg.DagsterInstance.ephemeral()
    alerts = Alerts(pipeline, instance)
    alerts.tick()
    today = sim.world.today
    start = today - dt.timedelta(days=2)
    sim.tampering["ranking"] = _html
    failed = materialize_chart(
        pipeline,
        instance,
        "top-50-fr",
        start,
        today,
        selection=["chart_rankings"],
        raise_on_error=False,
    )
    assert not failed.success

    alerts.on_failure(failed.run_id)
    [fired] = alerting.delivered
    text = fired["text"]
    assert text.startswith("[musiccharts] FIRING run failed: ")
    assert f"materialization run for top-50-fr {start}..{today} failed at chart_rankings" in text
    assert (
        "expected JSON, got text/html" in text and "\n" + f"{DAGSTER}/runs/{failed.run_id}" in text
    )
    assert (
        fired["blocks"][-1]["text"]["text"] == f"<{DAGSTER}/runs/{failed.run_id}|Open in Dagster>"
    )
    for _ in range(2):  # the sensor sees the failure again, and the daemon may replay it
        alerts.tick()
        alerts.on_failure(failed.run_id)
    assert len(alerting.delivered) == 1

    sim.tampering.clear()
    fixed = materialize_chart(
        pipeline, instance, "top-50-fr", start, today, selection=["chart_rankings"]
    )
    alerts.tick()
    alerts.tick()
    assert len(alerting.texts) == 2
    resolved = alerting.texts[1]
    assert resolved.startswith("[musiccharts] RESOLVED run failed: ")
    assert (
        f"top-50-fr {start}..{today}" in resolved
        and f"run {fixed.run_id[:8]} succeeded" in resolved
    )


def test_a_restart_between_failure_and_fix_sends_nothing_twice(pipeline, alerting, tmp_path):
    sim = pipeline["soundcharts"].get().simulator
    home = str(tmp_path)  # a persistent SQLite instance, as a daemon's
    instance = dg.DagsterInstance.local_temp(tempdir=home)
    today = sim.world.today
    sim.tampering["ranking"] = _html
    failed = materialize_chart(
        pipeline, instance, "global-28", today, selection=["chart_rankings"], raise_on_error=False
    )
    Alerts(pipeline, instance).on_failure(failed.run_id)
    Alerts(pipeline, instance).tick()
    assert len(alerting.delivered) == 1

    def restart():
        instance.dispose()
        pipeline["warehouse"].get().engine.dispose()  # a new process: no connection held
        return dg.DagsterInstance.local_temp(tempdir=home)

    instance = restart()
    alerts = Alerts(pipeline, instance)
    alerts.on_failure(failed.run_id)  # a daemon without its cursor sees the failure again
    alerts.tick()
    assert len(alerting.delivered) == 1
    sim.tampering.clear()
    materialize_chart(pipeline, instance, "global-28", today, selection=["chart_rankings"])
    alerts.tick()
    instance = restart()
    Alerts(pipeline, instance).tick()
    Alerts(pipeline, instance).on_failure(failed.run_id)  # late replay: a later run fixed it
    Alerts(pipeline, instance).tick()
    assert [t.split(":")[0] for t in alerting.texts] == [
        "[musiccharts] FIRING run failed",
        "[musiccharts] RESOLVED run failed",
    ]
    instance.dispose()


# -- webhook delivery ---------------------------------------------------------------------------


@DUCKDB_ONLY
def test_a_webhook_answering_500_then_200_gets_the_alert_once(pipeline, alerting, capsys):
    sim = pipeline["soundcharts"].get().simulator
    instance = dg.DagsterInstance.ephemeral()
    alerts = Alerts(pipeline, instance)
    today = sim.world.today
    sim.tampering["ranking"] = _html
    first = materialize_chart(
        pipeline, instance, "top-50-fr", today, selection=["chart_rankings"], raise_on_error=False
    )
    alerting.script = [500]  # urllib3 Retry posts again within the same evaluation
    alerts.on_failure(first.run_id)
    assert [status for status, _ in alerting.received] == [500, 200]
    assert len(alerting.delivered) == 1

    # down for a whole evaluation: logged, kept pending, posted once on the next evaluation
    yesterday = today - dt.timedelta(days=1)
    second = materialize_chart(
        pipeline,
        instance,
        "top-50-fr",
        yesterday,
        selection=["chart_rankings"],
        raise_on_error=False,
    )
    alerting.script = [503] * 4  # the first post and its three retries
    alerts.on_failure(second.run_id)
    assert len(alerting.received) == 6 and len(alerting.delivered) == 1
    assert "not sent (HTTP 503); retried on the next evaluation" in capsys.readouterr().err
    wh = pipeline["warehouse"].get()
    [pending] = [r for r in IncidentStore(wh).open_incidents() if r.open_sent_at is None]
    assert pending.last_error == "HTTP 503" and pending.attempts == 1
    alerts.tick()
    alerts.tick()
    assert len(alerting.delivered) == 2 and f"top-50-fr {yesterday}" in alerting.texts[1]


@DUCKDB_ONLY
def test_one_failed_post_per_evaluation_and_the_rest_wait_for_the_next(pipeline, alerting):
    from musiccharts_pipeline.alerts.webhook import Webhook, deliver_pending

    store = IncidentStore(pipeline["warehouse"].get())
    store.apply(
        [
            rules.Incident("overdue:a", rules.OVERDUE, "a", "a is late", DAGSTER),
            rules.Incident("slow_sync:b", rules.SLOW_SYNC, "b", "b is slow", DAGSTER),
        ]
    )
    hook = Webhook(alerting.url, backoff=0.01)
    alerting.script = [502] * 4
    outcomes = deliver_pending(store, hook, warn=lambda message: None)
    assert len(alerting.received) == 4  # one message, posted and retried three times
    assert [o.delivery.describe() for o in outcomes] == [
        "not sent (HTTP 502)",
        "not sent (not tried: an earlier post failed (HTTP 502))",
    ]
    assert len(store.pending()) == 2
    assert [o.delivery.ok for o in deliver_pending(store, hook)] == [True, True]
    assert deliver_pending(store, hook) == [] and store.pending() == []
    assert sorted(alerting.texts) == [
        f"[musiccharts] FIRING chart overdue: a is late\n{DAGSTER}",
        f"[musiccharts] FIRING slow sync: b is slow\n{DAGSTER}",
    ]


@DUCKDB_ONLY
def test_an_unreachable_webhook_leaves_the_sync_green_and_delivers_later(
    pipeline, alerting, monkeypatch, caplog
):
    wh, client = pipeline["warehouse"].get(), pipeline["soundcharts"].get()
    subscriptions.add(wh, client, "viral-50-global")
    _subscribed_days_ago(wh, 10)
    monkeypatch.setenv("MUSICCHARTS_ALERT_WEBHOOK_URL", closed_port_url())
    instance = dg.DagsterInstance.ephemeral()
    alerts, sensors = Alerts(pipeline, instance), Sensors(pipeline, instance)
    assert "1 incident(s) opened" in alerts.tick()  # overdue: never synced in 10 days
    [sync] = sensors.tick(chart_sync_sensor)
    assert "0 of 1 notice(s) sent" in alerts.tick()  # retried, and down again
    result = sensors.run(sync)  # asserts the run succeeded
    assert result.success
    # the sync cleared the incident before anyone heard of it: nothing to announce
    assert alerts.tick() == "0 incident(s) opened, 1 resolved, 0 open; 0 of 0 notice(s) sent"
    assert alerting.received == []

    # an incident left pending by the outage is posted once the webhook answers again
    subscriptions.add(wh, client, "top-50-fr")
    _subscribed_days_ago(wh, 10, "top-50-fr")
    alerts.tick()
    monkeypatch.setenv("MUSICCHARTS_ALERT_WEBHOOK_URL", alerting.url)
    alerts.tick()
    alerts.tick()
    assert len(alerting.texts) == 1 and "FIRING chart overdue: top-50-fr" in alerting.texts[0]


# -- overdue charts -----------------------------------------------------------------------------


def _subscribed_days_ago(wh, days: int, slug: str | None = None) -> None:
    wh.execute(
        f"UPDATE {SCHEMA}.chart_subscriptions SET created_at = :t"
        + (" WHERE chart_slug = :s" if slug else ""),
        {"t": utcnow() - dt.timedelta(days=days), "s": slug},
    )


def test_an_overdue_chart_alerts_once_and_resolves_when_a_ranking_lands(pipeline, alerting):
    wh, client = pipeline["warehouse"].get(), pipeline["soundcharts"].get()
    today = client.simulator.world.today
    subscriptions.add(wh, client, "top-50-fr")
    instance = dg.DagsterInstance.ephemeral()
    materialize_chart(
        pipeline, instance, "top-50-fr", today - dt.timedelta(days=6), selection=["chart_rankings"]
    )
    alerts = Alerts(pipeline, instance)
    alerts.tick()
    alerts.tick()
    [text] = alerting.texts
    assert text == (
        "[musiccharts] FIRING chart overdue: top-50-fr (daily, expected every 1 day) is overdue: "
        f"newest ranking is {today - dt.timedelta(days=6)} (6 days old)\n"
        f"{DAGSTER}/assets/chart_rankings?view=partitions"
    )
    materialize_chart(pipeline, instance, "top-50-fr", today, selection=["chart_rankings"])
    alerts.tick()
    alerts.tick()
    assert len(alerting.texts) == 2
    assert alerting.texts[1].startswith("[musiccharts] RESOLVED chart overdue: top-50-fr (daily")


@DUCKDB_ONLY
def test_forty_charts_overdue_at_once_send_one_summary_and_one_resolution(pipeline, alerting):
    wh = pipeline["warehouse"].get()
    old = utcnow() - dt.timedelta(days=10)
    slugs = [f"chart-{i:02d}" for i in range(40)]
    wh.upsert(
        pd.DataFrame(
            [
                {**subscriptions.Subscription(s, "spotify", "daily").row(), "created_at": old}
                for s in slugs
            ]
        ),
        "chart_subscriptions",
        ["chart_slug"],
    )
    instance = dg.DagsterInstance.ephemeral()
    alerts = Alerts(pipeline, instance)
    assert "40 incident(s) opened" in alerts.tick()
    alerts.tick()
    [summary] = alerting.delivered
    assert summary["text"].startswith(
        "[musiccharts] FIRING 40 charts overdue: chart-00, chart-01, chart-02,"
    )
    assert summary["text"].count("chart-") == 15 and "and 25 more" in summary["text"]
    listed = summary["blocks"][1]["text"]["text"]
    assert listed.count("• ") == 15 and listed.endswith("… and 25 more")

    now = utcnow()
    wh.upsert(
        pd.DataFrame(
            [
                {"chart_slug": s, "ranking_date": now.date(), "entry_count": 50, "fetched_at": now}
                for s in slugs
            ]
        ),
        "chart_rankings",
        ["chart_slug", "ranking_date"],
    )
    assert "40 resolved" in alerts.tick()
    alerts.tick()
    assert len(alerting.texts) == 2
    assert alerting.texts[1].startswith("[musiccharts] RESOLVED 40 charts overdue: chart-00,")


# -- quota --------------------------------------------------------------------------------------


@DUCKDB_ONLY
def test_low_then_exhausted_quota_alert_once_each_and_resolve_on_renewal(pipeline, alerting):
    sim = pipeline["soundcharts"].get().simulator
    instance = dg.DagsterInstance.ephemeral()
    alerts = Alerts(pipeline, instance)
    today = sim.world.today

    def sync(days_ago: int, ok: bool = True):
        result = materialize_chart(
            pipeline,
            instance,
            "top-50-fr",
            today - dt.timedelta(days=days_ago),
            selection=["chart_rankings"],
            raise_on_error=False,
        )
        assert result.success is ok
        return result

    sim.set_quota(100_000)
    sync(3)
    alerts.tick()
    assert alerting.delivered == []
    sim.set_quota(3_000)  # the term's total stays the largest seen: 5% of it is 5,000
    low = sync(2)
    alerts.tick()
    alerts.tick()
    [text] = alerting.texts
    assert text == (
        "[musiccharts] FIRING API quota: SoundCharts API quota is low: 2,998 calls left, below "
        "the threshold of 5,000 (largest seen this term: 99,998)\n"
        f"{DAGSTER}/runs/{low.run_id}"
    )
    sim.set_quota(0)
    spent = sync(1, ok=False)
    alerts.on_failure(spent.run_id)
    alerts.tick()
    alerts.tick()
    assert len(alerting.texts) == 3
    assert "FIRING run failed" in alerting.texts[1] and "SoundCharts API 429" in alerting.texts[1]
    assert alerting.texts[2] == (
        "[musiccharts] FIRING API quota: SoundCharts API quota is exhausted (0 calls left): "
        f"every sync fails until the quota renews\n{DAGSTER}/runs/{spent.run_id}"
    )
    sim.set_quota(100_000)
    sync(1)
    alerts.tick()
    alerts.tick()
    resolved = sorted(alerting.texts[3:])
    assert len(resolved) == 3 and all("RESOLVED" in t for t in resolved)
    assert "RESOLVED API quota: SoundCharts API quota is exhausted" in resolved[0]
    assert "RESOLVED API quota: SoundCharts API quota is low" in resolved[1]
    assert "(99,99" in resolved[0] and "RESOLVED run failed" in resolved[2]


@DUCKDB_ONLY
def test_the_quota_threshold_is_read_from_the_environment(pipeline, alerting, monkeypatch):
    monkeypatch.setenv("MUSICCHARTS_ALERT_QUOTA_BELOW", "200000")
    sim = pipeline["soundcharts"].get().simulator
    instance = dg.DagsterInstance.ephemeral()
    sim.set_quota(150_000)
    materialize_chart(
        pipeline, instance, "top-50-fr", sim.world.today, selection=["chart_rankings"]
    )
    Alerts(pipeline, instance).tick()
    [text] = alerting.texts
    assert "149,998 calls left, below the threshold of 200,000" in text


# -- failed ERROR checks ------------------------------------------------------------------------


def test_a_failed_error_check_alerts_once_and_resolves_when_it_passes(pipeline, alerting):
    sim = pipeline["soundcharts"].get().simulator
    instance = dg.DagsterInstance.ephemeral()
    alerts = Alerts(pipeline, instance)
    today = sim.world.today

    def gap(body, path):
        body["items"][1]["position"] = 999  # positions 1, 3, ..., 999: unique but not 1..n
        return body

    sim.tampering["ranking"] = gap
    materialize_chart(pipeline, instance, "top-50-fr", today, selection=["chart_rankings"])
    alerts.tick()
    alerts.tick()
    [fired] = alerting.delivered
    assert fired["text"] == (
        "[musiccharts] FIRING data check failed: ERROR check positions_contiguous on "
        f"chart_rankings failed for top-50-fr: broken: ['top-50-fr {today}']; "
        f"rankings_checked: 1\n{DAGSTER}/assets/chart_rankings?view=checks"
    )
    sim.tampering.clear()
    fixed = materialize_chart(pipeline, instance, "top-50-fr", today, selection=["chart_rankings"])
    alerts.tick()
    alerts.tick()
    assert len(alerting.texts) == 2
    assert alerting.texts[1].startswith("[musiccharts] RESOLVED data check failed: ERROR check ")
    assert f"(check passed in run {fixed.run_id[:8]})" in alerting.texts[1]


# -- slow syncs ---------------------------------------------------------------------------------


def _log_sync(wh, run_id: str, seconds: float, finished: dt.datetime) -> None:
    wh.upsert(
        pd.DataFrame(
            [
                {
                    "run_id": run_id,
                    "chart_slug": "top-50-fr",
                    "ranking_date": finished.date(),
                    "status": "success",
                    "published": True,
                    "entry_count": 50,
                    "api_calls": 2,
                    "started_at": finished - dt.timedelta(seconds=seconds),
                    "finished_at": finished,
                    "duration_seconds": seconds,
                }
            ]
        ),
        "chart_sync_log",
        ["run_id", "chart_slug", "ranking_date"],
    )


@DUCKDB_ONLY
def test_a_sync_3x_slower_than_its_median_alerts_once_and_resolves(pipeline, alerting):
    wh = pipeline["warehouse"].get()
    start = utcnow() - dt.timedelta(hours=2)
    for i in range(20):
        _log_sync(wh, f"run-{i:02d}", 1.0 + (i % 4) * 0.1, start + dt.timedelta(minutes=i))
    _log_sync(wh, "run-slow", 4.5, start + dt.timedelta(minutes=30))
    alerts = Alerts(pipeline, dg.DagsterInstance.ephemeral())
    alerts.tick()
    alerts.tick()
    [text] = alerting.texts
    assert text == (
        "[musiccharts] FIRING slow sync: top-50-fr sync took 4.5 s per ranking, 3.9x its median "
        f"of 1.15 s over the last 20 syncs\n{DAGSTER}/runs/run-slow"
    )
    _log_sync(wh, "run-back", 1.2, start + dt.timedelta(minutes=40))
    alerts.tick()
    alerts.tick()
    assert len(alerting.texts) == 2
    assert alerting.texts[1].startswith("[musiccharts] RESOLVED slow sync: top-50-fr sync took 4.5")


# -- secrets ------------------------------------------------------------------------------------

API_KEY = "sk-live-7f3a9c0d2e"
TOKEN = "mct-51e0d2b8a4"


@pytest.fixture
def secrets(pipeline, monkeypatch):
    monkeypatch.setenv("SOUNDCHARTS_APP_ID", "team-app")
    monkeypatch.setenv("SOUNDCHARTS_API_KEY", API_KEY)  # the simulator takes it from the env
    monkeypatch.setenv("MUSICCHARTS_API_TOKEN", TOKEN)
    pipeline["soundcharts"] = SoundChartsResource.simulated()
    return [API_KEY, TOKEN, SECRET_PATH]


@DUCKDB_ONLY
def test_a_cause_quoting_secrets_reaches_the_webhook_masked(pipeline, alerting, secrets, caplog):
    sim = pipeline["soundcharts"].get().simulator
    assert sim.config.api_key == API_KEY
    instance = dg.DagsterInstance.ephemeral()
    leaky = f"<p>{API_KEY} {TOKEN}</p>".encode()
    sim.tampering["ranking"] = lambda body, path: leaky
    failed = materialize_chart(
        pipeline,
        instance,
        "top-50-fr",
        sim.world.today,
        selection=["chart_rankings"],
        raise_on_error=False,
    )
    caplog.clear()
    caplog.set_level("DEBUG")
    alerting.script = [500]
    Alerts(pipeline, instance).on_failure(failed.run_id)
    [fired] = alerting.delivered
    assert "expected JSON, got text/html; charset=utf-8: '<p>*** ***</p>'" in fired["text"]
    everything = json.dumps(alerting.received) + caplog.text
    assert '"POST *** HTTP/1.1" 500' in caplog.text  # urllib3 logged the path, masked
    assert not [s for s in [*secrets, alerting.url] if s in everything]


def test_no_secret_in_payloads_logs_event_log_or_alert_tables(
    pipeline, alerting, secrets, caplog, tmp_path
):
    caplog.set_level("DEBUG")
    sim = pipeline["soundcharts"].get().simulator
    wh = pipeline["warehouse"].get()
    (tmp_path / "home").mkdir()
    instance = dg.DagsterInstance.local_temp(tempdir=str(tmp_path / "home"))
    alerts = Alerts(pipeline, instance)
    sim.set_quota(0)
    spent = materialize_chart(
        pipeline,
        instance,
        "top-50-fr",
        sim.world.today,
        selection=["chart_rankings"],
        raise_on_error=False,
    )
    alerting.script = [500] * 4 + [429]
    alerts.on_failure(spent.run_id)
    alerts.tick()
    alerts.tick()
    assert len(alerting.delivered) == 2  # the failure and the spent quota, after the outage
    leaks = [*secrets, alerting.url]
    assert not [s for s in leaks if s in json.dumps(alerting.received)]
    assert not [s for s in leaks if s in caplog.text]
    for run in instance.get_runs():
        assert not [s for s in leaks if s in repr(instance.all_logs(run.run_id))]
    for table in ("alert_incidents", "alert_state"):
        frame = wh.read_frame(f"SELECT * FROM {SCHEMA}.{table}")
        assert not frame.empty and not [s for s in leaks if s in frame.to_csv()]
    instance.dispose()
    for path in (tmp_path / "home").rglob("*"):
        if path.is_file():
            assert not [s for s in leaks if s.encode() in path.read_bytes()], path


# -- the CLI and the dashboard ------------------------------------------------------------------


@pytest.fixture
def cli_env(pipeline, warehouse_url, monkeypatch, tmp_path):
    monkeypatch.setenv("MUSICCHARTS_WAREHOUSE_URL", warehouse_url)
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))


@DUCKDB_ONLY
def test_cli_alerts_test_posts_a_test_message_and_reports_the_status(
    cli_env, alerting, monkeypatch, capsys
):
    assert cli.main(["alerts", "test"]) == 0
    assert capsys.readouterr().out.strip() == "test alert: sent (HTTP 200)"
    [probe] = alerting.delivered
    assert probe["text"].startswith("[musiccharts] test alert")
    alerting.script = [500] * 4
    assert cli.main(["alerts", "test"]) == 1
    assert capsys.readouterr().out.strip() == "test alert: not sent (HTTP 500)"
    monkeypatch.delenv("MUSICCHARTS_ALERT_WEBHOOK_URL")
    assert cli.main(["alerts", "test"]) == 1
    assert "MUSICCHARTS_ALERT_WEBHOOK_URL is not set" in capsys.readouterr().out


@DUCKDB_ONLY
def test_cli_alerts_check_evaluates_every_rule_and_prints_what_was_sent(
    cli_env, alerting, pipeline, monkeypatch, capsys
):
    wh, client = pipeline["warehouse"].get(), pipeline["soundcharts"].get()
    subscriptions.add(wh, client, "top-50-fr")
    _subscribed_days_ago(wh, 10)
    monkeypatch.delenv("MUSICCHARTS_ALERT_WEBHOOK_URL")
    assert cli.main(["alerts", "check"]) == 0
    out = capsys.readouterr().out
    assert "open      overdue       top-50-fr: not sent (no webhook configured)" in out
    monkeypatch.setenv("MUSICCHARTS_ALERT_WEBHOOK_URL", alerting.url)
    assert cli.main(["alerts", "check"]) == 0
    assert "open      overdue       top-50-fr: sent (HTTP 200)" in capsys.readouterr().out
    assert cli.main(["alerts", "check"]) == 0
    out = capsys.readouterr().out
    assert "open      overdue       top-50-fr: already sent" in out
    assert len(alerting.delivered) == 1
    assert "[musiccharts] FIRING chart overdue: top-50-fr" in alerting.texts[0]


@DUCKDB_ONLY
def test_the_dashboard_lists_open_incidents(pipeline):
    from musiccharts_pipeline.dashboard.render import render

    wh = pipeline["warehouse"].get()
    store = IncidentStore(wh)
    store.apply(
        [
            rules.Incident(
                "overdue:top-50-fr", rules.OVERDUE, "top-50-fr", "top-50-fr is <late>", DAGSTER
            )
        ]
    )
    marts = {
        name: pd.DataFrame(columns=columns)
        for name, columns in {
            "rankings_fetched_daily": ["fetched_date", "rankings_fetched", "this_week"],
            "top_platforms": ["platform", "rankings"],
            "top_tracks": ["track_name", "chart_appearances", "best_position"],
            "chart_health": ["chart_slug", "health_pct"],
            "chart_latest_rankings": ["chart_slug"],
            "artist_analytics": [
                "artist_uuid",
                "artist_name",
                "tracks_charting",
                "best_position",
                "chart_days",
                "follower_growth",
            ],
            "genre_popularity": ["root_genre", "chart_entries"],
        }.items()
    }
    page = render(marts, incidents=store.open_incidents())
    assert 'data-table="open_incidents"' in page
    assert "top-50-fr is &lt;late&gt;" in page and "overdue" in page
    assert "No open incident" in render(marts, incidents=[])
