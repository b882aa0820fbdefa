"""`conformance.checks.doubts`: how far a doubt about a case's evidence reaches, the checks
it sets aside by what they declared they read, and when the file's content depends on an
order of writes no one outside the server sees (§9: last writer wins)."""

from __future__ import annotations

import hashlib

import pytest

from conformance.checks import CHECKS, CaseEvidence, ClientOutcome, Findings
from conformance.checks.doubts import (
    Doubt,
    answer_doubt,
    case_doubt,
    content_order_doubt,
    set_aside,
    unfollowed_doubt,
)
from conformance.content import SourceFile
from conformance.endpoints.recording import record_call
from conformance.faults import Fault, FaultKind, NthDataRequest
from conformance.findings import CheckRegistry, CheckResult, Reads, judge
from conformance.requirements import Party, Verdict
from conformance.trace import Exchange, FaultFiring, PayloadInfo
from conformance.wire import ApiCall

SOURCE = SourceFile(4096, 7)


def _payload(data: bytes) -> PayloadInfo:
    return PayloadInfo(True, "f.bin", len(data), hashlib.sha256(data).hexdigest(), data[:64])


def _part(
    number: int,
    start: int,
    end: int,
    *,
    arrival: float,
    answered: float | None,
    resume: bool = True,
    at: float | None = None,
    data: bytes | None = None,
) -> Exchange:
    """A data request on token "t" carrying the source's bytes [start, end) (or `data`)."""
    body = SOURCE.read(start, end) if data is None else data
    return Exchange(
        number,
        "c",
        arrival,
        arrival,
        service="uploadtoken",
        action="upload",
        token_id="t",
        resume=resume,
        final_chunk=False,
        resume_at=float(start) if at is None else at,
        payload=_payload(body),
        answered_at=answered,
    )


def _evidence(*parts: Exchange) -> CaseEvidence:
    return CaseEvidence(SOURCE, parts, ClientOutcome(True), given_token="t")


def test_parts_in_turn_leave_no_doubt_whatever_their_bytes() -> None:
    first = _part(1, 1000, 2000, arrival=0.0, answered=1.0)
    second = _part(2, 1500, 2500, arrival=1.0, answered=2.0, data=bytes(1000))
    assert content_order_doubt(_evidence(first, second)) is None


def test_parts_at_once_over_other_bytes_leave_no_doubt() -> None:
    first = _part(1, 1000, 2000, arrival=0.0, answered=2.0, data=bytes(1000))
    second = _part(2, 2000, 3000, arrival=1.0, answered=3.0, data=bytes(1000))
    assert content_order_doubt(_evidence(first, second)) is None


def test_overlapping_parts_at_once_with_the_source_bytes_leave_no_doubt() -> None:
    first = _part(1, 1000, 2000, arrival=0.0, answered=2.0)
    second = _part(2, 1500, 2500, arrival=1.0, answered=3.0)
    assert content_order_doubt(_evidence(first, second)) is None


@pytest.mark.parametrize(
    "second",
    [
        _part(2, 1500, 2500, arrival=1.0, answered=3.0, data=bytes(1000)),  # other bytes
        _part(2, 1000, 2000, arrival=1.0, answered=None, data=bytes(1000)),  # never answered
        _part(2, 3000, 4000, arrival=1.0, answered=3.0, at=-1.0),  # lands where the file ends
        _part(2, 0, 1000, arrival=1.0, answered=3.0, resume=False),  # replaces the file
    ],
    ids=["other-bytes", "unanswered", "append", "reopening"],
)
def test_parts_at_once_whose_order_decides_the_file_put_the_content_in_doubt(
    second: Exchange,
) -> None:
    first = _part(1, 1000, 2000, arrival=0.0, answered=2.0)
    doubt = content_order_doubt(_evidence(first, second))
    assert doubt is not None
    assert doubt.reaches is Reads.CONTENT
    assert "requests #1 and #2 were in flight together" in doubt.reason


def test_answers_are_doubted_as_far_as_what_reads_them() -> None:
    middle = _part(1, 1000, 2000, arrival=0.0, answered=1.0)
    close = Exchange(2, "c", 1.0, 1.0, service="uploadtoken", action="upload", final_chunk=True)
    get = Exchange(3, "c", 2.0, 2.0, service="uploadtoken", action="get")
    add = Exchange(4, "c", 3.0, 3.0, service="uploadtoken", action="add")
    assert answer_doubt(close, "").reaches is Reads.CLOSE_ANSWERS
    assert answer_doubt(get, "").reaches is Reads.CLOSE_ANSWERS
    assert answer_doubt(middle, "").reaches is Reads.DATA_ANSWERS
    assert answer_doubt(add, "").reaches is Reads.END_STATE
    assert case_doubt("").reaches is Reads.REQUESTS


