"""Checks: one named function per requirement, registered by ID (after schemathesis).

A check looks at a case's evidence and returns what it found: `Findings` — whether the
situation arose at all (`exercised`) and every breach, each naming the request(s) that broke
the rule and what was expected. The verdict follows from the requirement's level. The
registry, findings and verdicts come from `conformance.findings`, shared with the server
checks (UT-S*).
"""

from __future__ import annotations

from collections.abc import Callable

from conformance.checks.evidence import CaseEvidence
from conformance.findings import Breach, CheckRegistry, CheckResult, Findings, Reads
from conformance.requirements import Party
from conformance.trace import Exchange

__all__ = [
    "CHECKS",
    "Breach",
    "CheckResult",
    "Findings",
    "Reads",
    "Violation",
    "check",
    "describe_request",
    "run_check",
]


class Violation(AssertionError):  # noqa: N818 - the name the architecture gives it
    """A requirement was broken (raised by the pytest suite); carries the requirement ID."""

    def __init__(self, result: CheckResult) -> None:
        super().__init__(result.message())
        self.requirement_id = result.requirement_id
        self.result = result


CheckFunction = Callable[[CaseEvidence], Findings]
CHECKS: CheckRegistry[CaseEvidence] = CheckRegistry(Party.CLIENT)


def check(
    requirement_id: str, *, reads: Reads = Reads.EVERYTHING
) -> Callable[[CheckFunction], CheckFunction]:
    """Register `function` as the check of `requirement_id` (one check per ID), whose
    verdict rests on `reads` of the evidence (`Reads`; everything unless it says less)."""
    return CHECKS.register(requirement_id, reads=reads)


def run_check(requirement_id: str, evidence: CaseEvidence) -> CheckResult:
    """Run one registered check and turn its findings into a verdict."""
    return CHECKS.run(requirement_id, evidence)


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
