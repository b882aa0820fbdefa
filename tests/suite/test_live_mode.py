"""Live mode end to end, through exactly the code path a real account uses: the server
under test runs as a separate process (`kaltura-conformance serve`, or a mutant server),
and `pytest --pyargs conformance.suite --kaltura-service-url …` judges it from outside.

The reference server passes every UT-S requirement; each mutant server fails with its
own requirement ID (and only the consequences `tests/server/mutant_servers.py` lists).
Every token a run made is gone afterwards, also when the run is interrupted.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from mutant_servers import MUTANTS
from served import Served, mutant_server, reference_server, serving

REPORT_FILES = {"results.json", "summary.md", "junit.xml", "results.html"}
FAST = ("--kaltura-slow-closes", "--kaltura-max-rps", "1000")  # our server waits 0.2 s
# Processes, signals and whole runs: the e2e tier (README: run it with `-m e2e`).
pytestmark = pytest.mark.e2e


def _suite(served: Served, report_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        "-c",
        os.devnull,
        "-p",
        "no:cacheprovider",
        "--pyargs",
        "conformance.suite",
        *served.pytest_options(),
        "--kaltura-report-dir",
        str(report_dir),
        "-q",
        *extra,
    ]


def _run(command: list[str], timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "KALTURA_"))}
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, check=False, env=env
    )


def _verdicts(report_dir: Path) -> dict[str, str]:
    document: dict[str, Any] = json.loads((report_dir / "results.json").read_text())
    assert document["run"]["direction"] == "server"
    return {row["id"]: row["verdict"] for row in document["requirements"]}


def test_the_reference_server_passes_every_server_requirement(tmp_path: Path) -> None:
    with serving(reference_server()) as served:
        done = _run(_suite(served, tmp_path, *FAST))
        left = served.token_names()
    assert done.returncode == 0, done.stdout[-3000:]
    found = _verdicts(tmp_path)
    assert sorted(found) == [f"UT-S{n:02d}" for n in range(1, 15)]
    assert set(found.values()) == {"PASS"}, found
    assert {p.name for p in tmp_path.iterdir()} == REPORT_FILES
    for report in tmp_path.iterdir():
        assert served.admin_secret not in report.read_text(), report.name
    assert served.admin_secret not in done.stdout + done.stderr
    assert f"conformance, server {served.url} partner {served.partner_id}" in done.stdout
    assert not left, f"tokens left on the account: {left}"


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_each_mutant_server_fails_with_its_requirement(name: str, tmp_path: Path) -> None:
    mutant = MUTANTS[name]
    with serving(mutant_server(name)) as served:
        # The fixed checks only: their exact verdicts are known for every mutant; the
        # life-cycle machine's catches are in tests/server/test_machine.py.
        done = _run(_suite(served, tmp_path, *FAST, "-k", "not lifecycle"))
    assert done.returncode == 1, done.stdout[-3000:]
    found = _verdicts(tmp_path)
    failing = {rid for rid, verdict in found.items() if verdict in ("FAIL", "NON-STRICT")}
    assert mutant.target in failing, done.stdout[-3000:]
    assert mutant.explains(failing), done.stdout[-3000:]
    assert f"{mutant.target} FAIL" in done.stdout


def test_the_life_cycle_machine_runs_live_and_finds_a_mutant(tmp_path: Path) -> None:
    machine = ("-k", "lifecycle", "--hypothesis-seed", "3")
    with serving(reference_server()) as served:
        passed = _run(_suite(served, tmp_path / "ref", *FAST, *machine))
    with serving(mutant_server("duplicate-close")) as served:
        caught = _run(_suite(served, tmp_path / "dup", *FAST, *machine))
    assert passed.returncode == 0, passed.stdout[-3000:]
    assert "PASS" in set(_verdicts(tmp_path / "ref").values())
    assert caught.returncode == 1, caught.stdout[-3000:]
    assert _verdicts(tmp_path / "dup")["UT-S09"] == "FAIL"
    # The default budget runs out while shrinking: the failing sequence's requests instead.
    assert "the sequence's requests:" in caught.stdout
    assert "request budget used up" in caught.stdout
    assert "--kaltura-max-requests in pytest: now 3000" in caught.stdout


class _OddAnswers(BaseHTTPRequestHandler):
    """A service whose session works and whose every other answer is a bare number."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = b'"a-ks-of-the-odd-server"' if "/service/session/" in self.path else b"42"
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Quiet."""


def test_a_check_the_suite_cannot_run_is_a_harness_error_not_a_verdict(tmp_path: Path) -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), _OddAnswers) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        served = Served(f"http://127.0.0.1:{server.server_port}", "100", "odd-admin-secret")
        done = _run(_suite(served, tmp_path, *FAST, "-k", "UT_S01 or lifecycle"))
        server.shutdown()
    assert done.returncode == 1, done.stdout[-3000:]
    found = _verdicts(tmp_path)
    assert found["UT-S01"] == "HARNESS-ERROR", found
    assert found["UT-S14"] == "HARNESS-ERROR", found  # the machine's, from its first add
    document = json.loads((tmp_path / "results.json").read_text())
    assert document["summary"]["harness_errors"] == 2
    assert "uploadToken.add answered 42" in json.dumps(document["cases"])  # the suite's error
    for report in tmp_path.iterdir():
        assert "odd-admin-secret" not in report.read_text(), report.name
        assert "a-ks-of-the-odd-server" not in report.read_text(), report.name


def test_without_slow_closes_the_early_close_checks_say_how_to_run_them(tmp_path: Path) -> None:
    with serving(reference_server()) as served:
        done = _run(_suite(served, tmp_path, "--kaltura-max-rps", "1000", "-rs"))
    assert done.returncode == 0, done.stdout[-3000:]
    # The fixed early-close checks skip; the life-cycle machine sends no close the model
    # says a server would hold (it may still reach UT-S06/UT-S08 without a wait).
    assert _verdicts(tmp_path)["UT-S05"] == "NOT-EXERCISED"
    for rid in ("UT-S05", "UT-S06", "UT-S08"):
        assert f"{rid} waits out the server's close wait: run it with --kaltura-slow-closes" in (
            done.stdout
        )


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_stopped_run_still_deletes_its_tokens(stop: signal.Signals, tmp_path: Path) -> None:
    with serving(reference_server()) as served:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "KALTURA_"))}
        slow = _suite(served, tmp_path, "--kaltura-slow-closes", "--kaltura-max-rps", "20")
        process = subprocess.Popen(slow, stdout=subprocess.PIPE, text=True, env=env)
        try:
            deadline = time.monotonic() + 60
            while not _ours(served):
                assert time.monotonic() < deadline, "the run never created a token"
                time.sleep(0.05)
            process.send_signal(stop)
        finally:
            process.communicate(timeout=60)
        assert _ours(served) == []


def _ours(served: Served) -> list[str]:
    return [name for name in served.token_names() if name.startswith("kuc-")]


def test_a_request_budget_stops_the_run_without_going_over(tmp_path: Path) -> None:
    with serving(reference_server()) as served:
        done = _run(_suite(served, tmp_path, *FAST, "--kaltura-max-requests", "40", "-rs"))
        left = served.token_names()
    assert "request budget used up" in done.stdout
    assert "--kaltura-max-requests in pytest: now 40" in done.stdout
    assert not left, f"tokens left on the account: {left}"


# A client on a live account (through the proxy: tests/suite/test_live_client.py has the
# rest), in the quick profile: a claim of success without an upload is a FAIL there too.
CLIENT = (*FAST, "--kaltura-profile", "quick")


def _client_verdicts(report_dir: Path) -> dict[str, str]:
    document: dict[str, Any] = json.loads((report_dir / "results.json").read_text())
    assert document["run"]["direction"] == "client"
    return {row["id"]: row["verdict"] for row in document["requirements"]}


def test_a_client_that_claims_success_without_uploading_fails_on_a_live_account(
    tmp_path: Path,
) -> None:
    with serving(reference_server()) as served:
        done = _run(_suite(served, tmp_path, *CLIENT, "--client-cmd", "true {file}"))
    assert done.returncode == 1, done.stdout[-3000:]
    assert _client_verdicts(tmp_path)["UT-C14"] == "FAIL"
    assert re.search(r"UT-C14\s+MUST\s+FAIL", done.stdout), done.stdout[-3000:]


def _cli(*options: str) -> subprocess.CompletedProcess[str]:
    return _run([sys.executable, "-m", "conformance.cli", "run", *options], timeout=120)


def test_the_cli_runs_server_conformance_with_the_same_options(tmp_path: Path) -> None:
    with serving(reference_server()) as served:
        live = served.options()
        report = ["--report-dir", str(tmp_path)]
        done = _cli(*live, "--slow-closes", "--max-rps", "1000", *report)
        elsewhere = ["--report-dir", str(tmp_path / "refused")]
        refused = _cli("--service-url", served.url, "--ks", "not-a-ks", *elsewhere)
        wrong = _cli("--service-url", served.url, "--ks", "k", "--max-rps", "0")
    assert done.returncode == 0, done.stdout[-3000:]
    assert set(_verdicts(tmp_path).values()) == {"PASS"}
    assert refused.returncode == 3
    assert "the KS given for" in refused.stdout + refused.stderr
    assert "not-a-ks" not in refused.stdout + refused.stderr
    assert (wrong.returncode, wrong.stdout.strip()) == (
        2,
        "kaltura-conformance run: error: --max-rps=0.0: must be > 0",
    )
