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
    context.log_event(
        dg.AssetObservation(
            asset_key="tracks",
            metadata={
                "stale_work": dg.MetadataValue.json(todo.summary()),
                "refreshed": dg.MetadataValue.json(done),
                **meter.metadata(),
            },
        )
    )


@dg.job(description="Refresh metadata older than 30 days and audience older than 7 days.")
def refresh_stale_job():
    refresh_stale_entities()


refresh_stale_schedule = dg.ScheduleDefinition(
    job=refresh_stale_job,
    cron_schedule="0 3 * * 1",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Weekly, Monday 03:00 UTC.",
)
