"""What a judge cannot vouch for in a case's evidence, and the checks it sets aside.

Through the proxy (`conformance.proxycase.ProxyCaseRunner`) the server is a real one: where it
and the reference model answered a request differently, or the proxy answered in its place
(a request it could not forward), the client met a server that does not follow the rules
the checks assume. That is never the client's fault. A `Doubt` names what is in doubt and
how far it reaches (`Reads`, narrowest first): the answer to one close or `uploadToken.get`
reaches the checks that read close answers and beyond, the answer to another data request
those that read data answers and beyond, any other answer the end state and beyond. Each
check declared what it reads where it was registered (`check(..., reads=...)`); `set_aside`
turns the verdict of every check a doubt reaches into NOT-EXERCISED with the reasons, and
leaves the others judged: a request's shape is the client's whatever the server answered.
A request the model did not follow (`unfollowed_doubt`) puts in doubt its own answer and the
model's oracle for the tokens it touched from then on: the later answers it predicts, the
end state and the content; not the client's requests, unless it hides some of them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

from conformance.checks.base import CHECKS
from conformance.checks.evidence import CaseEvidence
from conformance.faults import FaultKind
from conformance.findings import CheckResult, Reads
from conformance.requirements import Verdict
from conformance.trace import Exchange

__all__ = [
    "NEVER_APPLIED",
    "Doubt",
    "answer_doubt",
    "case_doubt",
    "content_order_doubt",
    "set_aside",
    "unfollowed_doubt",
]

_NARROWEST_FIRST = tuple(Reads)
# The fault kinds answered in the server's place, the request never applied there (through
# the proxy, never forwarded: `proxy.refusals.NOT_FORWARDED`, kept equal by a test).
NEVER_APPLIED = (
    FaultKind.HTTP_ERROR,
    FaultKind.KALTURA_ERROR,
    FaultKind.RESET_BEFORE_APPLY,
    FaultKind.CLOSE_CANNOT_MATCH,
)
_JUDGED = (Verdict.PASS, Verdict.FAIL, Verdict.NON_STRICT)
MAX_REASONS = 5  # per verdict: the reports list every disagreement in their own section


@dataclass(frozen=True)
class Doubt:
    """Part of a case's evidence that cannot be vouched for: every check that reads
    `reaches` or more of the evidence loses its verdict, with `reason`."""

    reason: str
    reaches: Reads

    def spoils(self, reads: Reads) -> bool:
        return _NARROWEST_FIRST.index(self.reaches) <= _NARROWEST_FIRST.index(reads)


def answer_doubt(exchange: Exchange, reason: str) -> Doubt:
    """The answer to `exchange` is in doubt: the checks that read it, and those that read
    what follows from it (the end state, the content), are set aside."""
    if exchange.action == "get" or (exchange.is_data_request and exchange.final_chunk):
        return Doubt(reason, Reads.CLOSE_ANSWERS)
    if exchange.is_data_request:
        return Doubt(reason, Reads.DATA_ANSWERS)
    return Doubt(reason, Reads.END_STATE)


def case_doubt(reason: str) -> Doubt:
    """The whole case is in doubt, the client's requests included."""
    return Doubt(reason, Reads.REQUESTS)


def unfollowed_doubt(evidence: CaseEvidence, unfollowed: Exchange, why: str) -> Doubt:
    """The model did not follow `unfollowed` (`why`: a multirequest, an unreadable KS, a
    token it never saw made, a write past the bytes it keeps …): its answer was compared
    with nothing, and the model's view of each token it touched is a guess from then on.
    So the doubt reaches as far as the answers of that request and of every request on
    those tokens answered after it arrived (`answer_doubt`), and with them the end state
    and the content. The client's requests are its own and stay judged, unless the
    request hides some of them: a multirequest carrying an upload, traced as one exchange."""
    call = ".".join(part for part in (unfollowed.service, unfollowed.action) if part)
    reason = f"exchange {unfollowed.id} ({call}) was not followed by the model: {why}"
    if _hides_uploads(unfollowed):
        return case_doubt(f"{reason}; it carries uploads no check sees")
    touched = _tokens_touched(unfollowed)
    later = [
        e
        for e in evidence.exchanges
        if (touched is None or e.token_id in touched) and _end(e) >= unfollowed.arrival
    ]
    reach = min(
        (answer_doubt(e, reason).reaches for e in (unfollowed, *later)),
        key=_NARROWEST_FIRST.index,
    )
    return Doubt(reason, reach)


