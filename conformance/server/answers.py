"""Answers as server conformance compares them: the model's prediction and the server's
reply, each reduced to a `ServerAnswer`, and one comparison of the two (`Observation`).

Not to be confused with `conformance.wire`'s answers (what the reference endpoint encodes)
or `endpoints.trace.Answered` (what a trace records of an answer).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from conformance.clients.api import KalturaCallError, KalturaTransportError
from conformance.model import Deleted, Failed, Outcome, TokenListed, TokenResult

__all__ = [
    "Observation",
    "ServerAnswer",
    "ServerAnswerKind",
    "answer_of_call",
    "answer_of_outcome",
    "answer_of_result",
    "wire_number",
]

ServerAnswerKind = Literal["ok", "error", "transport"]


@dataclass(frozen=True)
class ServerAnswer:
    """An answer reduced to what server conformance compares.

    `kind` is "ok", "error" (a Kaltura error object, `code` its `ErrorCode` name) or
    "transport" (no usable answer, `code` says why). `status` and `size` are a token's
    status (a `TokenStatus` value, or whatever number the server sent) and
    `uploadedFileSize` (None when absent); `count` is a list's `totalCount` and `listed`
    the tokens its page holds, in order (see `ListQuery` for how ties and unspecified
    orders are compared).
    """

    kind: ServerAnswerKind
    code: str | None = None
    status: int | None = None
    size: int | None = None
    count: int | None = None
    listed: tuple[str, ...] | None = None
    fields: tuple[tuple[str, object], ...] = ()

    def describe(self) -> str:
        if self.kind == "error":
            return f"error {self.code}"
        if self.kind == "transport":
            return f"no answer ({self.code})"
        parts = ["ok"]
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.size is not None:
            parts.append(f"uploadedFileSize={self.size}")
        if self.count is not None:
            parts.append(f"totalCount={self.count}")
        if self.listed is not None:
            parts.append(f"objects=[{', '.join(self.listed)}]")
        parts.extend(f"{name}={value!r}" for name, value in self.fields)
        return " ".join(parts)


@dataclass(frozen=True)
class Observation:
    """One comparison: the request, the model's prediction, the server's answer."""

    request: str
    expected: ServerAnswer
    actual: ServerAnswer
    requirements: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.expected == self.actual

    def describe(self) -> str:
        verdict = "as predicted" if self.ok else "MISMATCH"
        return (
            f"{self.request}: expected {self.expected.describe()},"
            f" got {self.actual.describe()} ({verdict})"
        )


def answer_of_outcome(outcome: Outcome) -> ServerAnswer:
    """The model's outcome as a `ServerAnswer` (a `CloseWaiting` must be resolved first)."""
    if isinstance(outcome, Failed):
        return ServerAnswer("error", code=outcome.code)
    if isinstance(outcome, TokenResult):
        token = outcome.token
        return ServerAnswer("ok", status=int(token.status), size=token.uploaded_file_size)
    if isinstance(outcome, TokenListed):
        return ServerAnswer("ok", count=outcome.total_count)
    if isinstance(outcome, Deleted):
        return ServerAnswer("ok")
    raise ValueError(f"unresolved outcome {outcome!r}")


def answer_of_call(call: Callable[[], Any]) -> ServerAnswer:
    """Run one API call; its JSON result, error object or failure as a `ServerAnswer`."""
    try:
        result = call()
    except KalturaCallError as error:
        return ServerAnswer("error", code=error.code)
    except KalturaTransportError as error:
        return ServerAnswer("transport", code=str(error))
    if not isinstance(result, dict):
        return ServerAnswer("ok")  # delete answers null
    if result.get("objectType") == "KalturaUploadTokenListResponse":
        return ServerAnswer("ok", count=wire_number(result.get("totalCount")))
    return answer_of_result(result)


def answer_of_result(result: dict[str, Any]) -> ServerAnswer:
    """A token object (`uploadToken.add`, `get`, `upload`) as a `ServerAnswer`."""
    size = wire_number(result.get("uploadedFileSize"))
    return ServerAnswer("ok", status=wire_number(result.get("status")), size=size)


def wire_number(value: object) -> int | None:
    """Kaltura spells sizes as JSON strings (§1.3); compare them numerically."""
    if value is None or value == "":
        return None
    try:
        return int(float(str(value)))
    except ValueError:
        return -1  # not a number: never equal to a prediction
