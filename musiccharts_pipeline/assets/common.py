"""Shared wiring of the SoundCharts assets: policies, partition grouping, metadata."""

import collections
import contextlib
import datetime as dt
import warnings
from collections.abc import Iterable

import dagster as dg

from musiccharts_pipeline.partitions import chart_days, split_key
from musiccharts_pipeline.soundcharts import SoundChartsClient
from musiccharts_pipeline.soundcharts import errors as api_errors
from musiccharts_pipeline.sync import subscriptions
from musiccharts_pipeline.sync.batching import EntityOutcome
from musiccharts_pipeline.warehouse import Warehouse

POOL = "soundcharts_api"
GROUP = "soundcharts"
RETRY = dg.RetryPolicy(
    max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
SINGLE_RUN = dg.BackfillPolicy.single_run()

#: What every API-calling asset (chart_rankings and the cascade after it) shares.
API_ASSET = dict(
    partitions_def=chart_days,
    backfill_policy=SINGLE_RUN,
    pool=POOL,
    retry_policy=RETRY,
    group_name=GROUP,
    kinds={"python", "sql"},
)


def partitioned_asset(**kwargs):
    """``dg.asset`` for a chart-days asset with the single-run backfill policy. The policy is what
    the design asks for; its beta notice (raised at each definition, so in every run's process)
    is silenced here, around the definition only, not for the process."""

    def decorate(fn):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=dg.BetaWarning, message=".*backfill_policy")
            return dg.asset(**kwargs)(fn)

    return decorate


def dates_by_chart(context: dg.AssetExecutionContext) -> dict[str, list[dt.date]]:
    """Every key of the run (one, or a backfill's range), grouped by chart."""
    grouped: dict[str, list[dt.date]] = collections.defaultdict(list)
    for key in context.partition_keys:
        slug, date = split_key(key)
        grouped[slug].append(date)
    return {slug: sorted(dates) for slug, dates in sorted(grouped.items())}


def subscription_of(wh: Warehouse, slug: str) -> subscriptions.Subscription:
    """The chart's subscription, or the defaults for a chart materialized by hand."""
    return subscriptions.get_subscription(wh, slug) or subscriptions.Subscription(
        chart_slug=slug, platform=None, frequency="daily"
    )


class ApiMeter:
    """API calls and retries made between construction and ``metadata()``."""

    def __init__(self, client: SoundChartsClient):
        self.client = client
        self.before = client.stats()

    def metadata(self) -> dict:
        now = self.client.stats()
        routes = {
            route: count - self.before["calls"].get(route, 0)
            for route, count in now["calls"].items()
            if count - self.before["calls"].get(route, 0)
        }
        meta = {
            "api_calls": now["total_calls"] - self.before["total_calls"],
            "api_calls_by_route": dg.MetadataValue.json(routes),
            "retries": now["retries"] - self.before["retries"],
        }
        if now["quota_remaining"] is not None:
            meta["quota_remaining"] = now["quota_remaining"]
        return meta


def entity_metadata(outcome: EntityOutcome, meter: ApiMeter, **extra) -> dict:
    return {**outcome.metadata(), **meter.metadata(), **extra}


def run_totals(metadata: dict) -> dict:
    """A run's totals as every partition's materialization carries them: named ``run_*`` (the
    quota left is the API's own figure, read as such by the low-quota alert), beside each
    partition's own figures (``partition_figures``)."""
    return {k if k == "quota_remaining" else f"run_{k}": v for k, v in metadata.items()}


def partition_members(context: dg.AssetExecutionContext, wh: Warehouse, owner: str) -> dict:
    """{partition key: the songs (``owner="track"``) or artists of its ranking}, for the run's
    partitions (a query per chart, one more for the artists)."""
    from musiccharts_pipeline.partitions import chart_day_key
    from musiccharts_pipeline.sync.artists import artists_by_track
    from musiccharts_pipeline.sync.rankings import songs_by_date

    members = {}
    for slug, dates in dates_by_chart(context).items():
        by_date = songs_by_date(wh, slug, dates)
        for date in dates:
            members[str(chart_day_key(slug, date))] = by_date.get(date, [])
    if owner == "artist":
        links = artists_by_track(wh, {s for songs in members.values() for s in songs})
        members = {
            key: sorted({a for s in songs for a in links.get(s, ())})
            for key, songs in members.items()
        }
    return members


def partition_figures(
    context: dg.AssetExecutionContext,
    members: dict[str, list[str]],
    fetched: Iterable[str],
    noun: str,
    calls_per_fetch: int | None = None,
) -> None:
    """Each partition's own figures on its materialization: its ``noun`` (songs or artists of
    its ranking) and how many of them this run fetched for it; an entity fetched once for the
    whole run is counted at the first partition (chart, then date) that names it. With
    ``calls_per_fetch``, the API calls those fetches made."""
    done, seen = set(fetched), set()
    for key in sorted(members):
        here = [u for u in members[key] if u in done and u not in seen]
        seen.update(here)
        figures = {noun: len(members[key]), f"{noun}_fetched": len(here)}
        if calls_per_fetch is not None:
            figures["api_calls"] = calls_per_fetch * len(here)
        context.add_asset_metadata(figures, partition_key=key)


#: Failures a retry cannot fix: fail the step at once with the API's own explanation.
FINAL_ERRORS = (
    api_errors.ContractError,
    api_errors.QuotaExhausted,
    api_errors.AuthError,
    api_errors.PlanError,
    api_errors.BadRequest,
)


@contextlib.contextmanager
def final_api_errors():
    """Turn non-retryable SoundCharts errors into a Failure the RetryPolicy leaves alone."""
    try:
        yield
    except FINAL_ERRORS as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None
