"""Client checks: one named function per UT-C requirement, over a case's evidence.

    results = run_checks(evidence)            # every registered check, in ID order
    results = run_checks(evidence, ["UT-C10"])

Importing this package registers the checks (`protocol`, `robustness`, `shape`).
"""

from __future__ import annotations

from collections.abc import Iterable

from conformance.checks import protocol, robustness, shape
from conformance.checks.base import (
    CHECKS,
    Breach,
    CheckResult,
    Findings,
    Violation,
    check,
    describe_request,
    run_check,
)
from conformance.checks.evidence import CaseEvidence, ClientOutcome, FinalToken

__all__ = [
    "CHECKS",
    "Breach",
    "CaseEvidence",
    "CheckResult",
    "ClientOutcome",
    "FinalToken",
    "Findings",
    "Violation",
    "check",
    "describe_request",
    "run_check",
    "run_checks",
]

_MODULES = (protocol, robustness, shape)  # imported for their registrations


def run_checks(evidence: CaseEvidence, ids: Iterable[str] | None = None) -> list[CheckResult]:
    """Run the checks of `ids` (every registered one when None), in ID order."""
    wanted = sorted(CHECKS if ids is None else ids)
    return [run_check(requirement_id, evidence) for requirement_id in wanted]
