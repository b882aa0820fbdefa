"""Checks of the three-stage protocol itself (UT-C01…UT-C12, UT-C16, UT-C21).

Terms (requirements.md): the *opening* is the first data request (and any re-send of it
with `resume=false` before it was acknowledged); a *close* is a request with
`finalChunk=true` — given, or by the server's default when omitted; a *middle* is any
other data request. A request is *acknowledged* when the client received a success.
"""

from __future__ import annotations

from conformance.checks.base import Breach, Findings, Reads, check, describe_request
from conformance.checks.evidence import CaseEvidence
from conformance.trace import Exchange

__all__: list[str] = []


def _breach(exchange: Exchange, problem: str, expected: str) -> Breach:
    return Breach(f"{describe_request(exchange)}: {problem}; expected {expected}", (exchange.id,))


def _end(exchange: Exchange) -> float:
    start = 0.0 if exchange.resume is False else (exchange.resume_at or 0.0)
    return start + (exchange.payload.size if exchange.payload else 0)


def _is_close(exchange: Exchange) -> bool:
    return bool(exchange.final_chunk)


def _first_ack_opening(evidence: CaseEvidence) -> Exchange | None:
    return next((e for e in evidence.uploads if e.resume is False and e.acknowledged), None)


def _before(first: Exchange, second: Exchange) -> bool:
    """`first` was answered before `second` arrived (server-side clock)."""
    return first.answered_at is not None and first.answered_at <= second.arrival


@check("UT-C01")  # reads the answers to uploadToken.add too: everything, by default
def token_exists(evidence: CaseEvidence) -> Findings:
    breaches = [
        _breach(e, f"names token {e.token_id!r}", "a token created with uploadToken.add")
        for e in evidence.data
        if e.token_id is None or e.token_id not in evidence.known_tokens
    ]
    return Findings(tuple(breaches), exercised=bool(evidence.data))


@check("UT-C02", reads=Reads.REQUESTS)
def opening_sends_resume_false(evidence: CaseEvidence) -> Findings:
    if not evidence.uploads:
        return Findings(exercised=False)
    opening = evidence.uploads[0]
    if opening.resume is False:
        return Findings()
    return Findings((_breach(opening, "the opening request sends resume=true", "resume=false"),))


@check("UT-C03", reads=Reads.REQUESTS)
def opening_says_not_final(evidence: CaseEvidence) -> Findings:
    """With more than one stage, every `resume=false` request must say finalChunk=false:
    the server's default is true, and would finalise a partial file. An opening that
    carries less than the whole file starts a multi-request upload even when nothing
    follows it (a client that gives up after its opening failed)."""
    multi = any(e.resume for e in evidence.uploads)
    breaches = [
        _breach(e, _final_problem(e), "finalChunk=false given explicitly")
        for e in evidence.uploads
        if e.resume is False
        and (multi or _partial(e, evidence.size))
        and (not e.present("finalChunk") or e.final_chunk)
    ]
    return Findings(tuple(breaches), exercised=bool(evidence.uploads))


def _partial(exchange: Exchange, size: int) -> bool:
    """The request carries less than the whole file."""
    return exchange.payload is not None and exchange.payload.size < size


def _final_problem(exchange: Exchange) -> str:
    if not exchange.present("finalChunk"):
        return "finalChunk is omitted (the server reads true)"
    return "finalChunk=true on the opening of a multi-request upload"


@check("UT-C04", reads=Reads.DATA_ANSWERS)
def no_resume_before_the_opening_is_acknowledged(evidence: CaseEvidence) -> Findings:
    opening = _first_ack_opening(evidence)
    resumed = [e for e in evidence.uploads if e.resume]
    if not resumed:
        return Findings(exercised=False)
    breaches = [
        _breach(e, "sent before the opening request was acknowledged", "the opening's answer first")
        for e in resumed
        if opening is None or not _before(opening, e)
    ]
    return Findings(tuple(breaches))


@check("UT-C05", reads=Reads.DATA_ANSWERS)
def no_second_opening(evidence: CaseEvidence) -> Findings:
    opening = _first_ack_opening(evidence)
    if opening is None:
        return Findings(exercised=False)
    breaches = [
        _breach(
            e, "resume=false after the opening was acknowledged (replaces the file)", "resume=true"
        )
        for e in evidence.uploads
        if e.resume is False and e.id != opening.id and _before(opening, e)
    ]
    return Findings(tuple(breaches))


def _middles(evidence: CaseEvidence) -> list[Exchange]:
    """Data requests after the opening that are not a close by their own account: those
    that say finalChunk=false, or omit it with a payload that stops short of the end of the
    file. One that says finalChunk=true is a close, however wrong (UT-C09's business)."""
    opening = evidence.uploads[0] if evidence.uploads else None
    return [
        e
        for e in evidence.uploads
        if e is not opening
        and not (e.resume is False and opening is not None and opening.resume is False)
        and (e.final_chunk is False or (not e.present("finalChunk") and _end(e) < evidence.size))
    ]


