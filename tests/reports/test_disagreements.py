"""'Server and model disagreed': a client run through the proxy lists every request the
server answered otherwise than the model, in the document and in each report, apart from
the client's failures."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from conformance.reporting import summary_lines
from reports import not_exercised_causes, render_html, render_markdown, validate

ENTRY = {
    "exchange_id": 7,
    "request": "uploadtoken.upload request #7 (resume=true, resumeAt=8192, 8192 bytes) on 0_x",
    "server": "ok (status 1, uploadedFileSize 24576)",
    "model": "ok (status 1, uploadedFileSize 16384)",
    "fields": ["uploaded_file_size"],
    "described": "exchange 7 (uploadtoken.upload): …",
}
Sample = Any  # conftest's Sample


def _with_disagreement(sample: Sample) -> dict[str, Any]:
    cases = copy.deepcopy(sample.cases)
    cases[0]["trace"]["disagreements"] = [ENTRY]
    return sample.build(cases)


def test_the_document_lists_each_disagreement_with_its_case(sample: Sample) -> None:
    doc = _with_disagreement(sample)
    index = next(c["index"] for c in doc["cases"] if c["trace"].get("disagreements"))
    assert doc["disagreements"] == [
        {
            "case": index,
            "exchange_id": 7,
            "request": ENTRY["request"],
            "server": ENTRY["server"],
            "model": ENTRY["model"],
        }
    ]
    assert validate(doc) == []


def test_a_document_without_disagreements_has_no_field_and_stays_valid(sample: Sample) -> None:
    doc = sample.build()
    assert "disagreements" not in doc
    doc["disagreements"] = [{"case": 0, "exchange_id": -1}]
    problems = validate(doc)
    assert any("disagreements" in problem for problem in problems)


@pytest.mark.parametrize("render", [render_markdown, render_html], ids=["markdown", "html"])
def test_each_report_has_its_own_section(sample: Sample, render: Any) -> None:
    text = render(_with_disagreement(sample))
    assert "Server and model disagreed" in text
    assert "the server said ok (status 1, uploadedFileSize 24576)" in text
    assert "the model predicted ok (status 1, uploadedFileSize 16384)" in text
    assert "Server and model disagreed" not in render(sample.build())


def test_the_console_lists_them_after_the_verdict_table(sample: Sample) -> None:
    lines = summary_lines(_with_disagreement(sample), ".")
    heading = next(i for i, line in enumerate(lines) if "Server and model disagreed" in line)
    assert "exchange 7" in lines[heading + 1]
    assert not any("disagreed" in line for line in summary_lines(sample.build(), "."))


def test_they_are_the_first_likely_cause_of_an_unexercised_must(sample: Sample) -> None:
    cases = copy.deepcopy(sample.cases)
    for case in cases:
        case["verdicts"] = dict.fromkeys(case["verdicts"], "NOT-EXERCISED")
        case["breaches"] = {}
        case["trace"]["disagreements"] = [ENTRY]
    causes = not_exercised_causes(sample.build(cases))
    assert causes[0].startswith(
        f"the server and the reference model disagreed in {len(cases)} cases: the checks "
        "that read those answers are not judged there"
    )
