"""Work for a thread of its own, asked for often and done in batches (issue 14, item 6).

The shadow hashes the bytes each answered chunk appended to its token's file (`digests`):
~0.6 ms of CPU per MiB. Done on the connection's own thread, after the answer, it still
held up that connection's next request (a client that uploads its chunks one after the
other on one keep-alive connection waited for it on every chunk). `Settler` runs it on a
thread of its own instead: `poke` asks for a run and returns at once; pokes that come
while a run is under way make one more run, not one each. Whoever needs the work done
(a read of the file's digest) still does it itself, synchronously. An error the work
raised is kept and raised by `close`, as the loopback server raises its threads' on stop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["Settler"]

_JOIN_SECONDS = 5.0


class Settler:
    """Runs `work` on a daemon thread each time it is poked (coalesced); thread-safe."""

    def __init__(self, work: Callable[[], None], name: str = "shadow-settler") -> None:
        self._work = work
        self._name = name
        self._lock = threading.Lock()
        self._wanted = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._error: Exception | None = None

    @property
    def started(self) -> bool:
        """Whether the thread was ever started (a poke came)."""
        return self._thread is not None

    def poke(self) -> None:
        """Ask for a run of `work` soon (a no-op once closed)."""
        with self._lock:
            if self._closed:
                return
            if self._thread is None:  # started on first use: most shadows never append
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
        self._wanted.set()

    def close(self) -> None:
        """Stop the thread (after the run under way, if any); raise what a run raised."""
        with self._lock:
            self._closed = True
            thread = self._thread
        self._wanted.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(_JOIN_SECONDS)
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            if self._closed:
                return
            try:
                self._work()
            except Exception as error:  # kept for `close`: the thread must go on
                self._error = self._error or error
