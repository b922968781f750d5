"""The alert sensors: Dagster wiring that feeds the plain-Python rules and delivers notices.

- ``alert_on_run_failure`` is Dagster's run-failure sensor: a failed run is alerted within a
  tick of the failure.
- ``alerts_sensor`` evaluates every rule from what changed since its last evaluation: runs
  finished (failures, the successes that clear them, and the asset check evaluations of each)
  and quota readings, through cursors over event-log storage ids; syncs finished since then;
  and the subscriptions' newest rankings. It also posts what a failing webhook left pending.

Both write to the same incident store in the warehouse, so an incident seen by both, by
several ticks or by `musiccharts alerts check` is one incident with one message. Both are
running by default when MUSICCHARTS_ALERT_WEBHOOK_URL is set, stopped otherwise.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

import dagster as dg

from musiccharts_pipeline import settings
from musiccharts_pipeline.alerts import health
from musiccharts_pipeline.alerts import rules as r
from musiccharts_pipeline.alerts.state import IncidentRow, IncidentStore
from musiccharts_pipeline.alerts.webhook import Outcome, Webhook, deliver_pending
from musiccharts_pipeline.partitions import chart_dates_of_run
from musiccharts_pipeline.resources import WarehouseResource
from musiccharts_pipeline.sync.rules import utcnow
from musiccharts_pipeline.warehouse import Warehouse

log = logging.getLogger(__name__)

#: A first evaluation (no cursor yet) looks this far back, not over the whole history.
LOOKBACK = dt.timedelta(days=1)
#: Events read per kind and evaluation; more wait for the next one.
EVENTS_PER_TICK = 1000
#: The assets whose materializations report the API quota left.
API_ASSETS = ("chart_rankings", "tracks", "artists", "track_audience", "artist_audience")
CURSOR, QUOTA_STATE = "cursor", "quota"
_FAILURE_PREFIX = "dagster._core.definitions.events.Failure: "


def links() -> r.Links:
    return r.Links(settings.dagster_url())


def webhook() -> Webhook | None:
    url = settings.alert_webhook_url()
    return Webhook(url) if url else None


# -- failed runs --------------------------------------------------------------------------------


def failure_incidents(
    instance: dg.DagsterInstance, run: dg.DagsterRun, to: r.Links
) -> tuple[list[r.Incident], str]:
    """The incidents of a failed run (one per chart it covered), and its first error."""
    steps = instance.get_records_for_run(
        run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE, limit=1
    ).records
    if steps:
        event = steps[0].event_log_entry.dagster_event
        step, error = event.step_key, event.event_specific_data.error.message
    else:
        failed = instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE, limit=1
        ).records
        step, error = None, failed[0].event_log_entry.message if failed else "run failed"
    error = error.removeprefix(_FAILURE_PREFIX)
    charts = chart_dates_of_run(run.tags)
    if not charts:
        return [r.run_failed(to, run.job_name, run.run_id, None, None, step, error)], error
    return [
        r.run_failed(to, run.job_name, run.run_id, chart, span, step, error)
        for chart, span in sorted(charts.items())
    ], error


def cleared_by_later_success(
    instance: dg.DagsterInstance, run: dg.DagsterRun, keys: list[str]
) -> set[str]:
    """Keys that a successful run of the same job, created after ``run``, already clears (a
    failure reported late must not reopen what a later run fixed)."""
    record = instance.get_run_record_by_id(run.run_id)
    later = instance.get_run_records(
        dg.RunsFilter(
            job_name=run.job_name,
            statuses=[dg.DagsterRunStatus.SUCCESS],
            created_after=record.create_timestamp if record else None,
        ),
        limit=50,
    )
    return {
        key
        for key in keys
        for other in later
        if other.dagster_run.run_id != run.run_id
        and r.resolved_by_success(key, run.job_name, chart_dates_of_run(other.dagster_run.tags))
    }


# -- one evaluation of every rule ---------------------------------------------------------------


@dataclasses.dataclass
class Changes:
    """Incidents to open and to resolve, in the order the evidence arrived: the last word on
    a key wins."""

    opened: dict[str, r.Incident] = dataclasses.field(default_factory=dict)
    resolved: dict[str, str] = dataclasses.field(default_factory=dict)

    def open(self, incident: r.Incident) -> None:
        self.resolved.pop(incident.key, None)
        self.opened[incident.key] = incident

    def resolve(self, key: str, why: str) -> None:
        self.opened.pop(key, None)
        self.resolved[key] = why

    def level(self, firing: list[r.Incident], scope: set[str], why: str) -> None:
        """A level rule's verdict: ``firing`` is open, the rest of ``scope`` is not."""
        for incident in firing:
            self.open(incident)
        for key in scope - {i.key for i in firing}:
            self.resolve(key, why)


