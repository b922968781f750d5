"""chart_rankings: one chart's ranking for one date (every page), landed atomically."""

import datetime as dt
import json

import dagster as dg
import pandas as pd

from musiccharts_pipeline.assets.common import (
    API_ASSET,
    ApiMeter,
    dates_by_chart,
    final_api_errors,
    partitioned_asset,
)
from musiccharts_pipeline.partitions import CHART_TAG, chart_day_key
from musiccharts_pipeline.resources import SoundChartsResource, WarehouseResource
from musiccharts_pipeline.soundcharts import errors as api_errors
from musiccharts_pipeline.soundcharts.client import MAX_PAGE
from musiccharts_pipeline.sync import rankings
from musiccharts_pipeline.sync.rules import utcnow
from musiccharts_pipeline.sync.subscriptions import get_subscription, sync_status

ONLY_MISSING_TAG = "musiccharts/only_missing"
#: The datetimes a sync run's dates were listed with when the sensor requested it (JSON, date ->
#: datetime): the run needs no availability call of its own. Runs without it ask the API.
PUBLISHED_TAG = "musiccharts/published"


def published_dates(
    context: dg.AssetExecutionContext, client, slug: str, dates: list
) -> dict[dt.date, str]:
    """Each published date of ``dates`` and its datetime: from the run's tag when the sensor
    listed every date of the run, else from one available-rankings call."""
    tagged = context.run.tags.get(PUBLISHED_TAG)
    if tagged and context.run.tags.get(CHART_TAG) == slug:
        listed = {dt.date.fromisoformat(d): s for d, s in json.loads(tagged).items()}
        if all(d in listed for d in dates):
            return listed
    available = client.available_rankings(slug, since=dates[0])
    return {pd.Timestamp(d[:10]).date(): d for d in available.datetimes}


def unknown_chart(wh, slug: str) -> str:
    """The one line a run over a chart SoundCharts does not know fails with."""
    if get_subscription(wh, slug) is not None:
        return (
            f"SoundCharts no longer has chart {slug!r} (404): pause or remove its subscription "
            f"(`musiccharts charts pause {slug}`)"
        )
    return (
        f"SoundCharts has no chart {slug!r} and nothing subscribes to it: a chart key typed "
        "in the launch dialog's 'Add partition'? Subscribe with `musiccharts charts add SLUG` "
        "(`musiccharts charts available` lists the charts), which checks the slug first, and "
        "delete this key on the charts partition page"
    )


@partitioned_asset(
    **API_ASSET,
    check_specs=[
        dg.AssetCheckSpec(
            "positions_contiguous",
            asset="chart_rankings",
            description="Each ranking's positions are 1..n, unique.",
        ),
        dg.AssetCheckSpec(
            "chart_fresh",
            asset="chart_rankings",
            description="The chart's newest ranking is within its frequency.",
        ),
    ],
    description="Chart rankings from SoundCharts. A date on which a weekly or monthly chart "
    "published nothing materializes empty, marked in metadata.",
)
@final_api_errors()
def chart_rankings(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    soundcharts: SoundChartsResource,
):
    wh, client = warehouse.get(), soundcharts.get()
    meter = ApiMeter(client)
    only_missing = context.run.tags.get(ONLY_MISSING_TAG) == "true"
    outcomes, bad = [], []
    for slug, dates in dates_by_chart(context).items():
        try:
            published = published_dates(context, client, slug, dates)
        except api_errors.NotFound:
            raise dg.Failure(description=unknown_chart(wh, slug), allow_retries=False) from None
        skip = rankings.stored_dates(wh, slug) if only_missing else set()
        done, failed = rankings.sync_rankings(
            client, wh, slug, dates, published, context.run.run_id, skip
        )
        for outcome in done:
            context.log.info(f"{slug} {outcome.date}: {outcome.status} ({outcome.entries} entries)")
        for date, exc in failed:  # a bad payload spoils its own partition only
            context.log.error(f"{slug} {date}: {exc}")
            bad.append(f"{slug} {date}: {exc}")
        outcomes += done
    if bad:
        raise dg.Failure(
            description=f"{len(bad)} ranking(s) broke the API contract and were not written "
            f"({len(outcomes)} other partition(s) were): " + "; ".join(bad[:5]),
            metadata={"failed_partitions": dg.MetadataValue.json(bad)},
            allow_retries=False,
        )
    synced = [o for o in outcomes if o.status == "synced"]
    quiet = [f"{o.slug} {o.date}" for o in outcomes if o.status == "not_published"]
    for o in outcomes:  # each partition's own figures; the run's totals carry run_
        context.add_asset_metadata(
            {
                "status": o.status,
                "rows_written": o.entries if o.status == "synced" else 0,
                "api_calls": -(-o.entries // MAX_PAGE) if o.status == "synced" else 0,
                "empty_partition": o.status == "not_published",
            },
            partition_key=str(chart_day_key(o.slug, o.date)),
        )
    metadata = {
        "run_partitions": len(outcomes),
        "run_rankings_synced": len(synced),
        "run_rows_written": sum(o.entries for o in synced),
        "run_already_stored": sum(1 for o in outcomes if o.status == "already_stored"),
        "not_published": dg.MetadataValue.json(quiet),
        # the quota left is the API's figure, read as such by the low-quota alert
        **{k if k == "quota_remaining" else f"run_{k}": v for k, v in meter.metadata().items()},
    }
    if synced:
        metadata["preview"] = dg.MetadataValue.md(rankings.preview_markdown(synced[-1]))
    return dg.MaterializeResult(
        metadata=metadata,
        check_results=[
            _positions_check(wh, [(o.slug, o.date) for o in synced]),
            _freshness_check(wh, sorted({o.slug for o in outcomes})),
        ],
    )


def _positions_check(wh, keys) -> dg.AssetCheckResult:
    bad = [f"{slug} {date}" for slug, date in rankings.broken_positions(wh, keys)]
    return dg.AssetCheckResult(
        check_name="positions_contiguous",
        passed=not bad,
        metadata={"rankings_checked": len(keys), "broken": dg.MetadataValue.json(bad)},
    )


def _freshness_check(wh, slugs) -> dg.AssetCheckResult:
    status = sync_status(wh, utcnow().date())
    status = status[status.chart_slug.isin(slugs)]
    late = status.loc[status.overdue.astype(bool), "chart_slug"].tolist()
    return dg.AssetCheckResult(
        check_name="chart_fresh",
        passed=not late,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "overdue_charts": dg.MetadataValue.json(late),
            "subscribed_charts_checked": len(status),
        },
    )