@pytest.mark.parametrize("reaches", list(Reads))
def test_a_doubt_spoils_what_reads_as_much_and_more(reaches: Reads) -> None:
    order = list(Reads)
    spoiled = {reads for reads in Reads if Doubt("", reaches).spoils(reads)}
    assert spoiled == set(order[order.index(reaches) :])
    assert Doubt("", reaches).spoils(Reads.EVERYTHING)


def test_a_check_that_declares_nothing_is_set_aside_by_any_doubt() -> None:
    registry: CheckRegistry[None] = CheckRegistry(Party.CLIENT)

    @registry.register("UT-C01")
    def anything(evidence: None) -> Findings:
        return Findings()

    @registry.register("UT-C02", reads=Reads.REQUESTS)
    def shape(evidence: None) -> Findings:
        return Findings()

    assert registry.reads("UT-C01") is Reads.EVERYTHING
    assert registry.reads("UT-C02") is Reads.REQUESTS
    narrowest_answer = Doubt("", Reads.CLOSE_ANSWERS)
    assert narrowest_answer.spoils(registry.reads("UT-C01"))
    assert not narrowest_answer.spoils(registry.reads("UT-C02"))


def test_content_in_doubt_sets_aside_the_content_check_not_the_end_state() -> None:
    results = (judge("UT-C14", Findings()), judge("UT-C15", Findings()))
    doubt = Doubt("requests #1 and #2 were in flight together", Reads.CONTENT)
    kept, aside = set_aside(results, [doubt])
    assert kept.verdict is Verdict.PASS
    assert aside.verdict is Verdict.NOT_EXERCISED
    assert aside.observations["not judged"] == [doubt.reason]
    assert CHECKS.reads("UT-C15") is Reads.CONTENT


def test_only_judged_verdicts_are_set_aside_and_the_breaches_go_with_them() -> None:
    failed = CheckResult("UT-C07", Verdict.FAIL)
    informational = CheckResult("UT-C22", Verdict.INFORMATIONAL)
    unexercised = CheckResult("UT-C18", Verdict.NOT_EXERCISED)
    doubts = [case_doubt("exchange 3 was not followed by the model")]
    aside, *rest = set_aside((failed, informational, unexercised), doubts)
    assert aside.verdict is Verdict.NOT_EXERCISED
    assert aside.breaches == ()
    assert rest == [informational, unexercised]


def _close(number: int, *, arrival: float, token: str = "t") -> Exchange:
    return Exchange(
        number,
        "c",
        arrival,
        arrival,
        service="uploadtoken",
        action="upload",
        token_id=token,
        resume=True,
        final_chunk=True,
        resume_at=4000.0,
        answered_at=arrival + 0.5,
    )


def _multirequest(number: int, arrival: float, *calls: dict[str, object]) -> Exchange:
    """A multirequest traced as one exchange, its calls recorded as the proxy records them."""
    exchange = Exchange(number, "c", arrival, arrival, answered_at=arrival)
    params = {str(n): call for n, call in enumerate(calls, 1)}
    record_call(exchange, ApiCall("multirequest", None, {**params, "ks": "secret"}))
    return exchange


def _reach(*exchanges: Exchange, unfollowed: int) -> Doubt:
    evidence = CaseEvidence(SOURCE, exchanges, ClientOutcome(True), given_token="t")
    found = next(e for e in exchanges if e.id == unfollowed)
    return unfollowed_doubt(evidence, found, "a token the proxy never saw made")


def test_an_unfollowed_request_leaves_the_request_shapes_judged() -> None:
    first = _part(1, 0, 1000, arrival=0.0, answered=1.0)
    doubt = _reach(first, _close(2, arrival=2.0), unfollowed=1)
    assert doubt.reaches is Reads.CLOSE_ANSWERS  # the close after it is predicted from it
    assert not doubt.spoils(Reads.REQUESTS)
    assert doubt.reason == (
        "exchange 1 (uploadtoken.upload) was not followed by the model: "
        "a token the proxy never saw made"
    )


