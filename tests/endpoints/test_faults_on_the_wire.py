"""Fault plans on the wire: every `FaultKind` through the loopback server and in-process,
each selector hitting exactly the request it names, `times` budgets, partner isolation,
and the record of firings. After every fault the endpoint keeps serving."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from conformance.content import SourceFile
from conformance.endpoints import KalturaEndpoint
from conformance.faults import (
    ChunkAtOffset,
    CloseAttempt,
    Fault,
    FaultKind,
    NthDataRequest,
    NthMiddleRequest,
    OpeningRequest,
    Selector,
)
from conformance.model import TokenResult
from conformance.trace import Exchange

if TYPE_CHECKING:
    from conftest import Kit, Transport

PARTIAL_UPLOAD, FULL_UPLOAD = 1, 2
SOURCE = SourceFile(40_000, 21)
CUTS = (0, 10_000, 20_000, 30_000, 40_000)  # opening, two middles, close
CANNOT_MATCH = "UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE"
DISCONNECTED = (httpx.ReadError, httpx.RemoteProtocolError, httpx.ConnectError, httpx.WriteError)


@pytest.fixture(params=["inprocess", "loopback"])
def wire(
    request: pytest.FixtureRequest, kit: Kit, endpoint: KalturaEndpoint
) -> Iterator[Transport]:
    with kit.open_transport(request.param, endpoint) as made:
        yield made


class Run:
    """One partner (with a fault plan) uploading SOURCE through one transport."""

    def __init__(self, kit: Kit, wire: Transport, *faults: Fault) -> None:
        self.wire = wire
        self.endpoint = wire.endpoint
        self.partner, self.ks = kit.with_faults(wire.endpoint, *faults)
        self.token_id = wire.add_token(self.ks, file_size=SOURCE.size)

    def send(self, stage: int, **options: Any) -> httpx.Response:
        """Stage 0 opens, 1 and 2 are middles, 3 closes (options override)."""
        start, end = CUTS[stage], CUTS[stage + 1]
        defaults: dict[str, Any] = {"resume": stage > 0, "final": stage == 3, "resume_at": start}
        return self.wire.send_chunk(
            self.ks, self.token_id, SOURCE.read(start, end), **(defaults | options)
        )

    def ok(self, stage: int, **options: Any) -> Any:
        answer = self.wire.upload_json(self.send(stage, **options))
        assert answer.get("objectType") == "KalturaUploadToken", answer
        return answer

    def error(self, stage: int, **options: Any) -> str:
        answer = self.wire.upload_json(self.send(stage, **options))
        assert answer.get("objectType") == "KalturaAPIException", answer
        code: str = answer["code"]
        return code

    def state(self) -> tuple[int, int]:
        """(status, uploadedFileSize) as the server holds them now."""
        result = self.endpoint.token(self.partner.partner_id, self.token_id)
        assert isinstance(result, TokenResult)
        return int(result.token.status), int(result.token.uploaded_file_size or 0)

    def data_exchanges(self) -> list[Exchange]:
        return [
            e
            for e in self.endpoint.trace.exchanges(self.partner.partner_id)
            if e.resume_at is not None
        ]

    def last(self) -> Exchange:
        return self.data_exchanges()[-1]

    def hit(self) -> list[int | None]:
        """The data_index of every data request a fault hit."""
        return [e.data_index for e in self.data_exchanges() if e.fault is not None]

    def still_serving(self) -> None:
        answer = self.wire.api("uploadtoken", "get", ks=self.ks, uploadTokenId=self.token_id)
        assert answer["id"] == self.token_id

    def complete(self) -> None:
        assert self.endpoint.file_digest(self.partner.partner_id, self.token_id) == SOURCE.digest()


# -- each kind ---------------------------------------------------------------------------


def test_reset_before_apply(kit: Kit, wire: Transport) -> None:
    run = Run(kit, wire, Fault(NthMiddleRequest(1), FaultKind.RESET_BEFORE_APPLY))
    run.ok(0)
    before = run.state()
    with pytest.raises(DISCONNECTED):
        run.send(1)
    assert run.state() == before  # not applied
    exchange = run.last()
    assert exchange.answer is not None
    assert exchange.answer.kind == "reset"
    assert not exchange.applied
    assert exchange.answered_at is not None
    run.still_serving()
    run.ok(1)  # the re-send goes through: times=1
    run.ok(2)
    assert run.ok(3)["status"] == FULL_UPLOAD
    run.complete()


def test_drop_after_apply(kit: Kit, wire: Transport) -> None:
    run = Run(kit, wire, Fault(NthMiddleRequest(1), FaultKind.DROP_AFTER_APPLY))
    run.ok(0)
    with pytest.raises(DISCONNECTED):
        run.send(1)
    assert run.state() == (PARTIAL_UPLOAD, CUTS[2])  # applied: the answer was lost
    exchange = run.last()
    assert exchange.answer is not None
    assert exchange.answer.kind == "dropped"
    assert exchange.applied
    run.still_serving()
    run.ok(2)
    assert run.ok(3)["status"] == FULL_UPLOAD
    run.complete()


def test_http_error(kit: Kit, wire: Transport) -> None:
    run = Run(kit, wire, Fault(NthMiddleRequest(1), FaultKind.HTTP_ERROR, status=502))
    run.ok(0)
    before = run.state()
    response = run.send(1)
    assert response.status_code == 502
    assert response.headers["content-type"] == "text/html"
    assert "502" in response.text
    assert run.state() == before
    answer = run.last().answer
    assert answer is not None
    assert (answer.kind, answer.http_status) == ("http-error", 502)
    run.still_serving()


def test_kaltura_error(kit: Kit, wire: Transport) -> None:
    fault = Fault(NthMiddleRequest(1), FaultKind.KALTURA_ERROR, code="SOME_CODE", message="m")
    run = Run(kit, wire, fault)
    run.ok(0)
    before = run.state()
    response = run.send(1)
    assert response.status_code == 200
    assert response.json() == {
        "code": "SOME_CODE",
        "message": "m",
        "objectType": "KalturaAPIException",
        "args": [],
    }
    assert run.state() == before
    answer = run.last().answer
    assert answer is not None
    assert (answer.kind, answer.code) == ("error", "SOME_CODE")
    run.still_serving()


def test_kaltura_error_defaults_to_kalturas_internal_error(kit: Kit, wire: Transport) -> None:
    run = Run(kit, wire, Fault(OpeningRequest(), FaultKind.KALTURA_ERROR))
    assert run.error(0) == "INTERNAL_SERVERL_ERROR"
    assert run.state() == (0, 0)  # still PENDING, no file


def test_delay(kit: Kit, wire: Transport) -> None:
    delay = 0.25
    run = Run(kit, wire, Fault(NthMiddleRequest(1), FaultKind.DELAY, delay_seconds=delay))
    run.ok(0)
    started = time.monotonic()
    assert run.ok(1)["uploadedFileSize"] == str(CUTS[2])
    assert time.monotonic() - started >= delay
    exchange = run.last()
    assert exchange.applied
    assert exchange.answered_at is not None
    assert exchange.answered_at - exchange.body_complete >= delay
    run.still_serving()


def test_a_chunk_held_past_the_wait_makes_a_correct_close_fail(kit: Kit, wire: Transport) -> None:
    hold = kit.final_wait + 0.6
    run = Run(kit, wire, Fault(NthMiddleRequest(2), FaultKind.HOLD_CHUNK, hold_seconds=hold))
    run.ok(0)
    run.ok(2)  # the second middle arrives first: stored, waiting for the first
    started = time.monotonic()
    acknowledged = run.ok(1)  # the second middle to arrive: held
    assert time.monotonic() - started < hold / 2  # acknowledged at once...
    assert acknowledged["uploadedFileSize"] == str(CUTS[1])
    assert run.state() == (PARTIAL_UPLOAD, CUTS[1])  # ...but not applied yet
    assert run.error(3) == CANNOT_MATCH  # the close waited final_wait, the hold is longer
    kit.wait_until(lambda: run.state()[1] == CUTS[2], "the held chunk to be applied")
    assert time.monotonic() - started >= hold
    assert run.ok(3)["status"] == FULL_UPLOAD  # the retry succeeds
    run.complete()


@pytest.mark.parametrize("name", ["inprocess", "loopback"])
def test_a_chunk_held_within_the_wait_lets_the_close_succeed(kit: Kit, name: str) -> None:
    hold = 0.2
    with kit.new_endpoint(final_wait=1.5) as endpoint, kit.open_transport(name, endpoint) as wire:
        run = Run(kit, wire, Fault(ChunkAtOffset(CUTS[1]), FaultKind.HOLD_CHUNK, hold_seconds=hold))
        run.ok(0)
        started = time.monotonic()
        run.ok(1)  # held
        run.ok(2)
        assert run.ok(3)["status"] == FULL_UPLOAD  # the close waited for the held chunk
        assert time.monotonic() - started >= hold
        close = run.last()
        assert close.answered_at is not None
        assert close.answered_at - close.body_complete >= hold / 2
        run.complete()


@pytest.mark.parametrize("name", ["inprocess", "loopback"])
def test_close_cannot_match_for_k_closes(kit: Kit, name: str) -> None:
    """The fault answers at once: it never sits out the close's wait. The wait is long
    (30 s) so that "at once" (under half of it) holds on any loaded machine."""
    k, final_wait = 2, 30.0
    with (
        kit.new_endpoint(final_wait=final_wait) as endpoint,
        kit.open_transport(name, endpoint) as wire,
    ):
        run = Run(kit, wire, Fault(CloseAttempt(1), FaultKind.CLOSE_CANNOT_MATCH, times=k))
        for stage in (0, 1, 2):
            run.ok(stage)
        for _ in range(k):
            assert run.error(3) == CANNOT_MATCH
            close = run.last()
            assert close.answered_at is not None
            assert close.answered_at - close.body_complete < final_wait / 2  # no wait
            assert not close.applied
            assert run.state() == (PARTIAL_UPLOAD, CUTS[3])  # the file is whole, yet no close
        assert run.ok(3)["status"] == FULL_UPLOAD
        assert len(run.endpoint.faults.firings(run.partner.partner_id)) == k
        run.complete()


# -- selectors ---------------------------------------------------------------------------


def _mark(selector: Selector, times: int | None = 1) -> Fault:
    """The fault marks the request it hits with an error (not applied); others pass."""
    return Fault(selector, FaultKind.KALTURA_ERROR, times=times, code="MARKED")


def test_nth_data_request_hits_exactly_that_request(kit: Kit, wire: Transport) -> None:
    run = Run(kit, wire, _mark(NthDataRequest(3)))
    run.ok(0)
    run.ok(1)
    assert run.error(2) == "MARKED"
    run.ok(2)
    run.ok(3)
    assert run.hit() == [3]
    assert [e.data_index for e in run.data_exchanges()] == [1, 2, 3, 4, 5]
    run.complete()


def test_the_opening_selector_hits_the_opening_only(kit: Kit, wire: Transport) -> None:
    run = Run(kit, wire, _mark(OpeningRequest()))
    assert run.error(0) == "MARKED"
    assert run.state() == (0, 0)
    run.ok(0)  # a re-sent opening: the budget is spent
    run.ok(1)
    run.ok(2)
    run.ok(3)
    assert run.hit() == [1]
    run.complete()


def test_nth_middle_hits_the_nth_middle_in_arrival_order(kit: Kit, wire: Transport) -> None:
    run = Run(kit, wire, _mark(NthMiddleRequest(2)))
    run.ok(0)
    run.ok(2)  # the first middle to arrive
    assert run.error(1) == "MARKED"  # the second middle to arrive
    run.ok(1)
    run.ok(3)
    assert run.hit() == [3]
    run.complete()


def test_close_attempt_k_hits_the_kth_close(kit: Kit, wire: Transport) -> None:
    run = Run(kit, wire, _mark(CloseAttempt(2)))
    run.ok(0)
    run.ok(1)
    assert run.error(3) == CANNOT_MATCH  # close #1: the model's own answer after the wait
    run.ok(2)
    assert run.error(3) == "MARKED"  # close #2
    assert run.ok(3)["status"] == FULL_UPLOAD  # close #3
    assert run.hit() == [5]
    run.complete()


def test_chunk_at_offset_hits_that_chunk(kit: Kit, wire: Transport) -> None:
    run = Run(kit, wire, _mark(ChunkAtOffset(CUTS[2])))
    run.ok(0)
    run.ok(1)
    assert run.error(2) == "MARKED"
    run.ok(2)  # the re-send: times=1
    run.ok(3)
    assert run.hit() == [3]
    run.complete()


def test_chunk_at_offset_hits_every_resend_within_its_budget(kit: Kit, wire: Transport) -> None:
    run = Run(kit, wire, _mark(ChunkAtOffset(CUTS[1]), times=2))
    run.ok(0)
    assert run.error(1) == "MARKED"
    assert run.error(1) == "MARKED"
    run.ok(1)
    assert run.hit() == [2, 3]


def test_a_persistent_fault_hits_every_later_request(kit: Kit, wire: Transport) -> None:
    run = Run(kit, wire, Fault(NthMiddleRequest(2), FaultKind.HTTP_ERROR, times=None))
    run.ok(0)
    run.ok(1)
    for _ in range(4):
        assert run.send(2).status_code == 503
    assert run.hit() == [3, 4, 5, 6]
    assert len(run.endpoint.faults.firings(run.partner.partner_id)) == 4
    run.still_serving()


def test_one_partners_faults_never_touch_another(kit: Kit, wire: Transport) -> None:
    everything = Fault(NthDataRequest(1), FaultKind.HTTP_ERROR, times=None)
    faulty = Run(kit, wire, everything)
    clean = Run(kit, wire)
    for stage in range(4):
        assert faulty.send(stage).status_code == 503
        clean.ok(stage)
    clean.complete()
    assert clean.hit() == []
    assert clean.endpoint.faults.firings(clean.partner.partner_id) == ()
    assert len(faulty.endpoint.faults.firings(faulty.partner.partner_id)) == 4


def test_firings_record_each_fault_that_fired_and_nothing_else(kit: Kit, wire: Transport) -> None:
    plan = (
        _mark(NthMiddleRequest(1)),
        Fault(CloseAttempt(1), FaultKind.CLOSE_CANNOT_MATCH),
        Fault(CloseAttempt(5), FaultKind.HTTP_ERROR),  # the client never gets there
    )
    run = Run(kit, wire, *plan)
    run.ok(0)
    assert run.error(1) == "MARKED"
    run.ok(1)
    run.ok(2)
    assert run.error(3) == CANNOT_MATCH
    run.ok(3)
    firings = run.endpoint.faults.firings(run.partner.partner_id)
    assert [(f.fault_index, f.fault, f.data_index) for f in firings] == [
        (0, plan[0], 2),
        (1, plan[1], 5),
    ]
    by_id = {e.id: e for e in run.data_exchanges()}
    for firing in firings:
        exchange = by_id[firing.exchange_id]
        assert exchange.token_id == firing.token_id == run.token_id
        assert exchange.data_index == firing.data_index
        assert exchange.fault == firing.fault.describe()
    run.complete()
