"""A year's backfill of one chart launched as the UI launches it: the GraphQL mutation
``launchPartitionBackfill`` against the running webserver, the daemon's backfill loop executing
it on the production topology (deploy/topology.sh, PostgreSQL), every asset of the cascade
selected. Counts the runs that materialized each asset (the single-run backfill policy: one),
and the wall time from the launch to the backfill's completion.

The chart is subscribed and paused first, as a person backfilling a chart they subscribed would
have it: its partition key is known, and the sync sensor leaves it alone (a paused chart is not
synced), so every run counted is the backfill's."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import time
from pathlib import Path

import dagster as dg

from benchmarks.common import pg_databases
from musiccharts_pipeline.partitions import chart_day_key, charts
from musiccharts_pipeline.soundcharts import SoundChartsClient
from musiccharts_pipeline.soundcharts.simulator import Simulator
from musiccharts_pipeline.soundcharts.simulator.config import DEFAULT_CREDENTIALS
from musiccharts_pipeline.soundcharts.simulator.serve import serve
from musiccharts_pipeline.sync import subscriptions
from musiccharts_pipeline.warehouse import Warehouse
from musiccharts_pipeline_tests.topology import ROOT, Topology, run_summary, wait_for

TARGETS = {"runs_per_asset_for_year_backfill": ("<=", 1)}
PG = "postgresql+psycopg2://postgres@127.0.0.1:5432/{db}"
SLUG = "global-28"
CASCADE = ("chart_rankings", "tracks", "artists", "genres", "track_audience", "artist_audience")
LAUNCH = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on UnauthorizedError { message }
  }
}
"""
STATUS = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { status }
  }
}
"""


def bench_ui_backfill(quick: bool = False) -> dict:
    days = 30 if quick else 365
    saved = dict(os.environ)
    for name in [n for n in os.environ if n.startswith(("MUSICCHARTS_", "SOUNDCHARTS_"))]:
        del os.environ[name]
    home = Path(tempfile.mkdtemp(prefix="musiccharts-ui-backfill-"))
    topo = None
    try:
        with pg_databases("dagster", "wh") as (storage_db, warehouse_db), serve(Simulator()) as url:
            shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
            wh = Warehouse(PG.format(db=warehouse_db))
            wh.migrate()
            client = SoundChartsClient(url, *DEFAULT_CREDENTIALS, max_rps=0)
            subscriptions.add(wh, client, SLUG)
            subscriptions.set_active(wh, SLUG, False)
            api = {
                "SOUNDCHARTS_API_URL": url,
                "SOUNDCHARTS_APP_ID": DEFAULT_CREDENTIALS[0],
                "SOUNDCHARTS_API_KEY": DEFAULT_CREDENTIALS[1],
                "SOUNDCHARTS_MAX_RPS": "0",
            }
            topo = Topology(home, storage_db, wh.url, home / "dashboard.html", extra_env=api)
            os.environ.update(topo.instance_env)
            with dg.DagsterInstance.get() as instance:
                topo.instance = instance
                instance.event_log_storage.set_concurrency_slots("soundcharts_api", 4)
                instance.add_dynamic_partitions(charts.name, [SLUG])
                for component in topo.components:
                    component.start()
                wait_for("the code server", topo.code_server_answers, 180, topo)
                wait_for("the webserver", lambda: topo.query("{ version }"), 120, topo)
                today = dt.date.today()
                keys = [str(chart_day_key(SLUG, today - dt.timedelta(days=k))) for k in range(days)]
                params = {
                    "assetSelection": [{"path": [name]} for name in CASCADE],
                    "partitionNames": keys,
                }
                started = time.perf_counter()
                answer = topo.query(LAUNCH, {"params": params})["launchPartitionBackfill"]
                assert answer["__typename"] == "LaunchBackfillSuccess", answer
                backfill = answer["backfillId"]
                wait_for(
                    "the backfill to complete",
                    lambda: (
                        topo.query(STATUS, {"id": backfill})["partitionBackfillOrError"]["status"]
                        in ("COMPLETED", "COMPLETED_SUCCESS", "FAILED", "COMPLETED_FAILED")
                    ),
                    1200,
                    topo,
                    poll=2,
                )
                wall = time.perf_counter() - started
                status = topo.query(STATUS, {"id": backfill})["partitionBackfillOrError"]["status"]
                runs = instance.get_runs(dg.RunsFilter(tags={"dagster/backfill": backfill}))
                per_asset: dict[str, set[str]] = {}
                for run in runs:
                    for record in instance.get_records_for_run(
                        run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
                    ).records:
                        key = record.event_log_entry.dagster_event.asset_key.to_user_string()
                        per_asset.setdefault(key, set()).add(run.run_id)
                assert set(per_asset) >= set(CASCADE), (status, run_summary(instance))
                return {
                    "runs_per_asset_for_year_backfill": max(len(r) for r in per_asset.values()),
                    "ui_backfill_runs": len(runs),
                    "ui_backfill_status": status,
                    "ui_backfill_partitions": days,
                    "ui_backfill_seconds": round(wall, 1),
                }
    finally:
        if topo is not None:
            topo.stop()
        shutil.rmtree(home, ignore_errors=True)
        os.environ.clear()
        os.environ.update(saved)


if __name__ == "__main__":
    import sys

    print(bench_ui_backfill(quick="--quick" in sys.argv))
