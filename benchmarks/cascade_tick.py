"""cascade_sensor's tick after a run of 366 partitions against its tick after a run of one,
both through Dagster's ``evaluate_tick`` on a persistent instance, on state the product built:
two subscriptions, their rankings materialized alone (as a UI backfill of chart_rankings does),
so each tick has the rest of the cascade to request. The tick must stay well inside the
sensor's 60 s gRPC deadline (DAGSTER_SENSOR_GRPC_TIMEOUT_SECONDS)."""

from __future__ import annotations

import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.common import dagster_instance, fresh_pipeline
from musiccharts_pipeline.assets.materialize import materialize_chart
from musiccharts_pipeline.automation.cascade_sensor import cascade_sensor
from musiccharts_pipeline.sync import subscriptions
from musiccharts_pipeline_tests.helpers import Sensors

TARGETS = {"cascade_tick_year_over_day": ("<=", 2.0)}
DEADLINE_SECONDS = 60


def _timed_tick(sensors: Sensors) -> tuple[float, int]:
    started = time.perf_counter()
    requests = sensors.tick(cascade_sensor)
    return time.perf_counter() - started, len(requests)


def bench_cascade_tick(quick: bool = False) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        resources, client = fresh_pipeline(tmp)
        wh = resources["warehouse"].get()
        wh.migrate()
        for slug in ("top-50-fr", "viral-50-global"):
            subscriptions.add(wh, client, slug)
        today = client.simulator.world.today
        with dagster_instance(Path(tmp)) as (instance, _):
            sensors = Sensors(resources, instance)
            sensors.tick(cascade_sensor)  # warm: imports, the dbt manifest, the first cursor
            days = 30 if quick else 366
            rankings = ["chart_rankings"]
            materialize_chart(resources, instance, "top-50-fr", today, selection=rankings)
            day, day_requests = _timed_tick(sensors)
            start = today - dt.timedelta(days=days - 1)
            materialize_chart(resources, instance, "viral-50-global", start, today, rankings)
            year, year_requests = _timed_tick(sensors)
            idle = statistics.median(_timed_tick(sensors)[0] for _ in range(3))
    assert day_requests and year_requests, "the ticks had nothing to request: nothing measured"
    return {
        "cascade_tick_year_over_day": year / day,
        "cascade_tick_day_seconds": round(day, 3),
        "cascade_tick_year_seconds": round(year, 3),
        "cascade_tick_idle_seconds": round(idle, 3),
        "cascade_tick_year_partitions": days,
        "cascade_tick_deadline_seconds": DEADLINE_SECONDS,
    }


if __name__ == "__main__":
    print(bench_cascade_tick())
