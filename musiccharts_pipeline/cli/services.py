"""`musiccharts refresh`, `serve`, `simulator serve`, `alerts …`, `migrate`."""

from __future__ import annotations

import argparse

from musiccharts_pipeline import settings
from musiccharts_pipeline.cli.common import (
    _client,
    _instance,
    _warehouse,
)
from musiccharts_pipeline.launch import restore_default_signals


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
