"""What a results document's derived fields must be, computed from its cases.

The builder fills `counts`, `verdict`, `failing_cases` and `summary` with these functions and
the validator recomputes them, so a hand-edited or half-written document cannot disagree
with itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reports.exercise import must_not_exercised, not_exercised_causes
from reports.verdicts import Level, Verdict, exit_code, is_broken, tally

__all__ = [
    "case_verdicts",
    "counts_of",
    "failing_cases_of",
    "requires_exercised",
    "summary_of",
]

Case = Mapping[str, Any]


def case_verdicts(cases: Sequence[Case], requirement_id: str) -> list[tuple[int, str]]:
    """`(case index, verdict)` of every case that judged `requirement_id`."""
    return [
        (case["index"], case["verdicts"][requirement_id])
        for case in cases
        if requirement_id in case["verdicts"]
    ]


def counts_of(cases: Sequence[Case], requirement_id: str) -> dict[str, int]:
    return tally(verdict for _, verdict in case_verdicts(cases, requirement_id))


def failing_cases_of(cases: Sequence[Case], requirement_id: str) -> list[int]:
    """Indices of the cases where the requirement FAILed or was NON-STRICT, ascending."""
    found = case_verdicts(cases, requirement_id)
    return sorted(index for index, verdict in found if is_broken(verdict))


def requires_exercised(run: Mapping[str, Any]) -> bool:
    """Whether the run counted an unexercised MUST as a failure (`--require-exercised`, or
    `--strict`, which stores it too). A document from before the field judged without it."""
    return bool(run.get("require_exercised", False))


def summary_of(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The `summary` object of a document whose requirements and cases are complete."""
    requirements: list[Mapping[str, Any]] = doc["requirements"]
    cases: list[Case] = doc["cases"]
    run: Mapping[str, Any] = doc["run"]

    def broken(level: str, verdict: str) -> int:
        return sum(1 for r in requirements if r["level"] == level and r["verdict"] == verdict)

    return {
        "cases": len(cases),
        "must_failed": broken(Level.MUST, Verdict.FAIL),
        "should_failed": broken(Level.SHOULD, Verdict.NON_STRICT),
        "harness_errors": sum(
            1 for case in cases if Verdict.HARNESS_ERROR in case["verdicts"].values()
        ),
        "exit_code": exit_code(
            doc, strict=bool(run["strict"]), require_exercised=requires_exercised(run)
        ),
        "must_not_exercised": must_not_exercised(doc),
        "not_exercised_causes": not_exercised_causes(doc),
    }
