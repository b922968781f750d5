"""chart_sync_sensor: reads the subscriptions every tick, asks the API about the charts whose
check has come and requests the rankings that are due."""

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Callable

import dagster as dg

from musiccharts_pipeline.assets import CASCADE_ASSETS
from musiccharts_pipeline.assets.rankings import ONLY_MISSING_TAG, PUBLISHED_TAG
from musiccharts_pipeline.automation.active_work import ActiveWork
from musiccharts_pipeline.partitions import (
    CHART_TAG,
    charts,
    first_day,
    partition_request,
    range_tags,
)
from musiccharts_pipeline.resources import SoundChartsResource, WarehouseResource
from musiccharts_pipeline.soundcharts import SoundChartsClient
from musiccharts_pipeline.soundcharts import errors as api_errors
from musiccharts_pipeline.sync import check_timing, rankings, rules, subscriptions
from musiccharts_pipeline.warehouse import Warehouse

chart_sync_job = dg.define_asset_job(
    "chart_sync",
    selection=dg.AssetSelection.assets(*CASCADE_ASSETS),
    description="One chart's ranking(s) and the whole cascade downstream of them.",
)

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


#: Charts whose ranking dates are asked of the API in one tick, the longest-waiting first;
#: the others wait for the next tick, so a tick's cost stays bounded at any number of charts.
CHECKS_PER_TICK = 50
RUN_KEY_TAG = "dagster/run_key"


@dataclasses.dataclass
class Cursor:
    """The sensor's cursor: each chart's check timing, and the historical fills requested but not
    yet seen as runs (marked launched once Dagster has created them)."""

    charts: dict[str, check_timing.ChartTiming] = dataclasses.field(default_factory=dict)
    fills: dict[str, str] = dataclasses.field(default_factory=dict)  # slug -> run key

    @classmethod
    def load(cls, text: str | None) -> "Cursor":
        data = json.loads(text) if text else {}
        if not {"charts", "fills"} & set(data):  # the first format: {slug: last checked}
            data = {"charts": data}
        return cls(
            {slug: check_timing.ChartTiming.load(v) for slug, v in data.get("charts", {}).items()},
            dict(data.get("fills", {})),
        )

    def dump(self) -> str:
        charts = {slug: t.dump() for slug, t in sorted(self.charts.items())}
        return json.dumps({"charts": charts, "fills": self.fills}, sort_keys=True)

    def timing(self, slug: str) -> check_timing.ChartTiming:
        return self.charts.get(slug) or check_timing.ChartTiming()


@dataclasses.dataclass
class TickOutcome:
    run_requests: list[dg.RunRequest]
    new_partitions: list[str]
    cursor: Cursor
    notes: list[str]
    checked: int = 0


def due_for_check(
    subs: list[subscriptions.Subscription], cursor: Cursor, now: dt.datetime
) -> list[subscriptions.Subscription]:
    """Subscriptions whose next check has come, never-checked and longest-waiting first."""
    due = [sub for sub in subs if cursor.timing(sub.chart_slug).due(now)]
    oldest = dt.datetime.min

    def waiting_since(sub):
        return cursor.timing(sub.chart_slug).next_check or oldest

    return sorted(due, key=waiting_since)[:CHECKS_PER_TICK]


def sync_requests(
    sub: subscriptions.Subscription,
    listed: dict[dt.date, str],
    stored: dict[dt.date, str],
    today: dt.date,
    active: ActiveWork,
    first_sync: bool = False,
) -> list[dg.RunRequest]:
    """One run per contiguous range of due dates, leaving out dates a run already covers; a
    republished ranking (listed with another datetime than the stored one) is due again."""
    slug = sub.chart_slug
    days = rules.lookback_days(sub.frequency, sub.custom_interval_hours)
    due = rules.due_dates(list(listed), set(stored), today, first_day(), recent_days=days)
    if first_sync and not due and listed:
        due = [max(listed)]  # a first sync always brings the newest ranking
    due = [d for d in due if not active.covers("chart_rankings", slug, d)]
    selection = selection_for(sub)
    requests = []
    for start, end in rules.date_ranges(due, set(stored)):
        requests.append(_sync_request(sub, selection, listed, start, end, "sync"))
    for date in sorted(d for d, stamp in listed.items() if d in stored and stored[d] != stamp):
        if not active.covers("chart_rankings", slug, date):
            requests.append(_sync_request(sub, selection, listed, date, date, "republished"))
    return requests


