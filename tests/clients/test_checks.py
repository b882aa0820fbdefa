"""The client checks on hand-built evidence: the subtle rules, one situation at a time.

Each test starts from `good()`, a correct sequential upload (an opening, two middles and a
close, each answered 10 ms after it arrived, on the server's clock), changes the one thing
under test, and asks for one verdict. Times are seconds; `answered` is when the server
sent the answer, `arrival` when the request reached it.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from conformance.checks import CaseEvidence, ClientOutcome, FinalToken, run_check
from conformance.checks.robustness import MIN_CLOSE_PAUSE, TIGHT_LOOP_PER_SECOND
from conformance.content import SourceFile, sha256_hex
from conformance.endpoints.core import PAYLOAD_HEAD
from conformance.faults import CloseAttempt, Fault, FaultKind, NthMiddleRequest
from conformance.requirements import Verdict
from conformance.trace import Answered, AnswerKind, Exchange, FaultFiring, PayloadInfo

CHUNK = 8192
SIZE = 3 * CHUNK + 1000
SOURCE = SourceFile(SIZE, 4242)
TOKEN = "0_token"
FULL, PARTIAL = 2, 1
STEP = 0.02  # between two requests of `good()`
ANSWER_AFTER = 0.01  # from a request's arrival to its answer

PASS, FAIL, NON_STRICT, NOT_EXERCISED = (
    Verdict.PASS,
    Verdict.FAIL,
    Verdict.NON_STRICT,
    Verdict.NOT_EXERCISED,
)


def part(start: int, end: int, *, flip: int | None = None) -> PayloadInfo:
    """The source's bytes [start, end) as a named file part; `flip` corrupts one byte."""
    data = bytearray(SOURCE.read(start, end))
    if flip is not None:
        data[flip] ^= 0xFF
    return PayloadInfo(True, "chunk", len(data), sha256_hex(data), bytes(data[:PAYLOAD_HEAD]))


def upload(
    id: int,
    arrival: float,
    span: tuple[int, int],
    *,
    resume: bool = True,
    final: bool = False,
    at: float | None = None,
    payload: PayloadInfo | None = None,
    answered: float | None = None,
    kind: AnswerKind = "ok",
    code: str | None = None,
    status: int = PARTIAL,
    omit: tuple[str, ...] = (),
) -> Exchange:
    """One data request as the endpoint records it; `omit` leaves parameters out (the
    server then reads its defaults: finalChunk=true, resumeAt=-1)."""
    resume_at = (span[0] if resume else 0) if at is None else at
    params = {"uploadTokenId": TOKEN, "resume": str(resume).lower()}
    params |= {"finalChunk": str(final).lower(), "resumeAt": str(resume_at)}
    for name in omit:
        del params[name]
    return Exchange(
        id=id,
        connection=f"conn-{id}",
        arrival=arrival,
        body_complete=arrival,
        service="uploadtoken",
        action="upload",
        params=params,
        token_id=TOKEN,
        resume=resume,
        final_chunk=True if "finalChunk" in omit else final,
        resume_at=-1.0 if "resumeAt" in omit else float(resume_at),
        payload=part(*span) if payload is None else payload,
        answer=Answered(kind, 200, code=code, status=status if kind == "ok" else None),
        answered_at=arrival + ANSWER_AFTER if answered is None else answered,
    )


def get(id: int, arrival: float, status: int = FULL) -> Exchange:
    return Exchange(
        id=id,
        connection=f"conn-{id}",
        arrival=arrival,
        body_complete=arrival,
        service="uploadtoken",
        action="get",
        params={"uploadTokenId": TOKEN},
        token_id=TOKEN,
        answer=Answered("ok", 200, status=status, uploaded_file_size=SIZE, token_id=TOKEN),
        answered_at=arrival + ANSWER_AFTER,
    )


SPANS = [(0, CHUNK), (CHUNK, 2 * CHUNK), (2 * CHUNK, 3 * CHUNK), (3 * CHUNK, SIZE)]


