"""Answers the client already holds whose following is still to run (issue 14, item 6).

The proxy relays an upstream answer to the client first and only then decodes it into the
trace record, records the tokens it made and lets the shadow model follow it
(`ProxyEndpoint`, `Reply.after`): the client's round trip no longer waits for that work.
Everything that reads what the following writes waits here first, for the answers relayed
before the read began (not for later ones: a busy proxy never starves a reader):

* a reader of the trace, the shadow's verdicts or the tokens made (`FollowedTrace`,
  `ShadowModel`, `ProxyEndpoint`): a client that has its answer, or a case whose client
  has exited, finds its exchanges complete, as when the following ran before the answer;
* a request before it begins its flight (`ProxyEndpoint`): a call the client sent after
  reading an answer is followed after that answer, as the server applied them (an
  `uploadToken.add`'s token is known to the model before an upload on it).

The wait is bounded (`limit`): the following's one wait is a close's for late answers
(the shadow's close grace), so a reader is never held longer than that and a margin.
"""

from __future__ import annotations

import threading

from conformance.endpoints.trace import TraceLog
from conformance.trace import Exchange

__all__ = ["Backlog", "FollowedTrace"]


class Backlog:
    """The exchanges whose answers were relayed and are not yet followed, with the token
    each named (None: none, e.g. an `add`); thread-safe."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self._changed = threading.Condition(threading.Lock())
        self._open: dict[int, str | None] = {}

    def add(self, exchange: Exchange) -> None:
        """Call before the answer is written to the client."""
        with self._changed:
            self._open[exchange.id] = exchange.token_id

    def done(self, exchange: Exchange) -> None:
        with self._changed:
            self._open.pop(exchange.id, None)
            self._changed.notify_all()

    def wait(self, *, token_id: str | None = None, every: bool = True) -> bool:
        """Wait (up to `limit` seconds) for the answers relayed so far to be followed:
        all of them, or (`every` False) those on `token_id` or on no token (a request on
        one token does not wait for a close on another, which may wait for late answers);
        whether they were."""
        # The common case, read without the lock: an answer the waiter saw was `add`ed
        # before it was written to the client, so it is in `_open` by now; one `add`ed
        # concurrently is one the waiter need not wait for. (A dict's truth is one read.)
        if not self._open:
            return True
        with self._changed:
            before = {
                key
                for key, token in self._open.items()
                if every or token is None or token == token_id
            }
            return self._changed.wait_for(lambda: self._open.keys().isdisjoint(before), self.limit)


class FollowedTrace(TraceLog):
    """The proxy's trace: a read first waits for the answers relayed before it."""

    def __init__(self, backlog: Backlog, window: int | None = None) -> None:
        super().__init__(window)
        self.backlog = backlog

    def exchanges(self, partner_id: int | None = None) -> list[Exchange]:
        self.backlog.wait()
        return super().exchanges(partner_id)