def _sync_request(sub, selection, listed, start, end, kind) -> dg.RunRequest:
    slug = sub.chart_slug
    partition = partition_request(slug, start, end)
    published = {d.isoformat(): s for d, s in listed.items() if start <= d <= end}
    # the key names the listed datetimes too: once the run of a range failed for good, the same
    # listing is not asked again (Dagster drops a run key it has seen), a republished one is
    stamps = json.dumps(published, sort_keys=True)
    key = (
        f"{kind}:{slug}:{start}:{end}:{hashlib.blake2b(stamps.encode(), digest_size=4).hexdigest()}"
    )
    return dg.RunRequest(
        run_key=key,
        partition_key=partition.get("partition_key"),
        asset_selection=selection,
        tags={
            CHART_TAG: slug,
            PUBLISHED_TAG: stamps,
            **partition["tags"],
        },
    )


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
    subs: list[subscriptions.Subscription],
    known_partitions: set[str],
    cursor: Cursor,
    now: dt.datetime,
    active: ActiveWork | Callable[[], ActiveWork],
    launched: Callable[[str], bool] = lambda run_key: False,
) -> TickOutcome:
    """What one sensor tick does: pure apart from reading the API and the warehouse. ``active``
    (or a function giving it) is read only when a chart is due; ``launched`` tells whether
    Dagster has created the run of a run key."""
    today = now.date()
    requests, notes = [], []
    slugs = {sub.chart_slug for sub in subs}  # a removed or paused chart leaves the cursor
    cursor = Cursor(
        {s: t for s, t in cursor.charts.items() if s in slugs},
        {s: k for s, k in cursor.fills.items() if s in slugs},
    )
    new = [sub.chart_slug for sub in subs if sub.chart_slug not in known_partitions]
    due = due_for_check(subs, cursor, now)
    if due and callable(active):
        active = active()
    for sub in due:
        slug = sub.chart_slug
        pending = cursor.fills.get(slug)
        if pending and launched(pending):
            subscriptions.mark_history_launched(wh, slug, pending)
            sub = dataclasses.replace(sub, historical_backfill_id=pending)
            del cursor.fills[slug]
        history = sub.sync_historical_data and not sub.historical_backfill_id
        days = (
            rules.HISTORY_DAYS
            if history
            else rules.lookback_days(sub.frequency, sub.custom_interval_hours)
        )
        since = max(today - dt.timedelta(days=days), first_day())
        timing = cursor.timing(slug)
        try:
            listing = client.available_rankings(slug, since=since)
            stored = rankings.stored_stamps(wh, slug, first_day() if history else since)
            first_sync = not stored and not rankings.has_rankings(wh, slug)
            if first_sync and not listing.datetimes:  # bring its newest, however old
                listing = client.available_rankings(slug, newest_only=True)
        except api_errors.NotFound as exc:
            if not timing.gone:
                notes.append(f"{slug}: {exc} (asked again in a day)")
            cursor.charts[slug] = check_timing.after_gone(timing, now)
            continue
        except api_errors.SoundChartsError as exc:
            notes.append(f"{slug}: {exc}")
            cursor.charts[slug] = check_timing.after_failure(timing, now)  # still due
            continue
        listed = {dt.date.fromisoformat(s[:10]): s for s in listing.datetimes}
        cursor.charts[slug] = check_timing.after_check(
            timing, max(listed, default=None), now, sub.frequency, sub.custom_interval_hours
        )
        fill = history_request(sub, sorted(listed), set(stored), today) if history else None
        if fill is not None:
            requests.append(fill)
            cursor.fills[slug] = fill.run_key
            notes.append(f"{slug}: historical fill {fill.run_key.split(':', 2)[2]}")
            continue  # the fill covers the recent dates too
        requests += sync_requests(sub, listed, stored, today, active, first_sync)
    return TickOutcome(requests, new, cursor, notes, checked=len(due))


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
    """Its cursor holds when each chart is next checked (``check_timing``): a tick before any
    chart is due reads the subscriptions and the partitions and asks the API nothing. The cursor
    is returned on every path, a skip included: Dagster keeps the old cursor on a bare
    ``SkipReason``, which would throw away the checks just made and repeat them every tick."""
    wh, client = warehouse.get(), soundcharts.get()
    if context.cursor is None:  # the sensor's first evaluation: seed an empty table only
        seeded = subscriptions.seed_defaults(wh, client)
        if seeded:
            context.log.info(f"seeded subscriptions: {', '.join(s.chart_slug for s in seeded)}")
    instance = context.instance
    previous = Cursor.load(context.cursor)
    keys = set(instance.get_dynamic_partitions(charts.name))
    # a chart this sensor was syncing whose subscription is gone: its key goes too, so the
    # launch dialog offers only subscribed charts (its materializations and data stay)
    removed = sorted(
        (set(previous.charts) & keys) - {s.chart_slug for s in subscriptions.list_subscriptions(wh)}
    )
    tick = sync_tick(
        wh,
        client,
        subscriptions.list_subscriptions(wh, active_only=True),
        keys,
        previous,
        rules.utcnow(),
        lambda: ActiveWork.of(instance, CASCADE_NAMES),
        launched=lambda key: bool(
            instance.get_run_ids(dg.RunsFilter(tags={RUN_KEY_TAG: key}), limit=1)
        ),
    )
    for note in tick.notes:
        context.log.info(note)
    if removed:
        context.log.info(f"chart partitions removed with their subscription: {', '.join(removed)}")
    partition_requests = [charts.build_delete_request(removed)] if removed else []
    if tick.new_partitions:
        partition_requests.append(charts.build_add_request(tick.new_partitions))
    reason = None
    if not tick.run_requests:
        added = (
            f"; partitions added: {', '.join(tick.new_partitions)}" if tick.new_partitions else ""
        )
        reason = (
            f"nothing due: {tick.checked} chart(s) checked; "
            + ("; ".join(tick.notes) or "all charts up to date")
            + added
        )
    return dg.SensorResult(
        run_requests=tick.run_requests,
        dynamic_partitions_requests=partition_requests,
        skip_reason=reason,
        cursor=tick.cursor.dump(),
    )
