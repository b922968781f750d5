"""`musiccharts run` and `musiccharts charts …`: subscriptions, syncs, their health."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time

from musiccharts_pipeline import settings
from musiccharts_pipeline.cli.common import (
    QUIET_CONSOLE,
    CliError,
    _client,
    _date,
    _instance,
    _known,
    _print_table,
    _warehouse,
)
from musiccharts_pipeline.sync import rules
from musiccharts_pipeline.sync import subscriptions as subs
from musiccharts_pipeline.warehouse.counts import table_counts


def materialize_chart(instance, sub: subs.Subscription, start: dt.date, end: dt.date | None = None):
    """Materialize the cascade of one chart for one date or a date range, in one run."""
    from musiccharts_pipeline.assets.materialize import materialize_chart as run
    from musiccharts_pipeline.automation.sync_sensor import selection_for
    from musiccharts_pipeline.resources import resources_from_env

    return run(
        resources_from_env(),
        instance,
        sub.chart_slug,
        start,
        end,
        selection=selection_for(sub),
        raise_on_error=False,
        run_config=QUIET_CONSOLE,
    )


def _cmd_run(args: argparse.Namespace) -> int:
    """The headless main job: seed subscriptions, sync each chart's latest ranking, cascade."""
    started = time.monotonic()
    wh, client = _warehouse(), _client()
    seeded = subs.seed_defaults(wh, client)
    if seeded:
        print(
            f"seeded {len(seeded)} chart subscriptions: {', '.join(s.chart_slug for s in seeded)}"
        )
    instance = _instance()
    failures = 0
    first = dt.date.fromisoformat(settings.partition_start())
    for sub in subs.list_subscriptions(wh, active_only=True):
        dates = client.available_rankings(sub.chart_slug, newest_only=True).dates
        dates = [d for d in dates if d >= first]
        if not dates:
            print(f"{sub.chart_slug}: no ranking on or after {first}")
            continue
        result = materialize_chart(instance, sub, dates[-1])
        ok = result.success
        failures += not ok
        print(f"{sub.chart_slug} {dates[-1]}: {'ok' if ok else 'FAILED'} (run {result.run_id})")
    analytics = build_analytics(instance)
    failures += not analytics.success
    _print_summary(wh, client, time.monotonic() - started)
    if analytics.success:
        print(f"\ndashboard: {settings.dashboard_path()}")
    return 1 if failures else 0


def build_analytics(instance):
    """dbt build (models and tests) and the dashboard, in one run."""
    from musiccharts_pipeline.assets.materialize import materialize_analytics
    from musiccharts_pipeline.resources import resources_from_env

    result = materialize_analytics(resources_from_env(), instance, run_config=QUIET_CONSOLE)
    print(f"dbt build and dashboard: {'ok' if result.success else 'FAILED'} (run {result.run_id})")
    return result


def _print_summary(wh, client, seconds: float) -> None:
    count = table_counts(
        wh,
        [
            "charts",
            "chart_rankings",
            "chart_ranking_entries",
            "tracks",
            "artists",
            "genres",
            "track_audience",
            "artist_audience",
            "artist_streaming",
        ],
    )
    stats = client.stats()
    rows = [
        ("charts", count["charts"]),
        ("rankings", count["chart_rankings"]),
        ("ranking entries", count["chart_ranking_entries"]),
        ("tracks", count["tracks"]),
        ("artists", count["artists"]),
        ("genres", count["genres"]),
        (
            "audience points",
            count["track_audience"] + count["artist_audience"] + count["artist_streaming"],
        ),
        ("API calls", stats["total_calls"]),
        ("API retries", stats["retries"]),
        ("time (s)", round(seconds, 1)),
    ]
    print("\nsummary")
    for name, value in rows:
        print(f"  {name:<16} {value:>10}")


#: A historical fill that would take more than this share of the quota left asks first.
CONFIRM_SHARE = 0.10


def _confirm_history(args: argparse.Namespace) -> None:
    """Show the plan of a historical fill; above CONFIRM_SHARE of the quota left, ask (or need
    --yes when no one can answer)."""
    from musiccharts_pipeline.cli.plan import chart_add_plan
    from musiccharts_pipeline.sync import plan as cost

    if subs.get_subscription(_warehouse(), args.slug) is not None and not args.replace:
        return  # refused below, with its own message
    plan = chart_add_plan(_client(), _warehouse(), args.slug, history=True)
    share = plan.quota_share()
    print("\n".join(plan.lines(cost.rate_ceiling())))
    if share is None or share <= CONFIRM_SHARE or args.yes:
        return
    question = f"this fill would take {share:.0%} of the quota left: subscribe anyway? [y/N] "
    if not sys.stdin.isatty():
        raise CliError(f"{question.split(':')[0]}: run again with --yes to confirm")
    if input(question).strip().lower() not in ("y", "yes"):
        raise CliError("not subscribed")