def good() -> list[Exchange]:
    """A correct upload: opening, two middles, close, one after the other."""
    return [
        upload(1, 0 * STEP, SPANS[0], resume=False),
        upload(2, 1 * STEP, SPANS[1]),
        upload(3, 2 * STEP, SPANS[2]),
        upload(4, 3 * STEP, SPANS[3], final=True, status=FULL),
    ]


def evidence(
    exchanges: list[Exchange],
    *,
    succeeded: bool = True,
    timed_out: bool = False,
    final: FinalToken | None = None,
    firings: tuple[FaultFiring, ...] = (),
    source: SourceFile = SOURCE,
) -> CaseEvidence:
    whole = FinalToken(TOKEN, FULL, source.size, source.digest())
    return CaseEvidence(
        source=source,
        exchanges=tuple(exchanges),
        outcome=ClientOutcome(succeeded, timed_out),
        final=whole if final is None else final,
        given_token=TOKEN,
        firings=firings,
    )


def verdict(requirement_id: str, case: CaseEvidence) -> Verdict:
    return run_check(requirement_id, case).verdict


def messages(requirement_id: str, case: CaseEvidence) -> str:
    return "\n".join(b.message for b in run_check(requirement_id, case).breaches)


def fired(fault: Fault, *exchanges: Exchange) -> tuple[FaultFiring, ...]:
    return tuple(FaultFiring(0, fault, TOKEN, e.id, e.id) for e in exchanges)


def test_the_good_upload_passes_every_check() -> None:
    case = evidence(good())
    for requirement_id in [f"UT-C{n:02d}" for n in range(1, 22)]:
        assert verdict(requirement_id, case) in (PASS, NOT_EXERCISED), requirement_id


# --- UT-C03: finalChunk on the opening, omitted vs false ---------------------------------


def test_c03_an_omitted_final_chunk_on_the_opening_fails() -> None:
    trace = good()
    trace[0] = upload(1, 0.0, SPANS[0], resume=False, omit=("finalChunk",))
    case = evidence(trace)
    assert verdict("UT-C03", case) is FAIL
    assert "omitted" in messages("UT-C03", case)


def test_c03_final_chunk_true_on_the_opening_of_a_multi_request_upload_fails() -> None:
    trace = good()
    trace[0] = upload(1, 0.0, SPANS[0], resume=False, final=True)
    assert "finalChunk=true on the opening" in messages("UT-C03", evidence(trace))


def test_c03_a_single_request_may_omit_final_chunk() -> None:
    """One request for the whole file: the server's default (true) is what it needs."""
    small = SourceFile(1000, 1)
    single = upload(1, 0.0, (0, 1000), resume=False, omit=("finalChunk",), status=FULL)
    single = replace(single, payload=PayloadInfo(True, "f", 1000, small.digest(), b""))
    assert verdict("UT-C03", evidence([single], source=small)) is PASS


def test_c03_an_opening_of_part_of_the_file_fails_even_if_nothing_follows_it() -> None:
    """A client that gives up after its opening (say, on a persistent error) still sent
    the first chunk of a multi-request upload: omitting finalChunk would close it there."""
    opening = upload(1, 0.0, SPANS[0], resume=False, omit=("finalChunk",), kind="error")
    retried = replace(opening, id=2, arrival=STEP)
    case = evidence([opening, retried], succeeded=False)
    assert verdict("UT-C03", case) is FAIL
    assert "omitted" in messages("UT-C03", case)


def test_c03_an_explicit_false_on_a_lone_partial_opening_passes() -> None:
    opening = upload(1, 0.0, SPANS[0], resume=False, kind="error")
    assert verdict("UT-C03", evidence([opening], succeeded=False)) is PASS


# --- UT-C04 and UT-C10: server-side times -------------------------------------------------


def test_c04_a_middle_arriving_as_the_opening_is_answered_passes() -> None:
    trace = good()
    trace[1] = upload(2, trace[0].answered_at or 0.0, SPANS[1])
    assert verdict("UT-C04", evidence(trace)) is PASS


def test_c04_a_middle_arriving_before_the_opening_is_answered_fails() -> None:
    """Applied already, but not answered: the client cannot have known."""
    trace = good()
    trace[0] = upload(1, 0.0, SPANS[0], resume=False, answered=0.5)
    assert verdict("UT-C04", evidence(trace)) is FAIL
    assert "before the opening request was acknowledged" in messages("UT-C04", evidence(trace))


