"""Through the proxy, parts in flight together decide the file by the order the server wrote
them in, which the proxy cannot see (UT-C15 then reads NOT-EXERCISED); a part the proxy
refused in the server's place was never written there, so it decides nothing.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from typing import Any

from proxied_account import Account, job_uploads, served_account, table, through_proxy

from conformance.checks.doubts import NEVER_APPLIED
from conformance.clients.api import KalturaCallError
from conformance.clients.runners import CallableClient
from conformance.content import SourceFile
from conformance.faults import Fault, FaultKind, FaultPlan, NthMiddleRequest
from conformance.proxy.refusals import NOT_FORWARDED
from conformance.requirements import Verdict
from conformance.scenario import ClientParams, UploadScenario

CHUNK = 8192
SOURCE = SourceFile(4 * CHUNK + 3000, 20261206)
HELD = 1.0  # seconds the first middle's answer is held: the second arrives meanwhile
# The first middle (the source's bytes) is held; the second (zeros) refused at the proxy.
SCENARIO = UploadScenario(
    SOURCE,
    ClientParams(CHUNK, 1),
    FaultPlan(
        (
            Fault(NthMiddleRequest(1), FaultKind.DELAY, delay_seconds=HELD),
            Fault(NthMiddleRequest(2), FaultKind.KALTURA_ERROR),
        )
    ),
)


def test_the_kinds_never_applied_are_those_the_proxy_never_forwards() -> None:
    assert set(NEVER_APPLIED) == set(NOT_FORWARDED)


def _overwriting_refused(account: Account) -> Callable[[Any], None]:
    """A client that sends the second chunk, then zeros over it while the first is still
    in flight (applied by the server, its answer held at the proxy); the zeros are refused
    (a Kaltura error the client shrugs off), the rest goes on."""

    def job(job: Any) -> None:
        size = job.chunk_size
        with job_uploads(job) as (data, send):
            send(0, data[:size], resume=False, final=False)
            with ThreadPoolExecutor(1) as pool:
                held = pool.submit(send, size, data[size : 2 * size], resume=True, final=False)
                _until_answered_upstream(account, job.token_id, size)
                with suppress(KalturaCallError):  # refused at the proxy: never written
                    send(size, bytes(size), resume=True, final=False)
                held.result()
            send(2 * size, data[2 * size :], resume=True, final=True)

    return job


def _until_answered_upstream(account: Account, token_id: str, resume_at: int) -> None:
    """Polls the server's trace (no sleep-and-hope: a loaded machine is slow) until it
    has answered the upload at `resume_at`; its answer is then held at the proxy."""
    deadline = time.monotonic() + 10 * HELD
    while time.monotonic() < deadline:
        if any(
            e.token_id == token_id and e.resume_at == resume_at and e.answer is not None
            for e in account.endpoint.trace.exchanges()
        ):
            return
        time.sleep(0.005)
    raise AssertionError(f"the upload at {resume_at} never reached the server")


def test_a_part_refused_at_the_proxy_does_not_put_the_content_in_doubt() -> None:
    with served_account() as account:
        with through_proxy(account, CallableClient(_overwriting_refused(account))) as runner:
            result = runner.run(SCENARIO)
        left = account.token_ids()
    fired = {f.fault.kind: f.exchange_id for f in result.evidence.firings}
    zeros, held = (
        next(e for e in result.evidence.uploads if e.id == fired[kind])
        for kind in (FaultKind.KALTURA_ERROR, FaultKind.DELAY)
    )
    assert held.arrival < zeros.arrival < (held.answered_at or 0.0), "not in flight together"
    assert not zeros.applied
    assert not result.disagreements, result.disagreements
    assert result.client.succeeded, result.client.detail
    assert result.verdict("UT-C08") is Verdict.FAIL  # the zeros are not the source's bytes
    assert result.verdict("UT-C15") is Verdict.PASS, table(result)  # the token has the file
    assert left == set()


def test_without_the_refusal_the_same_parts_leave_the_content_in_doubt() -> None:
    delayed_only = dataclasses.replace(SCENARIO, faults=FaultPlan(SCENARIO.faults.faults[:1]))
    with served_account() as account:
        with through_proxy(account, CallableClient(_overwriting_refused(account))) as runner:
            result = runner.run(delayed_only)
        left = account.token_ids()
    assert result.verdict("UT-C15") is Verdict.NOT_EXERCISED, table(result)
    assert left == set()
