"""How a client under test is run: a command in any language, or a Python callable.

Every case hands the client a `Job` — the file, the service URL, a fresh partner's id and
admin secret, a KS and a token made for it, and the chunk size and concurrency hints — as
command-line placeholders and as environment variables. The client may use the token or
make its own with `session.start` + `uploadToken.add`; the suite reads which from the trace.

A client that hangs or loops is stopped when the case's time limit runs out: a command's
whole process group is killed; a callable's thread is abandoned (threads cannot be killed),
and the case says so. Either way the case gets a verdict and the suite goes on.
"""

from __future__ import annotations

import importlib
import os
import shlex
import signal
import string
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

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
_GRACE = 2.0  # seconds between SIGTERM and SIGKILL
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
        env = {**os.environ, **job.environment()}
        process = subprocess.Popen(  # the user's own command line
            self.command(job),
            shell=True,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so a hang can be stopped whole
        )
        try:
            output, _ = process.communicate(timeout=time_limit)
        except subprocess.TimeoutExpired:
            output = _stop_group(process)
            detail = f"stopped after {time_limit:g} s; output: {_tail(output)}"
            return ClientRun(False, True, time.monotonic() - start, job.scrub(detail))
        detail = f"exit code {process.returncode}; output: {_tail(output)}"
        succeeded = process.returncode == 0
        # The shell's "command not found" / "not executable": the suite could not run the
        # client at all, which is no verdict on the client (HARNESS-ERROR).
        missing = process.returncode in _SHELL_CANNOT_RUN
        elapsed = time.monotonic() - start
        return ClientRun(succeeded, False, elapsed, job.scrub(detail), harness_error=missing)


def _unknown_placeholders(template: str) -> set[str]:
    names = {field_name for _, field_name, _, _ in string.Formatter().parse(template) if field_name}
    return names - set(PLACEHOLDERS)


def _stop_group(process: subprocess.Popen[bytes]) -> bytes:
    """SIGTERM the whole process group, then SIGKILL what is left; return the output."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            output, _ = process.communicate(timeout=_GRACE)
            return output or b""
        except subprocess.TimeoutExpired:
            continue
    output, _ = process.communicate()
    return output or b""


def _tail(output: bytes | None) -> str:
    text = (output or b"")[-_OUTPUT_LIMIT:].decode("utf-8", errors="replace").strip()
    return text or "(none)"


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
