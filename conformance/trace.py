"""What happened on the wire, as data: one `Exchange` per request, and each fault firing.

An endpoint records these (`endpoints.trace.TraceLog`, `endpoints.fault_runtime`); the client
checks read them (which parameters each data request carried, and whether it carried them at
all: `finalChunk` omitted is a different bug from `finalChunk=true`; the payload's range and
digest; what the server answered; when it arrived, when its body was complete and when the
answer was sent, on the server's monotonic clock; on which connection; which fault fired).
The types live here, below both, so that judging a trace loads no endpoint code.
Credentials never enter a record: the endpoint redacts them before it fills one in.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from conformance.faults import Fault

__all__ = ["AnswerKind", "Answered", "Disconnect", "Exchange", "FaultFiring", "PayloadInfo"]

# How a connection ends without an answer: "reset" before the server applied the request,
# "dropped" after it did. The same words name the reply, the transport's act and the trace.
Disconnect = Literal["reset", "dropped"]
# "error" is a Kaltura error object (HTTP 200); "http-error" any other HTTP failure.
AnswerKind = Literal["ok", "error", "http-error", "reset", "dropped"]


@dataclass(frozen=True)
class PayloadInfo:
    """The `fileData` a request carried. `head` is its first bytes (content, never a
    credential): enough for `SourceFile.locate` to tell where a misplaced chunk came from."""

    is_file: bool
    filename: str | None
    size: int
    sha256: str | None
    head: bytes = field(default=b"", repr=False)


@dataclass(frozen=True)
class Answered:
    """What the client got: an API answer, an HTTP error, or no answer at all (`Disconnect`).

    A dropped answer keeps the status and token it would have carried.
    """

    kind: AnswerKind
    http_status: int | None = None
    code: str | None = None
    status: int | None = None
    uploaded_file_size: int | None = None
    token_id: str | None = None

    @property
    def acknowledged(self) -> bool:
        """A success the client received (requirements.md: "acknowledged")."""
        return self.kind == "ok"


@dataclass
class Exchange:
    """One request and its answer. Mutable only while the exchange is in flight."""

    id: int
    connection: str
    arrival: float
    body_complete: float
    partner_id: int | None = None
    service: str | None = None
    action: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    token_id: str | None = None
    resume: bool | None = None
    final_chunk: bool | None = None
    resume_at: float | None = None
    payload: PayloadInfo | None = None
    data_index: int | None = None
    fault: str | None = None
    applied: bool = False
    answer: Answered | None = None
    answered_at: float | None = None

    @property
    def acknowledged(self) -> bool:
        """The client received a success for this request."""
        return self.answer is not None and self.answer.acknowledged

    @property
    def is_data_request(self) -> bool:
        return self.service == "uploadtoken" and self.action == "upload"

    def present(self, name: str) -> bool:
        """Whether the request carried parameter `name` at all (from any source)."""
        return name in self.params

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FaultFiring:
    """One fault hitting one request."""

    fault_index: int
    fault: Fault
    token_id: str
    data_index: int
    exchange_id: int
