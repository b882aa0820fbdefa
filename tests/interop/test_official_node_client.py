"""Kaltura's official Node.js client (npm `kaltura-client`) judged by the suite.

`node/upload.js` is the uploader an integrator writes with it: the library's
`uploadToken.upload` request builder and its transport (axios, a multipart body with the
parameters as one JSON field, `format=1`, a preamble before the first delimiter and no
CRLF after the last), our parallel three-stage schedule around it. It is run as a client
command (`CommandClient`), as a user runs any client, against the embedded server and
through the recording proxy in front of one, over plain uploads and every fault the
protocol promises to survive: no check may fail, and through the proxy the shadow model
must follow every call without a disagreement.

The package is pinned with its dependencies by `node/package-lock.json` and installed
with `npm ci` once per test worker; the test skips, with the reason, where there is no
Node.js, no npm or no registry to install from.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from loopback import loopback_endpoint
from proxied_account import served_account, show, through_proxy

from conformance.clients.runners import CommandClient
from conformance.content import SourceFile
from conformance.endpoints.server import LoopbackServer
from conformance.faults import (
    CloseAttempt,
    Fault,
    FaultKind,
    FaultPlan,
    NthMiddleRequest,
    OpeningRequest,
)
from conformance.requirements import Verdict
from conformance.runner import CaseResult, CaseRunner
from conformance.scenario import ClientParams, UploadScenario

NODE_PROJECT = Path(__file__).with_name("node")
FINAL_WAIT = 0.2
TIME_LIMIT = 30.0
INSTALL_SECONDS = 300
CHUNK = 8192
SIZE = 4 * CHUNK + 3000  # an opening, three middles and a shorter close


def _install(where: Path) -> str | None:
    """Copy the Node project to `where` and `npm ci` it; why not, or None once done."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return "no node or npm on this machine"
    for name in ("package.json", "package-lock.json", "upload.js"):
        shutil.copy(NODE_PROJECT / name, where / name)
    try:
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=INSTALL_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"npm ci took over {INSTALL_SECONDS} s (no registry?)"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return f"npm ci failed (no registry?): {last}"
    return None


@pytest.fixture(scope="session")
def node_client(tmp_path_factory: pytest.TempPathFactory) -> CommandClient:
    where = tmp_path_factory.mktemp("node-client")
    why = _install(where)
    if why is not None:
        pytest.skip(why)
    return CommandClient(f"node {shlex.quote(str(where / 'upload.js'))}")


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackServer]:
    with loopback_endpoint(FINAL_WAIT) as served:
        yield served


def _scenario(size: int, concurrency: int = 3, *faults: Fault) -> UploadScenario:
    return UploadScenario(
        SourceFile(size, 11 + size), ClientParams(CHUNK, concurrency), FaultPlan(faults)
    )


def _embedded(
    server: LoopbackServer, client: CommandClient, scenario: UploadScenario
) -> CaseResult:
    runner = CaseRunner(server.endpoint, server.url, client, time_limit=TIME_LIMIT)
    return runner.run(scenario)


def _assert_clean(result: CaseResult) -> None:
    assert result.client.succeeded, show(result)
    assert not result.failed, show(result)
    assert result.verdict("UT-C08") is Verdict.PASS, show(result)  # the file is the source
    assert result.verdict("UT-C14") is Verdict.PASS, show(result)


# A fault, and the requirement it must exercise (PASS, not NOT-EXERCISED).
FAULTS = {
    "error-object-on-a-middle": (
        Fault(NthMiddleRequest(2), FaultKind.KALTURA_ERROR),
        "UT-C13",
    ),
    "http-5xx-on-the-opening": (Fault(OpeningRequest(), FaultKind.HTTP_ERROR), "UT-C17"),
    "reset-on-a-middle": (Fault(NthMiddleRequest(1), FaultKind.RESET_BEFORE_APPLY), "UT-C17"),
    "close-cannot-match-x2": (
        Fault(CloseAttempt(1), FaultKind.CLOSE_CANNOT_MATCH, times=2),
        "UT-C18",
    ),
    "held-chunk": (
        Fault(NthMiddleRequest(2), FaultKind.HOLD_CHUNK, hold_seconds=3 * FINAL_WAIT),
        "UT-C18",
    ),
    "close-answer-lost": (Fault(CloseAttempt(1), FaultKind.DROP_AFTER_APPLY), "UT-C19"),
}
# Those a proxy applies (a held chunk needs the server: embedded-only).
PROXIED = [name for name, (fault, _) in FAULTS.items() if fault.kind is not FaultKind.HOLD_CHUNK]


@pytest.mark.parametrize(("size", "concurrency"), [(0, 1), (1, 1), (CHUNK, 1), (SIZE, 3)])
def test_plain_uploads_pass_every_check(
    node_client: CommandClient, server: LoopbackServer, size: int, concurrency: int
) -> None:
    _assert_clean(_embedded(server, node_client, _scenario(size, concurrency)))


@pytest.mark.parametrize("name", FAULTS)
def test_the_promised_faults_are_survived(
    node_client: CommandClient, server: LoopbackServer, name: str
) -> None:
    fault, exercised = FAULTS[name]
    result = _embedded(server, node_client, _scenario(SIZE, 3, fault))
    _assert_clean(result)
    assert result.evidence.firings, f"the fault never fired: {fault.describe()}"
    assert result.verdict(exercised) is Verdict.PASS, show(result)


@pytest.mark.parametrize("name", [None, *PROXIED], ids=["plain", *PROXIED])
def test_through_the_proxy_every_call_is_followed_and_every_check_passes(
    node_client: CommandClient, name: str | None
) -> None:
    faults = () if name is None else (FAULTS[name][0],)
    with served_account() as account:
        with through_proxy(account, node_client) as runner:
            result = runner.run(_scenario(SIZE, 3, *faults))
        left = account.token_ids()
    _assert_clean(result)
    assert not result.disagreements, result.disagreements
    if name is not None:
        assert result.evidence.firings, f"the fault never fired: {name}"
        assert result.verdict(FAULTS[name][1]) is Verdict.PASS, show(result)
    assert left == set()