def test_c04_middles_after_an_opening_that_was_never_acknowledged_fail() -> None:
    trace = good()
    trace[0] = upload(1, 0.0, SPANS[0], resume=False, kind="error", code="INTERNAL_SERVERL_ERROR")
    assert verdict("UT-C04", evidence(trace, succeeded=False)) is FAIL


def test_c10_a_close_while_a_middle_is_unanswered_fails_naming_both() -> None:
    trace = good()
    trace[2] = upload(3, 2 * STEP, SPANS[2], answered=1.0)  # answered long after the close
    result = run_check("UT-C10", evidence(trace))
    assert result.verdict is FAIL
    assert result.breaches[0].exchanges == (4, 3)


def test_c10_a_close_arriving_as_the_last_middle_is_answered_passes() -> None:
    trace = good()
    trace[3] = upload(4, trace[2].answered_at or 0.0, SPANS[3], final=True, status=FULL)
    assert verdict("UT-C10", evidence(trace)) is PASS


def test_c10_a_close_before_a_chunk_was_ever_acknowledged_fails() -> None:
    trace = good()
    del trace[2]  # the second middle was never sent: nothing is in flight, a gap is
    case = evidence(trace, succeeded=False)
    assert verdict("UT-C10", case) is FAIL
    assert f"bytes [{2 * CHUNK}, {3 * CHUNK})" in messages("UT-C10", case)


def test_c10_is_not_exercised_by_a_single_request() -> None:
    small = SourceFile(10, 1)
    single = upload(1, 0.0, (0, 10), resume=False, final=True, status=FULL)
    single = replace(single, payload=PayloadInfo(True, "f", 10, small.digest(), b""))
    assert verdict("UT-C10", evidence([single], source=small)) is NOT_EXERCISED


# --- UT-C05: a re-sent opening ---------------------------------------------------------


def test_c05_re_sending_an_opening_whose_answer_was_lost_is_allowed() -> None:
    trace = good()
    lost = upload(1, 0.0, SPANS[0], resume=False, kind="dropped")
    again = upload(5, 0.01, SPANS[0], resume=False, answered=0.015)
    case = evidence([lost, again, *trace[1:]])
    assert verdict("UT-C05", case) is PASS
    assert verdict("UT-C04", case) is PASS


def test_c05_a_second_opening_sent_before_the_first_was_answered_is_allowed() -> None:
    trace = good()
    first = upload(1, 0.0, SPANS[0], resume=False, answered=0.012)
    second = upload(5, 0.005, SPANS[0], resume=False, answered=0.015)
    assert verdict("UT-C05", evidence([first, second, *trace[1:]])) is PASS


def test_c05_resume_false_after_the_opening_was_acknowledged_fails() -> None:
    trace = good()
    reopen = upload(5, 2.5 * STEP, SPANS[0], resume=False)
    case = evidence([*trace[:3], reopen, trace[3]], succeeded=False)
    assert verdict("UT-C05", case) is FAIL
    assert run_check("UT-C05", case).breaches[0].exchanges == (5,)


# --- UT-C06: what is a middle ------------------------------------------------------------


def test_c06_a_middle_with_final_chunk_omitted_fails() -> None:
    trace = good()
    trace[1] = upload(2, STEP, SPANS[1], omit=("finalChunk",))
    assert "finalChunk omitted" in messages("UT-C06", evidence(trace, succeeded=False))


def test_c06_a_close_at_the_wrong_place_is_not_a_middle() -> None:
    """finalChunk=true given explicitly makes a close, however wrong: UT-C09's business."""
    trace = good()
    trace[3] = upload(4, 3 * STEP, SPANS[3], final=True, at=0, status=FULL)
    case = evidence(trace)
    assert verdict("UT-C06", case) is PASS
    assert verdict("UT-C09", case) is FAIL


# --- UT-C07 vs UT-C08: the right bytes at the wrong offset vs the wrong bytes -------------


