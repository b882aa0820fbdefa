"""Checks: one named function per requirement, registered by ID (after schemathesis).

A check looks at a case's evidence and returns what it found: `Findings` — whether the
situation arose at all (`exercised`) and every breach, each naming the request(s) that broke
the rule and what was expected. The verdict follows from the requirement's level.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from conformance.checks.evidence import CaseEvidence
from conformance.requirements import Level, Verdict, requirement, verdict_for_broken
from conformance.trace import Exchange

__all__ = [
    "CHECKS",
    "Breach",
    "CheckResult",
    "Findings",
    "Violation",
    "check",
    "describe_request",
    "run_check",
]


@dataclass(frozen=True)
class Breach:
    """One way the rule was broken, with the exchanges (trace ids) that show it."""

    message: str
    exchanges: tuple[int, ...] = ()


@dataclass(frozen=True)
class Findings:
    """What a check saw: breaches, whether the rule applied at all, and observations."""

    breaches: tuple[Breach, ...] = ()
    exercised: bool = True
    observations: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckResult:
    requirement_id: str
    verdict: Verdict
    breaches: tuple[Breach, ...] = ()
    observations: dict[str, object] = field(default_factory=dict)

    def message(self) -> str:
        """A failure message: the requirement, then each breach."""
        rule = requirement(self.requirement_id).rule
        lines = [f"{self.requirement_id} {self.verdict.value}: {rule}"]
        lines += [f"  - {breach.message}" for breach in self.breaches]
        return "\n".join(lines)


class Violation(AssertionError):  # noqa: N818 - the name the architecture gives it
    """A requirement was broken (raised by the pytest suite); carries the requirement ID."""

    def __init__(self, result: CheckResult) -> None:
        super().__init__(result.message())
        self.requirement_id = result.requirement_id
        self.result = result


CheckFunction = Callable[[CaseEvidence], Findings]
CHECKS: dict[str, CheckFunction] = {}


def check(requirement_id: str) -> Callable[[CheckFunction], CheckFunction]:
    """Register `function` as the check of `requirement_id` (one check per ID)."""
    requirement(requirement_id)  # an unknown ID fails at import time

    def register(function: CheckFunction) -> CheckFunction:
        if requirement_id in CHECKS:
            raise ValueError(f"{requirement_id} already has a check")
        CHECKS[requirement_id] = function
        return function

    return register


def run_check(requirement_id: str, evidence: CaseEvidence) -> CheckResult:
    """Run one registered check and turn its findings into a verdict."""
    findings = CHECKS[requirement_id](evidence)
    level = requirement(requirement_id).level
    if level is Level.INFORMATIONAL:
        verdict = Verdict.INFORMATIONAL
    elif not findings.exercised:
        verdict = Verdict.NOT_EXERCISED
    elif findings.breaches:
        verdict = verdict_for_broken(level)
    else:
        verdict = Verdict.PASS
    return CheckResult(requirement_id, verdict, findings.breaches, findings.observations)


def describe_request(exchange: Exchange) -> str:
    """`request #7 (resume=true, finalChunk=false, resumeAt=4096, 1024 bytes)`."""
    flags = []
    if exchange.resume is not None:
        flags.append(f"resume={str(exchange.resume).lower()}")
    if exchange.final_chunk is not None:
        given = "" if exchange.present("finalChunk") else " (omitted)"
        flags.append(f"finalChunk={str(exchange.final_chunk).lower()}{given}")
    if exchange.resume_at is not None:
        flags.append(f"resumeAt={_number(exchange.resume_at)}")
    if exchange.payload is not None:
        flags.append(f"{exchange.payload.size} bytes")
    return f"request #{exchange.id} ({', '.join(flags)})"


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)
