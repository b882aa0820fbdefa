"""A saved run's failing cases run again (`reports.replay`): FIXED, FAILED and FLAKY per
case and per requirement, the exit code, validation, and the reports' own section."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from reports import ReportError, check, render_html, render_junit, render_markdown
from reports.replay import replay_section, replay_status, to_replay
from reports.verdicts import exit_code

Sample = Any  # conftest's Sample (not importable under --import-mode=importlib)

PASSING = {"UT-C01": "PASS", "UT-C10": "PASS", "UT-C17": "PASS", "UT-C22": "INFORMATIONAL"}


def _saved(sample: Sample) -> dict[str, Any]:
    """Three cases, two failing (different scenarios), one passing; in the document's order:
    #0 fails (seed 1), #1 is a harness error (seed 2), #2 passes (seed 0)."""
    cases = copy.deepcopy(sample.cases)
    for n, case in enumerate(cases):
        case["scenario"] = {"seed": n}
    return sample.build(cases)


def _replayed(sample: Sample, runs: list[tuple[int, dict[str, str]]]) -> list[dict[str, Any]]:
    """The replay run's cases: (scenario seed, verdicts) each."""
    return [
        {
            **copy.deepcopy(sample.cases[0]),
            "test": "test_replay",
            "scenario": {"seed": seed},
            "verdicts": verdicts,
            "breaches": {},
            "observations": {},
        }
        for seed, verdicts in runs
    ]


def _replay_doc(sample: Sample, runs: list[tuple[int, dict[str, str]]]) -> dict[str, Any]:
    doc = sample.build(_replayed(sample, runs))
    doc["replay"] = replay_section(_saved(sample), doc["cases"], source="saved.json", times=2)
    doc["summary"]["exit_code"] = exit_code(doc)
    return check(doc)


def test_every_distinct_failing_scenario_is_replayed_once(sample: Sample) -> None:
    saved = _saved(sample)
    assert to_replay(saved) == [({"seed": 1}, [0]), ({"seed": 2}, [1])]
    saved["cases"][1]["scenario"] = saved["cases"][0]["scenario"]
    assert to_replay(saved) == [({"seed": 1}, [0, 1])]


@pytest.mark.parametrize(
    ("passed", "failed", "status"),
    [(3, 0, "FIXED"), (0, 3, "FAILED"), (2, 1, "FLAKY"), (0, 0, "FAILED")],
)
def test_status(passed: int, failed: int, status: str) -> None:
    assert replay_status(passed, failed) == status


def test_fixed_failed_and_flaky_per_case_and_per_requirement(sample: Sample) -> None:
    broken = {**PASSING, "UT-C10": "FAIL"}
    doc = _replay_doc(sample, [(1, PASSING), (1, broken), (2, PASSING), (2, PASSING)])
    section = doc["replay"]
    by_case = {
        tuple(c["saved_cases"]): (c["passed"], c["failed"], c["status"]) for c in section["cases"]
    }
    assert by_case == {(0,): (1, 1, "FLAKY"), (1,): (2, 0, "FIXED")}
    assert section["cases"][0]["requirements"] == ["UT-C10", "UT-C17"]
    by_id = {r["id"]: (r["passed"], r["failed"], r["status"]) for r in section["requirements"]}
    assert by_id["UT-C10"] == (3, 1, "FLAKY")
    assert by_id["UT-C17"] == (4, 0, "FIXED")  # broken in both saved cases
    assert by_id["UT-C01"] == (2, 0, "FIXED")  # a harness error in saved case #1
    assert doc["summary"]["exit_code"] == 1
    fixed = _replay_doc(sample, [(1, PASSING), (2, PASSING)])
    assert fixed["summary"]["exit_code"] == 0
    harness = dict.fromkeys(PASSING, "HARNESS-ERROR")
    failed = _replay_doc(sample, [(1, broken), (2, harness)])
    assert {c["status"] for c in failed["replay"]["cases"]} == {"FAILED"}


def test_the_section_must_agree_with_the_cases(sample: Sample) -> None:
    doc = _replay_doc(sample, [(1, PASSING), (2, PASSING)])
    tampered = copy.deepcopy(doc)
    tampered["replay"]["cases"][0]["status"] = "FAILED"
    with pytest.raises(ReportError, match=r"\$\.replay\.cases: expected"):
        check(tampered)
    tampered = copy.deepcopy(doc)
    tampered["replay"]["cases"][0]["runs"] = [9]
    with pytest.raises(ReportError, match=r"\$\.replay\.cases\[0\]\.runs\[0\]: no case 9"):
        check(tampered)
    tampered = copy.deepcopy(doc)
    tampered["summary"]["exit_code"] = 1
    with pytest.raises(ReportError, match=r"\$\.summary\.exit_code"):
        check(tampered)


def test_the_reports_have_a_replay_section(sample: Sample) -> None:
    broken = {**PASSING, "UT-C10": "FAIL"}
    doc = _replay_doc(sample, [(1, broken), (1, broken), (2, PASSING), (2, broken)])
    markdown = render_markdown(doc)
    assert "replay: 1 FAILED, 1 FLAKY of 2 cases" in markdown.splitlines()[0]
    assert "## Replay" in markdown
    assert "| #0 | UT-C10, UT-C17 | 0 passed / 2 failed | FAILED |" in markdown
    assert "| UT-C10 | 1 passed / 3 failed | FLAKY |" in markdown
    page = render_html(doc)
    assert "<h2>Replay</h2>" in page
    assert "<td>FLAKY</td>" in page
    suite = ET.fromstring(render_junit(doc)).find("testsuite")
    assert suite is not None
    replayed = [c for c in suite.iter("testcase") if c.get("classname", "").endswith(".replay")]
    assert [(c.get("name"), c.find("failure") is not None) for c in replayed] == [
        ("saved #0", True),
        ("saved #1", True),
    ]
