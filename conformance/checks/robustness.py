"""Checks of honesty and of surviving the faults the protocol promises to tolerate
(UT-C13…UT-C15, UT-C17…UT-C20)."""

from __future__ import annotations

from conformance.checks.base import Breach, Findings, Reads, check, describe_request
from conformance.checks.evidence import CaseEvidence
from conformance.faults import FaultKind
from conformance.model import ErrorCode
from conformance.trace import Exchange

__all__ = ["TIGHT_LOOP_PER_SECOND"]

CANNOT_MATCH = ErrorCode.UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE.name
# More identical requests than this within one second is a tight retry loop (UT-C20).
TIGHT_LOOP_PER_SECOND = 10
# A re-sent close this soon after the refusal had no pause at all (UT-C18) [I].
MIN_CLOSE_PAUSE = 0.005
_TRANSIENT = (
    FaultKind.RESET_BEFORE_APPLY,
    FaultKind.DROP_AFTER_APPLY,
    FaultKind.HTTP_ERROR,
    FaultKind.KALTURA_ERROR,
)


def _same_request(first: Exchange, second: Exchange) -> bool:
    """A re-send: same stage, same offset, same bytes."""
    return (
        first.resume == second.resume
        and first.final_chunk == second.final_chunk
        and (first.resume_at == second.resume_at or first.resume is False)
        and first.payload is not None
        and second.payload is not None
        and first.payload.sha256 == second.payload.sha256
    )


def _later(evidence: CaseEvidence, exchange: Exchange) -> list[Exchange]:
    return [e for e in evidence.uploads if e.arrival > exchange.arrival]


@check("UT-C13", reads=Reads.DATA_ANSWERS)
def error_objects_are_failures(evidence: CaseEvidence) -> Findings:
    """An error object is not an acknowledgement: the client re-sends that request (or a
    request covering its bytes is acknowledged later), or it reports failure. Sending the
    close while a refused chunk was neither re-sent nor acknowledged takes the error for an
    acknowledgement, whatever the client reports at the end."""
    refused = [e for e in evidence.uploads if e.answer is not None and e.answer.kind == "error"]
    if not refused:
        return Findings(exercised=False)
    breaches = [b for e in refused if (b := _refusal_breach(evidence, e)) is not None]
    return Findings(tuple(breaches))


def _refusal_breach(evidence: CaseEvidence, refused: Exchange) -> Breach | None:
    code = refused.answer.code if refused.answer else "?"
    resent = [
        later
        for later in _later(evidence, refused)
        if _same_request(refused, later) and later.acknowledged
    ]
    if not refused.final_chunk:
        answered = refused.answered_at if refused.answered_at is not None else refused.arrival
        close = next(
            (e for e in _later(evidence, refused) if e.final_chunk and e.arrival >= answered), None
        )
        if close is not None and not any(_before(r, close) for r in resent):
            return Breach(
                f"{describe_request(refused)} was answered {code}, and the close "
                f"(request #{close.id}) was sent without re-sending it",
                (refused.id, close.id),
            )
    if not evidence.outcome.succeeded or resent or _closed_by_another(evidence, refused):
        return None
    return Breach(
        f"{describe_request(refused)} was answered {code}, never re-sent, and success was claimed",
        (refused.id,),
    )


def _before(first: Exchange, second: Exchange) -> bool:
    """`first` was answered before `second` arrived (server-side clock)."""
    return first.answered_at is not None and first.answered_at <= second.arrival


def _closed_by_another(evidence: CaseEvidence, exchange: Exchange) -> bool:
    """A refused close is superseded by another close that took effect, before or after it
    (a re-sent close refused INVALID_STATUS_FOR_UPLOAD on a FULL token: UT-C19)."""
    return bool(exchange.final_chunk) and any(
        e.final_chunk and e.id != exchange.id and evidence.confirmed(e) for e in evidence.uploads
    )


@check("UT-C14", reads=Reads.END_STATE)
def honest_outcome(evidence: CaseEvidence) -> Findings:
    outcome = evidence.outcome
    if outcome.timed_out:
        detail = f" ({outcome.detail})" if outcome.detail else ""
        return Findings((Breach(f"the client did not finish within the time limit{detail}"),))
    if not outcome.succeeded:
        return Findings()
    final = evidence.final
    if final is None:
        return Findings((Breach("success claimed, but no token was uploaded to"),))
    if not final.full or final.uploaded_file_size != evidence.size:
        return Findings(
            (
                Breach(
                    f"success claimed, but token {final.token_id} ended status={final.status} "
                    f"uploadedFileSize={final.uploaded_file_size}; expected FULL_UPLOAD (2) "
                    f"with {evidence.size} bytes"
                ),
            )
        )
    return Findings()


@check("UT-C15", reads=Reads.CONTENT)
def identical_bytes(evidence: CaseEvidence) -> Findings:
    final = evidence.final
    if not evidence.outcome.succeeded or final is None or final.file_digest is None:
        return Findings(exercised=False)
    if final.file_digest == evidence.source.digest():
        return Findings()
    return Findings(
        (
            Breach(
                f"the assembled file (sha256 {final.file_digest[:16]}…) is not the source "
                f"(sha256 {evidence.source.digest()[:16]}…)"
            ),
        )
    )