@check("UT-C06", reads=Reads.REQUESTS)
def middles_say_resume_and_not_final(evidence: CaseEvidence) -> Findings:
    middles = _middles(evidence)
    breaches = [
        _breach(e, _middle_problem(e), "resume=true and finalChunk=false, both given")
        for e in middles
        if e.resume is not True or not e.present("resume") or _middle_final_wrong(e)
    ]
    return Findings(tuple(breaches), exercised=bool(middles))


def _middle_final_wrong(exchange: Exchange) -> bool:
    return not exchange.present("finalChunk") or exchange.final_chunk is not False


def _middle_problem(exchange: Exchange) -> str:
    if exchange.resume is not True or not exchange.present("resume"):
        return "a middle chunk without resume=true"
    if not exchange.present("finalChunk"):
        return "a middle chunk with finalChunk omitted (the server reads true and finalises)"
    return "a middle chunk with finalChunk=true"


@check("UT-C07", reads=Reads.REQUESTS)
def resume_at_is_the_payload_offset(evidence: CaseEvidence) -> Findings:
    resumed = [e for e in evidence.uploads if e.resume]
    breaches = [b for e in resumed if (b := _offset_breach(evidence, e)) is not None]
    return Findings(tuple(breaches), exercised=bool(resumed))


def _offset_breach(evidence: CaseEvidence, exchange: Exchange) -> Breach | None:
    at = exchange.resume_at
    if not exchange.present("resumeAt") or at is None or at < 0:
        shown = "omitted (-1)" if not exchange.present("resumeAt") else f"resumeAt={at}"
        return _breach(exchange, f"{shown}: the server appends at its end", "resumeAt >= 0")
    payload = exchange.payload
    if payload is None or payload.sha256 is None:
        return None
    if evidence.expected_digest(at, payload.size) == payload.sha256:
        return None
    origin = evidence.source.locate(payload.head) if payload.head else None
    if origin is not None and origin != at:
        return _breach(
            exchange, f"the payload is the source's bytes at {origin}", f"resumeAt={origin}"
        )
    return None  # not the source's bytes anywhere we can tell: UT-C08's business


@check("UT-C08", reads=Reads.REQUESTS)
def payloads_are_the_source_bytes(evidence: CaseEvidence) -> Findings:
    breaches = [b for e in evidence.uploads if (b := _payload_breach(evidence, e)) is not None]
    return Findings(tuple(breaches), exercised=bool(evidence.uploads))


def _payload_breach(evidence: CaseEvidence, exchange: Exchange) -> Breach | None:
    payload = exchange.payload
    if payload is None or payload.sha256 is None:
        return None
    start = 0.0 if exchange.resume is False else (exchange.resume_at or 0.0)
    if evidence.expected_digest(start, payload.size) == payload.sha256:
        return None
    if exchange.resume and _source_origin(evidence, exchange) not in (None, start):
        return None  # the right bytes (all of them) at the wrong offset: UT-C07's business
    where = f"[{_n(start)}, {_n(start + payload.size)})"
    return _breach(exchange, "the payload differs from the source", f"the source bytes at {where}")


def _source_origin(evidence: CaseEvidence, exchange: Exchange) -> int | None:
    """Where in the source the whole payload comes from: located by its head, confirmed by
    its digest (a payload whose head matches but whose tail differs comes from nowhere)."""
    payload = exchange.payload
    if payload is None or not payload.head or payload.sha256 is None:
        return None
    origin = evidence.source.locate(payload.head)
    if origin is None or evidence.expected_digest(origin, payload.size) != payload.sha256:
        return None
    return origin


