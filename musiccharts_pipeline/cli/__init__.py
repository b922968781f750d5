"""`musiccharts`: run the pipeline, manage chart subscriptions, serve the simulator."""

from __future__ import annotations

import argparse
import sys

from musiccharts_pipeline import redact, settings
from musiccharts_pipeline.cli import plan
from musiccharts_pipeline.cli.charts import (
    _cmd_charts_active,
    _cmd_charts_add,
    _cmd_charts_available,
    _cmd_charts_list,
    _cmd_charts_remove,
    _cmd_charts_status,
    _cmd_charts_sync,
    _cmd_run,
    build_analytics,
    materialize_chart,
)
from musiccharts_pipeline.cli.common import CliError
from musiccharts_pipeline.cli.services import (
    _cmd_alerts_check,
    _cmd_alerts_test,
    _cmd_migrate,
    _cmd_refresh,
    _cmd_serve,
    _cmd_simulator_serve,
)
from musiccharts_pipeline.cli.watch import (
    _cmd_watch_add,
    _cmd_watch_import,
    _cmd_watch_list,
    _cmd_watch_remove,
    _cmd_watch_sync,
)
from musiccharts_pipeline.soundcharts import errors as api_errors
from musiccharts_pipeline.sync import rules
from musiccharts_pipeline.sync import subscriptions as subs

__all__ = ["CliError", "build_analytics", "build_parser", "main", "materialize_chart"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="musiccharts", description=__doc__)
    parser.add_argument(
        "--debug", action="store_true", help="print the traceback of an unexpected error"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="seed subscriptions and sync every chart's latest ranking")
    run.set_defaults(func=_cmd_run)

    charts = sub.add_parser("charts", help="manage chart subscriptions")
    charts_sub = charts.add_subparsers(dest="charts_command", required=True)
    add = charts_sub.add_parser("add", help="subscribe to a chart (frequency read from the API)")
    add.add_argument("slug")
    add.add_argument("--frequency", choices=rules.FREQUENCIES)
    add.add_argument(
        "--interval-hours",
        type=int,
        dest="interval_hours",
        help="with --frequency custom: hours between syncs (1 to 8784)",
    )
    add.add_argument("--replace", action="store_true", help="start an existing subscription over")
    add.add_argument(
        "--yes", action="store_true", help="no question when a fill takes >10%% of the quota"
    )
    add.add_argument("--history", action="store_true", help="fill up to a year back")
    add.add_argument("--no-metadata", action="store_true")
    add.add_argument("--no-audience", action="store_true")
    add.add_argument(
        "--platforms",
        default="spotify,youtube,shazam",
        help="priority audience platforms, comma-separated",
    )
    add.set_defaults(func=_cmd_charts_add)
    charts_sub.add_parser("list", help="list subscriptions").set_defaults(func=_cmd_charts_list)
    available = charts_sub.add_parser(
        "available", help="the charts the API offers, and which are subscribed"
    )
    available.add_argument("--platform", help="a chart platform code, e.g. spotify")
    available.add_argument("--country", help="a 2-letter country code, e.g. FR")
    available.add_argument("--search", help="text in the slug, name or country")
    available.set_defaults(func=_cmd_charts_available)
    for name in ("pause", "resume"):
        p = charts_sub.add_parser(name, help=f"{name} a subscription")
        p.add_argument("slug")
        p.set_defaults(func=_cmd_charts_active, command_name=name)
    remove = charts_sub.add_parser("remove", help="remove a subscription")
    remove.add_argument("slug")
    remove.set_defaults(func=_cmd_charts_remove)
    sync = charts_sub.add_parser("sync", help="sync a chart now (latest, a date, or a range)")
    sync.add_argument("slug")
    sync.add_argument("--date")
    sync.add_argument("--from", dest="start")
    sync.add_argument("--to", dest="end")
    sync.set_defaults(func=_cmd_charts_sync)
    charts_sub.add_parser("status", help="sync health per chart").set_defaults(
        func=_cmd_charts_status
    )

    watch = sub.add_parser("watch", help="the label's own artists, songs and ISRCs")
    watch_sub = watch.add_subparsers(dest="watch_command", required=True)
    for kind, what in (("artist", "artist uuids"), ("song", "song uuids"), ("isrc", "ISRCs")):
        p = watch_sub.add_parser(kind, help=f"watch {what}")
        p.add_argument("ids", nargs="+", metavar=kind.upper())
        p.set_defaults(func=_cmd_watch_add, kind=kind)
    imported = watch_sub.add_parser(
        "import", help="watch every row of a CSV (a column isrc, uuid or artist_uuid)"
    )
    imported.add_argument("file")
    imported.set_defaults(func=_cmd_watch_import)
    watch_sub.add_parser("list", help="what is watched").set_defaults(func=_cmd_watch_list)
    removed = watch_sub.add_parser("remove", help="stop watching")
    removed.add_argument("kind", choices=("artist", "song", "isrc"))
    removed.add_argument("id")
    removed.set_defaults(func=_cmd_watch_remove)
    watch_sub.add_parser("sync", help="run the watchlist now (what is due)").set_defaults(
        func=_cmd_watch_sync
    )

    plan.add_parser(sub)

    refresh = sub.add_parser("refresh", help="refresh stale metadata and audience")
    refresh.add_argument("--dry-run", action="store_true")
    refresh.set_defaults(func=_cmd_refresh)

    sim = sub.add_parser("simulator", help="the offline SoundCharts simulator")
    sim_sub = sim.add_subparsers(dest="simulator_command", required=True)
    serve = sim_sub.add_parser("serve", help="serve the simulator over HTTP on loopback")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--host", default="127.0.0.1")
    serve.set_defaults(func=_cmd_simulator_serve)

    serve = sub.add_parser(
        "serve", help="serve the read API, the subscriptions API and the pages over HTTP"
    )
    serve.add_argument("--host", default=settings.DEFAULT_SERVE_HOST)
    serve.add_argument("--port", type=int, default=settings.DEFAULT_SERVE_PORT)
    serve.set_defaults(func=_cmd_serve)

    alerts = sub.add_parser("alerts", help="alerts to MUSICCHARTS_ALERT_WEBHOOK_URL")
    alerts_sub = alerts.add_subparsers(dest="alerts_command", required=True)
    alerts_sub.add_parser(
        "test", help="post a test message to the webhook and print the HTTP status"
    ).set_defaults(func=_cmd_alerts_test)
    alerts_sub.add_parser(
        "check", help="evaluate every alert rule once, send what is due, print each incident"
    ).set_defaults(func=_cmd_alerts_check)

    sub.add_parser("migrate", help="create or upgrade the warehouse schema").set_defaults(
        func=_cmd_migrate
    )
    return parser


