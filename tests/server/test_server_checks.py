"""Server conformance (UT-S*) against the reference server and against mutant servers.

The reference server must pass every check. Each mutant (`mutant_servers.py`) breaks one
server rule and must FAIL exactly its target requirement plus the listed consequences, so
that a check that starts to over- or under-report shows up here.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest
from mutant_servers import MUTANTS, counting_hooks, hooks_of

from conformance.clients.api import KalturaApi
from conformance.content import SourceFile
from conformance.endpoints import EndpointConfig, KalturaEndpoint
from conformance.endpoints.server import LoopbackServer
from conformance.findings import CheckResult
from conformance.model import Event, Failed, ListTokens, Pager, TokenListed
from conformance.model.listing import MAX_PAGE_SIZE, page
from conformance.requirements import Verdict
from conformance.scenario import Partition, UploadSchedule
from conformance.server import (
    CHECKS,
    Send,
    ServerAnswer,
    ServerDriver,
    ServerUnderTest,
    TokenPair,
    run_check,
    run_checks,
    send_concurrently,
)
from conformance.server.answers import answer_of_call
from conformance.wire import ApiCall
from conformance.wire import ApiResult as WireAnswer


class MovableClock:
    """The test server's time, which a check's sleep moves on instead of waiting it out:
    UT-S14 waits for a later `createdAt` (whole seconds) once per run."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.slept: list[float] = []

    def now(self) -> float:
        return time.time() + self.offset

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.offset += seconds


CLOCK = MovableClock()


def _target(api: KalturaApi) -> ServerUnderTest:
    return ServerUnderTest(api, sleep=CLOCK.sleep)


@contextmanager
def _served(endpoint: KalturaEndpoint) -> Iterator[tuple[KalturaApi, int]]:
    """An API session on a fresh partner of `endpoint`, over a loopback server."""
    partner = endpoint.add_partner()
    try:
        with LoopbackServer(endpoint) as server, httpx.Client(timeout=10) as client:
            api = KalturaApi(client, server.url)
            api.start_session(partner.partner_id, partner.admin_secret)
            yield api, partner.partner_id
    finally:
        endpoint.close()


def _config() -> EndpointConfig:
    return EndpointConfig(final_wait=0.2)


@pytest.fixture(scope="module")
def reference() -> Iterator[tuple[KalturaEndpoint, KalturaApi, int]]:
    endpoint = KalturaEndpoint(_config(), clock=CLOCK.now)
    with _served(endpoint) as (api, partner_id):
        yield endpoint, api, partner_id


def _report(results: list[CheckResult]) -> str:
    return "\n".join(result.message() for result in results)


@pytest.mark.parametrize("requirement", sorted(CHECKS))
def test_reference_server_passes(
    reference: tuple[KalturaEndpoint, KalturaApi, int], requirement: str
) -> None:
    _, api, _ = reference
    result = run_check(requirement, _target(api))
    assert result.requirement_id == requirement
    assert result.passed, _report([result])


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_mutant_server_is_caught(name: str) -> None:
    mutant = MUTANTS[name]
    endpoint = mutant.endpoint(_config(), clock=CLOCK.now)
    calls = counting_hooks(endpoint)
    with _served(endpoint) as (api, _):
        findings = run_checks(_target(api))
    failing = {finding.requirement_id for finding in findings if not finding.passed}
    assert all(f.verdict in (Verdict.PASS, Verdict.FAIL, Verdict.NON_STRICT) for f in findings)
    assert mutant.target in failing, _report(findings)
    assert mutant.explains(failing), _report(findings)
    # A hook the endpoint stopped calling would leave a faithful server behind the name.
    assert all(calls[hook] > 0 for hook in hooks_of(mutant.endpoint)), calls


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_a_mutant_departs_only_through_the_public_hooks(name: str) -> None:
    """Overriding a private method would break silently when the endpoint renames it."""
    endpoint = MUTANTS[name].endpoint
    overridden = {
        attribute
        for attribute, value in vars(endpoint).items()
        if callable(value) and hasattr(KalturaEndpoint, attribute) and attribute != "__init__"
    }
    assert hooks_of(endpoint)
    assert overridden <= set(KalturaEndpoint.HOOKS)
    assert all(callable(getattr(KalturaEndpoint, hook)) for hook in KalturaEndpoint.HOOKS)


