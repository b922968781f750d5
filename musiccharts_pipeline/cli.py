"""`musiccharts`: the project's command line."""

from __future__ import annotations

import argparse
import sys

from musiccharts_pipeline import settings


def _cmd_simulator_serve(args: argparse.Namespace) -> int:
    from musiccharts_pipeline.soundcharts.simulator import Simulator, SimulatorConfig
    from musiccharts_pipeline.soundcharts.simulator.serve import serve_forever

    try:
        serve_forever(Simulator(SimulatorConfig.from_env()), args.port, args.host)
    except KeyboardInterrupt:
        pass
    return 0


def _cmd_migrate(args: argparse.Namespace) -> int:
    from musiccharts_pipeline.warehouse import Warehouse

    wh = Warehouse(settings.warehouse_url())
    print(f"warehouse schema at revision {wh.migrate()}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="musiccharts", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    sim = sub.add_parser("simulator", help="the offline SoundCharts simulator")
    sim_sub = sim.add_subparsers(dest="simulator_command", required=True)
    serve = sim_sub.add_parser("serve", help="serve the simulator over HTTP on loopback")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--host", default="127.0.0.1")
    serve.set_defaults(func=_cmd_simulator_serve)

    migrate = sub.add_parser("migrate", help="create or upgrade the warehouse schema")
    migrate.set_defaults(func=_cmd_migrate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
