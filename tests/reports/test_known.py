"""A run judged against its baseline (`reports.known`): KNOWN, FIXED and EXPIRED in the
document, the exit code and every report; the fields are validated, old documents too."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from conformance.baselines import PLACEHOLDER_REASON
from conformance.reporting import summary_lines
from reports import ReportError, check, exit_code, render_html, render_junit, render_markdown

Sample = Any  # conftest's Sample (not importable under --import-mode=importlib)

# The sample run started 2026-11-24: UT-C10 FAILs, UT-C17 is NON-STRICT, UT-C01 passes,
# UT-C18 was not exercised.
FUTURE, PAST = "2027-01-01", "2026-11-23"


def _baseline(*entries: tuple[str, str], strict: bool = False) -> dict[str, Any]:
    return {
        "path": "conformance-baseline.toml",
        "strict": strict,
        "entries": [
            {"id": rid, "reason": f"why {rid}", "expires": day, "lines": [4 * n + 5, 4 * n + 8]}
            for n, (rid, day) in enumerate(entries)
        ],
    }


def _statuses(doc: dict[str, Any]) -> dict[str, str]:
    return {r["id"]: r["baseline"]["status"] for r in doc["requirements"] if "baseline" in r}


def test_accepted_failures_are_known_and_do_not_fail_the_run(sample: Sample) -> None:
    doc = sample.build(baseline=_baseline(("UT-C10", FUTURE), ("UT-C17", FUTURE)))
    assert _statuses(doc) == {"UT-C10": "known", "UT-C17": "known"}
    assert doc["requirements"][1]["baseline"] == {
        "status": "known",
        "reason": "why UT-C10",
        "expires": FUTURE,
    }
    # The harness error of the sample still says 3; without it the run passes.
    assert doc["summary"]["exit_code"] == 3
    assert doc["summary"]["must_failed"] == 1  # still failing: accepted, not hidden
    without_harness = sample.build(
        sample.cases[:2], baseline=_baseline(("UT-C10", FUTURE)), strict=True
    )
    assert without_harness["summary"]["exit_code"] == 1  # strict: the NON-STRICT SHOULD
    both = sample.build(
        sample.cases[:2], baseline=_baseline(("UT-C10", FUTURE), ("UT-C17", FUTURE)), strict=True
    )
    assert both["summary"]["exit_code"] == 0


def test_an_expired_entry_fails_the_run_on_the_day_after(sample: Sample) -> None:
    on_the_day = sample.build(sample.cases[:2], baseline=_baseline(("UT-C10", "2026-11-24")))
    assert _statuses(on_the_day) == {"UT-C10": "known"}
    assert on_the_day["summary"]["exit_code"] == 0
    after = sample.build(sample.cases[:2], baseline=_baseline(("UT-C10", PAST)))
    assert _statuses(after) == {"UT-C10": "expired"}
    assert after["summary"]["exit_code"] == 1


def test_an_expired_entry_fails_even_when_nothing_exercised_it(sample: Sample) -> None:
    doc = sample.build(sample.cases[:2], baseline=_baseline(("UT-C18", PAST)))
    assert _statuses(doc) == {"UT-C18": "expired"}
    assert doc["summary"]["exit_code"] == 1
    pending = sample.build(sample.cases[:2], baseline=_baseline(("UT-C18", FUTURE)))
    assert _statuses(pending) == {}  # nothing to say yet
    assert pending["summary"]["exit_code"] == 1  # UT-C10 still fails, unlisted


def test_a_passing_listed_requirement_is_fixed_and_fails_only_a_strict_baseline(
    sample: Sample,
) -> None:
    entries = (("UT-C10", FUTURE), ("UT-C01", PAST))  # a fixed entry: its date does not matter
    lenient = sample.build(sample.cases[:2], baseline=_baseline(*entries))
    assert _statuses(lenient) == {"UT-C01": "fixed", "UT-C10": "known"}
    assert lenient["summary"]["exit_code"] == 0
    strict = sample.build(sample.cases[:2], baseline=_baseline(*entries, strict=True))
    assert strict["summary"]["exit_code"] == 1


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d["requirements"][1].pop("baseline"), "$.requirements[1].baseline: expected"),
        (
            lambda d: d["requirements"][1]["baseline"].update(status="fixed"),
            "$.requirements[1].baseline: expected",
        ),
        (
            lambda d: d["run"]["baseline"]["entries"][0].update(expires="2027-02-30"),
            "$.run.baseline.entries[0].expires: expected a date YYYY-MM-DD",
        ),
        (
            lambda d: d["run"]["baseline"]["entries"].append(
                dict(d["run"]["baseline"]["entries"][0])
            ),
            "$.run.baseline.entries[1].id: UT-C10 is listed twice",
        ),
        (lambda d: d["run"]["baseline"].pop("strict"), "$.run.baseline.strict: missing"),
    ],
)
def test_the_baseline_fields_are_validated(sample: Sample, change: Any, problem: str) -> None:
    doc = sample.build(baseline=_baseline(("UT-C10", FUTURE)))
    check(copy.deepcopy(doc))
    change(doc)
    with pytest.raises(ReportError, match=problem.replace("$", r"\$").replace("[", r"\[")):
        check(doc)


def test_a_document_without_a_baseline_is_judged_as_before(sample: Sample) -> None:
    doc = sample.build(sample.cases[:2])
    assert "baseline" not in doc["run"]
    assert not _statuses(doc)
    assert exit_code(doc) == 1


def test_every_report_shows_known_fixed_and_expired(sample: Sample) -> None:
    entries = (("UT-C10", FUTURE), ("UT-C01", PAST), ("UT-C18", PAST))
    doc = sample.build(sample.cases[:2], baseline=_baseline(*entries))
    markdown = render_markdown(doc)
    assert "| UT-C10 | MUST | ❌ FAIL · **KNOWN** |" in markdown
    assert "UT-C01 FIXED: it passes now; delete its baseline entry, " in markdown
    assert 'conformance-baseline.toml lines 9-12 (id = "UT-C01")' in markdown
    assert "UT-C18 EXPIRED: its baseline entry expired on 2026-11-23" in markdown
    page = render_html(doc)
    assert all(f'class="badge {c}">{w}<' in page for c, w in _BADGES.items())
    suite = ET.fromstring(render_junit(doc)).find("testsuite")
    assert suite is not None
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    known = cases["UT-C10"].find("skipped")  # accepted: not a pass, not a failure
    assert known is not None
    assert "why UT-C10" in (known.get("message") or "")
    assert cases["UT-C10"].find("failure") is None
    expired = cases["UT-C18"].find("failure")
    assert expired is not None
    assert "2026-11-23" in (expired.get("message") or "")
    assert cases["UT-C01"].find("failure") is None
    strict = sample.build(sample.cases[:2], baseline=_baseline(*entries, strict=True))
    suite = ET.fromstring(render_junit(strict)).find("testsuite")
    assert suite is not None
    fixed = next(case for case in suite.iter("testcase") if case.get("name") == "UT-C01")
    assert fixed.find("failure") is not None


_BADGES = {"skipped": "KNOWN", "pass": "FIXED", "fail": "EXPIRED"}


def test_the_console_names_the_entries_whose_reason_is_still_the_placeholder(
    sample: Sample,
) -> None:
    baseline = _baseline(("UT-C10", FUTURE), ("UT-C17", FUTURE))
    baseline["entries"][1]["reason"] = PLACEHOLDER_REASON
    lines = summary_lines(sample.build(baseline=baseline), "out")
    assert "  note: no reason given yet for UT-C17 (the placeholder is still there)" in lines
    filled = summary_lines(sample.build(baseline=_baseline(("UT-C10", FUTURE))), "out")
    assert not any("no reason given" in line for line in filled)
