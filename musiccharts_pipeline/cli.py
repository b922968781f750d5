"""`musiccharts`: run the pipeline, manage chart subscriptions, serve the simulator."""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
import time

from musiccharts_pipeline import redact, settings
from musiccharts_pipeline.launch import restore_default_signals
from musiccharts_pipeline.soundcharts import errors as api_errors
from musiccharts_pipeline.sync import rules
from musiccharts_pipeline.sync import subscriptions as subs
from musiccharts_pipeline.warehouse.counts import table_counts

#: The shell shows warnings and errors; the full event log is in the Dagster UI.
QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


class CliError(Exception):
    pass


def _warehouse():
    from musiccharts_pipeline.resources import resources_from_env

    return resources_from_env(resolved=True)["warehouse"].get()


def _client():
    from musiccharts_pipeline.resources import resources_from_env

    return resources_from_env(resolved=True)["soundcharts"].get()


def _instance():
    import dagster as dg

    if settings.dagster_home():
        return dg.DagsterInstance.get()
    print("DAGSTER_HOME is not set: using a temporary Dagster instance (runs are not kept).")
    return dg.DagsterInstance.ephemeral()


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


def _print_table(rows: list[dict], columns: list[str]) -> None:
    widths = {c: max([len(c)] + [len(str(r.get(c, ""))) for r in rows]) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for r in rows:
        print(
            "  ".join(str("" if r.get(c) is None else r.get(c)).ljust(widths[c]) for c in columns)
        )


def _cmd_charts_add(args: argparse.Namespace) -> int:
    platforms = tuple(p.strip() for p in args.platforms.split(",") if p.strip())
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


def _known(value) -> bool:
    """A number that is there: neither missing (None) nor pandas' missing float (NaN)."""
    return value is not None and not math.isnan(value)


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
            "overdue",
            "success_rate",
            "mean_seconds",
        ],
    )
    return 0


def _cmd_refresh(args: argparse.Namespace) -> int:
    from musiccharts_pipeline.sync import refresh

    wh = _warehouse()
    todo = refresh.stale_work(wh)
    for key, value in todo.summary().items():
        print(f"  {key:<18} {value:>8}")
    if args.dry_run:
        print(f"dry run: would make about {todo.api_calls} API calls")
        return 0
    done = refresh.refresh(_client(), wh, todo)
    print(f"refreshed: {done}")
    return 0


def _cmd_simulator_serve(args: argparse.Namespace) -> int:
    from musiccharts_pipeline.soundcharts.simulator import Simulator, SimulatorConfig
    from musiccharts_pipeline.soundcharts.simulator.serve import serve_forever

    restore_default_signals()
    try:
        serve_forever(Simulator(SimulatorConfig.from_env()), args.port, args.host)
    except KeyboardInterrupt:
        pass
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from musiccharts_pipeline.serve import create_app

    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"serving on {args.host}: reachable from other machines; writes need the token")
    print(f"musiccharts serve: http://{args.host}:{args.port}/ (Ctrl-C stops)", flush=True)
    restore_default_signals()
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0


def _cmd_alerts_test(args: argparse.Namespace) -> int:
    from musiccharts_pipeline.alerts.webhook import Webhook, probe_message

    url = settings.alert_webhook_url()
    if not url:
        print("MUSICCHARTS_ALERT_WEBHOOK_URL is not set: there is nowhere to send a test alert")
        return 1
    hook = Webhook(url)
    try:
        delivery = hook.post(probe_message())
    finally:
        hook.close()
    print(f"test alert: {delivery.describe()}")
    return 0 if delivery.ok else 1


def _cmd_alerts_check(args: argparse.Namespace) -> int:
    """Evaluate every rule once (as the alert sensors do), post what is due, print it all."""
    from musiccharts_pipeline.alerts.sensors import describe, evaluate
    from musiccharts_pipeline.alerts.state import OPENED, RESOLVED, IncidentStore

    wh = _warehouse()
    report = evaluate(_instance(), wh)
    sent = {
        (o.notice.incident.incident_key, o.notice.incident.opened_at, o.notice.kind): o.delivery
        for o in report.outcomes
    }
    cleared = {}  # the newest generation of each incident this check resolved
    for row in IncidentStore(wh).incidents(report.resolved):
        if row.resolved_at is not None:
            cleared[row.incident_key] = row
    shown = [(OPENED, row) for row in report.open] + [(RESOLVED, r) for r in cleared.values()]
    for kind, row in shown:
        delivery = sent.get((row.incident_key, row.opened_at, kind))
        if delivery is not None:
            status = delivery.describe()
        elif kind == OPENED:
            status = "already sent" if row.open_sent_at else "pending"
        else:
            status = "nothing to send (its alert was never sent)"
        state = "open" if kind == OPENED else "resolved"
        print(f"{state:<9} {row.rule:<13} {row.subject}: {status}\n{'':<10}{row.cause}")
    if not shown:
        print("no open incident")
    print(describe(report))
    failed = [o for o in report.outcomes if not o.delivery.ok]
    return 1 if failed and settings.alert_webhook_url() else 0


def _cmd_migrate(args: argparse.Namespace) -> int:
    from musiccharts_pipeline.warehouse import Warehouse

    print(f"warehouse schema at revision {Warehouse(settings.warehouse_url()).migrate()}")
    return 0


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CliError(f"not a YYYY-MM-DD date: {text!r}") from None


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
