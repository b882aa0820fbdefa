"""What happened on the wire: one record per exchange, kept by the endpoint.

The checks of client conformance read these: which parameters each data request carried
(and whether it carried them at all: `finalChunk` omitted is a different bug from
`finalChunk=true`), the payload's range and digest, what the server answered, when it
arrived, when its body was complete and when the answer was sent (server-side monotonic
clock), on which connection, and which fault fired. Credentials never enter a record: the
KS and the admin secret are redacted from parameters and from error messages.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Answered", "Exchange", "PayloadInfo", "TraceLog"]

SECRET_PARAMS = frozenset({"ks", "secret", "kalsig"})
# Exchanges no partner claims (no KS, a bad one, a path outside the API) that a `forget`
# keeps: no case reads them, so without a bound a long suite run would keep them all.
UNCLAIMED_KEPT = 1000


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
    """What the client got: an API answer, an HTTP error, or no answer at all.

    `kind` is "ok", "error" (a Kaltura error object, HTTP 200), "http-error", "reset"
    (connection reset before the server applied the request) or "dropped" (applied, then
    the connection was closed without an answer).
    """

    kind: str
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


class TraceLog:
    """The exchanges an endpoint saw, in arrival order; thread-safe.

    `window` None keeps every one (the suite's endpoints: a case's checks read all of its
    exchanges, and `forget` drops them once it is judged). A number keeps only that many of
    the latest, so a long-running `serve` stays flat (each record is about 1.4 KB)."""

    def __init__(self, window: int | None = None) -> None:
        if window is not None and (isinstance(window, bool) or window < 1):
            raise ValueError(f"trace window={window!r} must be a positive int or None")
        self.window = window
        self._lock = threading.Lock()
        self._exchanges: deque[Exchange] = deque(maxlen=window)
        self._ids = itertools.count(1)

    def open(self, connection: str, arrival: float, body_complete: float) -> Exchange:
        with self._lock:
            exchange = Exchange(next(self._ids), connection, arrival, body_complete)
            self._exchanges.append(exchange)
            return exchange

    def exchanges(self, partner_id: int | None = None) -> list[Exchange]:
        """A snapshot, optionally of one partner's exchanges only."""
        with self._lock:
            return [e for e in self._exchanges if partner_id is None or e.partner_id == partner_id]

    def clear(self) -> None:
        with self._lock:
            self._exchanges.clear()

    def forget(self, partner_id: int) -> None:
        """Drop one partner's exchanges (a finished case), and all but the latest
        `UNCLAIMED_KEPT` of those no partner claims, keeping memory flat."""
        with self._lock:
            unclaimed = sum(e.partner_id is None for e in self._exchanges)
            kept: list[Exchange] = []
            for exchange in self._exchanges:
                if exchange.partner_id is None and unclaimed > UNCLAIMED_KEPT:
                    unclaimed -= 1  # among the oldest unclaimed: dropped
                elif exchange.partner_id != partner_id:
                    kept.append(exchange)
            self._exchanges = deque(kept, maxlen=self.window)

    def __iter__(self) -> Iterator[Exchange]:
        return iter(self.exchanges())

    def __len__(self) -> int:
        with self._lock:
            return len(self._exchanges)
