"""What the proxy's shadow records of the server (`shadow`): a request the server and the
model answered differently (`Disagreement`), one the model did not follow (`Unmodelled`),
what is compared (`differences`) and what is not followed at all (`unfollowable`). Plain
data, no KS and no message: the report and the checks' reasons read them."""

from __future__ import annotations

from dataclasses import dataclass

from conformance.proxy.callers import UNREADABLE, Resolved
from conformance.proxy.decoding import Decoded
from conformance.trace import Answered
from conformance.wire import ApiCall
from conformance.wire.formats import FormatRefused
from conformance.wire.multirequest import is_multirequest

__all__ = ["Disagreement", "Unmodelled", "describe_answer", "differences", "unfollowable"]


@dataclass(frozen=True)
class Disagreement:
    """One request the server and the model answered differently."""

    exchange_id: int
    service: str | None
    action: str | None
    token_id: str | None
    server: Answered
    model: Answered
    fields: tuple[str, ...]  # which of kind, code, status, uploaded_file_size differ

    def describe(self) -> str:
        call = f"{self.service}.{self.action}"
        server, model = describe_answer(self.server), describe_answer(self.model)
        return (
            f"exchange {self.exchange_id} ({call}): the server answered {server}, "
            f"the model predicted {model} ({', '.join(self.fields)} differ)"
        )


@dataclass(frozen=True)
class Unmodelled:
    """A forwarded request the model did not follow, and why."""

    exchange_id: int
    reason: str


def describe_answer(answer: Answered) -> str:
    """One answer in a line, as disagreements and the report show it."""
    if answer.kind == "error":
        return f"error {answer.code}"
    if answer.kind == "http-error":
        return f"HTTP {answer.http_status}"
    if answer.status is None:
        return answer.kind
    return f"{answer.kind} (status {answer.status}, uploadedFileSize {answer.uploaded_file_size})"


def unfollowable(call: ApiCall, caller: Resolved, server: Decoded) -> str | None:
    """Why the model cannot follow this call at all (None: it can)."""
    if is_multirequest(call.params):
        return "a multirequest (forwarded whole, not followed call by call)"
    if isinstance(call.response, FormatRefused):
        return "a refused response format (the server's own rule, not the model's)"
    if caller == UNREADABLE:
        return "a KS the proxy cannot read (neither given, learned nor signed by a known secret)"
    if not server.understood:
        return "an answer in no format Kaltura writes"
    return None


def differences(model: Answered, server: Answered) -> tuple[str, ...]:
    """The compared fields that differ: the kind, else the code (and for an ok answer the
    token's status and `uploadedFileSize`)."""
    if model.kind != server.kind:
        return ("kind",)
    names = ("code", "status", "uploaded_file_size") if model.kind == "ok" else ("code",)
    return tuple(name for name in names if getattr(model, name) != getattr(server, name))