def test_a_mutant_explains_its_consequences_and_timing_ones_only() -> None:
    mutant = MUTANTS["http-500-errors"]
    assert mutant.explains(mutant.failing)
    assert mutant.explains(mutant.failing | {"UT-S03"})  # a refused concurrent close
    assert not mutant.explains(mutant.failing - {"UT-S02"})
    assert not mutant.explains(mutant.failing | {"UT-S04"})


def test_a_failure_names_the_request_and_both_answers() -> None:
    mutant = MUTANTS["resume-on-pending"]
    with _served(mutant.endpoint(_config(), clock=CLOCK.now)) as (api, _):
        finding = run_check("UT-S02", _target(api))
    assert finding.verdict is Verdict.FAIL
    message = finding.breaches[0].message
    assert "upload 10000 B chunk_0 resume=True" in message
    assert "expected error UPLOAD_TOKEN_CANNOT_RESUME" in message
    assert "got ok status=1" in message


@pytest.mark.parametrize(
    ("send", "described"),
    [
        (Send(b"ab", 0), "upload 2 B chunk_0"),
        (Send(b"abc", 5, resume=True, resume_at=5), "upload 3 B chunk_5 resume=True resumeAt=5"),
        (Send.middle(b"abc", 5), "upload 3 B chunk_5 resume=True finalChunk=False resumeAt=5"),
        (Send.close(b"", 9), "upload 0 B chunk_9 resume=True finalChunk=True resumeAt=9"),
        (Send.opening(b"a"), "upload 1 B chunk_0 resume=False finalChunk=False resumeAt=0"),
    ],
)
def test_a_request_is_described_with_the_flags_it_sends(send: Send, described: str) -> None:
    assert send.describe() == described


def test_a_refused_close_is_predicted_after_every_pass_of_the_wait(
    reference: tuple[KalturaEndpoint, KalturaApi, int],
) -> None:
    """Found by the life-cycle machine (seed 3839256431 through the live path): a chunk
    stored at offset 0 is rewritten by each pass's glob pass, so the state a refused close
    leaves depends on the passes after the first. The server here passes about ten times
    here; predicting one pass then expected 1,351 bytes where the server had 1,663."""
    _, api, _ = reference
    size = 2703
    source = SourceFile(size, 7)
    with ServerDriver(api) as driver:
        pair = driver.new_token(size, ())
        for length, at, resume, final in [
            (675, 0, False, False),
            (592, 1071, True, False),  # beyond the end: stored
            (676, 675, True, False),
            (633, 0, True, False),  # inside the file: stored as the chunk at 0
            (676, 2027, True, True),  # an early close: refused after the wait
            (676, 675, True, False),
        ]:
            send = Send(source.read(at, at + length), at, resume=resume, final=final, resume_at=at)
            driver.upload(pair, send, ("UT-S06",))
    assert all(seen.ok for seen in driver.observations), [
        seen.describe() for seen in driver.observations if not seen.ok
    ]


def test_driver_deletes_its_tokens_also_on_failure(
    reference: tuple[KalturaEndpoint, KalturaApi, int],
) -> None:
    endpoint, api, partner_id = reference
    made: list[str] = []

    def fail_midway() -> None:
        with ServerDriver(api) as driver:
            made.extend(driver.new_token(size, ()).server_id for size in (10, None))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail_midway()
    assert len(made) == 2
    for token_id in made:
        assert isinstance(endpoint.token(partner_id, token_id), Failed)


