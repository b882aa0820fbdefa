"""SIGINT and SIGTERM to `kaltura-conformance run` while clients run (issue 12 row 6):
every client stops first (children in sessions of their own too), the reports of the
finished cases are written, marked interrupted, and the run exits 128 + the signal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

# The first three calls fail at once (finished cases); the later ones start a child in a
# session of its own and hang. Every pid goes to $PIDS.
CLIENT = """
echo x >> "$CALLS"
if [ "$(wc -l < "$CALLS")" -le 3 ]; then exit 1; fi
echo $$ >> "$PIDS"
setsid sh -c 'echo $$ >> "$PIDS"; exec sleep 97' &
exec sleep 97
"""
HANGING = 2  # pids in $PIDS: a hanging client and its child
# Processes, signals and whole runs: the e2e tier (README: run it with `-m e2e`).
pytestmark = pytest.mark.e2e


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def pids(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


@pytest.mark.parametrize(
    ("signum", "workers"),
    [(signal.SIGTERM, None), (signal.SIGINT, None), (signal.SIGTERM, "0")],
    ids=["sigterm-xdist", "sigint-xdist", "sigterm-one-process"],
)
def test_a_signal_stops_the_clients_then_reports_the_finished_cases(
    tmp_path: Path, signum: int, workers: str | None
) -> None:
    script = tmp_path / "client.sh"
    script.write_text(CLIENT)
    env = {**os.environ, "CALLS": str(tmp_path / "calls"), "PIDS": str(tmp_path / "pids")}
    command = [sys.executable, "-m", "conformance.cli", "run", "--profile", "quick"]
    command += ["--client-cmd", f"sh {script}", "--client-chunk-size", "1000"]
    command += ["--time-limit", "600", "--report-dir", "out", "--no-shrink"]
    command += [] if workers is None else ["-n", workers]
    run = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 120
        while len(pids(tmp_path / "pids")) < HANGING:
            assert run.poll() is None, run.communicate()[0].decode()[-3000:]
            assert time.monotonic() < deadline, "the clients never started"
            time.sleep(0.1)
        run.send_signal(signum)
        output, _ = run.communicate(timeout=120)  # hung clients: 600 s each
    finally:
        if run.poll() is None:
            run.kill()
    text = output.decode()
    assert run.returncode == 128 + signum, text[-3000:]
    assert not [pid for pid in pids(tmp_path / "pids") if alive(pid)]
    document = json.loads((tmp_path / "out" / "results.json").read_text())
    assert document["run"]["interrupted"] is True
    details = [case["client"]["detail"] for case in document["cases"]]
    assert all(detail.startswith("exit code 1") for detail in details), details
    assert "interrupted" in (tmp_path / "out" / "summary.md").read_text()
    assert "INTERRUPTED" in text


def test_a_run_interrupted_before_any_case_finished_still_reports(tmp_path: Path) -> None:
    """Every client hangs from its first call: no finished case reaches the controller,
    and the reports still say the run was interrupted (they once were not written)."""
    script = tmp_path / "client.sh"
    script.write_text('echo $$ >> "$PIDS"\nexec sleep 97\n')
    env = {**os.environ, "PIDS": str(tmp_path / "pids")}
    command = [sys.executable, "-m", "conformance.cli", "run", "--profile", "quick"]
    command += ["--client-cmd", f"sh {script}", "--client-chunk-size", "1000"]
    command += ["--time-limit", "600", "--report-dir", "out", "--requirements", "UT-C13"]
    run = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 120
        while not pids(tmp_path / "pids"):
            assert run.poll() is None, run.communicate()[0].decode()[-3000:]
            assert time.monotonic() < deadline, "the client never started"
            time.sleep(0.1)
        run.send_signal(signal.SIGTERM)
        output, _ = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 128 + signal.SIGTERM, output.decode()[-3000:]
    document = json.loads((tmp_path / "out" / "results.json").read_text())
    assert document["run"]["interrupted"] is True
    assert document["cases"] == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_a_signal_during_the_probe_while_workers_start_still_reports(
    tmp_path: Path, signum: int
) -> None:
    """The chunk-size probe runs while xdist starts its workers (`suite.handoff`): a
    signal then stops the probe's client at once and reaches the workers once they are up
    (one sent to a worker still starting would kill xdist's start-up: no reports)."""
    script = tmp_path / "client.sh"
    script.write_text('echo $$ >> "$PIDS"\nexec sleep 97\n')
    env = {**os.environ, "PIDS": str(tmp_path / "pids")}
    command = [sys.executable, "-m", "conformance.cli", "run", "--profile", "quick"]
    command += ["--client-cmd", f"sh {script}", "--report-dir", "out"]
    run = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 120
        while not pids(tmp_path / "pids"):  # the probe's client: workers are starting
            assert run.poll() is None, run.communicate()[0].decode()[-3000:]
            assert time.monotonic() < deadline, "the probe never started the client"
            time.sleep(0.05)
        run.send_signal(signum)
        output, _ = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
    text = output.decode()
    assert run.returncode == 128 + signum, text[-3000:]
    assert "INTERNALERROR" not in text
    assert not [pid for pid in pids(tmp_path / "pids") if alive(pid)]
    document = json.loads((tmp_path / "out" / "results.json").read_text())
    assert document["run"]["interrupted"] is True
    assert document["cases"] == []  # the probe's client was stopped, not judged