def content_order_doubt(evidence: CaseEvidence) -> Doubt | None:
    """Two data requests on the token were in flight together (the server may have written
    them in either order, which no one outside it sees) and the file they leave depends on
    that order: last writer wins over overlapping bytes (§9), a resume=false part replaces
    the file (§4 step 6), a part at resumeAt < 0 lands wherever the file ends (§5). Unless
    both carry the source's own bytes at their offsets over a range they share, the bytes
    the model assembled in answer order are a guess: the content is in doubt. A part a
    fault refused in the server's place (`NEVER_APPLIED`) wrote nothing, so no order of it."""
    refused = {f.exchange_id for f in evidence.fired(*NEVER_APPLIED)}
    written = tuple(e for e in evidence.uploads if e.applied or e.id not in refused)
    for first, second in _in_flight_together(written):
        if _order_matters(evidence, first, second):
            return Doubt(
                f"requests #{first.id} and #{second.id} were in flight together and the "
                "file depends on which the server wrote last, which the proxy cannot see",
                Reads.CONTENT,
            )
    return None


def set_aside(results: tuple[CheckResult, ...], doubts: list[Doubt]) -> tuple[CheckResult, ...]:
    """Each judged verdict a doubt reaches becomes NOT-EXERCISED, its reasons observed."""
    return tuple(_unjudged(result, doubts) for result in results)


def _unjudged(result: CheckResult, doubts: list[Doubt]) -> CheckResult:
    if result.verdict not in _JUDGED:
        return result
    reads = CHECKS.reads(result.requirement_id)
    reasons = [doubt.reason for doubt in doubts if doubt.spoils(reads)]
    if not reasons:
        return result
    observations = {**result.observations, "not judged": reasons[:MAX_REASONS]}
    return CheckResult(result.requirement_id, Verdict.NOT_EXERCISED, (), observations)


def _hides_uploads(exchange: Exchange) -> bool:
    """A multirequest with an `uploadToken.upload` among its calls, or a call the trace
    kept too little of to tell."""
    return any(
        fields is None
        or ("uploadtoken" in fields.get("service", ()) and "upload" in fields.get("action", ()))
        for fields in _multirequest_calls(exchange)
    )


def _tokens_touched(exchange: Exchange) -> frozenset[str] | None:
    """The tokens a request names: its own, or those its multirequest's calls name; None
    (every token) when a call names one by another call's result (`{1:result:id}`)."""
    calls = _multirequest_calls(exchange)
    if not calls:
        return frozenset() if exchange.token_id is None else frozenset({exchange.token_id})
    named = {v for fields in calls if fields for v in fields.get("uploadtokenid", ())}
    return None if any(v.startswith("{") for v in named) else frozenset(named)


# One field of a call as the trace flattens it: `{service: uploadtoken, action: get, …}`.
_CALL_FIELD = re.compile(r"(?:^\{|, )(service|action|uploadTokenId): (\{[^}]*\}|[^,{}]*)", re.I)


def _multirequest_calls(exchange: Exchange) -> list[dict[str, list[str]] | None]:
    """Each call of a multirequest (parameters `1`, `2` … in the trace, each flattened by
    `endpoints.recording`): its service, action and token ids, lower-cased names (service
    and action values too); None for a call the trace cut short."""
    if (exchange.service or "").lower() != "multirequest":
        return []
    return [_call_fields(value) for name, value in exchange.params.items() if name.isdigit()]


def _call_fields(flat: str) -> dict[str, list[str]] | None:
    if not (flat.startswith("{") and flat.endswith("}")):
        return None  # cut short (`TRACE_VALUE_MAX`) or not a call at all
    fields: dict[str, list[str]] = {}
    for name, value in _CALL_FIELD.findall(flat):
        key = name.lower()
        fields.setdefault(key, []).append(value if key == "uploadtokenid" else value.lower())
    return fields


def _in_flight_together(uploads: tuple[Exchange, ...]) -> Iterator[tuple[Exchange, Exchange]]:
    """Each pair in flight at once (arrival to answer; an unanswered one, ever after), in
    one sweep by arrival: a long upload has thousands of parts, but few at once."""
    flying: list[Exchange] = []
    for exchange in sorted(uploads, key=lambda e: e.arrival):
        flying = [e for e in flying if _end(e) > exchange.arrival]
        yield from ((earlier, exchange) for earlier in flying)
        flying.append(exchange)


def _end(exchange: Exchange) -> float:
    return math.inf if exchange.answered_at is None else exchange.answered_at


def _order_matters(evidence: CaseEvidence, first: Exchange, second: Exchange) -> bool:
    one, other = _span(first), _span(second)
    if one is None or other is None:
        return True  # resume=false or resumeAt < 0: where it lands is the order's
    if max(one[0], other[0]) >= min(one[1], other[1]):
        return False  # no byte in common
    return not (_from_source(evidence, first) and _from_source(evidence, second))


def _span(exchange: Exchange) -> tuple[float, float] | None:
    """The bytes a resume=true part at resumeAt >= 0 writes; None for any other part."""
    at = exchange.resume_at
    if not exchange.resume or at is None or at < 0:
        return None
    return at, at + (exchange.payload.size if exchange.payload else 0)


def _from_source(evidence: CaseEvidence, exchange: Exchange) -> bool:
    payload = exchange.payload
    if payload is None or payload.sha256 is None or exchange.resume_at is None:
        return False
    return evidence.expected_digest(exchange.resume_at, payload.size) == payload.sha256
