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

While xdist starts its workers (from `workers_starting`), a signal reaches only those
that said they are ready (`worker_ready`): a worker still being bootstrapped dies of it (and
xdist's start-up with it: an internal error, no reports) or is replaced by a fresh one that
never heard of it. The controller's own clients (the chunk-size probe's) stop at once, and
the session ends as soon as a worker is up (the plugin asks xdist to shut its workers down),
with the reports of the cases that finished.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from types import FrameType

import psutil

from conformance.clients import processes

__all__ = ["exit_status", "install", "interrupted", "worker_ready", "workers_starting"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_held: list[int] = []  # the first signal, once it came while workers were starting
_starting: list[bool] = []  # non-empty from `workers_starting` (a list: no `global`)
_ready: list[int] = []  # the pids of the workers that can take a signal


def workers_starting() -> None:
    """xdist starts its workers: a signal goes to each only once it is ready."""
    _starting.append(True)


def worker_ready(pid: int | None) -> int | None:
    """A worker is up (its handlers installed); later signals reach it. Returns the signal
    that came while it was starting, if any: the caller ends the session instead (xdist
    shuts its workers down), since one still collecting would die of the signal. None as
    the pid (unknown): every later signal goes to every worker, as without start-up."""
    if pid is None:
        _starting.clear()
    else:
        _ready.append(pid)
    return _held[0] if _held else None


def _send(pid: int, signum: int) -> None:
    with contextlib.suppress(psutil.Error):  # it ended meanwhile
        psutil.Process(pid).send_signal(signum)


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
    if _starting and first:  # the workers that are up hear of it now, the others when up
        processes.stop_run(signum, everywhere=False)
        _held.append(signum)
        for pid in list(_ready):
            _send(pid, signum)
        return
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
    processes.signal_all(workers, signum)
    return bool(workers)