@dataclasses.dataclass
class Report:
    opened: list[str]
    resolved: list[str]
    outcomes: list[Outcome]
    open: list[IncidentRow]


def _run_events(instance: dg.DagsterInstance, after: int | None, since: float) -> list:
    """Run failures and successes after storage id ``after`` (else since ``since``), in order.
    When a kind fills its batch, only the events up to its last one are returned: the rest
    come next time, still in order."""
    window = {"after_storage_id": after} if after else {"after_timestamp": since}
    batches = [
        instance.fetch_run_status_changes(
            dg.RunStatusChangeRecordsFilter(kind, **window), limit=EVENTS_PER_TICK, ascending=True
        ).records
        for kind in (dg.DagsterEventType.RUN_FAILURE, dg.DagsterEventType.RUN_SUCCESS)
    ]
    full = [batch[-1].storage_id for batch in batches if len(batch) == EVENTS_PER_TICK]
    events = sorted((rec for batch in batches for rec in batch), key=lambda rec: rec.storage_id)
    return [rec for rec in events if not full or rec.storage_id <= min(full)]


def _read_runs(instance, records, changes: Changes, open_keys: set[str], to, readings) -> None:
    """A failed run opens an incident per chart it covered; a later success of the same job and
    dates resolves it. The check evaluations of each finished run are read with it (the event
    log's own index, which also holds on run-sharded SQLite storage)."""
    for rec in records:
        run = instance.get_run_by_id(rec.event_log_entry.run_id)
        if run is None:
            continue
        if rec.event_log_entry.dagster_event_type == dg.DagsterEventType.RUN_FAILURE:
            incidents, error = failure_incidents(instance, run, to)
            for incident in incidents:
                changes.open(incident)
            if r.is_quota_exhausted(error):
                readings.append((rec.storage_id, 0, run.run_id))
        else:
            charts = chart_dates_of_run(run.tags)
            for key in sorted(open_keys | set(changes.opened)):
                if r.resolved_by_success(key, run.job_name, charts):
                    changes.resolve(key, f"run {run.run_id[:8]} succeeded")
        _read_checks(instance, run, changes, to)


def _read_checks(instance, run: dg.DagsterRun, changes: Changes, to) -> None:
    """A failed ERROR check opens an incident per chart of its run; a pass resolves it."""
    charts = sorted(chart_dates_of_run(run.tags)) or [None]
    for rec in instance.get_records_for_run(
        run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ).records:
        evaluation = rec.event_log_entry.dagster_event.event_specific_data
        asset = tuple(evaluation.asset_key.path)
        for chart in charts:
            key = r.check_key("/".join(asset), evaluation.check_name, chart)
            if evaluation.passed:
                changes.resolve(key, f"check passed in run {run.run_id[:8]}")
            elif evaluation.severity == dg.AssetCheckSeverity.ERROR:
                detail = evaluation.description or _metadata_line(evaluation.metadata)
                changes.open(r.check_failed(to, asset, evaluation.check_name, chart, detail))


def _metadata_line(metadata) -> str | None:
    parts = []
    for name, value in list((metadata or {}).items())[:3]:
        text = str(getattr(value, "value", value))
        parts.append(f"{name}: {text if len(text) <= 80 else text[:79] + '…'}")
    return "; ".join(parts) or None


def _read_quota(instance, after: dict, since: float, readings) -> dict:
    """The ``quota_remaining`` the API assets' materializations reported since last time;
    returns the next cursor (storage id per asset)."""
    after = dict(after)
    for name in API_ASSETS:
        start = after.get(name)
        window = {"after_storage_id": start} if start else {"after_timestamp": since}
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(name), **window),
            limit=EVENTS_PER_TICK,
            ascending=True,
        ).records
        for rec in records:
            after[name] = rec.storage_id
            value = rec.asset_materialization.metadata.get("quota_remaining")
            if value is not None:
                readings.append((rec.storage_id, int(value.value), rec.run_id))
    return after


def _quota_reading(saved: dict, readings: list) -> r.QuotaReading | None:
    reading = r.QuotaReading(**saved) if saved else None
    for _, remaining, run_id in sorted(readings):
        if reading is None:
            reading = r.QuotaReading(remaining, remaining, run_id)
        else:
            reading = reading.then(remaining, run_id)
    return reading