def test_driver_names_tokens_with_its_run_prefix(
    reference: tuple[KalturaEndpoint, KalturaApi, int],
) -> None:
    _, api, _ = reference
    with ServerDriver(api) as driver:
        first, second = driver.new_token(1, ()), driver.new_token(1, ())
    assert driver.prefix.startswith("kuc-")
    assert first.label.startswith(driver.prefix)
    assert first.label != second.label


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ({"status": "1", "uploadedFileSize": "10000"}, ServerAnswer("ok", status=1, size=10000)),
        ({"status": 2, "uploadedFileSize": 4.0e4}, ServerAnswer("ok", status=2, size=40000)),
        ({"status": 0}, ServerAnswer("ok", status=0)),
        (None, ServerAnswer("ok")),
    ],
)
def test_answers_compare_sizes_numerically(result: object, expected: ServerAnswer) -> None:
    assert answer_of_call(lambda: result) == expected


def test_concurrent_batches_are_bounded(
    reference: tuple[KalturaEndpoint, KalturaApi, int],
) -> None:
    _, api, _ = reference
    sends = [Send.middle(b"x", offset) for offset in range(7)]
    with ServerDriver(api) as driver, pytest.raises(ValueError, match="len"):
        send_concurrently(driver, TokenPair("a", "a", "a"), sends, ())


def test_driver_sends_the_source_bytes_at_their_offsets(
    reference: tuple[KalturaEndpoint, KalturaApi, int],
) -> None:
    endpoint, api, partner_id = reference
    source = SourceFile(40_000, 99)
    schedule = UploadSchedule(Partition(40_000, (10_000, 20_000, 30_000)), (2, 1), (1,), 0)
    with ServerDriver(api) as driver:
        pair = driver.run_schedule(source, schedule, ())
        assert endpoint.file_digest(partner_id, pair.server_id) == source.digest()
    assert not list(driver.mismatches())
    assert isinstance(endpoint.token(partner_id, pair.server_id), Failed)  # deleted on exit


class ReversedTies(KalturaEndpoint):
    """A faithful server whose database breaks ties the other way: the newest first among
    tokens created in the same second, and newest first without `orderBy` (§11.3 leaves
    both open), paging after that order like a database would."""

    def apply_event(
        self, event: Event, call: ApiCall, apply: Callable[[Event], WireAnswer]
    ) -> WireAnswer:
        if not isinstance(event, ListTokens):
            return apply(event)
        whole = apply(dataclasses.replace(event, pager=Pager(MAX_PAGE_SIZE, 1)))
        if not isinstance(whole, TokenListed):
            return whole
        newest_first = list(reversed(whole.objects))
        if event.filter.order_by == "+createdAt":
            newest_first.sort(key=lambda view: view.created_at)  # stable: ties stay reversed
        elif event.filter.order_by == "-createdAt":
            newest_first.sort(key=lambda view: -view.created_at)
        return TokenListed(tuple(page(newest_first, event.pager)), whole.total_count)


def test_ut_s14_leaves_open_what_section_11_leaves_open() -> None:
    """Another tie-break (a live server's database) is no failure."""
    endpoint = ReversedTies(_config(), clock=CLOCK.now)
    calls = counting_hooks(endpoint)
    with _served(endpoint) as (api, _):
        finding = run_check("UT-S14", _target(api))
    assert finding.passed, _report([finding])
    assert calls["apply_event"] > 0


def test_the_driver_lets_the_server_clock_move_on_through_the_targets_sleep() -> None:
    """UT-S14's wait for a later `createdAt` goes through `ServerUnderTest.sleep` (a live
    server's is `time.sleep`; the tests here advance their server's clock instead)."""
    slept: list[float] = []
    driver = ServerDriver(KalturaApi(httpx.Client(), "http://127.0.0.1:9"), sleep=slept.append)
    driver._last_add = time.monotonic() + 5  # an add answered "in 5 s": 6 s to wait at most
    driver.await_new_created_at()
    assert len(slept) == 1
    assert 5 < slept[0] <= 6
    assert ServerUnderTest(driver.api).sleep is time.sleep
