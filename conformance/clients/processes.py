"""Every process a client command starts, found and stopped: per case and thread-safe.

Cases run at once in threads of one process, so nothing here is per process (a child
subreaper is: it would make every thread's orphans ours to reap, with no owner). Instead
each case's processes are found by what they carry or where they are:

- a marker in the environment, `KALTURA_CONFORMANCE_CASE=<run>.<case>`, inherited by all
  that the client starts, wherever it goes: a child that forks twice, starts a new session
  and is adopted by init still carries it (read with psutil from /proc/<pid>/environ on
  Linux, sysctl on macOS);
- the session and process group the client's shell leads (`start_new_session`), which
  also holds a child that cleared its environment;
- the descendants of everything found so far.

Only a process that both clears its environment and leaves the session before the case
ends escapes. cgroups would hold that one too, but are seldom writable by the user (not on
CI runners or in containers). Measured on Linux with about 100 processes: one search
takes about 10 ms.

The run's part of the marker is inherited by pytest-xdist workers, so `stop_run` in any
process of the run stops the clients of all of them (SIGINT, SIGTERM).
"""

from __future__ import annotations

import itertools
import os
import secrets
import signal
import time
from collections.abc import Callable, Iterable
from typing import TypeAlias

import psutil

__all__ = ["CASE_MARKER", "RUN_MARKER", "CaseProcesses", "signal_all", "stop_run", "stopping"]

CASE_MARKER = "KALTURA_CONFORMANCE_CASE"
RUN_MARKER = "KALTURA_CONFORMANCE_RUN"
_KILL_ROUNDS = 20  # a client that forks while it is being killed: search again
_POLL = 0.02

# Whether a process (its environment, its pid) is wanted; how to find a set of processes.
_Predicate: TypeAlias = Callable[[dict[str, str], int], bool]
_Finder: TypeAlias = Callable[[], "list[psutil.Process]"]

_serials = itertools.count(1)  # next() is atomic: cases start at once
_live: dict[int, CaseProcesses] = {}  # by serial; dict operations are atomic (GIL)
_stopping: list[int] = []  # the signal that stops the run, once one came


def run_id() -> str:
    """This run's part of every marker, shared with the xdist workers (their environment
    is inherited from the controller's)."""
    return os.environ.setdefault(RUN_MARKER, secrets.token_hex(6))


def stopping() -> int | None:
    """The signal that is stopping the run, or None."""
    return _stopping[0] if _stopping else None


class CaseProcesses:
    """The processes of one client run: the environment that marks them, then `watch` the
    client's root process, `stop` what is left, and `close`."""

    def __init__(self) -> None:
        self.serial = next(_serials)
        self.marker = f"{run_id()}.{self.serial}-{secrets.token_hex(4)}"
        self.root: int | None = None

    def environment(self) -> dict[str, str]:
        return {RUN_MARKER: run_id(), CASE_MARKER: self.marker}

    def watch(self, pid: int) -> None:
        """The client's root process is `pid`; `stop_run` may stop it from now on."""
        self.root = pid
        _live[self.serial] = self
        if stopping() is not None:  # the run stopped while this client was starting
            self.stop(grace=0)

    def close(self) -> None:
        _live.pop(self.serial, None)

    def find(self) -> list[psutil.Process]:
        """Every live process of this case (zombies are not: they have ended)."""
        found = _search(lambda env, pid: env.get(CASE_MARKER) == self.marker or self._led(pid))
        return _with_descendants(found)

    def _led(self, pid: int) -> bool:
        """In the session or process group the client's shell leads."""
        if self.root is None:
            return False
        try:
            return self.root in (os.getsid(pid), os.getpgid(pid))
        except OSError:
            return False

    def stop(self, grace: float) -> int:
        """SIGTERM everything found, up to `grace` seconds to end, then SIGKILL whatever
        is left (found again: it may have forked meanwhile). Returns how many were found."""
        return _stop(self.find, grace)


def stop_run(signum: int, *, everywhere: bool = True, grace: float = 0.0) -> int:
    """The run is stopping (`signum`): stop every client of this process, and every one
    that starts from now on; `everywhere`, also those of the run's other processes (xdist
    workers). Returns how many processes were found. Called from a signal handler: it
    takes no lock."""
    if not _stopping:
        _stopping.append(signum)
    found = sum(case.stop(grace) for case in list(_live.values()))
    if not everywhere:
        return found
    prefix = f"{run_id()}."
    return found + _stop(
        lambda: _with_descendants(_search(lambda env, _: _marked(env, prefix))), grace
    )


def _marked(env: dict[str, str], prefix: str) -> bool:
    return env.get(CASE_MARKER, "").startswith(prefix)


def _search(wanted: _Predicate) -> list[psutil.Process]:
    own = os.getpid()
    found = []
    for pid in psutil.pids():
        if pid == own:
            continue
        try:
            process = psutil.Process(pid)
            if wanted(process.environ(), pid) and _alive(process):
                found.append(process)
        except (psutil.Error, OSError):
            continue  # gone, or not ours to read
    return found


def _with_descendants(processes: Iterable[psutil.Process]) -> list[psutil.Process]:
    found = {process.pid: process for process in processes}
    for process in list(found.values()):
        try:
            found.update((child.pid, child) for child in process.children(recursive=True))
        except psutil.Error:
            continue
    return [process for process in found.values() if _alive(process)]


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _stop(find: _Finder, grace: float) -> int:
    found = find()
    if grace > 0 and found:
        signal_all(found, signal.SIGTERM)
        _wait(found, grace)
    for _ in range(_KILL_ROUNDS):
        left = find()
        if not left:
            break
        signal_all(left, signal.SIGKILL)
        _wait(left, 0.2)
    return len(found)


def signal_all(processes: Iterable[psutil.Process], signum: int) -> None:
    """Send `signum` to each process still running (one that ended meanwhile is skipped)."""
    for process in processes:
        try:
            process.send_signal(signum)  # checks the pid still names the process found
        except psutil.Error:
            continue


def _wait(processes: list[psutil.Process], seconds: float) -> None:
    """Until every process has ended (a zombie has), for at most `seconds`. Polls: waiting
    on the client's root would steal its exit status from its `Popen`."""
    deadline = time.monotonic() + seconds
    while any(_alive(p) for p in processes) and time.monotonic() < deadline:
        time.sleep(_POLL)
