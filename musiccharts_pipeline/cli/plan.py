"""`musiccharts plan …`: what a piece of work will cost the API, before it runs."""

from __future__ import annotations

import argparse
import datetime as dt

from musiccharts_pipeline import settings
from musiccharts_pipeline.cli.common import CliError, _client, _date, _warehouse
from musiccharts_pipeline.soundcharts import errors as api_errors
from musiccharts_pipeline.sync import plan as cost
from musiccharts_pipeline.sync import rankings, rules


def chart_add_plan(client, wh, slug: str, history: bool) -> cost.Plan:
    """The first sync of a new subscription: the newest ranking, or a year's history."""
    today = rules.utcnow().date()
    first = dt.date.fromisoformat(settings.partition_start())
    try:
        listed = client.available_rankings(slug, newest_only=not history)
    except api_errors.NotFound:
        raise CliError(f"SoundCharts has no chart {slug!r}") from None
    if not listed.dates:
        raise CliError(f"{slug} has no published ranking")
    if history:
        span = rules.history_range(listed.dates, rankings.stored_dates(wh, slug), today, first)
        start, end = span or (listed.dates[-1], listed.dates[-1])
    else:
        start = end = listed.dates[-1]
    what = f"charts add {slug}" + (" --history" if history else "") + f" ({start}..{end})"
    return cost.plan_chart(client, wh, slug, start, end, what=what)


def _cmd_plan_chart_add(args: argparse.Namespace) -> int:
    plan = chart_add_plan(_client(), _warehouse(), args.slug, args.history)
    print("\n".join(plan.lines(cost.rate_ceiling())))
    return 0


def _cmd_plan_backfill(args: argparse.Namespace) -> int:
    try:
        start, end = rules.manual_range(
            None,
            _date(args.start),
            _date(args.end),
            rules.utcnow().date(),
            dt.date.fromisoformat(settings.partition_start()),
            lambda: None,
        )
    except rules.InvalidRange as exc:
        raise CliError(f"{args.slug}: {exc}") from None
    try:
        plan = cost.plan_chart(_client(), _warehouse(), args.slug, start, end)
    except cost.PlanError as exc:
        raise CliError(str(exc)) from None
    print("\n".join(plan.lines(cost.rate_ceiling())))
    return 0


def _cmd_plan_watch_import(args: argparse.Namespace) -> int:
    from musiccharts_pipeline.cli.watch import read_import_file
    from musiccharts_pipeline.sync import watchlist

    try:
        entries, report = watchlist.parse_csv(read_import_file(args.file))
    except watchlist.WatchError as exc:
        raise CliError(f"{args.file}: {exc}") from None
    plan = cost.plan_watch_import(_warehouse(), entries, what=f"watch import {args.file}")
    if report.bad:
        plan.notes.append(f"{len(report.bad)} bad row(s) left out (`watch import` lists them)")
    print("\n".join(plan.lines(cost.rate_ceiling())))
    return 0


def _cmd_plan_month(args: argparse.Namespace) -> int:
    if not 1 <= args.days <= 366:
        raise CliError(f"--days must be 1 to 366, got {args.days}")
    plan = cost.plan_month(_warehouse(), days=args.days)
    print("\n".join(plan.lines(cost.rate_ceiling())))
    print(f"  per day: about {plan.total / args.days:,.0f} calls")
    return 0


def add_parser(sub) -> None:
    planned = sub.add_parser("plan", help="the API calls a piece of work will make, before it runs")
    plan_sub = planned.add_subparsers(dest="plan_command", required=True)
    charts = plan_sub.add_parser("charts", help="plan a chart subscription")
    charts_sub = charts.add_subparsers(dest="plan_charts_command", required=True)
    add = charts_sub.add_parser("add", help="the first sync of a new subscription")
    add.add_argument("slug")
    add.add_argument("--history", action="store_true", help="with a year of history")
    add.set_defaults(func=_cmd_plan_chart_add)
    backfill = plan_sub.add_parser("backfill", help="a chart's date range")
    backfill.add_argument("slug")
    backfill.add_argument("--from", dest="start", required=True)
    backfill.add_argument("--to", dest="end", required=True)
    backfill.set_defaults(func=_cmd_plan_backfill)
    watch = plan_sub.add_parser("watch", help="plan a watchlist change")
    watch_sub = watch.add_subparsers(dest="plan_watch_command", required=True)
    imported = watch_sub.add_parser("import", help="watching every row of an import file")
    imported.add_argument("file")
    imported.set_defaults(func=_cmd_plan_watch_import)
    month = plan_sub.add_parser(
        "month", help="the steady state of everything subscribed and watched"
    )
    month.add_argument("--days", type=int, default=30)
    month.set_defaults(func=_cmd_plan_month)
