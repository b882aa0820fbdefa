"""The baseline file (`conformance.baselines`): what is written reads back the same, and
every malformed file is one line naming the file, the line or entry, and the problem."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.baselines import (
    PLACEHOLDER_REASON,
    BaselineError,
    Entry,
    baseline_from_results,
    load_baseline,
    parse_baseline,
    render_baseline,
)
from conformance.requirements import CATALOGUE

IDS = sorted(CATALOGUE)
EXAMPLE = Path(__file__).parent.parent / "support" / "example-baseline.toml"


def _parse(text: str) -> list[Entry]:
    return list(parse_baseline(text, "b.toml", IDS).entries)


# Any Unicode text a user could type (no lone surrogates: not UTF-8), with at least one
# character that is not blank: quotes, backslashes, newlines and control characters too.
_TEXT = st.text(st.characters(exclude_categories=("Cs",)), min_size=1).filter(str.strip)


@st.composite
def _entries(draw: st.DrawFn) -> list[Entry]:
    ids = draw(st.lists(st.sampled_from(IDS), unique=True, max_size=6))
    return [Entry(rid, draw(_TEXT), draw(st.dates(datetime.date(1970, 1, 1)))) for rid in ids]


@given(entries=_entries(), notes=st.dictionaries(st.sampled_from(IDS), st.text()))
def test_what_is_written_reads_back_the_same(entries: list[Entry], notes: dict[str, str]) -> None:
    text = render_baseline(entries, notes=notes, header="run of 'x\n[[known]]'")
    back = _parse(text)
    assert [(e.id, e.reason, e.expires) for e in back] == [
        (e.id, e.reason, e.expires) for e in entries
    ]
    lines = text.splitlines()
    for entry in back:  # each entry's lines are its table, header to expires
        first, last = entry.lines
        assert lines[first - 1] == "[[known]]"
        assert lines[last - 1].startswith("expires = ")


def test_the_documented_example_reads() -> None:
    baseline = load_baseline(EXAMPLE, IDS)
    assert [(e.id, e.expires.isoformat(), e.lines) for e in baseline.entries] == [
        ("UT-C03", "2099-06-30", (4, 7)),
        ("UT-C18", "2099-01-31", (9, 12)),
    ]
    assert baseline.entries[0].reason.startswith("our SDK 2.x")


GOOD_ENTRY = '[[known]]\nid = "UT-C03"\nreason = "r"\nexpires = 2030-01-01\n'
MALFORMED = {
    "bad TOML": ("version = 1\n[[known]\n", "b.toml: not TOML: "),
    "no version": (GOOD_ENTRY, "b.toml: missing 'version = 1'"),
    "another version": ("version = 2\n", "b.toml: version 2 is not supported"),
    "unknown top key": ("version = 1\nclient = 'x'\n", "b.toml: unknown key 'client'"),
    "unknown entry key": (
        "version = 1\n\n" + GOOD_ENTRY + "owner = 'me'\n",
        "b.toml:3: entry 1: unknown key 'owner'",
    ),
    "unknown ID": (
        "version = 1\n" + GOOD_ENTRY.replace("UT-C03", "UT-C99"),
        "b.toml:2: entry 1: id 'UT-C99' is not a requirement ID",
    ),
    "bad date": (
        "version = 1\n" + GOOD_ENTRY.replace("2030-01-01", '"2030-02-30"'),
        "b.toml:2: entry 1 (UT-C03): expires '2030-02-30' is not a date",
    ),
    "a time, not a date": (
        "version = 1\n" + GOOD_ENTRY.replace("2030-01-01", "2030-01-01T10:00:00Z"),
        "b.toml:2: entry 1 (UT-C03): expires 2030-01-01T10:00:00+00:00 is not a date",
    ),
    "missing reason": (
        "version = 1\n" + GOOD_ENTRY.replace('reason = "r"\n', ""),
        "b.toml:2: entry 1: missing 'reason'",
    ),
    "blank reason": (
        "version = 1\n" + GOOD_ENTRY.replace('"r"', '"  "'),
        "b.toml:2: entry 1 (UT-C03): missing reason",
    ),
    "repeated ID": (
        "version = 1\n" + GOOD_ENTRY + "\n" + GOOD_ENTRY,
        "b.toml:7: entry 2: UT-C03 is already listed (entry 1)",
    ),
}


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_a_malformed_file_is_one_line_naming_file_place_and_problem(kind: str) -> None:
    text, start = MALFORMED[kind]
    with pytest.raises(BaselineError) as raised:
        _parse(text)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(start), message


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(BaselineError, match=r"^.*nope\.toml: cannot read: No such file"):
        load_baseline(tmp_path / "nope.toml", IDS)


def test_a_baseline_from_results_lists_the_failing_requirements(doc: dict[str, object]) -> None:
    text = baseline_from_results(doc, datetime.date(2031, 5, 6))
    entries = _parse(text)
    assert [e.id for e in entries] == ["UT-C10", "UT-C17"]  # the FAIL and the NON-STRICT
    assert {e.reason for e in entries} == {PLACEHOLDER_REASON}
    assert {e.expires for e in entries} == {datetime.date(2031, 5, 6)}
    assert "# MUST, FAIL: The closing request" in text
