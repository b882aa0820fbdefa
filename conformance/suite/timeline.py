"""A case's timeline as the reports draw it: every request of the case as plain data (when it
was sent and answered, relative to the case's first request; on which connection; what it
carried and got back; which fault hit it), the requests each broken requirement names as
evidence, and what became of the file's bytes.

`reports` imports nothing of ours, so this is where the trace is turned into the
`cases[].timeline` field (schema in `reports.schema`, drawing in `reports.timeline`). It is
bounded: at most `MAX_DRAWN` requests, each with at most `MAX_PARAMS` parameters cut to
`MAX_VALUE` characters; the builder keeps it only for the cases the reports draw.
Credentials never appear: the trace is scrubbed when recorded, and redacted parameters are
left out here altogether.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from typing import Any, Final

from conformance.checks import CaseEvidence, CheckResult
from conformance.requirements import Verdict
from conformance.server.answers import Observation, ServerAnswer
from conformance.trace import Exchange

__all__ = [
    "MAX_DRAWN",
    "MAX_PARAMS",
    "MAX_VALUE",
    "byte_map",
    "case_timeline",
    "request_record",
    "server_timeline",
]

MAX_DRAWN: Final = 200  # requests kept per case; the rest are counted in `omitted`
MAX_PARAMS: Final = 12  # parameters kept per request for the hover title
MAX_VALUE: Final = 80  # characters of each kept parameter value
_BROKEN = (Verdict.FAIL, Verdict.NON_STRICT)
# Parameters the flags and the call already show, and those the trace redacted.
_NOT_SHOWN = frozenset({"ks", "secret", "kalsig", "service", "action", "fileData"})
_REDACTED = "<redacted>"


def case_timeline(evidence: CaseEvidence, results: Iterable[CheckResult]) -> dict[str, Any]:
    """The `timeline` field of a case record (`reports.schema` documents each field)."""
    exchanges = evidence.exchanges
    start = min((e.arrival for e in exchanges), default=0.0)
    fired = {f.exchange_id: f.fault.describe() for f in evidence.firings}
    drawn = [request_record(e, start, fired.get(e.id)) for e in exchanges[:MAX_DRAWN]]
    return {
        "requests": drawn,
        "omitted": max(0, len(exchanges) - MAX_DRAWN),
        "evidence": _evidence(results),
        "bytes": byte_map(evidence),
    }


def server_timeline(
    observed: Sequence[Observation], results: Iterable[CheckResult]
) -> dict[str, Any]:
    """A server check's comparisons as a step timeline (`axis: steps`: the driver sends one
    request at a time; step n, from 1, runs from n to n + 1): each the driver's request in
    words, the server's answer, and where the model predicted otherwise, both side by side;
    the mismatches are the evidence of the requirements they exercise that broke."""
    drawn = observed[:MAX_DRAWN]
    broken = [r.requirement_id for r in results if r.verdict in _BROKEN]
    return {
        "axis": "steps",
        "requests": [_step(n, observation) for n, observation in enumerate(drawn)],
        "omitted": max(0, len(observed) - MAX_DRAWN),
        "evidence": {
            rid: [n + 1 for n, seen in enumerate(drawn) if not seen.ok and rid in seen.requirements]
            for rid in broken
        },
        "bytes": None,
    }


def _step(number: int, observation: Observation) -> dict[str, Any]:
    actual = observation.actual
    step = {
        "id": number + 1,
        "sent": number + 1,  # step n is drawn from n to n + 1
        "answered": number + 2,
        "connection": "driver",
        "call": "uploadToken",
        "role": _cut(observation.request),
        "resume": None,
        "final_chunk": None,
        "resume_at": None,
        "length": None,
        "answer": _server_kind(actual),
        "code": actual.code,
        "http_status": None,
        "fault": None,
        "params": {"requirements": ", ".join(observation.requirements)},
    }
    if not observation.ok:
        server, model = actual.describe(), observation.expected.describe()
        step["disagreed"] = {"server": _cut(server), "model": _cut(model)}
    return step


def _server_kind(answer: ServerAnswer) -> str:
    """`transport` (no usable answer) is drawn as no answer."""
    return "none" if answer.kind == "transport" else answer.kind


def _cut(text: str, limit: int = 4 * MAX_VALUE) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def request_record(exchange: Exchange, start: float, fault: str | None = None) -> dict[str, Any]:
    """One request as drawn: times in seconds from `start` (the case's first arrival)."""
    answer = exchange.answer
    payload = exchange.payload
    return {
        "id": exchange.id,
        "sent": _seconds(exchange.arrival - start),
        "answered": None
        if exchange.answered_at is None
        else _seconds(exchange.answered_at - start),
        "connection": exchange.connection,
        "call": f"{exchange.service}.{exchange.action}",
        "role": _role(exchange),
        "resume": exchange.resume,
        "final_chunk": exchange.final_chunk,
        "resume_at": _offset(exchange.resume_at),
        "length": None if payload is None else payload.size,
        "answer": "none" if answer is None else answer.kind,
        "code": None if answer is None else answer.code,
        "http_status": None if answer is None else answer.http_status,
        "fault": fault if fault is not None else exchange.fault,
        "params": _params(exchange.params),
    }


def byte_map(evidence: CaseEvidence) -> dict[str, Any]:
    """What became of each byte of the file: ranges that tile [0, size) exactly, each
    `never-sent`, `sent` (never acknowledged), `acknowledged` (by one request), `re-sent`
    (sent more than once, acknowledged at most once) or `overlapping` (acknowledged by more
    than one request); and how many bytes the token finally holds."""
    size = evidence.size
    spans = [_span(e, size) for e in evidence.uploads]
    sent = [s for s in spans if s is not None]
    acked = [s for e, s in zip(evidence.uploads, spans, strict=True) if s and e.acknowledged]
    ranges = _tiled(size, sent, acked)
    final = evidence.final
    return {
        "size": size,
        "ranges": ranges,
        "held": None if final is None else final.uploaded_file_size,
        "full": bool(final is not None and final.full),
    }


def _role(exchange: Exchange) -> str:
    if not exchange.is_data_request:
        return str(exchange.action or "unknown")
    opening = exchange.resume is not True
    if exchange.final_chunk:
        return "whole" if opening else "close"
    return "opening" if opening else "middle"


def _evidence(results: Iterable[CheckResult]) -> dict[str, list[int]]:
    """Per broken requirement, the exchange ids its breaches name (in order, once each)."""
    named: dict[str, list[int]] = {}
    for result in results:
        if result.verdict in _BROKEN:
            ids = (i for breach in result.breaches for i in breach.exchanges)
            named[result.requirement_id] = list(dict.fromkeys(ids))
    return named


def _params(params: dict[str, str]) -> dict[str, str]:
    kept: dict[str, str] = {}
    for name, value in params.items():
        if name in _NOT_SHOWN or value == _REDACTED or len(kept) == MAX_PARAMS:
            continue
        kept[name[:MAX_VALUE]] = _cut(value, MAX_VALUE)
    return kept


def _span(exchange: Exchange, size: int) -> tuple[int, int] | None:
    """The part of [0, size) a data request wrote to, by the checks' reading of its flags."""
    if exchange.payload is None:
        return None
    at = 0.0 if exchange.resume is False else (exchange.resume_at or 0.0)
    if not math.isfinite(at) or at < 0 or at != int(at):
        return None
    start = min(int(at), size)
    end = min(int(at) + exchange.payload.size, size)
    return (start, end) if end > start else None


def _tiled(
    size: int, sent: Sequence[tuple[int, int]], acked: Sequence[tuple[int, int]]
) -> list[dict[str, Any]]:
    """Consecutive ranges covering [0, size), each with the kind its coverage gives."""
    cuts = sorted({0, size, *(p for s in sent for p in s)})
    ranges: list[dict[str, Any]] = []
    for start, end in itertools.pairwise(cuts):
        kind = _kind(_covering(sent, start), _covering(acked, start))
        if ranges and ranges[-1]["kind"] == kind:
            ranges[-1]["end"] = end
        else:
            ranges.append({"start": start, "end": end, "kind": kind})
    return ranges


def _covering(spans: Sequence[tuple[int, int]], at: int) -> int:
    return sum(1 for start, end in spans if start <= at < end)


def _kind(sent: int, acked: int) -> str:
    if acked > 1:
        return "overlapping"
    if sent > 1:
        return "re-sent"
    if acked == 1:
        return "acknowledged"
    return "sent" if sent else "never-sent"


def _offset(value: float | None) -> int | float | None:
    if value is None or not math.isfinite(value):
        return None
    return int(value) if value == int(value) else value


def _seconds(value: float) -> float:
    return round(max(0.0, value), 4)
