"""The production topology (`deploy/topology.sh`) as ordinary processes on loopback, for the
topology tests and the fault drill (benchmarks/drill.py): its components, the instance they
share, and waiting on conditions with a deadline."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import psycopg2
import requests
from dagster._grpc.client import DagsterGrpcClient
from dagster_graphql import DagsterGraphQLClient

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "deploy" / "topology.sh"
LOCATION = "musiccharts"
REPOSITORY = "__repository__"
NOT_FINISHED = {
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
}
FAILURE_EVENTS = (
    dg.DagsterEventType.STEP_FAILURE,
    dg.DagsterEventType.RUN_FAILURE,
    dg.DagsterEventType.ENGINE_EVENT,
)
#: Seconds PostgreSQL's backends of this test's databases are terminated for, over and over.
PG_OUTAGE_SECONDS = 5
#: Variables of the project that the test's own environment must not leak into the processes.
PROJECT_PREFIXES = ("MUSICCHARTS_", "SOUNDCHARTS_", "DAGSTER_")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Component:
    """One process of the topology (`deploy/topology.sh NAME`), in its own process group."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path):
        self.name, self.env, self.log = name, env, log_dir / f"{name}.log"
        self.proc: subprocess.Popen | None = None
        self.groups: list[int] = []
        self.starts = 0

    def start(self) -> None:
        with self.log.open("a") as log:
            log.write(f"\n=== start {self.starts + 1} ===\n")
            log.flush()
            self.proc = subprocess.Popen(
                [str(SCRIPT), self.name],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.groups.append(self.proc.pid)
        self.starts += 1

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill(self, sig: int = signal.SIGKILL, whole_group: bool = True) -> None:
        """``sig`` to the process (``whole_group``: and to every process it started)."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            (os.killpg if whole_group else os.kill)(self.proc.pid, sig)
        self.proc.wait(timeout=60)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL, to every process group this component ever started (a killed
        code server leaves its gRPC child and run workers behind in its group)."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=30)
        for group in self.groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=30)

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.name} log (last {lines} lines) ---\n" + "\n".join(
            text.splitlines()[-lines:]
        )


class Topology:
    def __init__(
        self,
        home: Path,
        storage_db: str,
        warehouse_url: str,
        dashboard: Path,
        extra_env: dict[str, str] | None = None,
    ):
        """``extra_env``: more of the code server's environment (the API it calls)."""
        self.home = home
        self.code_port, self.web_port = free_port(), free_port()
        base = {k: v for k, v in os.environ.items() if not k.startswith(PROJECT_PREFIXES)}
        instance_env = {
            "DAGSTER_HOME": str(home),
            "DAGSTER_POSTGRES_HOST": "127.0.0.1",
            "DAGSTER_POSTGRES_PORT": "5432",
            "DAGSTER_POSTGRES_USER": "postgres",
            "DAGSTER_POSTGRES_PASSWORD": "",
            "DAGSTER_POSTGRES_DB": storage_db,
            "MUSICCHARTS_CODE_SERVER_HOST": "127.0.0.1",
            "MUSICCHARTS_CODE_SERVER_PORT": str(self.code_port),
            "MUSICCHARTS_WEBSERVER_PORT": str(self.web_port),
            "VENV": str(Path(sys.executable).parent.parent),
        }
        self.instance_env = instance_env
        # the daemon and the webserver could not import the definitions even if they tried
        outside = {**base, **instance_env, "MUSICCHARTS_PARTITION_START": "not-a-date"}
        self.code_env = {
            **base,
            **instance_env,
            "MUSICCHARTS_WAREHOUSE_URL": warehouse_url,
            "MUSICCHARTS_DASHBOARD_PATH": str(dashboard),
            "MUSICCHARTS_DAGSTER_URL": f"http://127.0.0.1:{self.web_port}",
            **(extra_env or {}),
        }
        self.code_server = Component("code-server", self.code_env, home)
        self.webserver = Component("webserver", outside, home)
        self.daemon = Component("daemon", outside, home)
        self.graphql = DagsterGraphQLClient("127.0.0.1", port_number=self.web_port, timeout=60)
        self.instance: dg.DagsterInstance | None = None

    @property
    def components(self) -> list[Component]:
        return [self.code_server, self.webserver, self.daemon]

    def stop(self) -> None:
        for component in reversed(self.components):
            component.stop()

    def logs(self) -> str:
        return "\n".join(c.tail() for c in self.components)

    def code_server_answers(self) -> bool:
        """The proxy serves once its gRPC child has loaded the definitions."""
        return DagsterGrpcClient(port=self.code_port, host="127.0.0.1").ping("up") is not None

    def query(self, text: str, variables: dict | None = None) -> dict:
        response = requests.post(
            f"http://127.0.0.1:{self.web_port}/graphql",
            json={"query": text, "variables": variables or {}},
            timeout=60,
        )
        response.raise_for_status()
        body = response.json()
        assert "errors" not in body, body
        return body["data"]


def wait_for(what: str, check: Callable[[], object], timeout: float, topology=None, poll=1.0):
    """Polls ``check`` until it returns something truthy; transient errors (the PostgreSQL
    outage) are retried. Fails with the last error, the runs and the components' logs."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # noqa: BLE001 - retried until the deadline, then reported
            last_error = exc
        time.sleep(poll)
    details = f"last error: {last_error!r}\n" if last_error else ""
    if topology is not None:
        details += f"runs: {run_summary(topology.instance)}\n{topology.logs()}"
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{details}")


def run_summary(instance: dg.DagsterInstance) -> list[tuple]:
    try:
        records = instance.get_run_records()
    except Exception as exc:  # noqa: BLE001 - only for a failure message
        return [f"runs unreadable: {exc!r}"]
    return [
        (
            r.dagster_run.run_id[:8],
            r.dagster_run.job_name,
            r.dagster_run.status.value,
            r.dagster_run.tags.get("dagster/run_key")
            or r.dagster_run.tags.get("dagster/parent_run_id", "")[:8],
        )
        for r in sorted(records, key=lambda r: r.create_timestamp)
    ]


def sensor_cursor(instance: dg.DagsterInstance, name: str) -> str | None:
    for state in instance.all_instigator_state():  # sensors and schedules share one namespace
        if state.name == name:
            return state.instigator_data.cursor if state.instigator_data else None
    return None


def terminate_backends(databases: list[str], seconds: float) -> int:
    """PostgreSQL's restart, as every client sees it, without touching the shared server:
    every backend connected to ``databases`` is terminated, repeatedly, for ``seconds``."""
    admin = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
    admin.autocommit = True
    terminated = 0
    deadline = time.monotonic() + seconds
    try:
        with admin.cursor() as cur:
            while time.monotonic() < deadline:
                cur.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = ANY(%s) AND pid <> pg_backend_pid()",
                    (databases,),
                )
                terminated += cur.fetchone()[0]
                time.sleep(0.1)
    finally:
        admin.close()
    return terminated


def failure_reason(instance, run_id: str) -> str:
    """The run's own account of its failure: the last error or engine message it logged."""
    reasons = []
    for record in instance.get_records_for_run(run_id, of_type=set(FAILURE_EVENTS)).records:
        event = record.event_log_entry.dagster_event
        error = getattr(event.event_specific_data, "error", None)
        if error is not None:
            reasons.append(error.message.strip().splitlines()[-1])
            if error.cause is not None:
                reasons.append(error.cause.message.strip().splitlines()[0])
        elif event.message and any(
            w in event.message for w in ("unexpected", "ailed", "timed out")
        ):
            reasons.append(event.message)
    return " / ".join(reasons[-3:])[:400]


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def component_pid(script: int, marker: str) -> int | None:
    """The pid of the component whose command line holds ``marker``, under a supervisor."""
    for supervisor in children(script):
        for child in children(supervisor):
            if marker in cmdline(child):
                return child
    return None


def analytics_after_last_sync(instance: dg.DagsterInstance) -> bool:
    """No run in flight, and a successful analytics build started after the last successful
    sync run ended (the marts follow the data)."""
    records = instance.get_run_records()
    if any(r.dagster_run.status in NOT_FINISHED for r in records):
        return False
    synced = [
        r.end_time or 0
        for r in records
        if r.dagster_run.job_name == "chart_sync" and r.dagster_run.is_success
    ]
    built = [
        r.start_time or 0
        for r in records
        if r.dagster_run.job_name == "analytics" and r.dagster_run.is_success
    ]
    return bool(synced and built) and max(built) > max(synced)
