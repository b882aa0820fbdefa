"""Fixtures for the client tests: one loopback endpoint per module, with a short close wait,
and `run_case`, which runs one client through `CaseRunner` against it.

This directory is not a package (no `__init__.py`): test modules cannot import this file,
so they get what they need from fixtures, and load `mutants.py` by path.

Every case has a time limit and the server is stopped at the end of the module (which also
re-raises any error a server thread hit), so no test can hang or leave a server behind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from loopback import loopback_endpoint

from conformance.endpoints.server import LoopbackServer
from conformance.runner import CaseResult, CaseRunner, ClientRunner
from conformance.scenario import UploadScenario

FINAL_WAIT = 0.2  # seconds a close waits for late chunks (Kaltura: 44)
TIME_LIMIT = 30.0  # seconds a client may take for one case: no passing case waits it out

RunCase = Callable[..., CaseResult]


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackServer]:
    with loopback_endpoint(FINAL_WAIT) as served:
        yield served


@pytest.fixture
def run_case(server: LoopbackServer) -> RunCase:
    """`run_case(client, scenario, time_limit=TIME_LIMIT)` → the case's `CaseResult`."""

    def run(
        client: ClientRunner, scenario: UploadScenario, time_limit: float = TIME_LIMIT
    ) -> CaseResult:
        runner = CaseRunner(server.endpoint, server.url, client, time_limit=time_limit)
        return runner.run(scenario)

    return run
