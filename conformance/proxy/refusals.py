"""The faults the proxy applies itself, and its answers to those it does not forward.

The kinds that need no help from the server are all done at the proxy (`PROXY_KINDS`): a
Kaltura error object, an HTTP 5xx, a reset and UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE on a
close are answered here without forwarding (`NOT_FORWARDED`, `refusal`); DROP_AFTER_APPLY
and DELAY are forwarded, then lose or delay the answer. `EMBEDDED_ONLY` lists the kinds
that need the server's own cooperation, and why; `check_plan` refuses a plan with one.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from conformance.endpoints.core import Reply
from conformance.endpoints.front import API_HEADERS
from conformance.endpoints.replies import http_error_reply, serializer
from conformance.faults import Fault, FaultKind, FaultPlan
from conformance.model import ApiError, ErrorCode, Failed, api_error
from conformance.trace import Answered, Exchange
from conformance.wire import ApiCall, encode_answer

__all__ = ["EMBEDDED_ONLY", "NOT_FORWARDED", "PROXY_KINDS", "check_plan", "refusal", "refuses"]

EMBEDDED_ONLY: Mapping[FaultKind, str] = MappingProxyType(
    {
        FaultKind.HOLD_CHUNK: (
            "holding a chunk back from the file while acknowledging it needs the server "
            "to append late: a proxy can only delay the whole request or its answer"
        ),
    }
)
PROXY_KINDS = frozenset(FaultKind) - frozenset(EMBEDDED_ONLY)
NOT_FORWARDED = frozenset(
    {
        FaultKind.HTTP_ERROR,
        FaultKind.KALTURA_ERROR,
        FaultKind.RESET_BEFORE_APPLY,
        FaultKind.CLOSE_CANNOT_MATCH,
    }
)


def check_plan(plan: FaultPlan) -> None:
    """ValueError when the plan has a kind only the embedded server can apply."""
    for fault in plan.faults:
        why = EMBEDDED_ONLY.get(fault.kind)
        if why is not None:
            raise ValueError(f"{fault.describe()}: embedded-only ({why})")


def refuses(plan: FaultPlan) -> bool:
    return any(fault.kind in NOT_FORWARDED for fault in plan.faults)


def refusal(fault: Fault, call: ApiCall, exchange: Exchange) -> Reply:
    """The fault's answer, made here; the upstream never sees the request."""
    kind = fault.kind
    if kind is FaultKind.RESET_BEFORE_APPLY:
        exchange.answer = Answered("reset")
        return Reply(0, "", b"", disconnect="reset", exchange=exchange)
    if kind is FaultKind.HTTP_ERROR:
        return http_error_reply(fault.status or 503, exchange)
    if kind is FaultKind.CLOSE_CANNOT_MATCH:
        error = api_error(ErrorCode.UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE)
    else:
        error = ApiError(fault.code or "INTERNAL_SERVERL_ERROR", fault.message or "")
    exchange.answer = Answered("error", http_status=200, code=error.code)
    encoded = encode_answer(Failed(error), serializer(call))
    return Reply(
        encoded.status, encoded.content_type, encoded.body, exchange=exchange, headers=API_HEADERS
    )
