"""The cost model against what the work then costs: for each kind of work, the plan printed by
`musiccharts plan` (sync/plan.py), then the same work run through the assets on the simulator,
calls counted by the simulator. Each run happens after the earlier ones, so the later plans see
a warehouse that already knows songs (the overlap the model must account for)."""

from __future__ import annotations

import datetime as dt
import tempfile

import dagster as dg

from benchmarks.common import fresh_pipeline
from musiccharts_pipeline.assets.materialize import materialize_chart
from musiccharts_pipeline.assets.watchlist import WATCHLIST_ASSETS
from musiccharts_pipeline.sync import plan as cost
from musiccharts_pipeline.sync import watchlist

TARGETS = {
    "plan_predicted_over_actual_min": (">=", 0.9),
    "plan_predicted_over_actual_max": ("<=", 1.1),
}


def bench_plans(quick: bool = False) -> dict:
    results, ratios = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        resources, client = fresh_pipeline(tmp)
        wh = resources["warehouse"].get()
        wh.migrate()
        today = client.simulator.world.today
        year = 30 if quick else 365
        kinds = [
            ("daily_year_history", "viral-50-global", today - dt.timedelta(days=year), today),
            ("weekly_backfill", "tiktok-top-50-weekly", today - dt.timedelta(days=182), today),
            ("daily_month_overlapping", "top-50-fr", today - dt.timedelta(days=29), today),
        ]
        with dg.DagsterInstance.ephemeral() as instance:
            for name, slug, start, end in kinds:
                plan = cost.plan_chart(client, wh, slug, start, end)
                client.simulator.reset_log()
                assert materialize_chart(resources, instance, slug, start, end).success
                actual = sum(client.simulator.counts().values())
                ratio = plan.total / actual
                ratios.append(ratio)
                results[f"plan_{name}_predicted"] = plan.total
                results[f"plan_{name}_actual"] = actual
                results[f"plan_{name}_ratio"] = round(ratio, 3)
            # a label's file of 200 ISRCs of songs the warehouse does not know yet, then the
            # catalogue run (watchlist assets and albums) that resolves and fetches them
            stored = set(wh.read_frame("SELECT uuid FROM soundcharts.tracks").uuid)
            world = client.simulator.world
            fresh = [i for i in range(world.n_songs) if world.song_uuid(i) not in stored]
            isrcs = [world.isrc_of(i) for i in fresh[: 50 if quick else 200]]
            entries = [watchlist.Entry(watchlist.ISRC, isrc) for isrc in isrcs]
            plan = cost.plan_watch_import(wh, entries)
            watchlist.add(wh, entries, "bench")
            client.simulator.reset_log()
            assert dg.materialize(WATCHLIST_ASSETS, resources=resources, instance=instance).success
            actual = sum(client.simulator.counts().values())
            ratios.append(plan.total / actual)
            results["plan_watch_import_predicted"] = plan.total
            results["plan_watch_import_actual"] = actual
            results["plan_watch_import_ratio"] = round(plan.total / actual, 3)
            results["plan_watch_import_calls"] = plan.calls
            results["plan_watch_import_actual_calls"] = dict(client.simulator.counts())
    results["plan_predicted_over_actual_min"] = min(ratios)
    results["plan_predicted_over_actual_max"] = max(ratios)
    return results


if __name__ == "__main__":
    print(bench_plans())
