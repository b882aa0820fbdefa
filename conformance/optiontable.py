"""The options of a conformance run, declared once.

`OPTIONS` is the one table of them. Each `Option` has its canonical name (the field of
`RunOptions`, or of `LiveTarget` for the live account's, that reads it), its flag in
pytest (`--kaltura-shrink-time`, or a short one such as `--client-cmd`) and in
`kaltura-conformance run` (`--shrink-time`), how a typed text becomes its value, its
default (or the profile's), its help, the environment variable read when it is not given,
and the values it refuses. From the table come pytest's option groups (`conformance.plugin`),
the `run` command's arguments and what that command forwards to pytest
(`conformance.commands.run`), and the checks of `RunOptions` and `live_target`.

A `FrontEnd` is where the user typed the options: every refusal is one line
(`OptionError`) naming the option as it is spelled there, `--kaltura-shrink-time` in pytest
and `--shrink-time` in the command.

Adding a run option: one `Option` in `OPTIONS`, and the field that reads it.

Light on purpose (the standard library, `sizes` and `requirements`): the plugin declares
pytest's options from this table in every pytest run of an environment where the suite is
installed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from conformance.requirements import parse_requirement_ids
from conformance.sizes import parse_size

__all__ = [
    "CLI",
    "DEFAULTS",
    "MAX_CLIENT_CHUNK_SIZE",
    "OPTION",
    "OPTIONS",
    "PROFILES",
    "PYTEST",
    "FrontEnd",
    "Option",
    "OptionError",
    "Profile",
    "ShardSpec",
    "pytest_argv",
]


class OptionError(ValueError):
    """A user's option is wrong; the message is one line naming it as the user typed it."""


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


