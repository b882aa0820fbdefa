"""Client process hygiene: everything a client command starts ends with its case, and a
case ends within its time limit (plus a second) whatever the client leaves behind."""

from __future__ import annotations

import shlex
import signal
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from conformance.clients import processes
from conformance.clients.runners import ClientRun, CommandClient, Job

# Generous bound on how long past its limit a case may take here (the design's is ~0.8 s;
# a loaded machine must not make this test flaky).
SLACK = 5.0
# A daemon the textbook way: fork, new session, fork again; the grandchild keeps the
# client's stdout open and sleeps; its pid goes to the file named first.
DAEMON = """
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        open(sys.argv[1], "w").write(str(os.getpid()))
        print("daemon here", flush=True)
        time.sleep(97)
    os._exit(0)
time.sleep(float(sys.argv[2]))
"""


def job(tmp_path: Path) -> Job:
    return Job(
        file=str(tmp_path / "source.bin"),
        service_url="http://127.0.0.1:9",
        partner_id=100,
        token_id="0_token",
        chunk_size=1024,
        concurrency=1,
        ks="a-ks-of-the-case",
        admin_secret="0123456789abcdef0123456789abcdef",
    )


@pytest.fixture(autouse=True)
def _run_not_stopping(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(processes, "_stopping", [])  # stop_run below must not leak


def pid_in(path: Path, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_text().strip()):
        assert time.monotonic() < deadline, f"{path} never written"
        time.sleep(0.05)
    return int(path.read_text())


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def daemon_client(tmp_path: Path, root_sleeps: float) -> tuple[CommandClient, Path]:
    script = tmp_path / "daemon.py"
    script.write_text(DAEMON)
    pidfile = tmp_path / "daemon.pid"
    command = f"{shlex.quote(sys.executable)} {script} {pidfile} {root_sleeps}"
    return CommandClient(command), pidfile


def test_a_background_child_does_not_outlive_its_client(tmp_path: Path) -> None:
    """Issue 12 row 4: `sleep 97 >/dev/null 2>&1 & exit 1` left `sleep 97` running."""
    pidfile = tmp_path / "sleep.pid"
    client = CommandClient(f"sleep 97 >/dev/null 2>&1 & echo $! > {pidfile}; exit 1")
    run = client.run(job(tmp_path), time_limit=30)
    assert not run.succeeded
    assert run.detail.startswith("exit code 1")
    assert not alive(pid_in(pidfile))


def test_a_child_that_clears_its_environment_is_stopped_by_its_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "sleep.pid"
    client = CommandClient(f"env -i sleep 97 >/dev/null 2>&1 & echo $! > {pidfile}; exit 0")
    run = client.run(job(tmp_path), time_limit=30)
    assert run.succeeded
    assert not alive(pid_in(pidfile))


def test_a_daemon_holding_the_output_does_not_hold_the_case_past_its_limit(
    tmp_path: Path,
) -> None:
    """Row 5: a child in a session of its own keeps stdout open; the client hangs. The
    case ends at its limit (not when the daemon lets go) and the daemon is stopped."""
    client, pidfile = daemon_client(tmp_path, root_sleeps=97)
    limit = 2.0
    started = time.monotonic()
    run = client.run(job(tmp_path), time_limit=limit)
    took = time.monotonic() - started
    assert run.timed_out
    assert run.detail.startswith(f"stopped after {limit:g} s")
    assert "daemon here" in run.detail  # its output was read up to the end
    assert took < limit + SLACK
    assert not alive(pid_in(pidfile))


def test_a_daemon_left_behind_by_a_client_that_ended_is_stopped(tmp_path: Path) -> None:
    """The client exits at once; its daemon keeps the output open: the case ends with the
    client (well before its limit), and so does the daemon."""
    client, pidfile = daemon_client(tmp_path, root_sleeps=0)
    limit = 60.0
    run = client.run(job(tmp_path), time_limit=limit)
    assert run.succeeded, run.detail
    assert run.duration < limit / 2
    assert not alive(pid_in(pidfile))


def test_stopping_the_run_stops_a_running_client_and_refuses_new_ones(tmp_path: Path) -> None:
    """What SIGINT/SIGTERM do first (conformance.interrupts): clients of this process and
    of any other of the run (found by the run's marker) are stopped."""
    pidfile = tmp_path / "sleep.pid"
    client = CommandClient(f"echo $$ > {pidfile}; exec sleep 97")
    runs: list[ClientRun] = []
    thread = threading.Thread(target=lambda: runs.append(client.run(job(tmp_path), 60)))
    thread.start()
    pid = pid_in(pidfile)
    assert processes.stop_run(signal.SIGTERM) >= 1
    thread.join(30)
    assert not thread.is_alive()
    assert not alive(pid)
    assert runs[0].detail.startswith("stopped: the run was interrupted")
    assert not runs[0].timed_out
    later = client.run(job(tmp_path), 60)
    assert later.detail == "not started: the run is stopping"
