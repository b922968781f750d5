"""`make drill`: the production topology on PostgreSQL against the simulator, through faults.

`deploy/topology.sh`'s three components (code server, webserver, daemon) run on the root
dagster.yaml with fresh PostgreSQL databases for Dagster's storage and the warehouse; the
SoundCharts simulator is served on loopback by this process, so its faults reach every process
of the topology. Each phase subscribes a chart (as `musiccharts charts add` does) and strikes
while the sensors and runs handle it:

1. a run worker killed (SIGKILL) mid-step: run monitoring marks the run failed, the instance
   retries it, and the pool slot it held comes back (``free_slots_after_run_end_seconds``);
2. the daemon killed while it creates a year's history run (its planned events half written),
   then restarted: no second run for those partitions;
3. the daemon killed mid-run, restarted;
4. the code server killed while the sensors tick, restarted;
5. an API outage (every call a 503) of ``--outage-minutes`` (10), a chart subscribed during it;
6. 5% injected server errors, from the start to the end of the drill.

Then it waits until every run is terminal and an analytics build followed the last sync, and
checks: every run terminal, no pool slot held, no partition of ``chart_rankings`` materialized
by two successful runs, every ranking the simulator published for a subscribed chart's window
stored once with the simulator's positions, the marts rebuilt. It prints a table (phase, time to
recover, runs, slots held, duplicates, warehouse vs simulator) and exits 1 on any loss,
duplicate, leaked slot or stuck run. Not part of `make test`; about 20 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import pg_databases  # noqa: E402
from musiccharts_pipeline.partitions import first_day  # noqa: E402
from musiccharts_pipeline.soundcharts import SoundChartsClient  # noqa: E402
from musiccharts_pipeline.soundcharts.simulator import Simulator, SimulatorConfig  # noqa: E402
from musiccharts_pipeline.soundcharts.simulator.config import DEFAULT_CREDENTIALS  # noqa: E402
from musiccharts_pipeline.soundcharts.simulator.serve import serve  # noqa: E402
from musiccharts_pipeline.sync import rules, subscriptions  # noqa: E402
from musiccharts_pipeline.warehouse import SCHEMA, Warehouse  # noqa: E402
from musiccharts_pipeline_tests.topology import (  # noqa: E402
    NOT_FINISHED,
    Topology,
    analytics_after_last_sync,
    failure_reason,
    run_summary,
    wait_for,
)

PG = "postgresql+psycopg2://postgres@127.0.0.1:5432/{db}"
POOL = "soundcharts_api"
#: (phase, chart subscribed for it, with a year's history)
PHASES = (
    ("run worker killed mid-step", "top-50-fr", False),
    ("daemon killed during run creation", "global-28", True),
    ("daemon killed mid-run", "viral-50-global", False),
    ("code server killed while sensors tick", "top-200-gb", False),
    ("API outage", "top-200-de", False),
)
ERROR_RATE = 0.05


class Drill:
    def __init__(self, args: argparse.Namespace, home: Path, storage_db: str, warehouse_db: str):
        self.args = args
        self.started = time.monotonic()
        self.simulator = Simulator(SimulatorConfig(latency=args.latency_ms / 1000))
        self.home = home
        self.storage_db, self.warehouse_db = storage_db, warehouse_db
        self.wh = Warehouse(PG.format(db=warehouse_db))
        self.rows: list[dict] = []
        self.subscribed: dict[str, bool] = {}
        self.expected: dict[str, set[dt.date]] = {}

    def note(self, text: str) -> None:
        print(f"[{time.monotonic() - self.started:6.0f} s] {text}", flush=True)

    # -- setup -----------------------------------------------------------------------------

    def start(self, url: str) -> None:
        shutil.copy(ROOT / "dagster.yaml", self.home / "dagster.yaml")
        api = {
            "SOUNDCHARTS_API_URL": url,
            "SOUNDCHARTS_APP_ID": DEFAULT_CREDENTIALS[0],
            "SOUNDCHARTS_API_KEY": DEFAULT_CREDENTIALS[1],
            "SOUNDCHARTS_MAX_RPS": "0",
        }
        self.client = SoundChartsClient(url, *DEFAULT_CREDENTIALS, max_rps=0)
        self.topo = Topology(
            self.home, self.storage_db, self.wh.url, self.home / "dashboard.html", extra_env=api
        )
        for key, value in self.topo.instance_env.items():
            os.environ[key] = value
        self.wh.migrate()
        self.instance = dg.DagsterInstance.get()
        self.topo.instance = self.instance
        self.instance.event_log_storage.set_concurrency_slots(POOL, 4)
        self.simulator.set_faults({"server_error": ERROR_RATE}, seed=11)
        for component in self.topo.components:
            component.start()
        wait_for("the code server", self.topo.code_server_answers, 180, self.topo, poll=1)
        self.note(
            f"topology up: code server :{self.topo.code_port}, webserver :{self.topo.web_port}, "
            f"daemon; simulator at {url} with {ERROR_RATE:.0%} server errors"
        )

    def subscribe(self, slug: str, history: bool) -> None:
        """As `musiccharts charts add SLUG [--history]`, and the dates the sensor owes it."""
        subscriptions.add(self.wh, self.client, slug, sync_historical_data=history)
        self.subscribed[slug] = history
        today = rules.utcnow().date()
        window = rules.HISTORY_DAYS if history else rules.lookback_days("daily")
        since = max(today - dt.timedelta(days=window), first_day())
        for attempt in range(5):  # the check itself may meet an injected error
            try:
                available = self.client.available_rankings(slug, since=since).dates
                break
            except Exception:  # noqa: BLE001 - retried a few times, then raised
                if attempt == 4:
                    raise
        self.expected[slug] = {d for d in available if since <= d <= today}

    # -- conditions ------------------------------------------------------------------------

    def runs(self, statuses=None) -> list[dg.DagsterRun]:
        return [r for r in self.instance.get_runs() if statuses is None or r.status in statuses]

    def stored(self, slug: str) -> set[dt.date]:
        frame = self.wh.read_frame(
            f"SELECT ranking_date FROM {SCHEMA}.chart_rankings WHERE chart_slug = :s", {"s": slug}
        )
        return {d.date() if isinstance(d, dt.datetime) else d for d in frame.ranking_date}

    def chart_done(self, slug: str) -> bool:
        return self.expected[slug] <= self.stored(slug)

    def settled(self) -> bool:
        """Every subscribed chart's dates stored, no run in flight, an analytics build that
        started after the last successful sync ended."""
        if any(not self.chart_done(s) for s in self.subscribed):
            return False
        return analytics_after_last_sync(self.instance)

    def slots_held(self) -> int:
        return self.instance.event_log_storage.get_concurrency_info(POOL).active_slot_count

    def sync_run_of(self, slug: str, statuses) -> dg.DagsterRun | None:
        for run in self.runs(statuses):
            if run.job_name == "chart_sync" and run.tags.get("musiccharts/chart") == slug:
                return run
        return None

    def step_started(self, run_id: str) -> bool:
        return bool(
            self.instance.get_records_for_run(
                run_id, of_type=dg.DagsterEventType.STEP_START, limit=1
            ).records
        )

    # -- phases ----------------------------------------------------------------------------

    def phase(self, name: str, slug: str, history: bool, strike) -> None:
        runs_before = len(self.runs())
        self.subscribe(slug, history)
        began = time.monotonic()
        detail = strike(slug)
        wait_for(
            f"{slug} stored after '{name}'",
            lambda: self.chart_done(slug) and not self.runs(NOT_FINISHED),
            self.args.phase_timeout,
            self.topo,
            poll=2,
        )
        took = time.monotonic() - began
        self.rows.append(
            {
                "fault": name,
                "chart": slug,
                "recovered_s": round(took),
                "runs": len(self.runs()) - runs_before,
                "detail": detail,
            }
        )
        self.note(f"{name}: {slug} stored in {took:.0f} s ({detail})")

    def kill_worker(self, slug: str) -> str:
        run = wait_for(
            f"a sync run of {slug} inside a step",
            lambda: (
                (r := self.sync_run_of(slug, {dg.DagsterRunStatus.STARTED}))
                and self.step_started(r.run_id)
                and r
            ),
            300,
            self.topo,
            poll=0.2,
        )
        pid = wait_for(
            f"the worker of {run.run_id[:8]}", lambda: worker_pid(self.instance, run.run_id), 60
        )
        os.kill(pid, signal.SIGKILL)
        self.note(f"run worker {pid} of {run.run_id[:8]} SIGKILLed; slots held {self.slots_held()}")
        wait_for(
            "the killed run marked ended",
            lambda: self.instance.get_run_by_id(run.run_id).is_finished,
            300,
            self.topo,
            poll=1,
        )
        freed = time.monotonic()
        wait_for(
            "its pool slot freed",
            lambda: self.slot_free_of(run.run_id),
            240,
            self.topo,
            poll=2,
        )
        return (
            f"run {self.instance.get_run_by_id(run.run_id).status.value.lower()}, slot freed "
            f"{time.monotonic() - freed:.0f} s after it ended"
        )

    def slot_free_of(self, run_id: str) -> bool:
        info = self.instance.event_log_storage.get_concurrency_info(POOL)
        return all(slot.run_id != run_id for slot in info.claimed_slots)

    def kill_daemon_in_creation(self, slug: str) -> str:
        """Killed once the run exists and part of its planned events are written: what a run
        covers must come from what is written with the run (its tags), not from those events."""
        run = wait_for(
            f"the history run of {slug} being created",
            lambda: next(
                (
                    r
                    for r in self.runs()
                    if r.tags.get("dagster/run_key", "").startswith(f"history:{slug}:")
                ),
                None,
            ),
            300,
            self.topo,
            poll=0.1,
        )
        with contextlib.suppress(AssertionError):  # a creation already done is killed as it is
            wait_for(
                "some of its planned events", lambda: self.planned(run.run_id) >= 50, 30, poll=0.1
            )
        self.topo.daemon.kill(signal.SIGKILL)
        planned = self.planned(run.run_id)
        self.note(f"daemon SIGKILLed while creating {run.run_id[:8]} ({planned} planned events)")
        time.sleep(self.args.down_seconds)  # the daemon stays down a while, as after a crash
        self.topo.daemon.start()
        return f"killed after {planned} planned events"

    def planned(self, run_id: str) -> int:
        return len(
            self.instance.get_records_for_run(
                run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
            ).records
        )

    def kill_daemon_mid_run(self, slug: str) -> str:
        run = wait_for(
            f"a sync run of {slug} started",
            lambda: self.sync_run_of(slug, {dg.DagsterRunStatus.STARTED}),
            300,
            self.topo,
            poll=0.2,
        )
        self.topo.daemon.kill(signal.SIGKILL)
        self.note(f"daemon SIGKILLed while {run.run_id[:8]} runs")
        time.sleep(self.args.down_seconds)
        self.topo.daemon.start()
        return f"down {self.args.down_seconds} s during {run.run_id[:8]}"

    def kill_code_server(self, slug: str) -> str:
        self.topo.code_server.kill(signal.SIGKILL, whole_group=False)
        self.note("code server SIGKILLed while the sensors tick")
        time.sleep(self.args.down_seconds)
        self.topo.code_server.start()
        wait_for("the code server back", self.topo.code_server_answers, 180, self.topo)
        return f"down {self.args.down_seconds} s"

    def outage(self, slug: str) -> str:
        calls = len(self.simulator.request_log)
        self.simulator.set_faults({"server_error": 1.0}, seed=12)
        self.note(f"API outage: every call a 503 for {self.args.outage_minutes} min")
        time.sleep(self.args.outage_minutes * 60)
        refused = len(self.simulator.request_log) - calls
        self.simulator.set_faults({"server_error": ERROR_RATE}, seed=13)
        self.note(f"API back ({refused} calls refused during the outage)")
        return f"{refused} calls refused in {self.args.outage_minutes} min"

    # -- verdict ---------------------------------------------------------------------------

    def verdict(self) -> dict:
        wait_for("the drill to settle", self.settled, self.args.phase_timeout, self.topo, poll=3)
        # the slots of runs that just ended come back after free_slots_after_run_end_seconds
        with contextlib.suppress(AssertionError):
            wait_for("no slot held", lambda: self.slots_held() == 0, 120, poll=2)
        records = self.instance.get_run_records()
        stuck = [r.dagster_run.run_id for r in records if r.dagster_run.status in NOT_FINISHED]
        lost = {s: sorted(self.expected[s] - self.stored(s)) for s in self.subscribed}
        return {
            "runs": len(records),
            "runs_failed": sum(r.dagster_run.is_failure for r in records),
            "runs_stuck": len(stuck),
            "slots_held": self.slots_held(),
            "duplicate_partitions": self.duplicates(),
            "dates_lost": sum(len(v) for v in lost.values()),
            "positions_wrong": self.positions_wrong(),
            "marts_rebuilt": self.settled(),
            "dashboard": (self.home / "dashboard.html").exists(),
        }

    def duplicates(self) -> int:
        """chart_rankings partitions materialized by two successful runs (a redundant run)."""
        by_partition: dict[str, set[str]] = {}
        for run in self.runs({dg.DagsterRunStatus.SUCCESS}):
            for record in self.instance.get_records_for_run(
                run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
            ).records:
                event = record.event_log_entry.dagster_event
                if event.asset_key == dg.AssetKey("chart_rankings"):
                    by_partition.setdefault(event.partition, set()).add(run.run_id)
        return sum(len(runs) > 1 for runs in by_partition.values())

    def positions_wrong(self) -> int:
        """Stored (chart, date, position) rows whose song differs from the simulator's."""
        world = self.simulator.world
        wrong = 0
        for slug in self.subscribed:
            frame = self.wh.read_frame(
                f"SELECT ranking_date, position, song_uuid FROM {SCHEMA}.chart_ranking_entries "
                "WHERE chart_slug = :s",
                {"s": slug},
            )
            stored = {
                (d.date() if isinstance(d, dt.datetime) else d, int(p)): u
                for d, p, u in zip(frame.ranking_date, frame.position, frame.song_uuid, strict=True)
            }
            truth = {}
            for day in {d for d, _ in stored}:
                served = world.published_ranking(world.charts[slug], day)
                for k, song in enumerate(served[0].songs if served else []):
                    truth[(day, k + 1)] = world.song_uuid(song)
            wrong += sum(stored.get(k) != v for k, v in truth.items())
            wrong += len(set(stored) - set(truth))
        return wrong


