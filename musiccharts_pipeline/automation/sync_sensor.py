"""chart_sync_sensor: reads the subscriptions every tick and requests what is due."""

import dataclasses
import datetime as dt
import json

import dagster as dg

from musiccharts_pipeline.assets import CASCADE_ASSETS
from musiccharts_pipeline.assets.rankings import ONLY_MISSING_TAG
from musiccharts_pipeline.partitions import chart_day_key, charts, first_day
from musiccharts_pipeline.resources import SoundChartsResource, WarehouseResource
from musiccharts_pipeline.soundcharts import SoundChartsClient
from musiccharts_pipeline.soundcharts import errors as api_errors
from musiccharts_pipeline.sync import rankings, rules, subscriptions
from musiccharts_pipeline.warehouse import Warehouse

chart_sync_job = dg.define_asset_job(
    "chart_sync",
    selection=dg.AssetSelection.assets(*CASCADE_ASSETS),
    description="One chart's ranking(s) and the whole cascade downstream of them.",
)

METADATA_ASSETS = ("tracks", "artists", "genres")
AUDIENCE_ASSETS = ("track_audience", "artist_audience")


def selection_for(sub: subscriptions.Subscription) -> list[dg.AssetKey]:
    keys = ["chart_rankings"]
    if sub.auto_fetch_metadata:
        keys += METADATA_ASSETS
        if sub.auto_fetch_audience:
            keys += AUDIENCE_ASSETS
    return [dg.AssetKey(k) for k in keys]


@dataclasses.dataclass
class Plan:
    run_requests: list[dg.RunRequest]
    new_partitions: list[str]
    cursor: dict[str, str]
    notes: list[str]


def plan_sync(
    wh: Warehouse,
    client: SoundChartsClient,
    known_partitions: set[str],
    cursor: dict[str, str],
    now: dt.datetime,
) -> Plan:
    """What one sensor tick does: pure apart from reading the API and the warehouse."""
    today = now.date()
    requests, new, notes = [], [], []
    cursor = dict(cursor)
    for sub in subscriptions.list_subscriptions(wh, active_only=True):
        slug = sub.chart_slug
        if slug not in known_partitions:
            new.append(slug)
        last = cursor.get(slug)
        if last and now - dt.datetime.fromisoformat(last) < rules.check_interval(
            sub.frequency, sub.custom_interval_hours
        ):
            continue
        history = sub.sync_historical_data and not sub.historical_backfill_id
        since = today - dt.timedelta(days=rules.HISTORY_DAYS if history else rules.RECENT_DAYS)
        try:
            available = client.available_rankings(slug, since=max(since, first_day())).dates
        except api_errors.SoundChartsError as exc:
            notes.append(f"{slug}: {exc}")
            continue
        cursor[slug] = now.isoformat()
        stored = rankings.stored_dates(wh, slug)
        selection = selection_for(sub)
        tags = {"musiccharts/chart": slug}
        if history:
            span = rules.history_range(available, stored, today, first_day())
            if span:
                run_key = f"history:{slug}:{span[0]}:{span[1]}"
                requests.append(
                    dg.RunRequest(
                        run_key=run_key,
                        asset_selection=selection,
                        tags={
                            **tags,
                            ONLY_MISSING_TAG: "true",
                            "dagster/asset_partition_range_start": str(
                                chart_day_key(slug, span[0])
                            ),
                            "dagster/asset_partition_range_end": str(chart_day_key(slug, span[1])),
                        },
                    )
                )
                subscriptions.mark_history_launched(wh, slug, run_key)
                notes.append(f"{slug}: historical fill {span[0]}..{span[1]}")
                continue  # the fill covers the recent dates too
        for date in rules.due_dates(available, stored, today, first_day()):
            requests.append(
                dg.RunRequest(
                    run_key=f"sync:{slug}:{date}",
                    partition_key=str(chart_day_key(slug, date)),
                    asset_selection=selection,
                    tags=tags,
                )
            )
    return Plan(requests, new, cursor, notes)


@dg.sensor(
    job=chart_sync_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Adds chart partitions, requests due rankings (deterministic run keys) and "
    "launches a new subscription's historical fill as one run over its date range.",
)
def chart_sync_sensor(
    context: dg.SensorEvaluationContext,
    warehouse: WarehouseResource,
    soundcharts: SoundChartsResource,
):
    wh, client = warehouse.get(), soundcharts.get()
    seeded = subscriptions.seed_defaults(wh, client)  # first run only: the table is empty
    if seeded:
        context.log.info(f"seeded subscriptions: {', '.join(s.chart_slug for s in seeded)}")
    known = set(context.instance.get_dynamic_partitions(charts.name))
    cursor = json.loads(context.cursor) if context.cursor else {}
    plan = plan_sync(wh, client, known, cursor, rules.utcnow())
    for note in plan.notes:
        context.log.info(note)
    if not plan.run_requests and not plan.new_partitions:
        return dg.SkipReason("nothing due: " + ("; ".join(plan.notes) or "all charts up to date"))
    return dg.SensorResult(
        run_requests=plan.run_requests,
        dynamic_partitions_requests=(
            [charts.build_add_request(plan.new_partitions)] if plan.new_partitions else []
        ),
        cursor=json.dumps(plan.cursor, sort_keys=True),
    )
