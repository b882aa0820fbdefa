"""A client judged on a live account, end to end: `kaltura-conformance serve` (or a mutant
server) in a process of its own stands in for the account, and the run goes through the
proxy exactly as it would in front of a real one (issue 14). The logic of each case is
tested in process (tests/proxy/test_client_through_proxy.py: the mutant clients, the
reference client case by case, the tokens made through the proxy); these few tests are
the whole processes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from served import Served, mutant_server, reference_server, serving

from conformance.content import SourceFile
from conformance.faults import Fault, FaultKind, FaultPlan, NthMiddleRequest
from conformance.scenario import ClientParams, UploadScenario

pytestmark = pytest.mark.e2e

REFERENCE = "conformance.clients.reference:run_job"
# The reference client loses the answer to its first middle and re-sends it: a mutant
# server that appends a re-sent chunk again answers a size the model does not predict.
LOST_MIDDLE = json.dumps(
    UploadScenario(
        SourceFile(4 * 8192 + 3000, 7),
        ClientParams(8192, 1),
        FaultPlan((Fault(NthMiddleRequest(1), FaultKind.DROP_AFTER_APPLY),)),
    ).to_dict()
)


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "KALTURA_"))}


def _cli(*options: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "conformance.cli", "run", *options]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, check=False, env=_env()
    )


def _live(served: Served) -> list[str]:
    return served.options()


def _document(report_dir: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((report_dir / "results.json").read_text())
    assert document["run"]["direction"] == "client"
    return document


def _verdicts(report_dir: Path) -> dict[str, str]:
    return {row["id"]: row["verdict"] for row in _document(report_dir)["requirements"]}


def test_the_reference_client_through_the_proxy_gets_the_embedded_verdict_table(
    tmp_path: Path,
) -> None:
    # Every UT-C: UT-C18's held chunks are embedded-only, its refused closes are not.
    same = ["--client", REFERENCE, "--profile", "quick", "--seed", "5", "-n", "2"]
    embedded = _cli(*same, "--report-dir", str(tmp_path / "embedded"))
    with serving(reference_server()) as served:
        fast = ["--max-rps", "1000", "--close-wait", "1"]
        proxied = _cli(*same, *_live(served), *fast, "--report-dir", str(tmp_path / "proxy"))
        left = served.token_names()
    assert embedded.returncode == 0, embedded.stdout[-3000:]
    assert proxied.returncode == 0, proxied.stdout[-3000:]
    assert _verdicts(tmp_path / "proxy") == _verdicts(tmp_path / "embedded")
    assert "PASS" in _verdicts(tmp_path / "proxy").values()
    assert f"in front of {served.url} partner {served.partner_id}" in proxied.stdout
    assert "group slow-close not run: embedded-only" in proxied.stdout
    # Our own server runs the model: a disagreement with it would be the shadow's error.
    # (Seen once on a loaded machine before the shadow knew a chunk held by the server may
    # have been written by the model; tests/proxy/test_shadow.py reproduces it.)
    assert "Server and model disagreed" not in proxied.stdout
    assert _document(tmp_path / "proxy").get("disagreements", []) == []
    for summary in ("summary.md", "results.html"):
        assert "Server and model disagreed" not in (tmp_path / "proxy" / summary).read_text()
    for report in (tmp_path / "proxy").iterdir():
        assert served.admin_secret not in report.read_text(), report.name
    assert served.admin_secret not in proxied.stdout + proxied.stderr
    assert left == [], f"tokens left on the account: {left}"


def test_a_mutant_server_is_reported_as_a_disagreement_not_a_client_failure(
    tmp_path: Path,
) -> None:
    with serving(mutant_server("resend-appended")) as served:
        done = _cli(
            "--client",
            REFERENCE,
            *_live(served),
            "--max-rps",
            "1000",
            "--replay",
            LOST_MIDDLE,
            "--report-dir",
            str(tmp_path),
        )
    assert done.returncode == 0, done.stdout[-3000:]
    assert "Server and model disagreed" in done.stdout
    set_aside = [line.strip() for line in done.stdout.splitlines() if "set aside" in line]
    assert any(" the server answered " in line for line in set_aside), done.stdout[-3000:]
    document = _document(tmp_path)
    assert document["disagreements"], document["cases"]
    assert "FAIL" not in set(_verdicts(tmp_path).values())
    assert "Server and model disagreed" in (tmp_path / "summary.md").read_text()
    assert "Server and model disagreed" in (tmp_path / "results.html").read_text()


# A client that makes a token of its own through the proxy, then takes its time.
_ADDS_AND_WAITS = (
    f'{sys.executable} -c "import httpx,sys,time; '
    "httpx.post(sys.argv[1] + '/api_v3/service/uploadToken/action/add', "
    "data=dict([('ks', sys.argv[2]), ('uploadToken:fileName', 'client-made.bin')])); "
    'time.sleep(60)" {service_url} {ks}'
)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_stopped_client_run_leaves_no_token_behind(stop: signal.Signals, tmp_path: Path) -> None:
    with serving(reference_server()) as served:
        command = [sys.executable, "-m", "conformance.cli", "run", "--client-cmd", _ADDS_AND_WAITS]
        command += [*_live(served), "--max-rps", "1000", "--report-dir", str(tmp_path), "-n", "0"]
        command += ["--client-chunk-size", "8KiB"]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=_env())
        try:
            deadline = time.monotonic() + 60
            while "client-made.bin" not in served.token_names():
                assert process.poll() is None, "the run ended before its client made a token"
                assert time.monotonic() < deadline, "the client never made a token"
                time.sleep(0.05)
            process.send_signal(stop)
        finally:
            out, _ = process.communicate(timeout=60)
        left = served.token_names()
    assert process.returncode == 128 + stop, out[-3000:]
    assert left == [], f"tokens left on the account: {left}"


def test_a_spent_budget_ends_the_cases_as_not_exercised_and_the_run_reports(
    tmp_path: Path,
) -> None:
    # Each process's budget pays for its session and a case or so; then the cases' own
    # uploadToken.add is refused, and those cases are not run rather than errors.
    with serving(reference_server()) as served:
        done = _cli(
            "--client",
            REFERENCE,
            *_live(served),
            "--max-rps",
            "1000",
            "--max-requests",
            "12",
            "--profile",
            "quick",
            "--client-chunk-size",
            "8KiB",
            "-n",
            "2",
            "--report-dir",
            str(tmp_path),
        )
        left = served.token_names()
    assert "Traceback" not in done.stdout + done.stderr, done.stdout[-3000:]
    document = _document(tmp_path)  # the reports are written and valid
    details = [case["client"]["detail"] for case in document["cases"]]
    unpaid = [d for d in details if d.startswith("not run: the case's uploadToken.add")]
    assert unpaid, details
    assert "request budget" in unpaid[0]
    for case in document["cases"]:
        if case["client"]["detail"] in unpaid:
            judged = set(case["verdicts"].values()) - {"INFORMATIONAL"}
            assert judged == {"NOT-EXERCISED"}, case["verdicts"]
    assert "FAIL" not in {row["verdict"] for row in document["requirements"]}
    assert left == [], f"tokens left on the account: {left}"