def test_an_unfollowed_request_reaches_only_what_was_answered_after_it_on_its_token() -> None:
    close_before = _close(1, arrival=0.0)  # answered at 0.5, before the part arrived
    other_token = _close(3, arrival=2.0, token="u")
    last = _part(2, 0, 1000, arrival=1.0, answered=1.5)
    assert _reach(close_before, last, other_token, unfollowed=2).reaches is Reads.DATA_ANSWERS
    in_flight = _close(4, arrival=0.9)  # answered at 1.4, after the part arrived
    assert _reach(last, in_flight, unfollowed=2).reaches is Reads.CLOSE_ANSWERS


def test_an_unfollowed_request_on_no_token_doubts_its_own_answer() -> None:
    listing = Exchange(1, "c", 0.0, 0.0, service="uploadtoken", action="list", answered_at=0.1)
    doubt = _reach(listing, _close(2, arrival=1.0), unfollowed=1)
    assert doubt.reaches is Reads.END_STATE


def test_a_multirequest_reaches_the_tokens_its_calls_name() -> None:
    get = {"service": "uploadToken", "action": "get"}
    named = _multirequest(1, 0.0, {**get, "uploadTokenId": "t"})
    elsewhere = _multirequest(1, 0.0, {"service": "uploadToken", "action": "add"}, get)
    by_result = _multirequest(
        1,
        0.0,
        {"service": "uploadToken", "action": "add"},
        {**get, "uploadTokenId": "{1:result:id}"},
    )
    close = _close(2, arrival=1.0)
    assert _reach(named, close, unfollowed=1).reaches is Reads.CLOSE_ANSWERS
    assert _reach(elsewhere, close, unfollowed=1).reaches is Reads.END_STATE
    assert _reach(by_result, close, unfollowed=1).reaches is Reads.CLOSE_ANSWERS
    assert "exchange 1 (multirequest)" in _reach(named, unfollowed=1).reason


@pytest.mark.parametrize(
    "call",
    [
        {"service": "uploadToken", "action": "upload", "uploadTokenId": "t", "resume": "1"},
        {"service": "UPLOADTOKEN", "action": "Upload"},
        {"service": "uploadToken", "action": "get", "uploadTokenId": "x" * 2000},  # cut short
    ],
    ids=["upload", "upload-any-case", "cut-short"],
)
def test_a_multirequest_that_may_carry_an_upload_hides_requests_and_sets_aside_the_case(
    call: dict[str, object],
) -> None:
    hiding = _multirequest(1, 0.0, {"service": "uploadToken", "action": "get"}, call)
    doubt = _reach(hiding, unfollowed=1)
    assert doubt.reaches is Reads.REQUESTS
    assert doubt.reason.endswith("it carries uploads no check sees")


def _fired(kind: FaultKind, on: Exchange) -> FaultFiring:
    return FaultFiring(0, Fault(NthDataRequest(2), kind), "t", 2, on.id)


@pytest.mark.parametrize(
    "kind",
    [FaultKind.HTTP_ERROR, FaultKind.KALTURA_ERROR, FaultKind.RESET_BEFORE_APPLY],
)
def test_a_part_refused_in_the_servers_place_wrote_nothing_whose_order_could_matter(
    kind: FaultKind,
) -> None:
    first = _part(1, 1000, 2000, arrival=0.0, answered=2.0)
    zeros = _part(2, 1500, 2500, arrival=1.0, answered=1.1, data=bytes(1000))
    assert content_order_doubt(_evidence(first, zeros)) is not None
    evidence = CaseEvidence(
        SOURCE, (first, zeros), ClientOutcome(True), given_token="t", firings=(_fired(kind, zeros),)
    )
    assert content_order_doubt(evidence) is None


@pytest.mark.parametrize(
    "refused",
    [
        (FaultKind.DELAY, False),  # forwarded, the upstream failed: it may have written
        (FaultKind.DROP_AFTER_APPLY, True),  # forwarded and applied, the answer lost
        (FaultKind.KALTURA_ERROR, True),  # marked applied: not refused in its place after all
    ],
    ids=["delay-upstream-failed", "dropped-after-apply", "applied"],
)
def test_a_part_that_may_have_reached_the_server_still_counts(
    refused: tuple[FaultKind, bool],
) -> None:
    kind, applied = refused
    first = _part(1, 1000, 2000, arrival=0.0, answered=2.0)
    zeros = _part(2, 1500, 2500, arrival=1.0, answered=1.1, data=bytes(1000))
    zeros.applied = applied
    evidence = CaseEvidence(
        SOURCE, (first, zeros), ClientOutcome(True), given_token="t", firings=(_fired(kind, zeros),)
    )
    assert content_order_doubt(evidence) is not None
