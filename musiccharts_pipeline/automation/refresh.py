"""refresh_stale: the weekly job that refreshes aged metadata and audience of every entity."""

import dagster as dg

from musiccharts_pipeline.assets.common import ApiMeter
from musiccharts_pipeline.resources import SoundChartsResource, WarehouseResource
from musiccharts_pipeline.sync import refresh


@dg.op(pool="soundcharts_api", description="Refresh stale metadata and audience in batches.")
def refresh_stale_entities(
    context: dg.OpExecutionContext, warehouse: WarehouseResource, soundcharts: SoundChartsResource
) -> None:
    wh, client = warehouse.get(), soundcharts.get()
    meter = ApiMeter(client)
    todo = refresh.stale_work(wh)
    context.log.info(f"stale work: {todo.summary()}")
    done = refresh.refresh(client, wh, todo, log=context.log.info)
    metadata = {
        "stale_work": dg.MetadataValue.json(todo.summary()),
        "refreshed": dg.MetadataValue.json(done),
        **meter.metadata(),
    }
    # a materialization (not an observation) of each asset whose tables it rewrote: the
    # cascade_sensor builds the marts downstream of materializations, so the refresh reaches dbt
    wrote = refreshed_assets(done)
    for key in wrote:
        context.log_event(dg.AssetMaterialization(asset_key=key, metadata=metadata))
    if not wrote:
        context.log_event(dg.AssetObservation(asset_key="tracks", metadata=metadata))


def refreshed_assets(done: dict) -> list[str]:
    """The cascade assets whose tables a refresh that did ``done`` rewrote."""
    keys = []
    if done["tracks"]:
        keys.append("tracks")
    if done["artists"]:
        keys.append("artists")
    if done["tracks"] or done["artists"]:
        keys.append("genres")
    if done["track_audience_rows"]:
        keys.append("track_audience")
    if done["artist_audience_rows"]:
        keys.append("artist_audience")
    return keys


@dg.job(description="Refresh metadata older than 30 days and audience older than 7 days.")
def refresh_stale_job():
    refresh_stale_entities()


refresh_stale_schedule = dg.ScheduleDefinition(
    job=refresh_stale_job,
    cron_schedule="0 3 * * 1",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Weekly, Monday 03:00 UTC.",
)
