"""How per-case verdicts combine into a requirement's verdict, and into the exit code."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.requirements import Level as CatalogueLevel
from conformance.requirements import Verdict as CatalogueVerdict
from conformance.requirements import verdict_for_broken
from reports import ORDER, Level, Verdict, aggregate_verdict, exit_code
from reports.verdicts import allowed_verdicts, tally

P, F, N = Verdict.PASS, Verdict.FAIL, Verdict.NON_STRICT
X, OB, H = Verdict.NOT_EXERCISED, Verdict.INFORMATIONAL, Verdict.HARNESS_ERROR
MUST, SHOULD, INFO = Level.MUST, Level.SHOULD, Level.INFORMATIONAL


def test_the_names_are_the_catalogue_strings() -> None:
    assert ORDER == (
        "PASS",
        "FAIL",
        "NON-STRICT",
        "NOT-EXERCISED",
        "INFORMATIONAL",
        "HARNESS-ERROR",
    )
    assert (MUST, SHOULD, INFO) == ("MUST", "SHOULD", "INFORMATIONAL")


@pytest.mark.parametrize(
    ("level", "cases", "expected"),
    [
        # nothing ran at all: never a pass, never a harness error
        (MUST, [], X),
        (INFO, [], X),
        # every case a harness error, and only then
        (MUST, [H], H),
        (MUST, [H, H, H], H),
        (SHOULD, [H], H),
        (INFO, [H], H),
        (MUST, [H, P], P),
        (MUST, [H, X], X),
        # a FAIL anywhere wins, over passes, harness errors and not-exercised cases
        (MUST, [F], F),
        (MUST, [P, P, F], F),
        (MUST, [H, F], F),
        (MUST, [X, F, H], F),
        # a broken SHOULD
        (SHOULD, [N], N),
        (SHOULD, [P, N, X], N),
        (SHOULD, [H, N], N),
        # an observation is INFORMATIONAL when any case made one
        (INFO, [OB], OB),
        (INFO, [OB, X, H], OB),
        (INFO, [X], X),
        # a pass needs at least one case where the rule applied
        (MUST, [P], P),
        (MUST, [P, X], P),
        (SHOULD, [X, P, H], P),
        (MUST, [X], X),
        (SHOULD, [X, X], X),
        (MUST, [X, H], X),
    ],
)
def test_aggregate_verdict(level: str, cases: list[str], expected: str) -> None:
    assert aggregate_verdict(tally(cases), level) == expected


def test_aggregate_verdict_reads_sparse_counts() -> None:
    assert aggregate_verdict({"FAIL": 1}, MUST) == F
    assert aggregate_verdict({}, SHOULD) == X


def test_allowed_verdicts_per_level() -> None:
    assert allowed_verdicts(MUST) == {P, F, X, H}
    assert allowed_verdicts(SHOULD) == {P, N, X, H}
    assert allowed_verdicts(INFO) == {OB, X, H}


def _doc(*requirements: tuple[str, str, dict[str, int]]) -> dict[str, Any]:
    return {
        "requirements": [
            {"level": level, "verdict": verdict, "counts": counts}
            for level, verdict, counts in requirements
        ]
    }


@pytest.mark.parametrize(
    ("requirements", "plain", "strict"),
    [
        ([], 0, 0),
        ([(MUST, P, {P: 3}), (INFO, OB, {OB: 3})], 0, 0),
        # a MUST no case exercised: a failure when strict (which requires every MUST)
        ([(MUST, X, {X: 2})], 0, 1),
        ([(SHOULD, X, {X: 2}), (INFO, X, {X: 1})], 0, 0),
        ([(MUST, F, {F: 1, P: 2})], 1, 1),
        ([(SHOULD, N, {N: 1})], 0, 1),
        ([(MUST, H, {H: 1})], 3, 3),
        # a partial harness error still makes the run incomplete
        ([(MUST, P, {P: 2, H: 1})], 3, 3),
        ([(SHOULD, N, {N: 1, H: 1})], 3, 1),
        # a failure outranks a harness error
        ([(MUST, F, {F: 1, H: 1}), (MUST, H, {H: 2})], 1, 1),
    ],
)
def test_exit_code(
    requirements: list[tuple[str, str, dict[str, int]]], plain: int, strict: int
) -> None:
    doc = _doc(*requirements)
    assert exit_code(doc) == plain
    assert exit_code(doc, strict=True) == strict


@pytest.mark.parametrize(
    ("requirements", "required"),
    [
        ([(MUST, X, {X: 2})], 1),
        ([(MUST, P, {P: 1}), (MUST, X, {X: 1, H: 1})], 1),  # outranks the harness error
        ([(MUST, P, {P: 1}), (SHOULD, X, {X: 1})], 0),  # only MUSTs must be exercised
        ([(MUST, H, {H: 1})], 3),
    ],
)
def test_exit_code_requiring_every_must_exercised(
    requirements: list[tuple[str, str, dict[str, int]]], required: int
) -> None:
    doc = _doc(*requirements)
    assert exit_code(doc, require_exercised=True) == required
    # strict implies it, unless told otherwise (a document from before it did)
    assert exit_code(doc, strict=True) == required
    assert exit_code(doc, strict=True, require_exercised=False) == exit_code(doc)


def test_the_realistic_document_exits_1(doc: dict[str, Any]) -> None:
    assert exit_code(doc) == 1
    assert doc["summary"]["exit_code"] == 1


def test_the_strings_match_the_catalogue() -> None:
    # reports may not import conformance; its tests may, to catch drift between the two.
    assert tuple(verdict.value for verdict in CatalogueVerdict) == ORDER
    assert tuple(level.value for level in CatalogueLevel) == (MUST, SHOULD, INFO)
    for level in CatalogueLevel:
        assert verdict_for_broken(level).value in allowed_verdicts(level.value)
