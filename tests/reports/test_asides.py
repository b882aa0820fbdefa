"""Why a requirement was set aside (the cases' `"not judged"` reasons, results.json) is on
the console too: a few short lines under its NOT-EXERCISED row, then how many more."""

from __future__ import annotations

import copy
from typing import Any

from conformance.reporting import summary_lines
from reports.asides import MAX_LINES, WIDTH, set_aside_lines, set_aside_reasons

Sample = Any  # conftest's Sample
DISAGREED = (
    "exchange 7 (uploadtoken.upload): the server answered ok (status 1, uploadedFileSize "
    "24576), the model predicted ok (status 1, uploadedFileSize 16384) (uploaded_file_size "
    "differ)"
)
LONG = f"exchange 9 was not forwarded: {'a reason that goes on ' * 12}"
UNFOLLOWED = "exchange 3 (multirequest) was not followed by the model: a multirequest"


def _set_aside(sample: Sample, *per_case: list[str]) -> dict[str, Any]:
    """The sample with UT-C18 (NOT-EXERCISED in its first cases) set aside for `per_case`."""
    cases = copy.deepcopy(sample.cases)
    for case, reasons in zip(cases, per_case, strict=False):
        assert case["verdicts"]["UT-C18"] == "NOT-EXERCISED"
        case.setdefault("observations", {})["UT-C18"] = {"not judged": reasons}
    return sample.build(cases)


def _under(lines: list[str], rid: str) -> list[str]:
    """The lines printed between requirement `rid`'s row and the next line that is not
    indented beneath it."""
    row = next(i for i, line in enumerate(lines) if line.startswith(f"  {rid} "))
    below = []
    for line in lines[row + 1 :]:
        if not line.startswith("          "):
            break
        below.append(line.strip())
    return below


def test_each_reason_is_under_its_row_with_the_cases_that_gave_it(sample: Sample) -> None:
    doc = _set_aside(sample, [DISAGREED, UNFOLLOWED, LONG], [DISAGREED])
    assert set_aside_reasons(doc, "UT-C18") == [(DISAGREED, 2), (UNFOLLOWED, 1), (LONG, 1)]
    below = _under(summary_lines(doc, "."), "UT-C18")
    assert below == [
        f"set aside in 2 cases: {DISAGREED[: WIDTH - 1]}…",
        f"set aside: {UNFOLLOWED}",
        f"set aside: {LONG.strip()[: WIDTH - 1]}…",
    ]


def test_a_reason_printed_under_an_earlier_row_is_named_by_it(sample: Sample) -> None:
    cases = copy.deepcopy(sample.cases)
    cases[0]["observations"]["UT-C17"] = {"not judged": [DISAGREED]}  # NOT-EXERCISED there
    cases[0]["observations"]["UT-C18"] = {"not judged": [DISAGREED, UNFOLLOWED]}
    doc = sample.build(cases)
    row = next(r for r in doc["requirements"] if r["id"] == "UT-C18")
    shown: dict[str, str] = {}
    assert set_aside_lines(doc, row, shown)[0].startswith(f"set aside: {DISAGREED[:80]}")
    again = dict(row, id="UT-C17")  # a later row the same reason set aside
    assert set_aside_lines(doc, again, shown) == ["set aside: as under UT-C18"]


def test_a_flood_of_reasons_is_cut_to_a_few_lines_and_a_count(sample: Sample) -> None:
    many = [f"exchange {n} was not followed by the model: a multirequest" for n in range(9)]
    doc = _set_aside(sample, many[:5], many[3:])
    reasons = set_aside_reasons(doc, "UT-C18")
    assert sorted(reasons) == sorted((r, 2 if r in many[3:5] else 1) for r in many)
    below = _under(summary_lines(doc, "."), "UT-C18")
    assert below[:MAX_LINES] == [
        f"set aside{'' if n == 1 else f' in {n} cases'}: {reason}"
        for reason, n in reasons[:MAX_LINES]
    ]
    assert below[MAX_LINES:] == [f"… and {9 - MAX_LINES} more (results.json)"]


def test_a_reason_cut_from_a_row_is_printed_in_full_under_a_later_one(sample: Sample) -> None:
    many = [f"exchange {n} was not followed by the model: a multirequest" for n in range(9)]
    cases = copy.deepcopy(sample.cases)
    cases[0]["observations"]["UT-C18"] = {"not judged": many}
    cases[0]["observations"]["UT-C17"] = {"not judged": [many[-1]]}  # cut under UT-C18
    doc = sample.build(cases)
    row = next(r for r in doc["requirements"] if r["id"] == "UT-C18")
    shown: dict[str, str] = {}
    assert len(set_aside_lines(doc, row, shown)) == MAX_LINES + 1
    later = dict(row, id="UT-C17")  # a later row, set aside for the reason cut above
    assert set_aside_lines(doc, later, shown) == [f"set aside: {many[-1]}"]


def test_a_reason_is_one_printable_line(sample: Sample) -> None:
    doc = _set_aside(sample, ["the server said\n\x1b[31mno\x1b[0m"])
    (line,) = _under(summary_lines(doc, "."), "UT-C18")
    assert line == "set aside: the server said \\x1b[31mno\\x1b[0m"


def test_rows_with_a_verdict_print_no_reasons(sample: Sample) -> None:
    cases = copy.deepcopy(sample.cases)
    cases[0]["observations"]["UT-C01"] = {"not judged": [DISAGREED]}  # PASS in another case
    doc = sample.build(cases)
    row = next(r for r in doc["requirements"] if r["id"] == "UT-C01")
    assert row["verdict"] == "PASS"
    assert set_aside_lines(doc, row) == []
    assert _under(summary_lines(doc, "."), "UT-C01") == []


def test_a_run_with_nothing_set_aside_prints_the_table_as_before(sample: Sample) -> None:
    doc = sample.build()
    lines = summary_lines(doc, ".")
    rows = [i for i, line in enumerate(lines) if line.startswith("  UT-")]
    assert rows == list(range(rows[0], rows[0] + len(doc["requirements"])))
    assert not any("set aside" in line for line in lines)
