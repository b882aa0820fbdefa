"""SIGINT and SIGTERM during a conformance run: clients first, then the reports.

On the first signal every process of the run stops its clients (`processes.stop_run`)
and starts no new one. A process with workers (the xdist controller) passes the signal on
to them and waits for them: each stops its clients and its current group, reports the
cases it finished and ends, so the controller
writes the reports of every finished case, marked `interrupted`. A process without
workers raises KeyboardInterrupt, which the suite turns into the same orderly stop
(`suite.test_client`). The run then exits 128 + the signal: 130 (SIGINT), 143 (SIGTERM).

A second signal to the controller stops it at once (KeyboardInterrupt), and every client
of the run (found by the run's marker, in whichever process).
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

import psutil

from conformance.clients import processes

__all__ = ["exit_status", "install", "interrupted"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def install() -> None:
    """Handle SIGINT and SIGTERM as above (only the main thread may)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in _SIGNALS:
        signal.signal(signum, _handle)


def interrupted() -> int | None:
    """The signal that stopped the run, or None."""
    return processes.stopping()


def exit_status() -> int | None:
    """The run's exit status after a signal (128 + its number), or None."""
    signum = interrupted()
    return None if signum is None else 128 + signum


def _handle(signum: int, frame: FrameType | None) -> None:
    first = interrupted() is None
    has_workers = _pass_on(signum)
    # A worker stops its own clients, having marked the run stopping first, so that none
    # of its cases is judged on a client killed under it; a second signal stops them all.
    processes.stop_run(signum, everywhere=not (has_workers and first))
    if first != has_workers:  # first, no workers; or again, to a controller
        raise KeyboardInterrupt(f"signal {signum}")


def _pass_on(signum: int) -> bool:
    """Send `signum` to this process's children that are not clients (xdist workers);
    whether there were any."""
    workers = []
    for child in psutil.Process().children():
        try:
            if processes.CASE_MARKER not in child.environ():
                workers.append(child)
        except psutil.Error:
            continue  # ended meanwhile
    for worker in workers:
        try:
            worker.send_signal(signum)
        except psutil.Error:
            continue
    return bool(workers)