def test_c07_the_right_bytes_at_the_wrong_offset_break_c07_only() -> None:
    trace = good()
    trace[2] = upload(3, 2 * STEP, SPANS[2], at=CHUNK + 1)  # off by one
    case = evidence(trace, succeeded=False)
    assert verdict("UT-C07", case) is FAIL
    assert f"the source's bytes at {2 * CHUNK}" in messages("UT-C07", case)
    assert verdict("UT-C08", case) is PASS


def test_c07_resume_at_minus_one_breaks_c07_only() -> None:
    """Appended in order, the file is right: the offsets are missing, nothing else."""
    trace = good()
    trace[1] = upload(2, STEP, SPANS[1], omit=("resumeAt",))
    trace[2] = upload(3, 2 * STEP, SPANS[2], at=-1)
    case = evidence(trace)
    assert verdict("UT-C07", case) is FAIL
    for requirement_id in ("UT-C08", "UT-C10", "UT-C11", "UT-C21"):
        assert verdict(requirement_id, case) is PASS, requirement_id


@pytest.mark.parametrize("flip", [10, CHUNK - 1], ids=["in-the-head", "past-the-head"])
def test_c08_a_corrupted_byte_at_the_right_offset_breaks_c08_only(flip: int) -> None:
    """The trace keeps a payload's first 4104 bytes; a corruption past them still shows in
    the digest and must not pass for "the right bytes at the wrong offset"."""
    trace = good()
    trace[1] = upload(2, STEP, SPANS[1], payload=part(*SPANS[1], flip=flip))
    case = evidence(trace)
    assert verdict("UT-C08", case) is FAIL
    assert verdict("UT-C07", case) is PASS


def test_c07_and_c08_a_misplaced_payload_with_a_corrupted_tail_breaks_both() -> None:
    trace = good()
    trace[2] = upload(3, 2 * STEP, SPANS[2], at=CHUNK, payload=part(*SPANS[2], flip=CHUNK - 1))
    case = evidence(trace, succeeded=False)
    assert verdict("UT-C07", case) is FAIL
    assert verdict("UT-C08", case) is FAIL


def test_c08_an_opening_not_from_the_start_of_the_file_fails() -> None:
    trace = good()
    trace[0] = upload(1, 0.0, SPANS[0], resume=False, payload=part(*SPANS[1]))
    assert verdict("UT-C08", evidence(trace, succeeded=False)) is FAIL


# --- UT-C09: a verifiable close ------------------------------------------------------------


@pytest.mark.parametrize("at", [0, -1], ids=["at-0", "at-minus-1"])
def test_c09_a_close_the_server_never_verifies_fails(at: int) -> None:
    trace = good()
    trace[3] = upload(4, 3 * STEP, SPANS[3], final=True, at=at, status=FULL)
    assert "resumeAt <= 0" in messages("UT-C09", evidence(trace))


def test_c09_a_close_whose_end_is_not_the_file_size_fails() -> None:
    trace = good()
    trace[3] = upload(4, 3 * STEP, (3 * CHUNK, SIZE - 1), final=True)
    case = evidence(trace, succeeded=False)
    assert f"resumeAt + length = {SIZE - 1}" in messages("UT-C09", case)


def test_c09_an_empty_close_at_the_end_of_the_file_passes() -> None:
    trace = good()
    empty = PayloadInfo(True, "chunk", 0, sha256_hex(b""), b"")
    last = upload(4, 3 * STEP, SPANS[3])
    close = upload(5, 4 * STEP, (SIZE, SIZE), final=True, payload=empty, status=FULL)
    assert verdict("UT-C09", evidence([*trace[:3], last, close])) is PASS


@pytest.mark.parametrize("size", [0, 1, CHUNK], ids=["0B", "1B", "one-chunk"])
def test_c09_a_single_request_with_the_whole_file_passes(size: int) -> None:
    small = SourceFile(size, 3)
    data = small.read(0, size)
    payload = PayloadInfo(True, "f", size, sha256_hex(data), data[:PAYLOAD_HEAD])
    single = upload(1, 0.0, (0, size), resume=False, final=True, payload=payload, status=FULL)
    case = evidence([single], source=small)
    assert verdict("UT-C09", case) is PASS
    assert verdict("UT-C11", case) is PASS