# Examples per group (`suite.groups`: seven). `default` is sized so that a run of the reference
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
class Option:
    """One option of a run, in both front ends."""

    name: str
    """Canonical: the field that reads it (`RunOptions`, or `LiveTarget` when `live`)."""
    pytest: str
    cli: str
    help: str
    parse: Callable[[str], Any] | None = str
    """A typed text to the value (ValueError: one line that names the text); None: a
    switch, on when given."""
    default: Any = None
    check: Callable[[Any], str | None] | None = None
    """What is wrong with a value, or None: it is taken."""
    metavar: str | None = None
    env: str | None = None
    """Read when the option is not given (the live account's credentials)."""
    per_profile: str | None = None
    """The `Profile` field that is its default when it is not given."""
    live: bool = False
    """For the live account (`LiveTarget`), in a group of its own."""

    def arguments(self) -> dict[str, Any]:
        """argparse's keywords for it, the same in pytest and in the command."""
        if self.parse is None:
            return {"action": "store_true", "help": self.described()}
        return {
            "metavar": self.metavar or self.name.upper(),
            "default": None,  # not given: the table's default, the env or the profile stand in
            "help": self.described(),
        }

    def described(self) -> str:
        """The help, with the default and the environment variable."""
        words = [self.help]
        if self.per_profile is not None:
            each = (f"{p.name} {getattr(p, self.per_profile):g}" for p in PROFILES.values())
            words.append(f"({', '.join(each)})")
        elif self.parse is not None and self.default is not None:
            words.append(f"(default: {self._shown(self.default)})")
        if self.env is not None:
            words.append(f"[{self.env}]")
        return " ".join(words)

    def value(self, given: object, front: FrontEnd) -> Any:
        """What was given (None: the default); a text is parsed, refused in one line."""
        if given is None:
            return self.default
        if self.parse is None or not isinstance(given, str):
            return given
        try:
            return self.parse(given)
        except ValueError as error:
            raise OptionError(f"{front.flag(self.name)}: {error}") from None

    def refuse(self, value: object, front: FrontEnd) -> None:
        """OptionError, naming the option as typed in `front`, for a value it does not take."""
        problem = None if value is None or self.check is None else self.check(value)
        if problem is not None:
            raise OptionError(f"{front.flag(self.name)}={value!r}: {problem}")

    def _shown(self, value: Any) -> str:
        if self.parse is parse_size and value % (1 << 20) == 0:
            return f"{value >> 20}MiB"
        return f"{value:g}" if isinstance(value, float) else self.text(value)

    def text(self, value: Any) -> str:
        """The value as a text that `parse` reads back (what the command forwards)."""
        if isinstance(value, tuple):
            return ",".join(value)
        return repr(value) if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class ShardSpec:
    """`--shard I/N`: this run is CI job I (from 1) of N, each running its share of the
    cases (`conformance.suite.sharding`)."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> ShardSpec:
        index, slash, count = text.strip().partition("/")
        if not (slash and index.isdigit() and count.isdigit()):
            raise ValueError(f"{text!r} is not I/N, e.g. 2/3 (job 2 of 3)")
        spec = cls(int(index), int(count))
        if not 1 <= spec.index <= spec.count:
            raise ValueError(f"{text!r}: I must be 1 to N, e.g. 2/3")
        return spec

    def __str__(self) -> str:  # what `run` forwards to pytest, and `parse` reads back
        return f"{self.index}/{self.count}"

    def to_dict(self) -> dict[str, int]:
        return {"index": self.index, "count": self.count}


def _switch(name: str, pytest: str, cli: str, help: str, *, live: bool = False) -> Option:
    return Option(name, pytest, cli, help, parse=None, default=False, live=live)


# --- how texts become values, and which values are refused ------------------------------


def _host(value: Any) -> str | None:
    text = str(value)
    if not text or any(c.isspace() or c in "/:@" for c in text):
        return "a host name or IPv4 address to listen on, e.g. 127.0.0.1"
    return None


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a whole number") from None


def _profile(value: str) -> str | None:
    return None if value in PROFILES else f"one of {', '.join(PROFILES)}"


def _a_client(value: str) -> str | None:
    """Not the reference client, silently."""
    return None if value.strip() else "empty; give the client under test"


def _positive_seconds(value: float) -> str | None:
    good = value > 0 and not math.isinf(value)
    return None if good else "must be a positive number of seconds"


def _seconds_up_to(most: int, note: str = "") -> Callable[[float], str | None]:
    def problem(value: float) -> str | None:
        return None if 0 <= value <= most else f"0 to {most} seconds{note}"  # NaN: refused

    return problem


def _chunk_size(value: int) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return "must be a positive number of bytes"
    if value > MAX_CLIENT_CHUNK_SIZE:
        return f"at most {MAX_CLIENT_CHUNK_SIZE} bytes (1 GiB)"
    return None


def _http_url(value: str) -> str | None:
    parts = urlsplit(value)
    good = parts.scheme in ("http", "https") and parts.hostname
    return None if good else "an http(s) URL such as https://www.kaltura.com"


def _partner_id(value: str | int) -> str | None:
    text = str(value)
    return None if text.isdigit() and int(text) > 0 else "a positive integer"


def _above_zero(value: float) -> str | None:
    return None if value > 0 else "must be > 0"


# One row per option: its name, pytest's flag, the command's flag and help, then how a text
# becomes its value, its default and what it refuses. Kept as a table (`fmt: off`).
# fmt: off
OPTIONS: tuple[Option, ...] = (
    Option("client_cmd", "--client-cmd", "--client-cmd",
           "the client under test: a command with {file}, {ks}… (see README)",
           check=_a_client, metavar="CMD"),
    Option("client", "--client", "--client", "the client under test: a Python callable",
           check=_a_client, metavar="MODULE:FUNCTION"),
    Option("profile", "--kaltura-profile", "--profile",
           "how many cases, how big: quick, default or thorough",
           default="default", check=_profile),
    Option("requirements", "--kaltura-requirements", "--requirements",
           "only these IDs, e.g. UT-C10,UT-C18", parse_requirement_ids, metavar="IDS"),
    Option("report_dir", "--kaltura-report-dir", "--report-dir", "where reports go",
           default="conformance-reports", metavar="DIR"),
    Option("time_limit", "--kaltura-time-limit", "--time-limit",
           "seconds a client may take per case", _number, per_profile="time_limit",
           check=_positive_seconds, metavar="SECONDS"),
    Option("final_wait", "--kaltura-final-wait", "--final-wait",
           "seconds the suite's endpoint waits for late chunks at a close", _number,
           default=0.2, check=_seconds_up_to(3600), metavar="SECONDS"),
    _switch("strict", "--kaltura-strict", "--strict", "SHOULD failures fail the run too"),
    _switch("require_exercised", "--kaltura-require-exercised", "--require-exercised",
            "a MUST no case exercised fails the run (strict implies it)"),
    _switch("in_process", "--kaltura-in-process", "--in-process",
            "serve httpx clients over respx, in this process"),
    Option("replay", "--kaltura-replay", "--replay",
           "run exactly this scenario (JSON; an array: each in turn)",
           metavar="SCENARIO_JSON"),
    Option("shrink_time", "--kaltura-shrink-time", "--shrink-time",
           "seconds a failing group may shrink", _number, per_profile="shrink_seconds",
           check=_seconds_up_to(86400, " (0: report as found)"), metavar="SECONDS"),
    _switch("no_shrink", "--kaltura-no-shrink", "--no-shrink",
            "report the first failing case at once"),
    Option("baseline", "--kaltura-baseline", "--baseline",
           "known failures (TOML, see docs/baseline.md): accepted until their dates",
           metavar="FILE"),
    _switch("strict_baseline", "--kaltura-strict-baseline", "--strict-baseline",
            "a baselined requirement that passes now fails the run (delete its entry)"),
    Option("client_chunk_size", "--kaltura-client-chunk-size", "--client-chunk-size",
           "the client's own chunk size (e.g. 10MB, 2MiB): files are drawn around it",
           parse_size, check=_chunk_size, metavar="SIZE"),
    Option("shard", "--kaltura-shard", "--shard",
           "run only CI job I of N's share of the cases (merge them with "
           "`kaltura-conformance merge`)", ShardSpec.parse, metavar="I/N"),
    # The live account: server conformance, or a client uploading to that account.
    Option("service_url", "--kaltura-service-url", "--service-url", "the endpoint under test",
           check=_http_url, metavar="URL", env="KALTURA_SERVICE_URL", live=True),
    Option("partner_id", "--kaltura-partner-id", "--partner-id", "its partner id",
           check=_partner_id, metavar="N", env="KALTURA_PARTNER_ID", live=True),
    Option("admin_secret", "--kaltura-admin-secret", "--admin-secret", "its admin secret",
           metavar="SECRET", env="KALTURA_ADMIN_SECRET", live=True),
    Option("ks", "--kaltura-ks", "--ks", "a KS instead of the admin secret",
           metavar="KS", env="KALTURA_KS", live=True),
    Option("max_requests", "--kaltura-max-requests", "--max-requests", "request budget",
           _whole_number, default=3000, check=_above_zero, metavar="N", live=True),
    Option("max_bytes", "--kaltura-max-bytes", "--max-bytes", "bytes budget, e.g. 1GiB",
           parse_size, default=256 << 20, check=_above_zero, metavar="SIZE", live=True),
    Option("max_concurrency", "--kaltura-max-concurrency", "--max-concurrency",
           "requests at once", _whole_number, default=4, check=_above_zero, metavar="N",
           live=True),
    Option("max_rps", "--kaltura-max-rps", "--max-rps", "requests per second", _number,
           default=20.0, check=_above_zero, metavar="N", live=True),
    # The real server holds a close that misses chunks for 45 one-second passes (§7).
    Option("close_wait", "--kaltura-close-wait", "--close-wait",
           "seconds the server may hold a close", _number, default=45.0,
           check=_seconds_up_to(600), metavar="SECONDS", live=True),
    _switch("slow_closes", "--kaltura-slow-closes", "--slow-closes",
            "run the early-close checks (each waits out the close wait) in any profile",
            live=True),
    Option("proxy_host", "--kaltura-proxy-host", "--proxy-host",
           "where the proxy a client on the account uploads through listens",
           default="127.0.0.1", check=_host, metavar="HOST", live=True),
)
# fmt: on
OPTION: Mapping[str, Option] = MappingProxyType({option.name: option for option in OPTIONS})
DEFAULTS: Mapping[str, Any] = MappingProxyType({o.name: o.default for o in OPTIONS})


@dataclass(frozen=True, eq=False)
class FrontEnd:
    """Where the options are typed, and how each is spelled there."""

    label: str
    flags: Mapping[str, str]
    """Canonical name -> flag."""

    def flag(self, name: str) -> str:
        return self.flags[name]

    def dest(self, name: str) -> str:
        """Where argparse keeps the option's value (it derives it from the flag)."""
        return self.flags[name].lstrip("-").replace("-", "_")

    def declare(self, add: Callable[..., Any], add_live: Callable[..., Any]) -> None:
        """Declare every option: `add` (and `add_live` for the live account's) takes
        argparse's `add_argument` arguments (pytest's `addoption` does too)."""
        for option in OPTIONS:
            (add_live if option.live else add)(self.flag(option.name), **option.arguments())

    def given(self, read: Callable[[str], object]) -> dict[str, object]:
        """What was given (None: not given), by canonical name; `read` takes a dest."""
        return {option.name: read(self.dest(option.name)) for option in OPTIONS}


PYTEST = FrontEnd("pytest", MappingProxyType({o.name: o.pytest for o in OPTIONS}))
CLI = FrontEnd("kaltura-conformance run", MappingProxyType({o.name: o.cli for o in OPTIONS}))


def pytest_argv(values: Mapping[str, object]) -> list[str]:
    """pytest's options that give these values (by canonical name; None and False are
    not given)."""
    argv: list[str] = []
    for option in OPTIONS:
        value = values.get(option.name)
        if value is None or value is False:
            continue
        argv += [option.pytest] if option.parse is None else [option.pytest, option.text(value)]
    return argv