def evaluate(
    instance: dg.DagsterInstance,
    wh: Warehouse,
    now: dt.datetime | None = None,
    warn=log.warning,
) -> Report:
    """Evaluate every rule on what changed since the last evaluation, record the incidents that
    opened and cleared, and post every notice due (one summary per rule when many are)."""
    now = now or utcnow()
    to, store = links(), IncidentStore(wh)
    cursor = store.state(CURSOR)
    # a first evaluation (no cursor yet) looks back a day, not over the whole history
    since = (now - LOOKBACK).replace(tzinfo=dt.timezone.utc).timestamp()
    open_keys = {row.incident_key for row in store.open_incidents()}
    changes, readings = Changes(), []

    events = _run_events(instance, cursor.get("runs"), since)
    _read_runs(instance, events, changes, open_keys, to, readings)
    quota_after = _read_quota(instance, cursor.get("quota") or {}, since, readings)

    reading = _quota_reading(store.state(QUOTA_STATE), readings)
    if reading is not None:
        threshold = r.QuotaThreshold.parse(settings.alert_quota_below())
        firing, scope = r.quota(to, reading, threshold)
        changes.level(firing, scope, f"{reading.remaining:,} calls left")

    overdue = r.overdue(to, health.chart_freshness(wh), now.date())
    late = {k for k in open_keys if k.startswith(f"{r.OVERDUE}:")} | {i.key for i in overdue}
    changes.level(overdue, late, "a new ranking arrived, or the chart is no longer subscribed")

    synced = cursor.get("synced")
    synced_after = dt.datetime.fromisoformat(synced) if synced else now - LOOKBACK
    changed, newest = health.charts_synced_since(wh, synced_after)
    for slug, syncs in health.recent_syncs(wh, changed).items():
        slow = r.slow_sync(to, slug, syncs)
        changes.level([slow] if slow else [], {f"{r.SLOW_SYNC}:{slug}"}, "back within 3x")

    state = {
        CURSOR: {
            "runs": events[-1].storage_id if events else cursor.get("runs"),
            "quota": quota_after,
            "synced": (newest or synced_after).isoformat(),
        }
    }
    if reading is not None:
        state[QUOTA_STATE] = dataclasses.asdict(reading)
    opened, resolved = store.apply(changes.opened.values(), changes.resolved, state, now)
    hook = webhook()
    try:
        outcomes = deliver_pending(store, hook, warn)
    finally:
        if hook:
            hook.close()
    return Report(opened, resolved, outcomes, store.open_incidents())


def describe(report: Report) -> str:
    sent = sum(1 for o in report.outcomes if o.delivery.ok)
    return (
        f"{len(report.opened)} incident(s) opened, {len(report.resolved)} resolved, "
        f"{len(report.open)} open; {sent} of {len(report.outcomes)} notice(s) sent"
    )


# -- the sensors --------------------------------------------------------------------------------


def default_alert_status() -> dg.DefaultSensorStatus:
    """The alert sensors start running only when a webhook is configured."""
    return (
        dg.DefaultSensorStatus.RUNNING
        if settings.alert_webhook_url()
        else dg.DefaultSensorStatus.STOPPED
    )


@dg.sensor(
    minimum_interval_seconds=60,
    default_status=default_alert_status(),
    description="Alerts: failed runs, overdue charts, low or spent API quota, failed ERROR "
    "checks and slow syncs, once per incident, to MUSICCHARTS_ALERT_WEBHOOK_URL.",
)
def alerts_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    report = evaluate(context.instance, warehouse.get(), warn=context.log.warning)
    return dg.SkipReason(describe(report))


@dg.run_failure_sensor(
    minimum_interval_seconds=30,
    default_status=default_alert_status(),
    description="Alerts a failed run (its chart and dates, the first error) as soon as Dagster "
    "reports it.",
)
def alert_on_run_failure(context: dg.RunFailureSensorContext, warehouse: WarehouseResource):
    store = IncidentStore(warehouse.get())
    incidents, _ = failure_incidents(context.instance, context.dagster_run, links())
    cleared = cleared_by_later_success(
        context.instance, context.dagster_run, [i.key for i in incidents]
    )
    store.apply([i for i in incidents if i.key not in cleared])
    hook = webhook()
    try:
        deliver_pending(store, hook, context.log.warning)
    finally:
        if hook:
            hook.close()


defs = dg.Definitions(sensors=[alerts_sensor, alert_on_run_failure])
