"""Bodies whose way on is decided or fed later: `HeldBody`, kept until a verdict on it is
in, and `Threaded`, a body streamed through httpx from a thread of its own (live mode,
where every request goes through `BudgetedTransport`)."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from conformance.model import Blob
from conformance.proxy.messages import PIECE, UpstreamAnswer, UpstreamFailure
from conformance.proxy.pool import Outgoing

if TYPE_CHECKING:
    from conformance.proxy.upstream import Upstream

__all__ = ["Aborted", "HeldBody", "Threaded", "Verdict"]

Verdict = Callable[[Blob], "Outgoing | Threaded | bool | None"]


class HeldBody:
    """A body kept (in `blob`) until a verdict on it is in: `decide` is asked after each
    piece with the body so far, and answers None (not known yet), False (kept to the end,
    then forwarded whole) or an `Outgoing` (what was kept goes there at once, the rest as
    it arrives). The forwarding proxy's way to decide on the form fields before a file."""

    def __init__(
        self,
        upstream: Upstream,
        head: tuple[str, str, tuple[tuple[str, str], ...]],
        blob: Blob,
        decide: Verdict,
    ) -> None:
        self._upstream = upstream
        self._head = head
        self.blob: Blob | None = blob
        self._decide: Verdict | None = decide
        self.outgoing: Outgoing | Threaded | None = None

    def send(self, data: bytes) -> None:
        if self.outgoing is not None:
            self.outgoing.send(data)
            return
        if self.blob is None:
            return
        self.blob.write_at(self.blob.size, data)
        if self._decide is None:
            return
        verdict = self._decide(self.blob)
        if verdict is None:
            return
        self._decide = None
        if isinstance(verdict, (Outgoing, Threaded)):
            for piece in self.blob.pieces(PIECE):
                verdict.send(piece)
            self.blob.release()
            self.blob = None
            self.outgoing = verdict

    def finish(self) -> UpstreamAnswer | UpstreamFailure:
        """The streamed request's answer, or the kept body forwarded whole."""
        if self.outgoing is not None:
            return self.outgoing.finish()
        answer = self._upstream.forward(*self._head, self.blob)
        self.abort()
        return answer

    def abort(self) -> None:
        """Never let the request complete; the kept body is released (both idempotent)."""
        if self.outgoing is not None:
            self.outgoing.abort()
        blob, self.blob = self.blob, None
        if blob is not None:
            blob.release()


class Aborted(Exception):  # noqa: N818 - what happened to the request
    """Raised into httpx from a streamed body that must not complete."""


_END = object()
_ABORT = object()
_QUEUED = 4  # pieces between the server thread and the forwarding thread


class Threaded:
    """A body streamed through httpx (live mode, where every request must go through
    `BudgetedTransport`): the request runs on a thread of its own, its body an iterator
    fed from a bounded queue by `send`. Same contract as `Outgoing`: the last byte held
    until `finish`, `abort` never lets the request complete (httpx closes the connection
    when the body raises), `send` never raises (after a failure, it drops what it gets)."""

    def __init__(
        self,
        upstream: Upstream,
        method: str,
        target: str,
        headers: tuple[tuple[str, str], ...],
        length: int,
    ) -> None:
        self._length = length
        self._given = 0
        self._held = b""
        self._done = False
        self._queue: queue.Queue[object] = queue.Queue(_QUEUED)
        self._result: UpstreamAnswer | UpstreamFailure = UpstreamFailure("no answer")
        self._thread = threading.Thread(
            target=self._run, args=(upstream, method, target, headers), daemon=True
        )
        self._thread.start()

    def _run(
        self, upstream: Upstream, method: str, target: str, headers: tuple[tuple[str, str], ...]
    ) -> None:
        self._result = upstream.forward_httpx(method, target, headers, self._length, self._body())

    def _body(self) -> Iterator[bytes]:
        while (item := self._queue.get()) is not _END:
            if not isinstance(item, bytes):  # _ABORT
                raise Aborted
            yield item

    def _put(self, item: object) -> None:
        while self._thread.is_alive():  # a request refused (the budget) reads no more
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def send(self, data: bytes) -> None:
        if self._done or not data:
            return
        before = self._given
        self._given += len(data)
        if self._given >= self._length:
            last = self._length - before - 1
            data, self._held = data[:last], data[last : last + 1]
        if data:
            self._put(data)

    def finish(self) -> UpstreamAnswer | UpstreamFailure:
        if self._done:
            return UpstreamFailure("request aborted")
        self._done = True
        if self._held:
            self._put(self._held)
        self._put(_END)
        self._thread.join()
        return self._result

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        with contextlib.suppress(queue.Empty):
            while True:  # what was not sent yet never will be
                self._queue.get_nowait()
        self._put(_ABORT)
