"""Verdicts and levels as plain strings, and the rules that combine them.

These mirror `conformance.requirements` by value only: `reports` must not import it, and a
results document stores the strings anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

__all__ = [
    "BASELINED",
    "BROKEN",
    "FAILING",
    "LEVELS",
    "ORDER",
    "REPLAYED",
    "Baselined",
    "Level",
    "Replayed",
    "Verdict",
    "aggregate_verdict",
    "allowed_verdicts",
    "exit_code",
    "is_broken",
    "tally",
]


class Verdict:
    """The verdict names (a namespace of strings, not an Enum: they go straight into JSON)."""

    PASS: Final = "PASS"
    FAIL: Final = "FAIL"
    NON_STRICT: Final = "NON-STRICT"
    NOT_EXERCISED: Final = "NOT-EXERCISED"
    INFORMATIONAL: Final = "INFORMATIONAL"
    HARNESS_ERROR: Final = "HARNESS-ERROR"


class Level:
    """The requirement levels."""

    MUST: Final = "MUST"
    SHOULD: Final = "SHOULD"
    INFORMATIONAL: Final = "INFORMATIONAL"


class Baselined:
    """What a run's baseline says of a requirement it lists (`reports.known`)."""

    KNOWN: Final = "known"  # broken, and accepted until its date
    FIXED: Final = "fixed"  # listed, but it passes now: delete the entry
    EXPIRED: Final = "expired"  # listed, not passing, and past its date: fails the run


class Replayed:
    """A saved failing case (or requirement) run again N times (`reports.replay`)."""

    FIXED: Final = "FIXED"  # passed every time
    FAILED: Final = "FAILED"  # failed every time
    FLAKY: Final = "FLAKY"  # some of each


BASELINED: Final[tuple[str, ...]] = (Baselined.KNOWN, Baselined.FIXED, Baselined.EXPIRED)
REPLAYED: Final[tuple[str, ...]] = (Replayed.FIXED, Replayed.FAILED, Replayed.FLAKY)

# The order of the requirements catalogue's verdict table: the order of every `counts` dict.
ORDER: Final[tuple[str, ...]] = (
    Verdict.PASS,
    Verdict.FAIL,
    Verdict.NON_STRICT,
    Verdict.NOT_EXERCISED,
    Verdict.INFORMATIONAL,
    Verdict.HARNESS_ERROR,
)
LEVELS: Final[tuple[str, ...]] = (Level.MUST, Level.SHOULD, Level.INFORMATIONAL)
# The verdicts that make a case a failing case of its requirement.
BROKEN: Final[frozenset[str]] = frozenset({Verdict.FAIL, Verdict.NON_STRICT})
# And those the reports show as what went wrong: the broken ones and the harness's errors.
FAILING: Final[frozenset[str]] = BROKEN | {Verdict.HARNESS_ERROR}

_ALLOWED: Final[Mapping[str, frozenset[str]]] = {
    Level.MUST: frozenset({Verdict.PASS, Verdict.FAIL}),
    Level.SHOULD: frozenset({Verdict.PASS, Verdict.NON_STRICT}),
    Level.INFORMATIONAL: frozenset({Verdict.INFORMATIONAL}),
}


def allowed_verdicts(level: str) -> frozenset[str]:
    """The per-case verdicts a requirement of `level` can get (a broken MUST is never
    NON-STRICT, a SHOULD never FAILs); NOT-EXERCISED and HARNESS-ERROR fit every level."""
    return _ALLOWED[level] | {Verdict.NOT_EXERCISED, Verdict.HARNESS_ERROR}


def is_broken(verdict: str) -> bool:
    return verdict in BROKEN


def tally(verdicts: Iterable[str]) -> dict[str, int]:
    """Counts of each verdict, every verdict of `ORDER` present (zeros included)."""
    counts = dict.fromkeys(ORDER, 0)
    for verdict in verdicts:
        counts[verdict] += 1
    return counts


def aggregate_verdict(counts: Mapping[str, int], level: str) -> str:
    """A requirement's verdict over all its cases.

    HARNESS-ERROR only when every case was one (a partial harness failure must not hide a
    FAIL elsewhere); then the worst judgement wins; NOT-EXERCISED is never counted as a pass.
    """
    total = sum(counts.get(verdict, 0) for verdict in ORDER)
    harness = counts.get(Verdict.HARNESS_ERROR, 0)
    if total and harness == total:
        return Verdict.HARNESS_ERROR
    if counts.get(Verdict.FAIL, 0):
        return Verdict.FAIL
    if counts.get(Verdict.NON_STRICT, 0):
        return Verdict.NON_STRICT
    judged = counts.get(Verdict.PASS, 0) + counts.get(Verdict.INFORMATIONAL, 0)
    if level == Level.INFORMATIONAL and judged:
        return Verdict.INFORMATIONAL
    if counts.get(Verdict.PASS, 0):
        return Verdict.PASS
    return Verdict.NOT_EXERCISED


def exit_code(
    doc: Mapping[str, Any], strict: bool = False, require_exercised: bool | None = None
) -> int:
    """1 if a MUST failed, or (with `strict`) a SHOULD was NON-STRICT, or (with
    `require_exercised`) a MUST was NOT-EXERCISED, or a baseline entry expired (or, under
    the baseline's `strict`, lists a requirement that is fixed); a failure the baseline
    accepts (`known`) does not count; else 3 if any case of any requirement
    was a harness error; else 0. (2, a usage error, is the CLI's.)

    `require_exercised` left as None follows `strict`: a strict run also requires every MUST
    to be exercised. A document's own exit code passes the run's stored value instead.
    A replay run's document (with `replay`) is 0 when every case replayed is FIXED, else 1."""
    replay = doc.get("replay")
    if replay is not None:  # a replay run: judged by its cases run again, nothing else
        return 0 if all(c["status"] == Replayed.FIXED for c in replay["cases"]) else 1
    requiring = strict if require_exercised is None else require_exercised
    requirements: list[Mapping[str, Any]] = doc["requirements"]
    strict_baseline = bool((doc.get("run", {}).get("baseline") or {}).get("strict"))
    for entry in requirements:
        level, verdict = entry["level"], entry["verdict"]
        baselined = (entry.get("baseline") or {}).get("status")
        if baselined == Baselined.EXPIRED or (baselined == Baselined.FIXED and strict_baseline):
            return 1
        if baselined == Baselined.KNOWN:
            continue  # accepted by the baseline until its date
        if level == Level.MUST and verdict == Verdict.FAIL:
            return 1
        if strict and level == Level.SHOULD and verdict == Verdict.NON_STRICT:
            return 1
        if requiring and level == Level.MUST and verdict == Verdict.NOT_EXERCISED:
            return 1
    if any(entry["counts"].get(Verdict.HARNESS_ERROR, 0) for entry in requirements):
        return 3
    return 0
