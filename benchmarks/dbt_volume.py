"""dbt at 20 times the bench's volume on PostgreSQL: a one-day refresh against a full build.

The warehouse is filled by benchmarks/volume.py (about 780k ranking entries, 2M track audience
points). dbt parses once before anything is timed. Each of three rounds times a build that
selects nothing (dbt-core's own floor per invocation), a full build (`--full-refresh`), then
lands one day of syncs (every ranking published that day, one backfilled date older than the
last build, the metadata and audience the sync rules refetch that day) and times the refresh:
what the analytics run builds, i.e. `dbt build` without the views already in place (found as
cascade_sensor finds them, by musiccharts_pipeline/dbt/views.py, timed with it) but with every
test. Medians of the rounds are reported.

After each refresh every incremental model is copied aside; the next full build must rebuild
exactly the same rows. A last, separately timed refresh follows a hit whose genre and artists
change (every day and period it charted in is recomputed), checked the same way against a full
refresh of the incremental models.
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import pg_database  # noqa: E402
from benchmarks.volume import World  # noqa: E402
from musiccharts_pipeline.dbt import invoke  # noqa: E402
from musiccharts_pipeline.dbt.views import load_manifest, views_in_place  # noqa: E402
from musiccharts_pipeline.sync.rules import utcnow  # noqa: E402
from musiccharts_pipeline.warehouse import Warehouse  # noqa: E402

ROUNDS = 3
SNAPSHOT_SCHEMA = "bench_snapshot"
#: Columns that say when a row was computed, not what it says: they differ between an
#: incremental build and a full refresh by design.
BOOKKEEPING = {"loaded_before"}


def _dbt(url: str, target: Path, *args: str) -> tuple[float, dict[str, float]]:
    """One dbt invocation: wall seconds, and each model's own execution time."""
    import time

    started = time.perf_counter()
    invocation = invoke(list(args), url, raise_on_error=True, target_path=target).wait()
    seconds = time.perf_counter() - started
    nodes: dict[str, float] = defaultdict(float)
    if args[0] == "build":
        for result in invocation.get_artifact("run_results.json")["results"]:
            kind, _, *_, name = result["unique_id"].split(".")
            nodes[name if kind == "model" else "(tests)"] += result["execution_time"]
    return seconds, dict(nodes)


def _refresh(target: Path, wh: Warehouse) -> tuple[float, dict[str, float], int]:
    """The analytics run's build: the views in place left out, their tests kept."""
    import time

    started = time.perf_counter()
    manifest = load_manifest(target / "manifest.json")
    left_out = sorted(manifest["nodes"][uid]["name"] for uid in views_in_place(manifest, wh))
    args = ["build"]
    if left_out:  # every test stays selected (eager selection would drop the views' tests)
        args += ["--indirect-selection", "empty", "--exclude", " ".join(left_out)]
    nodes = _dbt(wh.url, target, *args)[1]
    return time.perf_counter() - started, nodes, len(left_out)


def incremental_models(target: Path) -> list[str]:
    import json

    manifest = json.loads((target / "manifest.json").read_text())
    return sorted(
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"]["materialized"] == "incremental"
    )


def _columns(wh: Warehouse, model: str) -> str:
    frame = wh.read_frame(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = 'analytics' AND table_name = :t ORDER BY ordinal_position",
        {"t": model},
    )
    return ", ".join(f'"{c}"' for c in frame.column_name if c not in BOOKKEEPING)


def snapshot(wh: Warehouse, models: list[str]) -> None:
    wh.execute(f"CREATE SCHEMA IF NOT EXISTS {SNAPSHOT_SCHEMA}")
    for model in models:
        wh.execute(f"DROP TABLE IF EXISTS {SNAPSHOT_SCHEMA}.{model}")
        wh.execute(
            f"CREATE TABLE {SNAPSHOT_SCHEMA}.{model} AS "
            f"SELECT {_columns(wh, model)} FROM analytics.{model}"
        )


def differences(wh: Warehouse, models: list[str]) -> dict[str, int]:
    """Rows in one of (snapshot, current table) and not in the other, per model; an empty
    model counts as a difference (nothing compared is no proof)."""
    out = {}
    for model in models:
        cols = _columns(wh, model)
        current = f"SELECT {cols} FROM analytics.{model}"
        kept = f"SELECT {cols} FROM {SNAPSHOT_SCHEMA}.{model}"
        diff = sum(
            int(wh.scalar(f"SELECT count(*) FROM ({a} EXCEPT ALL {b}) AS d"))
            for a, b in ((current, kept), (kept, current))
        )
        rows = int(wh.scalar(f"SELECT count(*) FROM analytics.{model}"))
        out[model] = diff if rows else -1
    return out


