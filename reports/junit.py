"""junit.xml: one test case per requirement, for CI test-report views (GitLab, Jenkins, …).

    <testsuites> / <testsuite name="kaltura-upload-conformance">
      <testcase classname="kaltura_conformance.client" name="UT-C10">

A requirement the run's baseline speaks of: KNOWN is `<skipped>` with the baseline's
reason, EXPIRED a `<failure>` with its date, FIXED a pass saying which lines of the
baseline to delete (a `<failure>` under `--strict-baseline`). Otherwise FAIL is a
`<failure>`; NON-STRICT a `<failure>` only in strict mode, otherwise a passing
case with a note in `<system-out>`; NOT-EXERCISED is `<skipped>` (never a pass), and for a
MUST its message says so with the likely causes, or it is a `<failure>` when the run requires
every MUST to be exercised (`--require-exercised`, `--strict`): then it fails the run, and a
CI test view should show it red like the exit code; HARNESS-ERROR is an `<error>`; PASS and
INFORMATIONAL pass.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reports.files import write_text
from reports.known import explain, word
from reports.schema import check
from reports.verdicts import Baselined, Replayed, Verdict
from reports.view import (
    NOT_A_PASS,
    Outcome,
    counts_text,
    first_case_with,
    first_failing_case,
    outcome,
    party,
    printable,
    replay_case_rows,
    shrink_text,
    unexercised_must,
)

__all__ = ["CLASSNAME", "SUITE", "render_junit", "write_junit"]

SUITE = "kaltura-upload-conformance"
CLASSNAME = "kaltura_conformance"
_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


def render_junit(doc: Mapping[str, Any], *, strict: bool = False) -> str:
    """The JUnit XML text; `strict` makes NON-STRICT a failure, as `run.strict` does."""
    valid = check(dict(doc))
    result = outcome(valid, strict)
    cases = [_testcase(valid, entry, result) for entry in valid["requirements"]]
    cases += _replayed(valid)
    totals = {**_totals(cases), "time": f"{valid['run']['duration_s']:.3f}"}
    root = ET.Element("testsuites", {"name": SUITE, **totals})
    suite = ET.SubElement(root, "testsuite", {"name": SUITE, **totals})
    suite.set("timestamp", valid["run"]["started_at"])
    suite.append(_properties(_run_properties(valid, result)))
    suite.extend(cases)
    ET.indent(root)
    return _DECLARATION + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(doc: Mapping[str, Any], path: str | Path, *, strict: bool = False) -> Path:
    return write_text(path, render_junit(doc, strict=strict))


def _testcase(doc: Mapping[str, Any], entry: Mapping[str, Any], result: Outcome) -> ET.Element:
    rid, verdict = entry["id"], entry["verdict"]
    case = ET.Element(
        "testcase", {"classname": f"{CLASSNAME}.{party(rid)}", "name": rid, "time": "0"}
    )
    case.append(
        _properties(
            {
                "requirement_id": rid,
                "level": entry["level"],
                "verdict": verdict,
                "counts": counts_text(entry["counts"]),
            }
        )
    )
    headline = _one_line(f"{rid} {verdict} ({counts_text(entry['counts'])}): {entry['rule']}")
    body = _body(doc, entry)
    judged = entry.get("baseline")
    if judged:
        _baselined(case, doc, entry, body)
    elif unexercised_must(entry):
        _unexercised(case, entry, result)
    elif verdict == Verdict.FAIL or (verdict == Verdict.NON_STRICT and result.strict):
        _child(case, "failure", body, message=headline, type=verdict)
    elif verdict == Verdict.HARNESS_ERROR:
        _child(case, "error", body, message=headline, type=verdict)
    else:
        if verdict == Verdict.NOT_EXERCISED:
            _child(case, "skipped", None, message=headline)
        elif verdict == Verdict.NON_STRICT:
            body = "NON-STRICT: a SHOULD was broken (a failure only in strict mode)\n" + body
        _child(case, "system-out", body)
    return case


def _replayed(doc: Mapping[str, Any]) -> list[ET.Element]:
    """A replay run: one test case per saved failing case, a failure unless FIXED."""
    elements = []
    for saved, broke, runs, status in replay_case_rows(doc):
        case = ET.Element(
            "testcase", {"classname": f"{CLASSNAME}.replay", "name": f"saved {saved}", "time": "0"}
        )
        line = f"saved case {saved} ({broke}) replayed: {runs}: {status}"
        if status == Replayed.FIXED:
            _child(case, "system-out", line)
        else:
            _child(case, "failure", line, message=line, type=status)
        elements.append(case)
    return elements


def _baselined(
    case: ET.Element, doc: Mapping[str, Any], entry: Mapping[str, Any], body: str
) -> None:
    """A requirement the baseline speaks of: KNOWN is skipped with its reason (accepted,
    not a pass), EXPIRED a failure, FIXED a pass (a failure under a strict baseline) that
    says which lines to delete."""
    status, line = entry["baseline"]["status"], explain(doc["run"], entry)
    strict = bool(doc["run"]["baseline"]["strict"])
    if status == Baselined.KNOWN:
        _child(case, "skipped", None, message=_one_line(line))
    elif status == Baselined.EXPIRED or strict:
        _child(case, "failure", body, message=_one_line(line), type=word(status))
        return
    _child(case, "system-out", f"{line}\n{body}")


def _unexercised(case: ET.Element, entry: Mapping[str, Any], result: Outcome) -> None:
    """A MUST no case exercised: skipped, never passing, its message saying why; a failure
    when the run requires every MUST to be exercised."""
    rid, counts = entry["id"], counts_text(entry["counts"])
    message = _one_line(
        f"{rid} NOT-EXERCISED ({counts}): {NOT_A_PASS}: no case exercised this MUST, so this "
        f"run does not show conformance to it. Likely causes: {'; '.join(result.causes)}"
    )
    body = "\n".join(
        [
            f"{rid} ({entry['level']}): {entry['rule']}",
            f"verdict NOT-EXERCISED ({NOT_A_PASS}): {counts}",
            "likely causes:",
            *(f"- {cause}" for cause in result.causes),
        ]
    )
    if result.require_exercised:
        _child(case, "failure", body, message=message, type=Verdict.NOT_EXERCISED)
    else:
        _child(case, "skipped", None, message=message)
        _child(case, "system-out", body)


def _body(doc: Mapping[str, Any], entry: Mapping[str, Any]) -> str:
    lines = [f"{entry['id']} ({entry['level']}): {entry['rule']}"]
    lines.append(f"verdict {entry['verdict']}: {counts_text(entry['counts'])}")
    lines += [f"- {message}" for message in entry["messages"]]
    if entry["observations"]:
        lines.append("observations: " + json.dumps(entry["observations"], ensure_ascii=False))
    case = first_failing_case(doc, entry)
    if case is not None:
        lines.append(f"first failing case #{case['index']}: {case['test']} {case['description']}")
        shrink = shrink_text(case.get("shrink"))
        if shrink:
            lines.append(f"shrink: {shrink}")
        if case["replay"]:
            lines.append(f"replay: {case['replay']}")
    harness = first_case_with(doc, entry["id"], Verdict.HARNESS_ERROR)
    if harness is not None and harness["client"] is not None:
        lines.append(f"harness error in case #{harness['index']}: {harness['client']['detail']}")
    return "\n".join(lines)


def _totals(cases: list[ET.Element]) -> dict[str, str]:
    def count(tag: str) -> str:
        return str(sum(1 for case in cases if case.find(tag) is not None))

    return {
        "tests": str(len(cases)),
        "failures": count("failure"),
        "errors": count("error"),
        "skipped": count("skipped"),
    }


def _run_properties(doc: Mapping[str, Any], result: Outcome) -> dict[str, str]:
    run: Mapping[str, Any] = doc["run"]
    found = {name: v if isinstance(v, str) else json.dumps(v) for name, v in run.items()}
    # The result as this report judges it (strict if the run was or the caller asks).
    judged = {"exit_code": str(result.exit_code), "result": result.title}
    if result.unexercised:
        judged["must_not_exercised"] = ", ".join(result.unexercised)
    return {**found, **judged}


def _properties(values: Mapping[str, str]) -> ET.Element:
    element = ET.Element("properties")
    for name, value in values.items():
        ET.SubElement(element, "property", {"name": name, "value": printable(value)})
    return element


def _child(parent: ET.Element, tag: str, text: str | None, **attributes: str) -> None:
    child = ET.SubElement(parent, tag, {k: printable(v) for k, v in attributes.items()})
    if text is not None:
        child.text = printable(text)


def _one_line(text: str) -> str:
    return " ".join(text.split())