def test_c09_a_single_request_with_part_of_the_file_fails() -> None:
    single = upload(1, 0.0, SPANS[0], resume=False, final=True, status=FULL)
    case = evidence([single])
    assert "not the whole file" in messages("UT-C09", case)


def test_c09_success_without_any_close_fails_and_failure_is_not_exercised() -> None:
    trace = good()[:3]
    assert verdict("UT-C09", evidence(trace)) is FAIL
    assert verdict("UT-C09", evidence(trace, succeeded=False)) is NOT_EXERCISED


# --- UT-C11: coverage, with a lost but confirmed close ------------------------------------


def test_c11_a_lost_close_confirmed_by_get_covers_its_bytes() -> None:
    trace = good()
    trace[3] = upload(4, 3 * STEP, SPANS[3], final=True, kind="dropped")
    case = evidence([*trace, get(5, 4 * STEP)])
    assert case.confirmed(trace[3])
    assert verdict("UT-C11", case) is PASS


def test_c11_a_lost_close_confirmed_by_an_invalid_status_re_send_covers_its_bytes() -> None:
    trace = good()
    trace[3] = upload(4, 3 * STEP, SPANS[3], final=True, kind="dropped")
    again = upload(
        5,
        4 * STEP,
        SPANS[3],
        final=True,
        kind="error",
        code="UPLOAD_TOKEN_INVALID_STATUS_FOR_UPLOAD",
    )
    case = evidence([*trace, again])
    assert verdict("UT-C11", case) is PASS
    assert verdict("UT-C13", case) is PASS  # the refused re-send: UT-C19 counts it a success


def test_c11_a_lost_close_nobody_confirmed_leaves_a_gap() -> None:
    trace = good()
    trace[3] = upload(4, 3 * STEP, SPANS[3], final=True, kind="dropped")
    case = evidence(trace)
    assert not case.confirmed(trace[3])
    assert f"[{3 * CHUNK}, {SIZE})" in messages("UT-C11", case)


def test_c11_a_get_that_shows_a_partial_token_confirms_nothing() -> None:
    trace = good()
    trace[3] = upload(4, 3 * STEP, SPANS[3], final=True, kind="dropped")
    assert verdict("UT-C11", evidence([*trace, get(5, 4 * STEP, status=PARTIAL)])) is FAIL


def test_c11_is_not_exercised_when_the_client_reports_failure() -> None:
    assert verdict("UT-C11", evidence(good()[:2], succeeded=False)) is NOT_EXERCISED


# --- UT-C13: error objects ---------------------------------------------------------------


def _refused_middle() -> list[Exchange]:
    trace = good()
    trace[1] = upload(2, STEP, SPANS[1], kind="error", code="INTERNAL_SERVERL_ERROR")
    return trace


def test_c13_closing_over_a_refused_chunk_fails_even_if_failure_is_reported() -> None:
    """Sending the close is what a client does once every chunk was acknowledged."""
    case = evidence(_refused_middle(), succeeded=False)
    assert verdict("UT-C13", case) is FAIL
    assert "sent without re-sending it" in messages("UT-C13", case)


def test_c13_a_refused_chunk_re_sent_before_the_close_passes() -> None:
    trace = _refused_middle()
    trace.insert(3, upload(5, 2.25 * STEP, SPANS[1]))
    assert verdict("UT-C13", evidence(trace)) is PASS


def test_c13_giving_up_after_a_refusal_passes() -> None:
    assert verdict("UT-C13", evidence(_refused_middle()[:2], succeeded=False)) is PASS


def test_c13_a_refused_close_and_success_without_any_close_taking_effect_fails() -> None:
    trace = good()
    trace[3] = upload(4, 3 * STEP, SPANS[3], final=True, kind="error", code="INTERNAL_ERROR")
    assert verdict("UT-C13", evidence(trace)) is FAIL


def test_c13_is_not_exercised_without_an_error_object() -> None:
    assert verdict("UT-C13", evidence(good())) is NOT_EXERCISED


# --- UT-C16: nothing after the close's success --------------------------------------------