def bench_dbt_volume(quick: bool = False) -> dict:
    scale = 2 if quick else 20
    world = World(scale=scale, end=utcnow().date() - dt.timedelta(days=ROUNDS + 1), holes=ROUNDS)
    floors, fulls, refreshes = [], [], []
    per_model: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    diffs: list[dict[str, int]] = []
    views_left_out: list[int] = []
    with pg_database() as url, tempfile.TemporaryDirectory() as tmp:
        wh = Warehouse(url)
        wh.migrate()
        filled = world.fill(wh)
        # one target directory: the warm parse leaves the partial-parse cache every later
        # invocation reuses, as a deployment's prepared project does
        target = Path(tmp) / "dbt-target"
        _dbt(url, target, "parse")
        models = incremental_models(target)
        for k in range(ROUNDS):
            floors.append(
                _dbt(url, target, "build", "--select", "tag:benchmark_selects_nothing")[0]
            )
            seconds, nodes = _dbt(url, target, "build", "--full-refresh")
            fulls.append(seconds)
            for name, s in nodes.items():
                per_model[name]["full"].append(s)
            if k:
                diffs.append(differences(wh, models))
            world.land_day(wh, world.end + dt.timedelta(days=k + 1), backfill=[world.holes[k]])
            seconds, nodes, left_out = _refresh(target, wh)
            refreshes.append(seconds)
            views_left_out.append(left_out)
            for name, s in nodes.items():
                per_model[name]["refresh"].append(s)
            snapshot(wh, models)
        _dbt(url, target, "build", "--full-refresh", "--select", " ".join(models))
        diffs.append(differences(wh, models))
        # a hit's genre and credited artists change: its whole history is recomputed
        world.change_metadata(wh)
        changed_seconds, changed_nodes, _ = _refresh(target, wh)
        snapshot(wh, models)
        _dbt(url, target, "build", "--full-refresh", "--select", " ".join(models))
        diffs.append(differences(wh, models))
        wh.engine.dispose()
    over_full = [(r - f0) / (f - f0) for r, f, f0 in zip(refreshes, fulls, floors, strict=True)]
    over_floor = [r / f0 for r, f0 in zip(refreshes, floors, strict=True)]
    equal = all(d == 0 for diff in diffs for d in diff.values())
    return {
        "dbt_refresh_over_full_20x": statistics.median(over_full),
        "dbt_refresh_over_floor_20x": statistics.median(over_floor),
        "dbt_incremental_equals_full": int(equal),
        "dbt_20x_full_build_seconds": statistics.median(fulls),
        "dbt_20x_metadata_change_refresh_seconds": changed_seconds,
        "dbt_20x_metadata_change_node_seconds": {
            name: round(s, 3) for name, s in sorted(changed_nodes.items()) if s >= 0.1
        },
        "dbt_20x_refresh_seconds": statistics.median(refreshes),
        "dbt_20x_invocation_floor_seconds": statistics.median(floors),
        "dbt_20x_ranking_entries": filled["ranking_entries"],
        "dbt_20x_track_audience_points": filled["track_audience_points"],
        "dbt_20x_audience_points": filled["audience_points"],
        "dbt_20x_fill_seconds": filled["fill_seconds"],
        "dbt_20x_incremental_models": len(models),
        "dbt_20x_refresh_views_left_out": views_left_out,
        "dbt_20x_incremental_differences": {m: [d[m] for d in diffs] for m in models},
        "dbt_20x_rounds_seconds": {
            "floor": [round(s, 2) for s in floors],
            "full": [round(s, 2) for s in fulls],
            "refresh": [round(s, 2) for s in refreshes],
        },
        "dbt_20x_node_seconds": {
            name: {
                "full": round(statistics.median(t["full"]), 3) if t["full"] else None,
                "refresh": round(statistics.median(t["refresh"]), 3) if t["refresh"] else None,
            }
            for name, t in sorted(per_model.items())
        },
    }


TARGETS = {
    "dbt_refresh_over_full_20x": ("<=", 0.2),
    "dbt_refresh_over_floor_20x": ("<=", 2),
    "dbt_incremental_equals_full": ("==", 1),
}
