"""`make bench`: the performance figures, each measured side by side in one run on this machine.

Prints a table and writes benchmarks/results.json. Needs PostgreSQL at 127.0.0.1:5432 (user
postgres); creates and drops its own databases. Each figure is measured by its own module under
benchmarks/, imported when its step runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the shared test helpers drive the sensors as the daemon does
RESULTS = ROOT / "benchmarks" / "results.json"

from benchmarks.common import met  # noqa: E402 - the repository root is on the path now


def steps(quick: bool) -> list[tuple[str, str, object]]:
    """(step name, figure module under benchmarks/, how to call it on that module), in order."""
    days = 30 if quick else 365
    return [
        ("bulk load", "bulk", lambda m: m.bench_bulk(20_000 if quick else 100_000, 1_000)),
        ("API economy", "api_economy", lambda m: m.bench_api_economy(days)),
        (
            "rate-limited throughput",
            "throughput",
            lambda m: m.bench_throughput(10 if quick else 30),
        ),
        ("Dagster overhead", "dagster_overhead", lambda m: m.bench_dagster_overhead(days)),
        ("dbt refresh", "dbt_refresh", lambda m: m.bench_dbt(days)),
        ("automation", "automation", lambda m: m.bench_automation(quick)),
        ("dbt volume", "dbt_volume", lambda m: m.bench_dbt_volume(quick)),
        ("serve", "serve", lambda m: m.bench_serve(quick)),
        ("catalogue", "catalogue", lambda m: m.bench_catalogue(quick)),
        ("cascade tick", "cascade_tick", lambda m: m.bench_cascade_tick(quick)),
        ("run creation", "run_creation", lambda m: m.bench_run_creation(quick)),
        ("UI backfill", "ui_backfill", lambda m: m.bench_ui_backfill(quick)),
        ("plans", "plans", lambda m: m.bench_plans(quick)),
    ]


def figure(module: str):
    return importlib.import_module(f"benchmarks.{module}")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller inputs, for a smoke run")
    parser.add_argument(
        "--only", action="append", help="run only these steps (by name); keep the other figures"
    )
    return parser.parse_args(argv)


def measure(args: argparse.Namespace) -> dict:
    """Run the chosen steps; with --only, the other figures are kept from the last results."""
    results = {
        "measured_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "days": 30 if args.quick else 365,
    }
    chosen = steps(args.quick)
    if args.only:
        chosen = [step for step in chosen if step[0] in args.only]
        results = {**json.loads(RESULTS.read_text()), **results} if RESULTS.exists() else results
    for name, module, call in chosen:
        print(f"... {name}", file=sys.stderr, flush=True)
        results.update(call(figure(module)))
    return results


def print_table(results: dict) -> list[str]:
    """Each figure that has a target, against it; then the other measurements. Returns the
    figures that missed their target."""
    missed = []
    targets = {}
    for _, module, _ in steps(quick=False):
        targets.update(figure(module).TARGETS)
    print(f"\n{'figure':<34}{'value':>12}  target   met")
    for key, (op, target) in targets.items():
        if key not in results:
            continue
        value = results[key]
        ok = met(value, op, target)
        print(f"{key:<34}{value:>12.3f}  {op}{target:<6} {'yes' if ok else 'NO'}")
        if not ok:
            missed.append(f"{key} = {value:.3f} (target {op} {target})")
    print("\nother measurements:")
    for key, value in sorted(results.items()):
        if key not in targets:
            print(f"  {key:<34} {value}")
    return missed


def main() -> int:
    warnings.filterwarnings("ignore", message=".*is currently in beta.*")
    args = parse_args()
    os.environ.setdefault("MUSICCHARTS_PARTITION_START", "2025-01-01")
    results = measure(args)
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    missed = print_table(results)
    print(f"\nwritten to {RESULTS.relative_to(ROOT)}")
    for line in missed:
        print(f"missed target: {line}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
