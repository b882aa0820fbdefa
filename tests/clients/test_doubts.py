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
)
from conformance.content import SourceFile
from conformance.findings import CheckRegistry, CheckResult, Reads, judge
from conformance.requirements import Party, Verdict
from conformance.trace import Exchange, PayloadInfo

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
