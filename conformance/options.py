"""The options of a conformance run, validated once, shared by the plugin and the CLI.

Every wrong value is refused with one line that names the option (`OptionError`).
"""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

from conformance.clients.reference import run_job
from conformance.clients.runners import CallableClient, CommandClient, load_callable
from conformance.requirements import parse_requirement_ids
from conformance.scenario import UploadScenario
from conformance.sizes import parse_size

__all__ = [
    "MAX_CLIENT_CHUNK_SIZE",
    "PROFILES",
    "OptionError",
    "Profile",
    "RunOptions",
    "writable_directory",
]


class OptionError(ValueError):
    """A user's option is wrong; the message is one line naming it."""


@dataclass(frozen=True)
class Profile:
    """How many cases per group, and how big they get."""

    name: str
    examples: int
    max_size: int
    max_chunk_size: int
    max_client_chunks: int
    """With a client chunk size: the largest file spans this many client chunks."""
    shrink_seconds: float
    """How long a failing group may shrink (each step is a whole client upload)."""
    time_limit: float
    """Seconds a client may take for one case unless --time-limit says otherwise: a hang
    is only known when it runs out, so it bounds how soon a hung client has its verdict."""


# Examples per group (six groups). `default` is sized so that a run of the reference
# client takes about a quarter of a minute on 2 cores; the shrink budgets so that a
# failing client has its verdict in about a minute (quick), three (default).
PROFILES = {
    "quick": Profile("quick", 3, 64 * 1024, 16 * 1024, 4, shrink_seconds=20.0, time_limit=30.0),
    "default": Profile(
        "default", 24, 256 * 1024, 64 * 1024, 6, shrink_seconds=60.0, time_limit=60.0
    ),
    "thorough": Profile(
        "thorough", 150, 4 * 1024 * 1024, 1024 * 1024, 12, shrink_seconds=300.0, time_limit=120.0
    ),
}
# max_client_chunks: enough for an opening, a middle per concurrent request (up to 4) and a
# close. Files average about half the largest, so the bytes grow with it: with a 10 MB client
# chunk a quick run uploads ~0.4 GB, a default run ~4 GB (one worker, reference client:
# 67 s instead of 31 s) and a thorough run ~41 GB.
# A client chunk larger than this is a typo (and every case would move GiBs).
MAX_CLIENT_CHUNK_SIZE = 1 << 30


