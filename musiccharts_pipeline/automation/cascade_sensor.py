"""cascade_sensor: every new ranking reaches the rest of the cascade, then one analytics build.

A sync run carries the whole cascade itself (``chart_sync`` selects every SoundCharts asset the
subscription wants), so this sensor only catches up what a run left out: ``chart_rankings``
materialized alone from the UI, or a backfill of it. Once no cascade run is queued or running,
it requests one ``analytics`` run (the dbt models downstream of what changed, then the
dashboard) for everything that landed since the last build.

A failed analytics build is retried at three levels, each for a failure the others cannot see:
the dbt step's ``RetryPolicy`` (seconds later, in the same run: a DuckDB file held for a moment
by a sync writing it), the instance's ``run_retries`` with ``retry_on_asset_or_op_failure:
false`` (a run worker that died, so no step failed to retry), and this sensor's
``retry_failed_build`` (a build that still failed: the changes it was asked for count as not
built, and a later tick, once other runs are done, asks again, ``ANALYTICS_ATTEMPTS`` times).

Its cursor is two event-log storage ids. A tick reads the ``chart_rankings`` materializations
after the first, the newest materialization of each cascade asset, and the unfinished runs:
its cost follows the new work, not the chart x date partitions that exist.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import json

import dagster as dg
import sqlalchemy as sa

from musiccharts_pipeline.assets import CASCADE_ASSETS
from musiccharts_pipeline.assets.common import subscription_of
from musiccharts_pipeline.automation.active_work import NOT_FINISHED, ActiveWork, assets_of
from musiccharts_pipeline.automation.sync_sensor import (
    CASCADE_NAMES,
    CHART_TAG,
    chart_sync_job,
    selection_for,
)
from musiccharts_pipeline.partitions import charts, partition_request, split_key
from musiccharts_pipeline.resources import WarehouseResource
from musiccharts_pipeline.sync.rules import consecutive_ranges
from musiccharts_pipeline.warehouse import Warehouse

RANKINGS = dg.AssetKey("chart_rankings")
ANALYTICS_GROUP = "analytics"
#: chart_rankings materializations read per tick; more wait for the next tick.
EVENTS_PER_TICK = 2000

analytics_job = dg.define_asset_job(
    "analytics",
    selection=dg.AssetSelection.groups(ANALYTICS_GROUP),
    description="One dbt build of the models downstream of what changed, then the dashboard.",
)


@dataclasses.dataclass
class Cursor:
    rankings_after: int = 0  # the last chart_rankings materialization handled
    built_after: int = 0  # the newest cascade materialization an analytics run was asked for

    @classmethod
    def load(cls, text: str | None) -> Cursor:
        return cls(**json.loads(text)) if text else cls()

    def dump(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)


@dataclasses.dataclass
class CatchUp:
    requests: list[dg.RunRequest]
    handled_until: int  # storage id to move the cursor to
    waiting_for: str | None  # a run still materializing part of the cascade, if any


def failed(run: dg.DagsterRun) -> bool:
    return run.status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)


@dataclasses.dataclass(frozen=True)
class NewRanking:
    storage_id: int
    run_id: str
    partition_key: str


def new_rankings(instance: dg.DagsterInstance, after: int, limit: int) -> list[NewRanking]:
    """The chart_rankings materializations after ``after``, oldest first: their storage id, run
    and partition only, read from the event log's indexed columns (no event body is decoded, so
    a year's run costs little more than a day's). A storage that is not Dagster's SQL one is
    read through ``fetch_materializations``."""
    from dagster._core.storage.event_log.schema import SqlEventLogStorageTable as T
    from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage

    storage = instance.event_log_storage
    if not isinstance(storage, SqlEventLogStorage):
        return [
            NewRanking(r.storage_id, r.run_id, r.partition_key)
            for r in instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=RANKINGS, after_storage_id=after),
                limit=limit,
                ascending=True,
            ).records
        ]
    query = (
        sa.select(T.c.id, T.c.run_id, T.c.partition)
        .where(
            T.c.asset_key == RANKINGS.to_string(),
            T.c.dagster_event_type == dg.DagsterEventType.ASSET_MATERIALIZATION.value,
            T.c.id > after,
        )
        .order_by(T.c.id)
        .limit(limit)
    )
    with storage.index_connection() as conn:
        return [NewRanking(int(i), run, key) for i, run, key in conn.execute(query).fetchall()]


def catch_up(
    instance: dg.DagsterInstance, wh: Warehouse, after: int, active: ActiveWork
) -> CatchUp:
    """Requests for the downstream assets that new rankings' own runs did not select."""
    records = new_rankings(instance, after, EVENTS_PER_TICK)
    # the runs of the batch in one query; what each carried read once per run, not per partition
    ids = sorted({r.run_id for r in records})
    runs: dict[str, dg.DagsterRun] = (
        {run.run_id: run for run in instance.get_runs(dg.RunsFilter(run_ids=ids))} if ids else {}
    )
    carried_by = {
        run_id: assets_of(instance, run, CASCADE_NAMES) if not failed(run) else set()
        for run_id, run in runs.items()
    }
    subs: dict = {}
    todo: dict[tuple[str, frozenset[str]], list[dt.date]] = collections.defaultdict(list)
    handled, waiting = after, None
    keys = set(instance.get_dynamic_partitions(charts.name)) if records else set()
    for record in records:
        # a run that failed may have stopped after chart_rankings: its plan carried nothing; a
        # run deleted since (retention) carried nothing we can know of
        run, carried = runs.get(record.run_id), carried_by.get(record.run_id, set())
        slug, date = split_key(record.partition_key)
        if slug not in keys:  # its subscription was removed and its key with it: nothing to ask
            handled = record.storage_id
            continue
        if slug not in subs:
            subs[slug] = subscription_of(wh, slug)
        wanted = {k.to_user_string() for k in selection_for(subs[slug])} - {"chart_rankings"}
        missing = wanted - carried
        if missing and carried - {"chart_rankings"} and run and run.status in NOT_FINISHED:
            # the run still materializes part of the cascade: the rest must come after it
            waiting = run.run_id
            break
        missing = {a for a in missing if not active.covers(a, slug, date)}
        if missing:
            todo[(slug, frozenset(missing))].append(date)
        handled = record.storage_id
    requests = []
    for (slug, assets), dates in sorted(todo.items(), key=lambda kv: (kv[0][0], sorted(kv[0][1]))):
        selection = [dg.AssetKey(a) for a in sorted(assets)]
        for start, end in consecutive_ranges(dates):
            partition = partition_request(slug, start, end)
            requests.append(
                dg.RunRequest(
                    run_key=f"cascade:{slug}:{start}:{end}:{'+'.join(sorted(assets))}:{handled}",
                    job_name=chart_sync_job.name,
                    partition_key=partition.get("partition_key"),
                    asset_selection=selection,
                    tags={CHART_TAG: slug, "musiccharts/trigger": "catch_up", **partition["tags"]},
                )
            )
    return CatchUp(requests, handled, waiting)