def _faulted(evidence: CaseEvidence, kinds: tuple[FaultKind, ...]) -> list[Exchange]:
    ids = {f.exchange_id for f in evidence.fired(*kinds)}
    return [e for e in evidence.uploads if e.id in ids]


@check("UT-C17", reads=Reads.DATA_ANSWERS)
def transient_failures_are_re_sent(evidence: CaseEvidence) -> Findings:
    hit = [
        e
        for e in _faulted(evidence, _TRANSIENT)
        if not e.final_chunk and _transient_fault(evidence, e)
    ]
    if not hit:
        return Findings(exercised=False)
    breaches = [
        Breach(
            f"{describe_request(e)} failed ({e.fault}) and was never re-sent with the same bytes",
            (e.id,),
        )
        for e in hit
        if not any(_same_request(e, later) and later.acknowledged for later in _later(evidence, e))
    ]
    if not breaches and not evidence.outcome.succeeded:
        breaches.append(Breach("the upload did not complete after a transient failure"))
    return Findings(tuple(breaches))


def _transient_fault(evidence: CaseEvidence, exchange: Exchange) -> bool:
    firing = next((f for f in evidence.firings if f.exchange_id == exchange.id), None)
    return firing is not None and firing.fault.is_transient


@check("UT-C18", reads=Reads.CLOSE_ANSWERS)
def the_close_is_retried_on_cannot_match(evidence: CaseEvidence) -> Findings:
    refused = [
        e
        for e in evidence.uploads
        if e.final_chunk and e.answer is not None and e.answer.code == CANNOT_MATCH
    ]
    if not refused:
        return Findings(exercised=False)
    breaches = [b for e in refused if (b := _close_retry_breach(evidence, e)) is not None]
    if not breaches and not evidence.outcome.succeeded and not _persistent(evidence):
        breaches.append(Breach("the close was refused and the upload never converged"))
    return Findings(tuple(breaches))


def _persistent(evidence: CaseEvidence) -> bool:
    return any(not f.fault.is_transient for f in evidence.firings)


def _close_retry_breach(evidence: CaseEvidence, refused: Exchange) -> Breach | None:
    retry = next((e for e in _later(evidence, refused) if e.final_chunk), None)
    if retry is None:
        if evidence.outcome.succeeded or _persistent(evidence):
            return None
        return Breach(
            f"{describe_request(refused)} met {CANNOT_MATCH} and was never re-sent", (refused.id,)
        )
    if not _same_request(refused, retry):
        return Breach(
            f"{describe_request(retry)} is not the identical close", (refused.id, retry.id)
        )
    answered = refused.answered_at or refused.arrival
    if retry.arrival - answered < MIN_CLOSE_PAUSE:
        return Breach(f"{describe_request(retry)} re-sent without a pause", (refused.id, retry.id))
    return None


@check("UT-C19", reads=Reads.END_STATE)
def a_lost_close_is_resolved(evidence: CaseEvidence) -> Findings:
    """Only a token FULL with the whole file is a success to report (UT-C14): failure is
    the honest answer when a close whose answer was lost finalised a partial file."""
    lost = [
        e
        for e in _faulted(evidence, (FaultKind.DROP_AFTER_APPLY, FaultKind.RESET_BEFORE_APPLY))
        if e.final_chunk
    ]
    if not lost:
        return Findings(exercised=False)
    final = evidence.final
    complete = final is not None and final.full and final.uploaded_file_size == evidence.size
    if complete and not evidence.outcome.succeeded:
        return Findings(
            (
                Breach(
                    "the close's answer was lost; the token is FULL_UPLOAD, yet the client "
                    "reported failure"
                ),
            )
        )
    return Findings()


@check("UT-C20", reads=Reads.DATA_ANSWERS)
def retries_are_bounded_and_spaced(evidence: CaseEvidence) -> Findings:
    breaches: list[Breach] = []
    burst = _tightest_loop(evidence)
    if burst is not None:
        breaches.append(burst)
    persistent = _persistent(evidence)
    if persistent and evidence.outcome.succeeded is False and evidence.outcome.timed_out:
        breaches.append(
            Breach("a persistent error never ended in a reported failure (time limit hit)")
        )
    return Findings(
        tuple(breaches), exercised=persistent or burst is not None or len(evidence.uploads) > 1
    )


def _digest(exchange: Exchange) -> str | None:
    return exchange.payload.sha256 if exchange.payload else None


def _tightest_loop(evidence: CaseEvidence) -> Breach | None:
    """More than TIGHT_LOOP_PER_SECOND identical requests inside any one second."""
    by_request: dict[tuple[object, ...], list[float]] = {}
    for e in evidence.uploads:
        key: tuple[object, ...] = (e.resume, e.final_chunk, e.resume_at, _digest(e))
        by_request.setdefault(key, []).append(e.arrival)
    for key, times in by_request.items():
        times.sort()
        for index in range(len(times) - TIGHT_LOOP_PER_SECOND):
            if times[index + TIGHT_LOOP_PER_SECOND] - times[index] < 1.0:
                return Breach(
                    f"{TIGHT_LOOP_PER_SECOND + 1} identical requests (resumeAt={key[2]}) within "
                    "one second: a tight retry loop"
                )
    return None
