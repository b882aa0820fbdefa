"""The endpoint's recorder: the exchanges it saw, kept in arrival order.

The records themselves (`Exchange`, `Answered`, `PayloadInfo`) are pure data in
`conformance.trace`, which the checks read without loading any endpoint code.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Iterator

from conformance.trace import Exchange

__all__ = ["TraceLog"]

# Exchanges no partner claims (no KS, a bad one, a path outside the API) that a `forget`
# keeps: no case reads them, so without a bound a long suite run would keep them all.
UNCLAIMED_KEPT = 1000


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