def _environment_error(exc: Exception) -> str:
    """One line saying what to check, for an error of the environment rather than the input."""
    import sqlalchemy as sa

    if isinstance(exc, settings.SettingError):
        return str(exc)
    if isinstance(exc, sa.exc.ArgumentError | sa.exc.NoSuchModuleError):
        return (
            "MUSICCHARTS_WAREHOUSE_URL is not a database URL the project can use "
            "(postgresql+psycopg2://… or duckdb:///…)"
        )
    if isinstance(exc, sa.exc.SQLAlchemyError):
        cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return (
            f"the warehouse cannot be reached or refused the request ({cause}): check "
            "MUSICCHARTS_WAREHOUSE_URL and that the database is running"
        )
    if type(exc).__module__.startswith("dagster"):
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"Dagster: {first} (check DAGSTER_HOME and its dagster.yaml)"
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc} ({exc.filename or 'no file named'}): check the paths set"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"unexpected {type(exc).__name__}: {first}"


def main(argv: list[str] | None = None) -> int:
    import warnings

    redact.install()
    warnings.filterwarnings("ignore", message=".*is currently in beta.*")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (CliError, subs.SubscriptionError, rules.InvalidChartSlug) as exc:
        print(f"error: {redact.scrub(str(exc))}", file=sys.stderr)
        return 2
    except api_errors.SoundChartsError as exc:
        print(f"error: {redact.scrub(str(exc))}", file=sys.stderr)
        return 3
    except Exception as exc:
        if args.debug or settings.debug():
            raise
        print(
            f"error: {redact.scrub(_environment_error(exc))}\n"
            "(run with --debug or MUSICCHARTS_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
