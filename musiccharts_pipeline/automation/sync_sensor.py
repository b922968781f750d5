"""chart_sync_sensor: reads the subscriptions every tick and requests what is due."""

import dataclasses
import datetime as dt
import json

import dagster as dg

from musiccharts_pipeline.assets import CASCADE_ASSETS
from musiccharts_pipeline.assets.rankings import ONLY_MISSING_TAG
from musiccharts_pipeline.automation.active_work import ActiveWork
from musiccharts_pipeline.partitions import charts, first_day, partition_request, range_tags
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

CHART_TAG = "musiccharts/chart"
CASCADE_NAMES = {asset.key.to_user_string() for asset in CASCADE_ASSETS}
METADATA_ASSETS = ("tracks", "artists", "genres")
AUDIENCE_ASSETS = ("track_audience", "artist_audience")


def selection_for(sub: subscriptions.Subscription) -> list[dg.AssetKey]:
    keys = ["chart_rankings"]
    if sub.auto_fetch_metadata:
        keys += METADATA_ASSETS
        if sub.auto_fetch_audience:
            keys += AUDIENCE_ASSETS
    return [dg.AssetKey(k) for k in keys]


#: Charts whose ranking dates are asked of the API in one tick, the longest-unchecked first;
#: the others wait for the next tick, so a tick's cost stays bounded at any number of charts.
CHECKS_PER_TICK = 50


@dataclasses.dataclass
class TickOutcome:
    run_requests: list[dg.RunRequest]
    new_partitions: list[str]
    cursor: dict[str, str]
    notes: list[str]


def due_for_check(
    subs: list[subscriptions.Subscription], cursor: dict[str, str], now: dt.datetime
) -> list[subscriptions.Subscription]:
    """Subscriptions whose check interval has elapsed, never-checked and oldest first."""
    due = [
        sub
        for sub in subs
        if sub.chart_slug not in cursor
        or now - dt.datetime.fromisoformat(cursor[sub.chart_slug])
        >= rules.check_interval(sub.frequency, sub.custom_interval_hours)
    ]
    return sorted(due, key=lambda sub: cursor.get(sub.chart_slug, ""))[:CHECKS_PER_TICK]


def sync_requests(
    sub: subscriptions.Subscription,
    available: list[dt.date],
    stored: set[dt.date],
    today: dt.date,
    active: ActiveWork,
) -> list[dg.RunRequest]:
    """One run per contiguous range of due dates, leaving out dates a run already covers."""
    slug = sub.chart_slug
    days = rules.lookback_days(sub.frequency, sub.custom_interval_hours)
    due = rules.due_dates(available, stored, today, first_day(), recent_days=days)
    if not stored and not due and available:
        due = [max(available)]  # a first sync always brings the newest ranking
    due = [d for d in due if not active.covers("chart_rankings", slug, d)]
    selection = selection_for(sub)
    requests = []
    for start, end in rules.date_ranges(due, stored):
        partition = partition_request(slug, start, end)
        requests.append(
            dg.RunRequest(
                run_key=f"sync:{slug}:{start}:{end}",
                partition_key=partition.get("partition_key"),
                asset_selection=selection,
                tags={CHART_TAG: slug, **partition["tags"]},
            )
        )
    return requests


def history_request(
    sub: subscriptions.Subscription, available: list[dt.date], stored: set[dt.date], today
) -> dg.RunRequest | None:
    """A new subscription's historical fill: one run over its year, skipping stored dates."""
    span = rules.history_range(available, stored, today, first_day())
    if not span:
        return None
    slug = sub.chart_slug
    return dg.RunRequest(
        run_key=f"history:{slug}:{span[0]}:{span[1]}",
        asset_selection=selection_for(sub),
        tags={CHART_TAG: slug, ONLY_MISSING_TAG: "true", **range_tags(slug, *span)},
    )


def sync_tick(
    wh: Warehouse,
    client: SoundChartsClient,
    known_partitions: set[str],
    cursor: dict[str, str],
    now: dt.datetime,
    active: ActiveWork,
) -> TickOutcome:
    """What one sensor tick does: pure apart from reading the API and the warehouse."""
    today = now.date()
    requests, notes = [], []
    cursor = dict(cursor)
    subs = subscriptions.list_subscriptions(wh, active_only=True)
    new = [sub.chart_slug for sub in subs if sub.chart_slug not in known_partitions]
    for sub in due_for_check(subs, cursor, now):
        slug = sub.chart_slug
        history = sub.sync_historical_data and not sub.historical_backfill_id
        days = (
            rules.HISTORY_DAYS
            if history
            else rules.lookback_days(sub.frequency, sub.custom_interval_hours)
        )
        since = max(today - dt.timedelta(days=days), first_day())
        try:
            available = client.available_rankings(slug, since=since).dates
            stored = rankings.stored_dates(wh, slug)
            if not stored and not [d for d in available if d >= since]:
                available = client.available_rankings(slug, newest_only=True).dates
        except api_errors.SoundChartsError as exc:
            notes.append(f"{slug}: {exc}")
            continue
        cursor[slug] = now.isoformat()
        fill = history_request(sub, available, stored, today) if history else None
        if fill is not None:
            requests.append(fill)
            subscriptions.mark_history_launched(wh, slug, fill.run_key)
            notes.append(f"{slug}: historical fill {fill.run_key.split(':', 2)[2]}")
            continue  # the fill covers the recent dates too
        requests += sync_requests(sub, available, stored, today, active)
    return TickOutcome(requests, new, cursor, notes)


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
    active = ActiveWork.of(context.instance, CASCADE_NAMES)
    tick = sync_tick(wh, client, known, cursor, rules.utcnow(), active)
    for note in tick.notes:
        context.log.info(note)
    if not tick.run_requests and not tick.new_partitions:
        return dg.SkipReason("nothing due: " + ("; ".join(tick.notes) or "all charts up to date"))
    return dg.SensorResult(
        run_requests=tick.run_requests,
        dynamic_partitions_requests=(
            [charts.build_add_request(tick.new_partitions)] if tick.new_partitions else []
        ),
        cursor=json.dumps(tick.cursor, sort_keys=True),
    )