AFTER_TAG, UNTIL_TAG, ATTEMPT_TAG = "musiccharts/after", "musiccharts/until", "musiccharts/attempt"
#: analytics runs launched for the same changes before a failure waits for the next change
ANALYTICS_ATTEMPTS = 3


def retry_failed_build(instance: dg.DagsterInstance, built_after: int) -> tuple[int, int]:
    """(built_after, attempt): when the last analytics run, asked for these changes, failed,
    the changes count as not built yet and the next attempt is requested (up to a limit)."""
    last = instance.get_runs(dg.RunsFilter(job_name=analytics_job.name), limit=1)
    if not last or not failed(last[0]) or last[0].tags.get(UNTIL_TAG) != str(built_after):
        return built_after, 1
    attempt = int(last[0].tags.get(ATTEMPT_TAG, "1"))
    if attempt >= ANALYTICS_ATTEMPTS:
        return built_after, 1
    return int(last[0].tags.get(AFTER_TAG, "0")), attempt + 1


def views_left_out(
    wh: Warehouse, asset_graph, candidates: set[dg.AssetKey], log=None
) -> set[dg.AssetKey]:
    """The views among ``candidates`` that the warehouse holds as the manifest's SQL would make
    them (musiccharts_pipeline/dbt/views.py): the run leaves them out and runs their checks. None
    while the project's files are newer than the manifest."""
    from musiccharts_pipeline.dbt import dbt_project
    from musiccharts_pipeline.dbt.views import edited_since, load_manifest, views_in_place

    path = dbt_project.manifest_path
    edited = edited_since(path, dbt_project.project_dir)
    if edited:
        if log is not None:
            log.info(f"every view is built: {edited[0].name} is newer than the dbt manifest")
        return set()
    names = views_in_place(load_manifest(path), wh)
    return {
        key
        for key in candidates
        if asset_graph.get(key).metadata.get("dagster_dbt/unique_id") in names
    }