@dataclass(frozen=True)
class RunOptions:
    """A client-conformance run: who is judged, how hard, and where reports go."""

    client_cmd: str | None = None
    client: str | None = None
    profile: str = "default"
    requirements: tuple[str, ...] | None = None
    report_dir: str = "conformance-reports"
    time_limit: float | None = None
    """Seconds a client may take for one case; None: the profile's."""
    final_wait: float = 0.2
    strict: bool = False
    require_exercised: bool = False  # a MUST no case exercised fails the run; strict implies it
    in_process: bool = False
    replay: str | None = None
    shrink_time: float | None = None
    """Seconds a failing group may shrink; None: the profile's."""
    no_shrink: bool = False
    client_chunk_size: int | None = None
    """The client's own chunk size: files are drawn around it, and jobs ask for it."""

    def __post_init__(self) -> None:
        if self.strict:  # --strict implies --require-exercised
            object.__setattr__(self, "require_exercised", True)
        if self.client_cmd and self.client:
            raise OptionError("--client-cmd and --client: give one client, not both")
        _not_empty("--client-cmd", self.client_cmd)  # not the reference client, silently
        _not_empty("--client", self.client)
        if self.profile not in PROFILES:
            raise OptionError(f"--kaltura-profile={self.profile!r}: one of {', '.join(PROFILES)}")
        if self.time_limit is not None:
            _positive("--kaltura-time-limit", self.time_limit)
        if self.shrink_time is not None:
            _seconds("--kaltura-shrink-time", self.shrink_time)
        if self.no_shrink and self.shrink_time is not None:
            raise OptionError("--kaltura-no-shrink and --kaltura-shrink-time: give one")
        if not 0 <= self.final_wait <= 3600 or math.isnan(self.final_wait):
            raise OptionError(f"--kaltura-final-wait={self.final_wait}: 0 to 3600 seconds")
        if self.in_process and self.client_cmd:
            raise OptionError("--kaltura-in-process: only for --client callables that use httpx")
        if self.replay is not None:
            self.replay_scenario()
        _chunk_size("--kaltura-client-chunk-size", self.client_chunk_size)

    @property
    def profile_settings(self) -> Profile:
        return PROFILES[self.profile]

    @property
    def case_time_limit(self) -> float:
        """Seconds a client may take for one case."""
        return self.profile_settings.time_limit if self.time_limit is None else self.time_limit

    @property
    def shrink_seconds(self) -> float | None:
        """How long a failing group may shrink, or None: shrinking is off."""
        if self.no_shrink:
            return None
        return (
            self.profile_settings.shrink_seconds if self.shrink_time is None else self.shrink_time
        )

    def client_runner(self) -> CommandClient | CallableClient:
        """The client under test: a command, a callable, or the reference client."""
        try:
            if self.client_cmd:
                return CommandClient(self.client_cmd)
            if self.client:
                return load_callable(self.client)
        except ValueError as error:
            raise OptionError(str(error)) from None
        return CallableClient(run_job, "reference client")

    def target(self) -> str:
        return target_of(self.client_cmd, self.client)

    def replay_scenario(self) -> UploadScenario:
        try:
            return UploadScenario.from_dict(json.loads(self.replay or ""))
        except (ValueError, TypeError, KeyError) as error:
            raise OptionError(f"--kaltura-replay: not a scenario ({error})") from None


def target_of(client_cmd: str | None, client: str | None) -> str:
    """How reports name the client under test."""
    if client_cmd:
        return f"command {client_cmd!r}"
    if client:
        return f"callable {client}"
    return "reference client"


def _not_empty(name: str, value: str | None) -> None:
    if value is not None and not value.strip():
        raise OptionError(f"{name}={value!r}: empty; give the client under test")


def writable_directory(name: str, path: str) -> None:
    """Make sure reports can be written to `path` (created if missing) before any case
    runs: found out at the end, a whole run would be lost."""
    if not path.strip():
        raise OptionError(f"{name}={path!r}: empty; give a directory")
    where = Path(path)
    if where.exists() and not where.is_dir():
        raise OptionError(f"{name}={path}: not a directory")
    try:
        where.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=where):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise OptionError(f"{name}={path}: cannot write there ({reason})") from None


def _positive(name: str, value: float) -> None:
    if not value > 0 or math.isinf(value):
        raise OptionError(f"{name}={value}: must be a positive number of seconds")


def _seconds(name: str, value: float) -> None:
    if not 0 <= value <= 86400 or math.isnan(value):
        raise OptionError(f"{name}={value}: 0 to 86400 seconds (0: report as found)")


def _chunk_size(name: str, value: int | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise OptionError(f"{name}={value!r}: must be a positive number of bytes")
    if value > MAX_CLIENT_CHUNK_SIZE:
        raise OptionError(f"{name}={value}: at most {MAX_CLIENT_CHUNK_SIZE} bytes (1 GiB)")


def client_chunk_size(text: str | None) -> int | None:
    """`--kaltura-client-chunk-size 10MB` → bytes (see `parse_size`), or None if not given."""
    if text is None:
        return None
    try:
        return parse_size(text)
    except ValueError as error:
        raise OptionError(f"--kaltura-client-chunk-size: {error}") from None


def requirement_ids(text: str | None) -> tuple[str, ...] | None:
    """`--kaltura-requirements UT-C10,UT-C18` → IDs (client ones), or None for all."""
    if text is None:
        return None
    try:
        ids = parse_requirement_ids(text)
    except ValueError as error:
        raise OptionError(f"--kaltura-requirements: {error}") from None
    return ids
