"""How a client under test is run: a command in any language, or a Python callable.

Every case hands the client a `Job` — the file, the service URL, a fresh partner's id and
admin secret, a KS and a token made for it, and the chunk size and concurrency hints — as
command-line placeholders and as environment variables. The client may use the token or
make its own with `session.start` + `uploadToken.add`; the suite reads which from the trace.

A client that hangs or loops is stopped when the case's time limit runs out: everything a
command started is stopped (`processes`: children that fork, daemonise or start a session
of their own too, also when the client itself ends first), and its output is read with
bounded waits, so a case ends within its limit plus about a second whatever the client
leaves holding its pipe. A callable's thread is abandoned (threads cannot be killed), and
the case says so. Either way the case gets a verdict and the suite goes on.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import select
import shlex
import string
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from conformance.clients.processes import CaseProcesses, stopping
from conformance.ks import redact

__all__ = [
    "PLACEHOLDERS",
    "CallableClient",
    "ClientRun",
    "CommandClient",
    "Job",
    "load_callable",
]

# Placeholder → environment variable, as documented for `--client-cmd`.
PLACEHOLDERS: Mapping[str, str] = {
    "file": "KALTURA_FILE",
    "service_url": "KALTURA_SERVICE_URL",
    "partner_id": "KALTURA_PARTNER_ID",
    "ks": "KALTURA_KS",
    "admin_secret": "KALTURA_ADMIN_SECRET",
    "token_id": "KALTURA_UPLOAD_TOKEN_ID",
    "chunk_size": "KALTURA_CHUNK_SIZE",
    "concurrency": "KALTURA_CONCURRENCY",
}
_OUTPUT_LIMIT = 16 * 1024  # bytes of a client's output kept for the report
# A case ends within its time limit plus about 0.8 s whatever the client leaves behind:
# up to _GRACE between SIGTERM and SIGKILL, _REAP for the root to be reaped, _DRAIN to read
# what is left of the output.
_GRACE = 0.4
_REAP = 0.1
_DRAIN = 0.2
_POLL = 0.05  # how soon the exit of a client that keeps writing nothing is noticed
_SHELL_CANNOT_RUN = (126, 127)


@dataclass(frozen=True)
class Job:
    """What a client is given for one case. `ks` and `admin_secret` are credentials."""

    file: str
    service_url: str
    partner_id: int
    token_id: str
    chunk_size: int
    concurrency: int
    ks: str = field(repr=False)
    admin_secret: str = field(repr=False)

    def values(self) -> dict[str, str]:
        return {
            "file": self.file,
            "service_url": self.service_url,
            "partner_id": str(self.partner_id),
            "ks": self.ks,
            "admin_secret": self.admin_secret,
            "token_id": self.token_id,
            "chunk_size": str(self.chunk_size),
            "concurrency": str(self.concurrency),
        }

    def environment(self) -> dict[str, str]:
        return {PLACEHOLDERS[name]: value for name, value in self.values().items()}

    def scrub(self, text: str) -> str:
        """`text` without this job's credentials."""
        return redact(text, self.ks, self.admin_secret)


@dataclass(frozen=True)
class ClientRun:
    """How a client run ended. `detail` is scrubbed of credentials."""

    succeeded: bool
    timed_out: bool
    duration: float
    detail: str
    harness_error: bool = False


class CommandClient:
    """A client run as a command; `{placeholder}`s are filled from the job (shell-quoted)."""

    def __init__(self, template: str) -> None:
        unknown = _unknown_placeholders(template)
        if unknown:
            raise ValueError(
                f"--client-cmd: unknown placeholder(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join('{' + n + '}' for n in PLACEHOLDERS)}"
            )
        self.template = template

    def describe(self) -> str:
        return f"command {self.template!r}"

    def command(self, job: Job) -> str:
        quoted = {name: shlex.quote(value) for name, value in job.values().items()}
        return self.template.format(**quoted)

    def run(self, job: Job, time_limit: float) -> ClientRun:
        start = time.monotonic()
        deadline = start + time_limit
        processes = CaseProcesses()
        if stopping() is not None:
            return ClientRun(False, False, 0.0, "not started: the run is stopping")
        env = {**os.environ, **job.environment(), **processes.environment()}
        process = subprocess.Popen(  # the user's own command line
            self.command(job),
            shell=True,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a session of its own: all it starts is found by it
        )
        try:
            processes.watch(process.pid)
            output = _Output(process)
            ended = output.read_until(deadline, stop_at_exit=True)
            # The client's claim is made; all it started is stopped (a daemon too), and
            # what is left of its output read for a moment (something else may hold it).
            processes.stop(_GRACE)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(_REAP)
            output.read_until(min(time.monotonic(), deadline) + _DRAIN, stop_at_exit=False)
        finally:
            processes.close()
            _close(process)
        elapsed = time.monotonic() - start
        return _outcome(
            job, process, output.tail(), ended=ended, time_limit=time_limit, elapsed=elapsed
        )