def analytics_request(
    instance: dg.DagsterInstance,
    asset_graph,
    wh: Warehouse,
    built_after: int,
    attempt: int = 1,
    log=None,
) -> tuple[dg.RunRequest | None, int]:
    """One analytics run for every cascade asset updated since ``built_after``. Views already in
    place in ``wh`` are left out of it (their checks still run); a view never materialized in
    this instance is always selected, so every asset has its first materialization."""
    cascade_keys = [asset.key for asset in CASCADE_ASSETS]
    analytics = dg.AssetSelection.groups(ANALYTICS_GROUP).resolve(asset_graph)
    newest: dict[dg.AssetKey, int] = {}
    never_built = set(analytics)
    for record in instance.get_asset_records([*cascade_keys, *analytics]):
        last = record.asset_entry.last_materialization_record
        if last is None:
            continue
        newest[record.asset_entry.asset_key] = last.storage_id
        never_built.discard(record.asset_entry.asset_key)
    changed = [key for key in cascade_keys if newest.get(key, 0) > built_after]
    if not changed:
        return None, built_after
    downstream = dg.AssetSelection.assets(*changed).downstream().resolve(asset_graph)
    wanted = (downstream & analytics) | never_built
    left_out = views_left_out(wh, asset_graph, wanted - never_built, log)
    selection = sorted(wanted - left_out, key=lambda k: k.to_user_string())
    checks = dg.AssetSelection.assets(*wanted).resolve_checks(asset_graph)
    until = max(newest[key] for key in changed)
    request = dg.RunRequest(
        run_key=f"analytics:{until}" + (f":attempt-{attempt}" if attempt > 1 else ""),
        job_name=analytics_job.name,
        asset_selection=selection,
        asset_check_keys=sorted(checks, key=lambda k: k.to_user_string()),
        tags={
            "musiccharts/trigger": "cascade_updated",
            AFTER_TAG: str(built_after),
            UNTIL_TAG: str(until),
            ATTEMPT_TAG: str(attempt),
        },
    )
    return request, until


@dg.sensor(
    jobs=[chart_sync_job, analytics_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=15,  # an idle tick costs a few queries (see README, Performance)
    description="Carries rankings materialized without their cascade downstream, then launches "
    "one dbt build and dashboard render once no cascade run is queued or running.",
)
def cascade_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    cursor = Cursor.load(context.cursor)
    graph = context.repository_def.asset_graph
    analytics = {
        k.to_user_string() for k in dg.AssetSelection.groups(ANALYTICS_GROUP).resolve(graph)
    }
    active = ActiveWork.of(context.instance, CASCADE_NAMES | analytics)
    caught = catch_up(context.instance, warehouse.get(), cursor.rankings_after, active)
    cursor.rankings_after = caught.handled_until
    if caught.requests:
        return dg.SensorResult(run_requests=caught.requests, cursor=cursor.dump())
    if caught.waiting_for:
        return dg.SensorResult(
            skip_reason=f"waiting for run {caught.waiting_for} to finish its cascade",
            cursor=cursor.dump(),
        )
    if active.runs:
        return dg.SensorResult(
            skip_reason=f"analytics waits for {len(active.runs)} cascade or analytics run(s)",
            cursor=cursor.dump(),
        )
    built_after, attempt = retry_failed_build(context.instance, cursor.built_after)
    request, cursor.built_after = analytics_request(
        context.instance, graph, warehouse.get(), built_after, attempt, context.log
    )
    if request is None:
        return dg.SensorResult(skip_reason="nothing new since the last build", cursor=cursor.dump())
    context.log.info(
        f"analytics build of {len(request.asset_selection)} asset(s) and "
        f"{len(request.asset_check_keys)} check(s)"
    )
    return dg.SensorResult(run_requests=[request], cursor=cursor.dump())
