"""Long-running entry points stop on SIGTERM even when started with SIGINT and SIGTERM ignored,
as a script without job control or a supervisor starts a background job."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

SLEEPER = [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"]


def _ignoring():
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _start(argv):
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, preexec_fn=_ignoring)
    proc.stdout.readline()  # started
    return proc


def _stops_on_sigterm(proc, within: float = 10) -> bool:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=within)
        return True
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return False


def test_without_the_launcher_an_inherited_ignore_keeps_a_process_running():
    assert not _stops_on_sigterm(_start(SLEEPER), within=1)  # what the launcher is for


def test_the_launcher_restores_the_default_handling_before_exec():
    launched = _start([sys.executable, "-m", "musiccharts_pipeline.launch", *SLEEPER])
    assert _stops_on_sigterm(launched)


def test_the_simulator_server_stops_on_sigterm_whatever_it_inherited():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    argv = ["simulator", "serve", "--port", str(port)]
    proc = _start([sys.executable, "-m", "musiccharts_pipeline.cli", *argv])
    assert _stops_on_sigterm(proc)
    assert time.monotonic() - started < 30