def _n(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


@check("UT-C09", reads=Reads.REQUESTS)
def the_close_is_verifiable(evidence: CaseEvidence) -> Findings:
    closes = [e for e in evidence.uploads if _is_close(e)]
    if not closes:
        if evidence.outcome.succeeded:
            return Findings((Breach("success claimed, but no request had finalChunk=true"),))
        return Findings(exercised=False)
    breaches = [b for e in closes if (b := _close_breach(evidence, e)) is not None]
    return Findings(tuple(breaches))


def _close_breach(evidence: CaseEvidence, close: Exchange) -> Breach | None:
    size = close.payload.size if close.payload else 0
    if close.resume is False:
        if size == evidence.size:
            return None
        return _breach(close, "a resume=false close that is not the whole file", "the whole file")
    at = close.resume_at
    if at is None or at <= 0:
        return _breach(
            close, "a close at resumeAt <= 0, which the server never verifies", "resumeAt > 0"
        )
    if at + size != evidence.size:
        return _breach(
            close, f"resumeAt + length = {_n(at + size)}", f"resumeAt + length = {evidence.size}"
        )
    return None


@check("UT-C10", reads=Reads.DATA_ANSWERS)
def the_close_comes_last(evidence: CaseEvidence) -> Findings:
    closes = [e for e in evidence.uploads if _is_close(e) and e.resume]
    breaches: list[Breach] = []
    for close in closes:
        earlier = [e for e in evidence.uploads if e.arrival < close.arrival and not _is_close(e)]
        in_flight = [e for e in earlier if not _before(e, close)]
        if in_flight:
            ids = tuple(e.id for e in in_flight)
            breaches.append(
                Breach(
                    f"{describe_request(close)} sent while requests {list(ids)} were in flight",
                    (close.id, *ids),
                )
            )
        elif (gap := _gap_before(evidence, close)) is not None:
            breaches.append(
                _breach(
                    close,
                    f"sent before bytes [{gap}) were acknowledged",
                    "every chunk acknowledged first",
                )
            )
    return Findings(tuple(breaches), exercised=bool(closes))


def _gap_before(evidence: CaseEvidence, close: Exchange) -> str | None:
    acked = [
        e for e in evidence.uploads if e.acknowledged and _before(e, close) and not _is_close(e)
    ]
    return _first_gap(_ranges(evidence, acked), int(close.resume_at or 0))


def _first_gap(ranges: list[tuple[int, int]], end: int) -> str | None:
    """The first hole in the union of the payload ranges over [0, end)."""
    covered = 0
    for start, stop in sorted(ranges):
        if start > covered:
            break
        covered = max(covered, stop)
    return None if covered >= end else f"{covered}, {end}"


def _ranges(evidence: CaseEvidence, exchanges: list[Exchange]) -> list[tuple[int, int]]:
    return [r for e in exchanges if (r := _range(evidence, e)) is not None]


def _range(evidence: CaseEvidence, exchange: Exchange) -> tuple[int, int] | None:
    """The file bytes a payload stands for: [resumeAt, resumeAt+len), from 0 for an opening.
    At resumeAt < 0 the server appends wherever its end is, so such a payload stands for
    the source range its bytes come from, or for nothing (its offset is UT-C07's business,
    not a gap or an overlap)."""
    size = exchange.payload.size if exchange.payload else 0
    at = 0.0 if exchange.resume is False else (exchange.resume_at or 0.0)
    if at >= 0:
        return int(at), int(at) + size
    origin = _source_origin(evidence, exchange)
    return None if origin is None else (origin, origin + size)


@check("UT-C11", reads=Reads.DATA_ANSWERS)
def acknowledged_payloads_cover_the_file(evidence: CaseEvidence) -> Findings:
    """A payload sent at resumeAt < 0 covers the source range its bytes come from (see
    `_range`): appending the right chunk in the right order does cover the file."""
    if not evidence.outcome.succeeded:
        return Findings(exercised=False)
    acked = [e for e in evidence.uploads if evidence.confirmed(e)]
    gap = _first_gap(_ranges(evidence, acked), evidence.size)
    if gap is None:
        return Findings()
    return Findings((Breach(f"no acknowledged payload covers bytes [{gap})"),))


@check("UT-C12", reads=Reads.REQUESTS)
def file_data_is_a_named_file_part(evidence: CaseEvidence) -> Findings:
    breaches = [
        _breach(e, _file_problem(e), "fileData as a file part with a file name")
        for e in evidence.data
        if e.payload is None or not e.payload.is_file
    ]
    return Findings(tuple(breaches), exercised=bool(evidence.data))


def _file_problem(exchange: Exchange) -> str:
    if exchange.payload is None:
        return "no fileData"
    if exchange.payload.filename == "":
        return "fileData is a part with an empty or no file name"
    return "fileData is a plain form value, not a file part"


@check("UT-C16", reads=Reads.CLOSE_ANSWERS)
def nothing_after_the_close_succeeded(evidence: CaseEvidence) -> Findings:
    done = next((e for e in evidence.uploads if _is_close(e) and e.acknowledged), None)
    if done is None:
        return Findings(exercised=False)
    late = [e for e in evidence.uploads if e.id != done.id and _before(done, e)]
    breaches = [_breach(e, "sent after the close succeeded", "no more data requests") for e in late]
    return Findings(tuple(breaches))


@check("UT-C21", reads=Reads.REQUESTS)
def payloads_do_not_overlap(evidence: CaseEvidence) -> Findings:
    """Distinct payload ranges must not overlap; a re-send of the same range is fine."""
    ranges = sorted({r for r in _ranges(evidence, list(evidence.uploads)) if r[1] > r[0]})
    breaches: list[Breach] = []
    reach: tuple[int, int] | None = None  # the range that reaches furthest so far
    for current in ranges:
        if reach is not None and current[0] < reach[1]:
            breaches.append(Breach(f"payloads {_show(reach)} and {_show(current)} overlap"))
        if reach is None or current[1] > reach[1]:
            reach = current
    return Findings(tuple(breaches), exercised=len(ranges) > 1)


def _show(bounds: tuple[int, int]) -> str:
    return f"[{bounds[0]}, {bounds[1]})"
