"""The production topology, run here as ordinary processes on loopback, surviving faults.

`deploy/topology.sh` starts `dagster code-server start` (musiccharts_pipeline.definitions),
`dagster-webserver` and `dagster-daemon run` (both with deploy/workspace.yaml: the code server
over gRPC), each in its own process group, on the root dagster.yaml copied verbatim into a fresh
DAGSTER_HOME, with a fresh PostgreSQL database for Dagster's storage and another for the
warehouse. Two daily charts are subscribed before the daemon starts; the sensors then sync them
through the whole cascade, dbt and the dashboard with no click.

Faults, while that first sync is under way:
- the daemon is SIGKILLed once the sync sensor has requested its runs; a run is launched through
  the webserver while it is down (it stays queued), then the daemon is restarted: the queued
  runs start, the sensor's cursor is the one it stored, no run is requested twice;
- the code server process is SIGKILLed while a sync run is executing, and restarted;
- PostgreSQL "restarts" while a sync or analytics run is executing. The server at
  127.0.0.1:5432 is shared with other tests on this machine, so it is never stopped: the
  restart is simulated by terminating every backend connected to this test's two databases
  (pg_terminate_backend), over and over for a few seconds;
- the webserver is stopped and restarted.

The warehouse is then compared, table by table (row counts and a checksum of every column but
the fetch timestamps), with a clean in-process materialization of the same charts and dates.

Run isolation: the daemon and the webserver run with an environment in which the definitions
cannot even be imported (an invalid MUSICCHARTS_PARTITION_START, no warehouse URL), so every
sensor tick and run goes through the code server. The code server killed above comes back with a
changed environment (another partition start, another dashboard path) while the rest keeps
running: after a reload through the webserver's GraphQL API the new partitions definition shows,
and the analytics run the daemon launches afterwards writes the dashboard where the new
environment says.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

import dagster as dg

from musiccharts_pipeline.assets.materialize import materialize_chart
from musiccharts_pipeline.partitions import first_day
from musiccharts_pipeline.resources import (
    SoundChartsResource,
    WarehouseResource,
    resources_from_env,
)
from musiccharts_pipeline.sync import rules, subscriptions
from musiccharts_pipeline.warehouse import SCHEMA, Warehouse
from musiccharts_pipeline_tests.conftest import admin_connection
from musiccharts_pipeline_tests.helpers import DATA_TABLES
from musiccharts_pipeline_tests.topology import (
    LOCATION,
    PG_OUTAGE_SECONDS,
    REPOSITORY,
    ROOT,
    SCRIPT,
    Topology,
    analytics_after_last_sync,
    children,
    component_pid,
    failure_reason,
    run_summary,
    sensor_cursor,
    terminate_backends,
    wait_for,
)

CHARTS = ("top-50-fr", "viral-50-global")


def expected_ranges(today: dt.date) -> dict[str, tuple[dt.date, dt.date]]:
    """The dates the sync sensor asks of a never-synced daily chart, by its own rules."""
    client = resources_from_env(resolved=True)["soundcharts"].get()
    days = rules.lookback_days("daily")
    since = max(today - dt.timedelta(days=days), first_day())
    ranges = {}
    for slug in CHARTS:
        available = client.available_rankings(slug, since=since).dates
        due = rules.due_dates(available, set(), today, first_day(), recent_days=days)
        (span,) = rules.date_ranges(due, set())
        ranges[slug] = span
    return ranges


def subscribe(wh: Warehouse) -> None:
    client = resources_from_env(resolved=True)["soundcharts"].get()
    wh.migrate()
    for slug in CHARTS:
        subscriptions.add(wh, client, slug)


def digests(wh: Warehouse) -> dict[str, tuple[int, str]]:
    """(rows, md5 of every row's columns but timestamps) of each data table."""
    out = {}
    for table in DATA_TABLES:
        columns = wh.read_frame(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = :s AND table_name = :t ORDER BY ordinal_position",
            {"s": SCHEMA, "t": table},
        )
        types = zip(columns.column_name, columns.data_type, strict=True)
        kept = [c for c, t in types if "timestamp" not in t]
        row = ", ".join(f'"{c}"' for c in kept)
        frame = wh.read_frame(
            f"SELECT count(*) AS n, md5(coalesce(string_agg(r, E'\\n' ORDER BY r), '')) AS d "
            f"FROM (SELECT ROW({row})::text AS r FROM {SCHEMA}.{table}) rows"
        )
        out[table] = (int(frame.n[0]), frame.d[0])
    return out


def stored_dates(wh: Warehouse) -> dict[str, list[dt.date]]:
    frame = wh.read_frame(
        f"SELECT chart_slug, ranking_date FROM {SCHEMA}.chart_rankings ORDER BY 1, 2"
    )
    out: dict[str, list[dt.date]] = {}
    for slug, date in zip(frame.chart_slug, frame.ranking_date, strict=True):
        out.setdefault(slug, []).append(pd_date(date))
    return out


def pd_date(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def converged(instance: dg.DagsterInstance, wh: Warehouse, expected) -> bool:
    """Every due date stored, nothing queued or running, and an analytics build that started
    after the last successful sync run ended."""
    want = {
        slug: [a + dt.timedelta(days=i) for i in range((b - a).days + 1)]
        for slug, (a, b) in expected.items()
    }
    return stored_dates(wh) == want and analytics_after_last_sync(instance)


def test_topology_syncs_through_faults_and_isolates_runs(pg_database, tmp_path, monkeypatch):
    started = time.monotonic()
    today = rules.utcnow().date()
    for name in [n for n in os.environ if n.startswith(("MUSICCHARTS_", "SOUNDCHARTS_"))]:
        monkeypatch.delenv(name)  # the in-process simulator, for the reference and the seed
    admin = admin_connection()
    tag = uuid.uuid4().hex[:10]
    warehouse_db, reference_db = f"mc_test_{tag}_wh", f"mc_test_{tag}_ref"
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{warehouse_db}"')
        cur.execute(f'CREATE DATABASE "{reference_db}"')
    url = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{warehouse_db}"
    reference_url = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{reference_db}"
    wh = Warehouse(url)
    notes: list[str] = []

    def note(text: str) -> None:
        notes.append(f"[{time.monotonic() - started:5.0f} s] {text}")
        print(notes[-1], flush=True)

    try:
        home = tmp_path / "dagster_home"
        home.mkdir()
        shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")  # verbatim: the production file
        dashboard = tmp_path / "dashboard.html"
        topo = Topology(home, pg_database, url, dashboard)
        for key, value in topo.instance_env.items():
            monkeypatch.setenv(key, value)
        expected = expected_ranges(today)
        subscribe(wh)
        with dg.DagsterInstance.get() as instance:
            topo.instance = instance
            # as `make topology` does: set once, not left to the first runs to create lazily
            instance.event_log_storage.set_concurrency_slots("soundcharts_api", 4)
            try:
                for component in topo.components:
                    component.start()
                note(f"started code server :{topo.code_port}, webserver :{topo.web_port}, daemon")
                _faults(topo, instance, wh, expected, [warehouse_db, pg_database], note)
            finally:
                topo.stop()
            _check_runs(instance, note)
        marts = wh.read_frame(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'analytics' AND table_type = 'BASE TABLE' ORDER BY 1"
        ).table_name
        counts = {t: wh.scalar(f'SELECT count(*) FROM analytics."{t}"') for t in marts}
        note(f"dbt tables in analytics: {counts}")
        assert counts and sum(counts.values()) > 0

        # the clean run to compare with: the same charts and dates, in process, no fault
        reference = Warehouse(reference_url)
        subscribe(reference)
        with dg.DagsterInstance.ephemeral() as clean:
            resources = {
                "warehouse": WarehouseResource(url=reference_url),
                "soundcharts": SoundChartsResource(),
            }
            for slug, (start, end) in expected.items():
                assert materialize_chart(resources, clean, slug, start, end).success
        got, want = digests(wh), digests(reference)
        reference.engine.dispose()
        for table in DATA_TABLES:
            note(f"{table}: {got[table][0]} rows (clean run {want[table][0]})")
        assert got == want, {t: (got[t], want[t]) for t in DATA_TABLES if got[t] != want[t]}
        assert rules.utcnow().date() == today, "the test crossed midnight UTC: run it again"
        note(f"total {time.monotonic() - started:.0f} s")
    finally:
        wh.engine.dispose()
        with admin.cursor() as cur:
            for db in (warehouse_db, reference_db):
                cur.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        admin.close()


def _runs(instance, job=None, statuses=None) -> list[dg.DagsterRun]:
    return [
        r
        for r in instance.get_runs()
        if (job is None or r.job_name == job) and (statuses is None or r.status in statuses)
    ]


def _faults(topo: Topology, instance, wh, expected, databases, note) -> None:
    first_dashboard = Path(topo.code_env["MUSICCHARTS_DASHBOARD_PATH"])
    moved_dashboard = first_dashboard.parent / "moved" / "dashboard.html"
    # the sensors start on their own: the sync sensor requests one run per chart
    sync_runs = wait_for(
        "the sync sensor's first runs",
        lambda: len(s := _runs(instance, "chart_sync")) == len(CHARTS) and s,
        300,
        topo,
        poll=0.2,
    )
    cursor = wait_for(
        "the sync sensor's tick to store its cursor",
        lambda: (
            (c := sensor_cursor(instance, "chart_sync_sensor"))
            and set(json.loads(c)["charts"]) == set(CHARTS)
            and c
        ),
        120,
        topo,
        poll=0.2,
    )
    note(f"sync runs requested: {[(r.run_id[:8], r.status.value) for r in sync_runs]}")

    # 1. the daemon dies; a run launched meanwhile waits in the queue
    topo.daemon.kill(signal.SIGKILL)
    note(f"daemon SIGKILLed; runs: {run_summary(instance)}")
    queued = wait_for(
        "the webserver to take a run",
        lambda: topo.graphql.submit_job_execution(
            "refresh_stale_job", repository_location_name=LOCATION, repository_name=REPOSITORY
        ),
        120,
        topo,
    )
    # created QUEUED by the webserver; only the (dead) daemon's run queue could dequeue it
    wait_for(
        "the run to be queued",
        lambda: instance.get_run_by_id(queued).status == dg.DagsterRunStatus.QUEUED,
        30,
        topo,
        poll=0.2,
    )
    note(f"run {queued[:8]} launched through the webserver while the daemon is down: QUEUED")
    topo.daemon.start()
    note("daemon restarted")

    # 2. the code server dies mid-run, and comes back with changed definitions (run isolation)
    description = """{ assetNodeOrError(assetKey: {path: ["chart_rankings"]}) {
        ... on AssetNode { partitionDefinition { description } } } }"""
    before = topo.query(description)["assetNodeOrError"]["partitionDefinition"]["description"]
    assert "2025-01-01" in before, before
    victim = wait_for(
        "a sync run executing",
        lambda: _runs(instance, "chart_sync", {dg.DagsterRunStatus.STARTED}),
        300,
        topo,
        poll=0.2,
    )[0]
    launching = {
        dg.DagsterRunStatus.QUEUED,
        dg.DagsterRunStatus.NOT_STARTED,
        dg.DagsterRunStatus.STARTING,
    }
    # killed mid-step, and not while the queued run is being launched: a launch cut here leaves
    # a retry that the PostgreSQL outage below can refuse (Dagster does not retry a refused retry)
    wait_for(
        "the sync run's first step to start and the queued run launched",
        lambda: (
            instance.get_records_for_run(
                victim.run_id, of_type=dg.DagsterEventType.STEP_START, limit=1
            ).records
            and instance.get_run_by_id(queued).status not in launching
        ),
        120,
        topo,
        poll=0.2,
    )
    topo.code_server.kill(signal.SIGKILL, whole_group=False)
    note(f"code server SIGKILLed while {victim.run_id[:8]} executes: {run_summary(instance)}")
    topo.code_server.env = {
        **topo.code_env,
        "MUSICCHARTS_PARTITION_START": "2025-02-01",
        "MUSICCHARTS_DASHBOARD_PATH": str(moved_dashboard),
    }
    topo.code_server.start()
    wait_for("the restarted code server", topo.code_server_answers, 180, topo)
    daemon_pid, daemon_starts = topo.daemon.pid, topo.daemon.starts
    wait_for(
        "the webserver to reload the code location",
        lambda: topo.graphql.reload_repository_location(LOCATION).status.value == "SUCCESS",
        120,
        topo,
        poll=2,
    )
    after = topo.query(description)["assetNodeOrError"]["partitionDefinition"]["description"]
    assert "2025-02-01" in after, after
    note(f"code server back with MUSICCHARTS_PARTITION_START=2025-02-01; webserver: {after!r}")

    # 3. PostgreSQL restarts mid-sync: every backend of both databases terminated, repeatedly
    running = wait_for(
        "a sync or analytics run executing",
        lambda: [
            r
            for r in _runs(instance, None, {dg.DagsterRunStatus.STARTED})
            if r.job_name in ("chart_sync", "analytics")
        ],
        300,
        topo,
        poll=0.2,
    )
    terminated = terminate_backends(databases, PG_OUTAGE_SECONDS)
    note(
        f"PostgreSQL outage: {terminated} backends terminated over {PG_OUTAGE_SECONDS} s while "
        f"{[(r.run_id[:8], r.job_name) for r in running]} executed"
    )

    # 4. the webserver restarts: the runs are all still there
    before = len(wait_for("the run list", instance.get_runs, 60, topo))
    topo.webserver.stop()
    topo.webserver.start()
    shown = wait_for(
        "the restarted webserver",
        lambda: topo.query("{ runsOrError { ... on Runs { count } } }")["runsOrError"]["count"],
        120,
        topo,
    )
    assert shown >= before
    note(f"webserver restarted: shows {shown} runs (stored before the restart: {before})")

    wait_for("the warehouse to converge", lambda: converged(instance, wh, expected), 600, topo)
    note(f"converged; runs: {run_summary(instance)}")
    # the run queued while the daemon was down started, and it (or its retry) succeeded
    _, group = instance.get_run_group(queued)
    assert any(r.is_success for r in group), [(r.run_id[:8], r.status.value) for r in group]
    # the sync sensor's cursor is the one stored before the daemon died: no chart re-checked
    assert sensor_cursor(instance, "chart_sync_sensor") == cursor
    # the analytics run, launched by the daemon (not restarted since the code server was), ran
    # in the restarted code server's environment: the dashboard is where that one says
    assert moved_dashboard.exists() and not first_dashboard.exists()
    assert (topo.daemon.pid, topo.daemon.starts) == (daemon_pid, daemon_starts)
    note(f"the dashboard was written to {moved_dashboard.parent.name}/{moved_dashboard.name}")


def _check_runs(instance, note) -> None:
    """No run requested twice: one run per run key, and one sync request per chart. A retry is
    a new run of a failed one (it carries its parent's tags, run key included)."""
    runs = instance.get_runs()
    requested = [r for r in runs if "dagster/parent_run_id" not in r.tags]
    keys = [r.tags["dagster/run_key"] for r in requested if "dagster/run_key" in r.tags]
    assert len(keys) == len(set(keys)), sorted(keys)
    sync_keys = [k for k in keys if k.startswith("sync:")]
    assert sorted(k.split(":")[1] for k in sync_keys) == sorted(CHARTS), sync_keys
    for retry in [r for r in runs if "dagster/parent_run_id" in r.tags]:
        parent = instance.get_run_by_id(retry.tags["dagster/parent_run_id"])
        assert parent.status == dg.DagsterRunStatus.FAILURE, (retry.run_id, parent.status)
    for run in sorted(runs, key=lambda r: r.run_id):
        parent = run.tags.get("dagster/parent_run_id")
        note(
            f"run {run.run_id[:8]} {run.job_name} {run.status.value}"
            + (f" key={run.tags['dagster/run_key']}" if "dagster/run_key" in run.tags else "")
            + (f" retry of {parent[:8]}" if parent else "")
            + (f": {failure_reason(instance, run.run_id)}" if run.is_failure else "")
        )


def test_the_supervised_topology_restarts_what_dies_and_stops_on_sigterm(pg_database, tmp_path):
    """`deploy/topology.sh all` started by a script (its own session, no terminal): the daemon
    killed is restarted with a log line; SIGTERM to the script stops everything in 30 s."""
    admin = admin_connection()
    warehouse_db = f"mc_test_{uuid.uuid4().hex[:10]}_wh"
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{warehouse_db}"')
    url = f"postgresql+psycopg2://postgres@127.0.0.1:5432/{warehouse_db}"
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    topo = Topology(home, pg_database, url, tmp_path / "dashboard.html")
    log = tmp_path / "topology.log"
    script = None
    try:
        subprocess.run(
            [str(SCRIPT), "prepare"], env=topo.code_env, cwd=ROOT, check=True, capture_output=True
        )
        with log.open("w") as out:
            script = subprocess.Popen(
                [str(SCRIPT), "all"],
                env=topo.code_env,
                cwd=ROOT,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        deadline = time.monotonic() + 240
        daemon = None
        while daemon is None or not _webserver_answers(topo.web_port):
            assert script.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            daemon = component_pid(script.pid, "dagster-daemon")
            time.sleep(1)
        os.kill(daemon, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while (again := component_pid(script.pid, "dagster-daemon")) in (None, daemon):
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        assert "topology: daemon exited (status 137); restarting it in 1s" in log.read_text()
        groups = [script.pid, *children(script.pid)]
        stopping = time.monotonic()
        script.send_signal(signal.SIGTERM)
        script.wait(40)
        took = time.monotonic() - stopping
        alive = [
            pid
            for pid in (again, *groups)
            if Path(f"/proc/{pid}").exists()
            and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()
        ]
        print(f"supervised topology: daemon restarted as {again}; stopped in {took:.1f} s")
        assert took < 30 and alive == [], (took, alive, log.read_text()[-3000:])
    finally:
        if script is not None and script.poll() is None:
            os.killpg(script.pid, signal.SIGKILL)
        for group in [script.pid] + children(script.pid) if script else []:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{warehouse_db}" WITH (FORCE)')
        admin.close()


def _webserver_answers(port: int) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False
