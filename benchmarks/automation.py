"""The automation layer at 5 and at 500 subscribed charts, side by side in one run.

Each size gets its own Dagster instance (SQLite, as `make dev`), warehouse and the default
partition range; a few syncs run first, then the two sensors tick as the daemon ticks them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import dagster as dg
from dagster._core.definitions.run_request import InstigatorType
from dagster._core.scheduler.instigation import TickData, TickStatus
from dagster_shared.serdes import serialize_value

from benchmarks.common import dagster_instance
from musiccharts_pipeline import clock
from musiccharts_pipeline.assets.materialize import materialize_chart
from musiccharts_pipeline.automation.cascade_sensor import cascade_sensor
from musiccharts_pipeline.automation.sync_sensor import CHECKS_PER_TICK, chart_sync_sensor
from musiccharts_pipeline.partitions import days
from musiccharts_pipeline.resources import SoundChartsResource, WarehouseResource
from musiccharts_pipeline.soundcharts.simulator import Simulator, SimulatorConfig
from musiccharts_pipeline.sync import subscriptions
from musiccharts_pipeline_tests.helpers import Sensors

ROOT = Path(__file__).resolve().parent.parent
SENSORS = (chart_sync_sensor, cascade_sensor)
PARTITION_HEALTH = """
query PartitionHealthQuery($assetKey: AssetKeyInput!) {
  assetNodeOrError(assetKey: $assetKey) {
    ... on AssetNode {
      id
      partitionKeysByDimension { name type partitionKeys }
      assetPartitionStatuses {
        ... on MultiPartitionStatuses {
          primaryDimensionName
          ranges {
            primaryDimStartKey primaryDimEndKey primaryDimStartTime primaryDimEndTime
            secondaryDim {
              ... on TimePartitionStatuses {
                ranges { status startTime endTime startKey endKey }
              }
              ... on DefaultPartitionStatuses {
                materializedPartitions materializingPartitions failedPartitions
              }
            }
          }
        }
      }
    }
  }
}
"""


def _pipeline(tmp: Path, charts: int = 0) -> dict:
    """A warehouse and an in-process simulator that knows ``charts`` charts beside its own."""
    config = SimulatorConfig.from_env(latency=0, extra_charts=charts)
    return {
        "warehouse": WarehouseResource(url=f"duckdb:///{tmp}/w.duckdb"),
        "soundcharts": SoundChartsResource.simulated(Simulator(config), max_rps=0),
    }


def _subscribe_many(pipeline, charts: int) -> None:
    """The real default subscriptions plus simulated daily charts up to ``charts``, subscribed
    as `musiccharts charts add` subscribes them."""
    wh, client = pipeline["warehouse"].get(), pipeline["soundcharts"].get()
    real = list(subscriptions.DEFAULT_CHARTS[: min(charts, 5)])
    synthetic = [f"sim-chart-{i:04d}" for i in range(charts - len(real))]
    for slug in real + synthetic:
        subscriptions.add(wh, client, slug)


def _tick_bytes(sensor, data) -> int:
    """Bytes the daemon stores for one tick: its serialized tick row plus the cursor it keeps."""
    tick = TickData(
        instigator_origin_id="x" * 40,
        instigator_name=sensor.name,
        instigator_type=InstigatorType.SENSOR,
        status=TickStatus.SKIPPED,
        timestamp=time.time(),
        skip_reason=data.skip_message,
        cursor=data.cursor,
        selector_id="x" * 40,
    )
    return len(serialize_value(tick)) + len(data.cursor or "")


def _idle_evaluation(sensors: Sensors) -> tuple[float, int, int, int]:
    """(seconds, stored bytes, largest cursor, API calls) of one idle tick of every sensor, a
    minute after the previous one, through ``evaluate_tick`` with the cursors the ticks kept."""
    simulator = sensors.resources["soundcharts"].get().simulator
    calls_before = len(simulator.request_log)
    clock.advance(dt.timedelta(minutes=1))
    started, stored = time.perf_counter(), 0
    results = []
    for sensor in SENSORS:
        with dg.build_sensor_context(
            instance=sensors.instance,
            instance_ref=sensors.instance.get_ref(),
            cursor=sensors.cursors.get(sensor.name),
            resources=sensors.resources,
            definitions=sensors.defs,
        ) as context:
            results.append((sensor, sensor.evaluate_tick(context)))
    seconds = time.perf_counter() - started
    for sensor, data in results:
        assert not data.run_requests, f"{sensor.name} was not idle"
        sensors.cursors[sensor.name] = data.cursor
        stored += _tick_bytes(sensor, data)
    cursors = [len(c or "") for c in sensors.cursors.values()]
    return seconds, stored, max(cursors), len(simulator.request_log) - calls_before


def _steady_state(pipeline, instance, charts: int) -> tuple[Sensors, float]:
    """``charts`` subscriptions, a few syncs carried through the cascade, then the sensors
    ticked a minute apart on the simulated clock until every chart has been checked once (the
    first syncs they request are recorded, not run) and nothing is left to ask. Returns the
    sensors and the availability calls per chart those ticks made."""
    sensors = Sensors(pipeline, instance)
    _subscribe_many(pipeline, charts)
    simulator = pipeline["soundcharts"].get().simulator
    today = simulator.world.today
    for slug in ("top-50-fr", "global-28"):
        materialize_chart(pipeline, instance, slug, today - dt.timedelta(days=1), today)
    simulator.reset_log()
    for _ in range(charts // CHECKS_PER_TICK + 3):
        for sensor in SENSORS:
            sensors.tick(sensor)
        clock.advance(dt.timedelta(minutes=1))
    checks = simulator.counts()["available_rankings"]
    return sensors, checks / charts


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _partition_health_seconds(home: Path, rounds: int = 3) -> float:
    """The UI's PartitionHealthQuery for chart_rankings through a running dagster-webserver."""
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dagster-webserver"),
            "-w",
            str(ROOT / "workspace.yaml"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        env=env,
        cwd=str(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    body = json.dumps(
        {
            "operationName": "PartitionHealthQuery",
            "query": PARTITION_HEALTH,
            "variables": {"assetKey": {"path": ["chart_rankings"]}},
        }
    ).encode()

    def query() -> float:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/graphql",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=300) as answer:
            payload = json.loads(answer.read())
        assert "errors" not in payload, payload.get("errors")
        assert payload["data"]["assetNodeOrError"]["assetPartitionStatuses"], payload
        return time.perf_counter() - started

    try:
        deadline = time.time() + 180
        while True:
            try:
                query()  # warm: the code location loaded, caches filled
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise RuntimeError("dagster-webserver did not answer") from None
                time.sleep(1)
        return statistics.median(query() for _ in range(rounds))
    finally:
        server.terminate()
        server.wait(30)


def _first_sync_runs(tmp: Path) -> int:
    """Runs the sync sensor requests on a fresh start with the default subscriptions."""
    pipeline = _pipeline(tmp)
    with dagster_instance(tmp) as (instance, _):
        return len(Sensors(pipeline, instance).tick(chart_sync_sensor))


def _duplicates_and_builds(tmp: Path) -> tuple[int, int]:
    """A sync run in progress while both sensors tick every 0.2 s: requests for partitions it
    already covers; then the dbt builds launched once that sync reaches the end."""
    pipeline = _pipeline(tmp)
    wh, client = pipeline["warehouse"].get(), pipeline["soundcharts"].get()
    subscriptions.add(wh, client, "top-50-fr")
    today = client.simulator.world.today
    with dagster_instance(tmp) as (instance, _):
        sensors = Sensors(pipeline, instance)
        instance.add_dynamic_partitions("charts", ["top-50-fr"])
        client.simulator.config.latency = 0.01
        # the run covers every date the sync sensor finds due: any request meanwhile repeats it
        start = today - dt.timedelta(days=7)
        worker = threading.Thread(
            target=materialize_chart, args=(pipeline, instance, "top-50-fr", start, today)
        )
        worker.start()
        duplicates = 0
        while worker.is_alive():
            if instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
                sensors.cursors.pop("chart_sync_sensor", None)  # check the chart on every tick
                for sensor in SENSORS:
                    duplicates += len(sensors.tick(sensor))
            time.sleep(0.2)
        worker.join()
        client.simulator.config.latency = 0
        builds = 0
        for _ in range(4):  # the daemon's next ticks: each request is run as it would be
            for request in sensors.tick(cascade_sensor):
                builds += request.job_name == "analytics"
                sensors.run(request)
        return duplicates, builds


def bench_automation(quick: bool = False) -> dict:
    sizes = (5, 50) if quick else (5, 500)
    measured: dict[int, dict] = {}
    with tempfile.TemporaryDirectory() as tmp_root:
        for charts in sizes:
            tmp = Path(tmp_root) / f"c{charts}"
            tmp.mkdir()
            pipeline = _pipeline(tmp, charts)
            evening = dt.datetime.combine(
                pipeline["soundcharts"].get().simulator.world.today, dt.time(20)
            )
            with dagster_instance(tmp) as (instance, home), clock.simulated(evening):
                sensors, checks_per_chart = _steady_state(pipeline, instance, charts)
                runs = [_idle_evaluation(sensors) for _ in range(3)]
                measured[charts] = {
                    "seconds": statistics.median(r[0] for r in runs),
                    "bytes": max(r[1] for r in runs),
                    "cursor": max(r[2] for r in runs),
                    "idle_calls": sum(r[3] for r in runs),
                    "checks_per_chart": checks_per_chart,
                    "partitions": len(instance.get_dynamic_partitions("charts"))
                    * len(days.get_partition_keys()),
                    "health": _partition_health_seconds(home),
                }
        (Path(tmp_root) / "first").mkdir()
        first_runs = _first_sync_runs(Path(tmp_root) / "first")
        (Path(tmp_root) / "dup").mkdir()
        duplicates, builds = _duplicates_and_builds(Path(tmp_root) / "dup")
    small, large = measured[sizes[0]], measured[sizes[1]]
    return {
        "automation_eval_500_over_5": large["seconds"] / small["seconds"],
        "automation_eval_seconds_5": small["seconds"],
        "automation_eval_seconds_500": large["seconds"],
        "automation_bytes_per_eval_500": large["bytes"],
        "sensor_cursor_bytes_500": large["cursor"],
        "automation_idle_api_calls_500": large["idle_calls"],
        "automation_checks_per_chart_500": large["checks_per_chart"],
        "partitions_per_asset_500": large["partitions"],
        "partition_health_500_over_5": large["health"] / small["health"],
        "partition_health_seconds_5": small["health"],
        "partition_health_seconds_500": large["health"],
        "duplicate_requests": duplicates,
        "dbt_builds_per_sync": builds,
        "runs_for_first_sync_of_5_charts": first_runs,
    }


TARGETS = {
    "automation_eval_500_over_5": ("<=", 1.5),
    "automation_bytes_per_eval_500": ("<=", 1_000_000),
    "sensor_cursor_bytes_500": ("<=", 100_000),
    # idle ticks (every chart checked, its next check not come) ask the API nothing, and the
    # ticks that checked asked once per chart: a dropped cursor would ask again every tick
    "automation_idle_api_calls_500": ("==", 0),
    "automation_checks_per_chart_500": ("<=", 1.0),
    "partition_health_500_over_5": ("<=", 3),
    "duplicate_requests": ("==", 0),
    "dbt_builds_per_sync": ("==", 1),
    "runs_for_first_sync_of_5_charts": ("<=", 5),
}