def worker_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The run worker: the process the code server started for the run, as the run's own
    engine event says ("Started process for run (pid: N)")."""
    for record in instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ENGINE_EVENT
    ).records:
        found = re.search(r"Started process for run \(pid: (\d+)\)", record.event_log_entry.message)
        if found and Path(f"/proc/{found.group(1)}").exists():
            return int(found.group(1))
    return None


def print_table(drill: Drill, verdict: dict) -> None:
    print()
    print(f"{'fault':40} {'chart':18} {'recovered':>10} {'runs':>5}  detail")
    for row in drill.rows:
        print(
            f"{row['fault']:40} {row['chart']:18} {row['recovered_s']:>9}s {row['runs']:>5}  "
            f"{row['detail']}"
        )
    print(f"{'5% injected server errors':40} {'(every phase)':18}")
    print()
    for key, value in verdict.items():
        print(f"{key:22} {value}")


def failures(verdict: dict) -> list[str]:
    bad = []
    for key in ("runs_stuck", "slots_held", "duplicate_partitions", "dates_lost"):
        if verdict[key]:
            bad.append(f"{key}={verdict[key]}")
    if verdict["positions_wrong"]:
        bad.append(f"positions_wrong={verdict['positions_wrong']}")
    if not verdict["marts_rebuilt"] or not verdict["dashboard"]:
        bad.append("marts not rebuilt")
    return bad


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outage-minutes", type=float, default=10)
    parser.add_argument(
        "--down-seconds",
        type=int,
        default=10,
        help="how long a killed daemon or code server stays down",
    )
    parser.add_argument("--phase-timeout", type=int, default=600)
    parser.add_argument(
        "--latency-ms", type=int, default=80, help="the simulator's per-call latency"
    )
    parser.add_argument("--keep", action="store_true", help="keep DAGSTER_HOME (logs) on exit")
    args = parser.parse_args(argv)
    for name in [
        n for n in os.environ if n.startswith(("MUSICCHARTS_", "SOUNDCHARTS_", "DAGSTER_"))
    ]:
        del os.environ[name]
    home = Path(tempfile.mkdtemp(prefix="musiccharts-drill-"))
    with pg_databases("dagster", "wh") as (storage_db, warehouse_db):
        drill = Drill(args, home, storage_db, warehouse_db)
        with serve(drill.simulator) as url:
            try:
                drill.start(url)
                strikes = {
                    PHASES[0][0]: drill.kill_worker,
                    PHASES[1][0]: drill.kill_daemon_in_creation,
                    PHASES[2][0]: drill.kill_daemon_mid_run,
                    PHASES[3][0]: drill.kill_code_server,
                    PHASES[4][0]: drill.outage,
                }
                for name, slug, history in PHASES:
                    drill.phase(name, slug, history, strikes[name])
                verdict = drill.verdict()
            except AssertionError as exc:
                drill.note(f"DRILL FAILED: {exc}"[:4000])
                drill.note(f"runs: {run_summary(drill.instance)}")
                for run in drill.runs({dg.DagsterRunStatus.FAILURE}):
                    drill.note(
                        f"{run.run_id[:8]} failed: {failure_reason(drill.instance, run.run_id)}"
                    )
                return 1
            finally:
                drill.topo.stop()
                drill.wh.engine.dispose()
                if not args.keep:
                    shutil.rmtree(home, ignore_errors=True)
        print_table(drill, verdict)
        bad = failures(verdict)
        print(
            f"\ndrill {'FAILED: ' + ', '.join(bad) if bad else 'passed'} in "
            f"{time.monotonic() - drill.started:.0f} s"
        )
        return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