def _cmd_charts_add(args: argparse.Namespace) -> int:
    platforms = tuple(p.strip() for p in args.platforms.split(",") if p.strip())
    if args.history:
        _confirm_history(args)
    sub = subs.add(
        _warehouse(),
        _client(),
        args.slug,
        frequency=args.frequency,
        custom_interval_hours=args.interval_hours,
        sync_historical_data=args.history,
        auto_fetch_metadata=not args.no_metadata,
        auto_fetch_audience=not args.no_audience,
        priority_platforms=platforms,
        replace=args.replace,
    )
    print(
        f"subscribed to {sub.chart_slug} ({sub.platform}, {sub.frequency})"
        + (", historical fill up to a year back" if sub.sync_historical_data else "")
    )
    return 0


def _cmd_charts_available(args: argparse.Namespace) -> int:
    from musiccharts_pipeline.sync import discovery

    filters = discovery.Filters(args.platform, args.country, args.search)
    try:
        charts = discovery.available(_client(), _warehouse(), filters)
    except discovery.DiscoveryError as exc:
        raise CliError(str(exc)) from None
    if not charts:
        print("no chart matches: try without --search, or another --platform or --country")
        return 0
    rows = [{**c.row(), "subscribed": "yes" if c.subscribed else ""} for c in charts]
    _print_table(
        rows,
        ["slug", "name", "platform", "country_code", "frequency", "size", "subscribed"],
    )
    print(f"\n{len(charts)} chart(s); subscribe with `musiccharts charts add SLUG`")
    return 0


def _cmd_charts_list(args: argparse.Namespace) -> int:
    rows = [s.row() for s in subs.list_subscriptions(_warehouse())]
    if not rows:
        print("no subscriptions yet: `musiccharts charts add SLUG` or `make run` to seed defaults")
        return 0
    _print_table(
        rows,
        [
            "chart_slug",
            "platform",
            "frequency",
            "custom_interval_hours",
            "active",
            "sync_historical_data",
            "auto_fetch_metadata",
            "auto_fetch_audience",
            "priority_platforms",
        ],
    )
    return 0


def _cmd_charts_active(args: argparse.Namespace) -> int:
    sub = subs.set_active(_warehouse(), args.slug, args.command_name == "resume")
    print(f"{sub.chart_slug}: {'active' if sub.active else 'paused'}")
    return 0


def _cmd_charts_remove(args: argparse.Namespace) -> int:
    subs.remove(_warehouse(), args.slug)
    print(f"removed the subscription to {args.slug} (its stored data stays)")
    return 0


def _cmd_charts_sync(args: argparse.Namespace) -> int:
    wh, client = _warehouse(), _client()
    sub = subs.get_subscription(wh, args.slug)
    if sub is None:
        raise CliError(f"no subscription for chart {args.slug!r}: add it first")
    try:
        start, end = rules.manual_range(
            _date(args.date) if args.date else None,
            _date(args.start) if args.start else None,
            _date(args.end) if args.end else None,
            rules.utcnow().date(),
            dt.date.fromisoformat(settings.partition_start()),
            lambda: max(
                client.available_rankings(sub.chart_slug, newest_only=True).dates, default=None
            ),
        )
    except rules.InvalidRange as exc:
        raise CliError(f"{args.slug}: {exc}") from None
    result = materialize_chart(_instance(), sub, start, end)
    print(
        f"{args.slug} {start}..{end}: {'ok' if result.success else 'FAILED'} (run {result.run_id})"
    )
    return 0 if result.success else 1


def _cmd_charts_status(args: argparse.Namespace) -> int:
    frame = subs.sync_status(_warehouse(), rules.utcnow().date())
    if frame.empty:
        print("no subscriptions yet")
        return 0
    frame["success_rate"] = [f"{v:.0%}" if _known(v) else None for v in frame.success_rate]
    frame["mean_seconds"] = [round(v, 2) if _known(v) else None for v in frame.mean_seconds]
    _print_table(
        frame.to_dict("records"),
        [
            "chart_slug",
            "frequency",
            "active",
            "latest_ranking",
            "rankings",
            "state",
            "overdue",
            "success_rate",
            "mean_seconds",
        ],
    )
    return 0