def _outcome(
    job: Job,
    process: subprocess.Popen[bytes],
    tail: str,
    *,
    ended: bool,
    time_limit: float,
    elapsed: float,
) -> ClientRun:
    """How the run went, in words without credentials."""
    if stopping() is not None:
        detail = f"stopped: the run was interrupted; output: {tail}"
        return ClientRun(False, False, elapsed, job.scrub(detail))
    if not ended:
        detail = f"stopped after {time_limit:g} s; output: {tail}"
        return ClientRun(False, True, elapsed, job.scrub(detail))
    detail = f"exit code {process.returncode}; output: {tail}"
    # The shell's "command not found" / "not executable": the suite could not run the
    # client at all, which is no verdict on the client (HARNESS-ERROR).
    missing = process.returncode in _SHELL_CANNOT_RUN
    succeeded = process.returncode == 0
    return ClientRun(succeeded, False, elapsed, job.scrub(detail), harness_error=missing)


def _unknown_placeholders(template: str) -> set[str]:
    names = {field_name for _, field_name, _, _ in string.Formatter().parse(template) if field_name}
    return names - set(PLACEHOLDERS)


class _Output:
    """A client's output, read without ever waiting past a deadline (a process the client
    left behind may hold the pipe open for ever); only the last `_OUTPUT_LIMIT` bytes kept."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        self.process = process
        self.fd = process.stdout.fileno()
        self.kept = bytearray()
        self.closed = False

    def read_until(self, deadline: float, *, stop_at_exit: bool) -> bool:
        """Read until the end of the output, the deadline or (`stop_at_exit`) the exit of
        the client's root process; whether that process has exited."""
        while not self.closed:
            if stop_at_exit and self.process.poll() is not None:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return self.process.poll() is not None
            ready, _, _ = select.select([self.fd], [], [], min(left, _POLL))
            if ready:
                self._read()
        try:  # the output has ended: wait for the exit itself, no longer than allowed
            self.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            return False
        return True

    def _read(self) -> None:
        chunk = os.read(self.fd, 65536)
        if not chunk:
            self.closed = True
            return
        self.kept += chunk
        if len(self.kept) > 2 * _OUTPUT_LIMIT:
            del self.kept[:-_OUTPUT_LIMIT]

    def tail(self) -> str:
        text = bytes(self.kept[-_OUTPUT_LIMIT:]).decode("utf-8", errors="replace").strip()
        return text or "(none)"


def _close(process: subprocess.Popen[bytes]) -> None:
    """Close our end of the pipe and reap the root (killed by now; never wait for ever)."""
    if process.stdout is not None:
        process.stdout.close()
    if process.poll() is None:
        with contextlib.suppress(OSError):
            process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(_REAP)


ClientFunction = Callable[[Job], object]


class CallableClient:
    """A Python callable `f(job)`: returning means success, raising means failure."""

    def __init__(self, function: ClientFunction, name: str | None = None) -> None:
        self.function = function
        self.name = name or getattr(function, "__qualname__", repr(function))

    def describe(self) -> str:
        return f"callable {self.name}"

    def run(self, job: Job, time_limit: float) -> ClientRun:
        start = time.monotonic()
        result: list[BaseException | None] = []
        thread = threading.Thread(target=self._call, args=(job, result), daemon=True)
        thread.start()
        thread.join(time_limit)
        duration = time.monotonic() - start
        if thread.is_alive():
            detail = f"still running after {time_limit:g} s (its thread was abandoned)"
            return ClientRun(False, True, duration, detail)
        error = result[0] if result else None
        if error is None:
            return ClientRun(True, False, duration, "returned")
        detail = f"raised {type(error).__name__}: {error}"
        return ClientRun(False, False, duration, job.scrub(detail))

    def _call(self, job: Job, result: list[BaseException | None]) -> None:
        try:
            self.function(job)
        except BaseException as error:  # any failure is the client's verdict
            result.append(error)
        else:
            result.append(None)


def load_callable(spec: str) -> CallableClient:
    """`package.module:function` → a `CallableClient`; ValueError with a one-line reason."""
    module_name, colon, attribute = spec.partition(":")
    if not colon or not module_name or not attribute:
        raise ValueError(f"--client={spec!r}: expected package.module:function")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"--client={spec!r}: cannot import {module_name}: {error}") from None
    function = getattr(module, attribute, None)
    if not callable(function):
        raise ValueError(f"--client={spec!r}: {module_name} has no callable {attribute!r}")
    return CallableClient(function, spec)
