"""A client-conformance run's options as a value (`RunOptions`), from either front end.

The options themselves, their flags, defaults, parsing and checks are the table of
`conformance.optiontable`; `run_options` reads what pytest or `kaltura-conformance run`
was given through it, and `RunOptions` refuses what no single option can judge (two
clients, a replay that is not a scenario), in one line naming the options as typed.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.baselines import Baseline, BaselineError, load_baseline
from conformance.clients.reference import run_job
from conformance.clients.runners import CallableClient, CommandClient, load_callable
from conformance.optiontable import (
    DEFAULTS,
    MAX_CLIENT_CHUNK_SIZE,
    OPTIONS,
    PROFILES,
    PYTEST,
    FrontEnd,
    OptionError,
    Profile,
    ShardSpec,
)
from conformance.requirements import CATALOGUE, Party
from conformance.scenario import UploadScenario

__all__ = [
    "MAX_CLIENT_CHUNK_SIZE",
    "PROFILES",
    "OptionError",
    "Profile",
    "RunOptions",
    "run_options",
    "target_of",
    "writable_directory",
]

_RUN = tuple(option for option in OPTIONS if not option.live)


@dataclass(frozen=True)
class RunOptions:
    """A client-conformance run: who is judged, how hard, and where reports go."""

    client_cmd: str | None = DEFAULTS["client_cmd"]
    client: str | None = DEFAULTS["client"]
    profile: str = DEFAULTS["profile"]
    requirements: tuple[str, ...] | None = DEFAULTS["requirements"]
    report_dir: str = DEFAULTS["report_dir"]
    time_limit: float | None = DEFAULTS["time_limit"]
    """Seconds a client may take for one case; None: the profile's."""
    final_wait: float = DEFAULTS["final_wait"]
    strict: bool = DEFAULTS["strict"]
    require_exercised: bool = DEFAULTS["require_exercised"]  # strict implies it
    in_process: bool = DEFAULTS["in_process"]
    replay: str | None = DEFAULTS["replay"]
    shrink_time: float | None = DEFAULTS["shrink_time"]
    """Seconds a failing group may shrink; None: the profile's."""
    no_shrink: bool = DEFAULTS["no_shrink"]
    baseline: str | None = DEFAULTS["baseline"]
    """A baseline file of known failures (`conformance.baselines`), checked before any case."""
    strict_baseline: bool = DEFAULTS["strict_baseline"]
    client_chunk_size: int | None = DEFAULTS["client_chunk_size"]
    """The client's own chunk size: files are drawn around it, and jobs ask for it."""
    shard: ShardSpec | None = DEFAULTS["shard"]
    """This run's share of the cases (`--shard I/N`); None: all of them."""
    front: FrontEnd = field(default=PYTEST, repr=False, compare=False)
    """Where the options were typed: a refusal names them as typed there."""

    def __post_init__(self) -> None:
        if self.strict:  # --strict implies --require-exercised
            object.__setattr__(self, "require_exercised", True)
        flag = self.front.flag
        if self.client_cmd and self.client:
            raise OptionError(
                f"{flag('client_cmd')} and {flag('client')}: give one client, not both"
            )
        for option in _RUN:
            option.refuse(getattr(self, option.name), self.front)
        if self.no_shrink and self.shrink_time is not None:
            raise OptionError(f"{flag('no_shrink')} and {flag('shrink_time')}: give one")
        if self.in_process and self.client_cmd:
            raise OptionError(
                f"{flag('in_process')}: only for {flag('client')} callables that use httpx"
            )
        if self.replay is not None:
            self.replay_scenarios()
            if self.shard is not None:
                raise OptionError(
                    f"{flag('shard')} and {flag('replay')}: a replay is not shared out"
                )
        if self.strict_baseline and not self.baseline:
            raise OptionError(f"{flag('strict_baseline')}: needs {flag('baseline')} FILE")

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

    def selected(self, party: Party) -> list[str] | None:
        """The `--requirements` of `party` to judge; None for all of its requirements
        (none selected, or only the other party's: the checks know only their own IDs)."""
        return [rid for rid in self.requirements or () if rid.startswith(party.prefix)] or None

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

    def replay_scenarios(self) -> list[UploadScenario]:
        """The scenarios `replay` gives: one (a JSON object), or several in turn (a JSON
        array, as `kaltura-conformance replay` runs the failing cases of a report)."""
        try:
            given = json.loads(self.replay or "")
            listed = given if isinstance(given, list) else [given]
            if not listed:
                raise ValueError("an empty list")
            return [UploadScenario.from_dict(scenario) for scenario in listed]
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            flag = self.front.flag("replay")
            raise OptionError(f"{flag}: not a scenario ({error})") from None

    def baseline_record(self) -> dict[str, Any] | None:
        """The results document's `run.baseline`, or None without a baseline."""
        baseline = self.baseline_file()
        return None if baseline is None else baseline.to_dict(strict=self.strict_baseline)

    def baseline_file(self) -> Baseline | None:
        """The run's baseline, read and checked; OptionError names the option, the file,
        the line or entry and the problem."""
        if not self.baseline:
            return None
        try:
            return load_baseline(self.baseline, CATALOGUE.keys())
        except BaselineError as error:
            raise OptionError(f"{self.front.flag('baseline')}: {error}") from None


def target_of(client_cmd: str | None, client: str | None) -> str:
    """How reports name the client under test."""
    if client_cmd:
        return f"command {client_cmd!r}"
    if client:
        return f"callable {client}"
    return "reference client"


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


def run_options(given: Mapping[str, object], front: FrontEnd = PYTEST) -> RunOptions:
    """The run's options from what a front end was given, by canonical name (a text is
    parsed, None is the default); OptionError names the first wrong one as typed there."""
    values: dict[str, Any] = {o.name: o.value(given.get(o.name), front) for o in _RUN}
    return RunOptions(**values, front=front)
