"""From recorded cases to the results document and the table printed at the end of a run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance.reporting import build_results, summary_lines
from reports import validate

SELECTED = ("UT-C01", "UT-C10")
HEADLINE = "1 MUST requirement was not exercised: this run does not show conformance to it"


def _case(size: int, verdicts: dict[str, str]) -> dict[str, Any]:
    return {
        "test": f"test_client_conformance[plain-{size}]",
        "scenario": {"source": {"size": size, "seed": 1}, "params": {"chunk_size": 64}},
        "client": {"succeeded": True, "timed_out": False, "duration": 0.1, "detail": ""},
        "verdicts": verdicts,
        "trace": {"requests": 2, "data_requests": 1, "endpoint": "loopback http://x"},
    }


SINGLE = [_case(size, {"UT-C01": "PASS", "UT-C10": "NOT-EXERCISED"}) for size in (10, 262144)]


def _build(cases: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "direction": "client",
        "target": "command 'node upload.js {file}'",
        "profile": "quick",
        "seed": "7",
        "strict": False,
        "selected": SELECTED,
        "started_at": 0.0,
        "workers": 1,
        **options,
    }
    return build_results(cases, **arguments)


@pytest.mark.parametrize(
    ("options", "stored", "code"),
    [
        ({}, False, 0),
        ({"require_exercised": True}, True, 1),
        ({"strict": True}, True, 1),  # strict implies it
    ],
)
def test_the_document_stores_require_exercised(
    options: dict[str, Any], stored: bool, code: int
) -> None:
    doc = _build(SINGLE, **options)
    assert doc["run"]["require_exercised"] is stored
    assert doc["summary"]["must_not_exercised"] == ["UT-C10"]
    assert doc["summary"]["exit_code"] == code


def test_the_document_stores_the_client_chunk_when_known() -> None:
    assert "client_chunk" not in _build(SINGLE)["run"]
    chunk = {"bytes": 1000000, "how": "given with --client-chunk-size"}
    doc = _build(SINGLE, client_chunk=chunk)
    assert doc["run"]["client_chunk"] == chunk
    assert validate(doc) == []
    assert (
        "the client's chunk of 1000000 bytes (given with --client-chunk-size)"
        in (doc["summary"]["not_exercised_causes"][0])
    )


def test_summary_lines_say_an_unexercised_must_is_not_a_pass(tmp_path: Path) -> None:
    chunk = {"bytes": None, "how": "the suite's own chunk sizes (the client follows {chunk_size})"}
    lines = summary_lines(_build(SINGLE, client_chunk=chunk), str(tmp_path))
    assert "  UT-C01  MUST          PASS           2 pass" in lines
    assert "  UT-C10  MUST          NOT-EXERCISED  2 not exercised: not a pass" in lines
    at = lines.index(
        "2 cases; 0 MUST failed, 1 MUST not exercised, 0 SHOULD non-strict; exit code 0"
    )
    assert lines[at + 1] == f"{HEADLINE} (UT-C10)"
    assert lines[at + 2] == "likely causes:"
    assert lines[at + 3].startswith("  - every upload was a single data request")
    assert "(the largest was 262144 bytes)" in lines[at + 3]
    assert lines[at + 4].startswith("  - the run was limited to UT-C01, UT-C10 (`--requirements`)")
    assert lines[at + 5] == "(--require-exercised or --strict makes such a run exit 1)"
    assert "client chunk: the suite's own chunk sizes (the client follows {chunk_size})" in lines


def test_summary_lines_required_and_exercised(tmp_path: Path) -> None:
    required = summary_lines(_build(SINGLE, require_exercised=True), str(tmp_path))
    assert any(line.endswith("exit code 1") for line in required)
    assert f"{HEADLINE} (UT-C10)" in required
    assert not any("makes such a run exit 1" in line for line in required)
    exercised = [_case(10, {"UT-C01": "PASS", "UT-C10": "PASS"})]
    lines = summary_lines(_build(exercised), str(tmp_path))
    assert not any("not exercised:" in line or "likely causes" in line for line in lines)
    assert "  UT-C10  MUST          PASS           1 pass" in lines
