"""prune_history: finished runs older than the retention go, with their events, so the instance's
storage plateaus instead of growing with every sync forever.

Dagster keeps every run and event by default. A run is kept, whatever its age, while it holds
the latest materialization of any asset partition (or of an unpartitioned asset): deleting it
would delete that event, and the UI's partition status and the sensors' reading of "what is
materialized" would go back in time. The retention is ``MUSICCHARTS_RUN_RETENTION_DAYS``
(default 90); the schedule runs daily on the project's clock.
"""

import datetime as dt

import dagster as dg

from musiccharts_pipeline import settings
from musiccharts_pipeline.sync.rules import utcnow

FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]
BATCH = 500  # storage ids looked up per query


def runs_holding_latest(instance: dg.DagsterInstance, keys) -> set[str]:
    """The runs whose materialization is the latest of some partition of ``keys`` (or of an
    unpartitioned one): one query for the latest ids per asset, one per batch of ids."""
    held: set[str] = set()
    for key in keys:
        ids = list(
            instance.get_latest_storage_id_by_partition(
                key, dg.DagsterEventType.ASSET_MATERIALIZATION
            ).values()
        )
        record = instance.get_latest_materialization_event(key)
        if record is not None and record.run_id:
            held.add(record.run_id)
        for start in range(0, len(ids), BATCH):
            batch = ids[start : start + BATCH]
            found = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=key, storage_ids=batch), limit=len(batch)
            )
            held.update(r.run_id for r in found.records)
    return held


def prune(instance: dg.DagsterInstance, keys, now: dt.datetime, days: int) -> dict:
    """Delete the finished runs last updated before ``now - days`` that hold no latest
    materialization; returns what was deleted and kept."""
    cutoff = (now - dt.timedelta(days=days)).replace(tzinfo=dt.timezone.utc)
    old = instance.get_run_ids(dg.RunsFilter(statuses=FINISHED, updated_before=cutoff))
    if not old:
        return {"deleted": 0, "kept_for_latest": 0}
    held = runs_holding_latest(instance, keys)
    doomed = [run_id for run_id in old if run_id not in held]
    for run_id in doomed:
        instance.delete_run(run_id)
    return {"deleted": len(doomed), "kept_for_latest": len(old) - len(doomed)}


@dg.op(
    description="Delete finished runs older than the retention, but for the latest "
    "materialization of every partition."
)
def prune_history_op(context: dg.OpExecutionContext) -> None:
    keys = context.instance.get_asset_keys()  # every asset with events, defined now or not
    days = settings.run_retention_days()
    done = prune(context.instance, keys, utcnow(), days)
    context.log.info(f"retention {days} days: {done}")


@dg.job(description="Prune the Dagster instance: finished runs older than the retention.")
def prune_history_job():
    prune_history_op()


prune_history_schedule = dg.ScheduleDefinition(
    job=prune_history_job,
    cron_schedule="30 4 * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily, 04:30 UTC: runs older than MUSICCHARTS_RUN_RETENTION_DAYS (90).",
)