def test_c16_a_request_after_the_close_was_answered_fails() -> None:
    late = upload(
        5, 4 * STEP, SPANS[2], kind="error", code="UPLOAD_TOKEN_INVALID_STATUS_FOR_UPLOAD"
    )
    case = evidence([*good(), late])
    assert run_check("UT-C16", case).breaches[0].exchanges == (5,)


def test_c16_a_request_already_in_flight_when_the_close_was_answered_passes() -> None:
    """Sent before the client could know: UT-C10's business, not UT-C16's."""
    trace = good()
    early = upload(5, 3 * STEP + ANSWER_AFTER / 2, SPANS[2])
    assert verdict("UT-C16", evidence([*trace, early])) is PASS


def test_c16_is_not_exercised_until_a_close_succeeds() -> None:
    assert verdict("UT-C16", evidence(good()[:3], succeeded=False)) is NOT_EXERCISED


# --- UT-C18: the close's retry -------------------------------------------------------------

CANNOT_MATCH = "UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE"


def _close_retried(pause: float, *, same: bool = True) -> CaseEvidence:
    trace = good()
    refused = upload(4, 3 * STEP, SPANS[3], final=True, kind="error", code=CANNOT_MATCH)
    answered = refused.answered_at or 0.0
    span = SPANS[3] if same else (3 * CHUNK - 1, SIZE)
    retry = upload(5, answered + pause, span, final=True, status=FULL)
    return evidence([*trace[:3], refused, retry])


def test_c18_an_identical_close_after_a_pause_passes() -> None:
    assert verdict("UT-C18", _close_retried(0.05)) is PASS


def test_c18_a_close_re_sent_without_a_pause_is_non_strict() -> None:
    case = _close_retried(MIN_CLOSE_PAUSE / 5)
    assert verdict("UT-C18", case) is NON_STRICT
    assert "without a pause" in messages("UT-C18", case)


def test_c18_a_different_close_is_non_strict() -> None:
    assert "not the identical close" in messages("UT-C18", _close_retried(0.05, same=False))


def test_c18_a_close_never_re_sent_is_non_strict() -> None:
    trace = good()
    trace[3] = upload(4, 3 * STEP, SPANS[3], final=True, kind="error", code=CANNOT_MATCH)
    assert "never re-sent" in messages("UT-C18", evidence(trace, succeeded=False))


def test_c18_giving_up_under_a_persistent_refusal_passes() -> None:
    trace = good()
    trace[3] = upload(4, 3 * STEP, SPANS[3], final=True, kind="error", code=CANNOT_MATCH)
    fault = Fault(CloseAttempt(1), FaultKind.CLOSE_CANNOT_MATCH, times=None)
    case = evidence(trace, succeeded=False, firings=fired(fault, trace[3]))
    assert verdict("UT-C18", case) is PASS


# --- UT-C20: tight loops -------------------------------------------------------------------


def _resends(count: int, spacing: float) -> list[Exchange]:
    opening = upload(1, 0.0, SPANS[0], resume=False)
    return [opening] + [
        upload(2 + n, 0.1 + n * spacing, SPANS[1], kind="http-error", answered=0.1 + n * spacing)
        for n in range(count)
    ]


def test_c20_more_identical_requests_than_the_limit_within_a_second_is_non_strict() -> None:
    case = evidence(_resends(TIGHT_LOOP_PER_SECOND + 1, 0.001), succeeded=False)
    assert verdict("UT-C20", case) is NON_STRICT
    assert "tight retry loop" in messages("UT-C20", case)


def test_c20_the_limit_itself_within_a_second_passes() -> None:
    case = evidence(_resends(TIGHT_LOOP_PER_SECOND, 0.001), succeeded=False)
    assert verdict("UT-C20", case) is PASS


def test_c20_many_re_sends_spread_out_pass() -> None:
    case = evidence(_resends(3 * TIGHT_LOOP_PER_SECOND, 0.11), succeeded=False)
    assert verdict("UT-C20", case) is PASS


def test_c20_a_persistent_error_that_ends_in_the_time_limit_is_non_strict() -> None:
    trace = _resends(3, 0.5)
    fault = Fault(NthMiddleRequest(1), FaultKind.HTTP_ERROR, times=None)
    case = evidence(trace, succeeded=False, timed_out=True, firings=fired(fault, *trace[1:]))
    assert "time limit hit" in messages("UT-C20", case)


