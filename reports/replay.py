"""A saved run's failing cases, run again: each FIXED, FAILED or FLAKY.

`kaltura-conformance replay` runs every failing case of a results document (`to_replay`)
N times with `--replay` and judges the replay run's results document against the saved
one (`replay_section`): a case is FIXED when it passed every time, FAILED when it failed
every time, FLAKY otherwise; a run of a case fails when any requirement is FAIL,
NON-STRICT or HARNESS-ERROR in it. Each requirement that broke in a saved case is judged
the same way over the runs of those cases: broken in all, none or some. The section is
the document's optional `replay` field; its counts and statuses are derived from the
replay run's cases, so the validator checks them again (`replay_problems`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from reports.paths import ROOT, item, key
from reports.verdicts import FAILING, Replayed

__all__ = [
    "REPLAYED_TEST",
    "failed_in",
    "replay_problems",
    "replay_section",
    "replay_status",
    "to_replay",
]

REPLAYED_TEST: Final = "test_replay"

Case = Mapping[str, Any]


def failed_in(case: Case) -> list[str]:
    """The requirements a case broke (FAIL, NON-STRICT) or could not judge (HARNESS-ERROR)."""
    return [rid for rid, verdict in case["verdicts"].items() if verdict in FAILING]


def to_replay(doc: Mapping[str, Any]) -> list[tuple[dict[str, Any], list[int]]]:
    """Each distinct scenario of the failing cases of `doc`, with the indices of the cases
    that ran it (the same scenario may have failed in more than one case)."""
    found: dict[str, tuple[dict[str, Any], list[int]]] = {}
    for case in doc["cases"]:
        if failed_in(case):
            scenario = case["scenario"]
            found.setdefault(_canonical(scenario), (scenario, []))[1].append(case["index"])
    return list(found.values())


def replay_status(passed: int, failed: int) -> str:
    """FIXED: passed every time; FAILED: failed every time, or never ran (not shown fixed);
    FLAKY: some of each."""
    if failed == 0 and passed:
        return Replayed.FIXED
    return Replayed.FAILED if passed == 0 else Replayed.FLAKY


def replay_section(
    saved: Mapping[str, Any], replayed: Sequence[Case], *, source: str, times: int
) -> dict[str, Any]:
    """The `replay` field of the replay run's document: `saved` is the document replayed
    (read from `source`), `replayed` the replay run's cases, each failing scenario run
    `times` times."""
    runs: dict[str, list[int]] = {}
    for case in replayed:
        if case["test"] == REPLAYED_TEST:
            runs.setdefault(_canonical(case["scenario"]), []).append(case["index"])
    by_index = {case["index"]: case for case in saved["cases"]}
    cases = []
    for scenario, indices in to_replay(saved):
        broke = sorted({rid for index in indices for rid in failed_in(by_index[index])})
        cases.append(
            {
                "saved_cases": indices,
                "requirements": broke,
                "runs": runs.get(_canonical(scenario), []),
            }
        )
    return _judged({"from": source, "times": times, "cases": cases}, replayed)


def _judged(section: dict[str, Any], replayed: Sequence[Case]) -> dict[str, Any]:
    """`section` with each case's and each requirement's counts and status filled in."""
    cases = [
        {**entry, **_counts([replayed[i] for i in entry["runs"]], None)}
        for entry in section["cases"]
    ]
    ids = sorted({rid for entry in cases for rid in entry["requirements"]})
    requirements = []
    for rid in ids:
        runs = [
            replayed[i] for entry in cases if rid in entry["requirements"] for i in entry["runs"]
        ]
        requirements.append({"id": rid, **_counts(runs, rid)})
    return {**section, "cases": cases, "requirements": requirements}


def _counts(runs: Sequence[Case], requirement_id: str | None) -> dict[str, Any]:
    """How many runs passed and failed (as a whole, or for one requirement), and so the status."""

    def failed(case: Case) -> bool:
        broke = failed_in(case)
        return bool(broke) if requirement_id is None else requirement_id in broke

    bad = sum(1 for case in runs if failed(case))
    good = len(runs) - bad
    return {"passed": good, "failed": bad, "status": replay_status(good, bad)}


def replay_problems(doc: Mapping[str, Any]) -> list[str]:
    """Where a document's `replay` section disagrees with its cases (none without one)."""
    section = doc.get("replay")
    if section is None:
        return []
    path, cases = key(ROOT, "replay"), doc["cases"]
    problems = []
    for i, entry in enumerate(section["cases"]):
        for j, index in enumerate(entry["runs"]):
            if index >= len(cases):
                problems.append(
                    f"{item(key(item(key(path, 'cases'), i), 'runs'), j)}: no case {index}"
                )
    if problems:
        return problems
    expected = _judged(section, cases)
    for name in ("cases", "requirements"):
        if section[name] != expected[name]:
            problems.append(
                f"{key(path, name)}: expected {_canonical(expected[name])} from the cases"
            )
    return problems


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