# --- UT-C21: overlaps ----------------------------------------------------------------------


def test_c21_nested_overlaps_are_each_reported() -> None:
    """[100, 9000) holds both [200, 300) and [400, 500), which do not touch each other."""
    spans = [(0, 100), (100, 9000), (200, 300), (400, 500), (9000, SIZE)]
    trace = [upload(1, 0.0, spans[0], resume=False)]
    trace += [upload(n + 1, n * STEP, span) for n, span in enumerate(spans[1:], start=1)]
    case = evidence(trace)
    assert verdict("UT-C21", case) is NON_STRICT
    assert messages("UT-C21", case).splitlines() == [
        "payloads [100, 9000) and [200, 300) overlap",
        "payloads [100, 9000) and [400, 500) overlap",
    ]


def test_c21_re_sends_and_touching_payloads_pass() -> None:
    trace = good()
    trace.insert(2, upload(5, 1.5 * STEP, SPANS[1]))  # the same chunk again
    assert verdict("UT-C21", evidence(trace)) is PASS


# --- fault-driven SHOULDs are NOT-EXERCISED without their fault ------------------------------


@pytest.mark.parametrize("requirement_id", ["UT-C13", "UT-C17", "UT-C18", "UT-C19"])
def test_a_fault_driven_should_is_not_exercised_without_its_fault(requirement_id: str) -> None:
    assert verdict(requirement_id, evidence(good())) is NOT_EXERCISED


def test_c17_a_persistent_fault_is_not_a_transient_one() -> None:
    trace = _resends(3, 0.1)
    fault = Fault(NthMiddleRequest(1), FaultKind.HTTP_ERROR, times=None)
    case = evidence(trace, succeeded=False, firings=fired(fault, *trace[1:]))
    assert verdict("UT-C17", case) is NOT_EXERCISED


def test_c17_a_transient_fault_on_the_close_is_c19s_business() -> None:
    trace = good()
    trace[3] = upload(4, 3 * STEP, SPANS[3], final=True, kind="dropped")
    fault = Fault(CloseAttempt(1), FaultKind.DROP_AFTER_APPLY)
    case = evidence([*trace, get(5, 4 * STEP)], firings=fired(fault, trace[3]))
    assert verdict("UT-C17", case) is NOT_EXERCISED
    assert verdict("UT-C19", case) is PASS


def test_c17_a_failed_chunk_re_sent_passes_and_one_never_re_sent_is_non_strict() -> None:
    trace = good()
    trace[1] = upload(2, STEP, SPANS[1], kind="http-error")
    fault = Fault(NthMiddleRequest(1), FaultKind.HTTP_ERROR)
    resent = [*trace[:2], upload(5, 1.5 * STEP, SPANS[1]), *trace[2:]]
    assert verdict("UT-C17", evidence(resent, firings=fired(fault, trace[1]))) is PASS
    gave_up = evidence(trace[:2], succeeded=False, firings=fired(fault, trace[1]))
    assert verdict("UT-C17", gave_up) is NON_STRICT


# --- UT-C19: a lost close --------------------------------------------------------------------


def _lost_close(final: FinalToken) -> CaseEvidence:
    trace = good()
    trace[3] = upload(4, 3 * STEP, SPANS[3], final=True, kind="dropped")
    fault = Fault(CloseAttempt(1), FaultKind.DROP_AFTER_APPLY)
    return evidence(trace, succeeded=False, final=final, firings=fired(fault, trace[3]))


def test_c19_failure_reported_over_a_complete_token_is_non_strict() -> None:
    case = _lost_close(FinalToken(TOKEN, FULL, SIZE, SOURCE.digest()))
    assert verdict("UT-C19", case) is NON_STRICT


def test_c19_failure_reported_over_a_token_finalised_with_part_of_the_file_passes() -> None:
    """FULL_UPLOAD with a partial file is no success (UT-C14): failure is the honest answer."""
    case = _lost_close(FinalToken(TOKEN, FULL, CHUNK, None))
    assert verdict("UT-C19", case) is PASS
