"""The requirement catalogue matches docs/requirements.md, and its helpers behave."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from conformance.requirements import (
    CATALOGUE,
    VERDICT_MEANINGS,
    Level,
    Party,
    Requirement,
    UnknownRequirementError,
    Verdict,
    client_requirements,
    parse_requirement_ids,
    requirement,
    server_requirements,
    verdict_for_broken,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
DOC = REPO_ROOT / "docs" / "requirements.md"
SHARED_SPEC = REPO_ROOT.parent / "shared" / "spec" / "requirements.md"

CLIENT_HEADER = ("ID", "level", "rule", "why", "how it is checked")
SERVER_HEADER = ("ID", "level", "rule", "source")
VERDICT_HEADER = ("verdict", "meaning")

Table = list[tuple[str, ...]]

# A cell boundary: a pipe not escaped as "\|".
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_SEPARATOR_CELL = re.compile(r":?-{3,}:?")


def _cells(line: str) -> tuple[str, ...]:
    inner = line.strip().removeprefix("|").removesuffix("|")
    return tuple(cell.strip().replace("\\|", "|") for cell in _CELL_SPLIT.split(inner))


def _tables(markdown: str) -> dict[tuple[str, ...], Table]:
    """Every pipe table in `markdown`, keyed by its header row."""
    tables: dict[tuple[str, ...], Table] = {}
    block: list[str] = []
    for line in [*markdown.splitlines(), ""]:
        if line.lstrip().startswith("|"):
            block.append(line)
            continue
        if block:
            header, separator, *body = (_cells(row) for row in block)
            assert all(_SEPARATOR_CELL.fullmatch(cell) for cell in separator), block[1]
            assert all(len(row) == len(header) for row in body), f"ragged table {header}"
            assert header not in tables, f"two tables with header {header}"
            tables[header] = body
            block = []
    return tables


@pytest.fixture(scope="module")
def tables() -> dict[tuple[str, ...], Table]:
    return _tables(DOC.read_text(encoding="utf-8"))


def _expected_source(why: str) -> str:
    refs = dict.fromkeys(re.findall(r"§\d+(?:\.\d+)*", why))
    return ", ".join(refs)


def _expected_client(row: tuple[str, ...]) -> Requirement:
    rid, level, rule, why, checked_by = row
    source = _expected_source(why)
    return Requirement(rid, Party.CLIENT, Level(level), rule, why, checked_by, source)


def _expected_server(row: tuple[str, ...]) -> Requirement:
    rid, level, rule, source = row
    return Requirement(rid, Party.SERVER, Level(level), rule, "", "", source)


def test_the_doc_has_the_three_tables(tables: dict[tuple[str, ...], Table]) -> None:
    assert {CLIENT_HEADER, SERVER_HEADER, VERDICT_HEADER} <= set(tables)


def test_catalogue_matches_the_doc_field_by_field(
    tables: dict[tuple[str, ...], Table],
) -> None:
    expected = [_expected_client(row) for row in tables[CLIENT_HEADER]]
    expected += [_expected_server(row) for row in tables[SERVER_HEADER]]
    assert [r.id for r in CATALOGUE.values()] == [r.id for r in expected]
    for actual, wanted in zip(CATALOGUE.values(), expected, strict=True):
        for field in fields(Requirement):
            got, want = getattr(actual, field.name), getattr(wanted, field.name)
            assert got == want, f"{actual.id}.{field.name}: {got!r} != doc {want!r}"


def test_catalogue_keys_are_the_requirement_ids() -> None:
    assert all(key == req.id for key, req in CATALOGUE.items())


def test_no_requirement_is_retired_yet(tables: dict[tuple[str, ...], Table]) -> None:
    # The doc has no retired-row notation yet: the first retirement must teach this parser it.
    rows = tables[CLIENT_HEADER] + tables[SERVER_HEADER]
    assert not any("retired" in cell.lower() for row in rows for cell in row)
    assert not any(req.retired for req in CATALOGUE.values())


def test_client_source_is_the_section_references_of_why() -> None:
    assert requirement("UT-C01").source == "§4"
    assert requirement("UT-C05").source == "§4, §9"
    assert requirement("UT-C13").source == "§12.1"
    assert requirement("UT-C19").source == "§7"
    assert requirement("UT-C08").source == ""


def test_verdicts_match_the_doc(tables: dict[tuple[str, ...], Table]) -> None:
    rows = tables[VERDICT_HEADER]
    assert [v.value for v in Verdict] == [name for name, _ in rows]
    assert {v.value: VERDICT_MEANINGS[v] for v in Verdict} == {row[0]: row[1] for row in rows}
    assert all(v.meaning == VERDICT_MEANINGS[v] for v in Verdict)


def test_doc_is_a_byte_exact_copy_of_the_shared_spec() -> None:
    if not SHARED_SPEC.is_file():
        pytest.skip(f"shared spec not present at {SHARED_SPEC}; nothing to compare against")
    assert DOC.read_bytes() == SHARED_SPEC.read_bytes()


def test_ids_are_unique_and_contiguous() -> None:
    ids = [req.id for req in CATALOGUE.values()]
    assert len(ids) == len(set(ids))
    assert ids == [f"UT-C{n:02d}" for n in range(1, 23)] + [f"UT-S{n:02d}" for n in range(1, 15)]


def test_every_field_is_well_typed() -> None:
    for req in CATALOGUE.values():
        assert isinstance(req.level, Level), req.id
        assert req.party.prefix == req.id[:4], req.id
        assert req.rule, req.id


def test_party_listings() -> None:
    assert [r.id for r in client_requirements()] == [f"UT-C{n:02d}" for n in range(1, 23)]
    assert [r.id for r in server_requirements()] == [f"UT-S{n:02d}" for n in range(1, 15)]
    assert client_requirements(include_retired=True) == client_requirements()
    assert all(not r.why and not r.checked_by for r in server_requirements())


def test_requirement_lookup() -> None:
    req = requirement("UT-C18")
    assert req.level is Level.SHOULD
    assert req.party is Party.CLIENT
    assert requirement("UT-S13").level is Level.SHOULD
    assert requirement("UT-C22").level is Level.INFORMATIONAL


@pytest.mark.parametrize("bad", ["UT-C99", "UT-C00", "ut-c01", "", "UT-S15"])
def test_requirement_unknown_id(bad: str) -> None:
    with pytest.raises(UnknownRequirementError) as info:
        requirement(bad)
    message = str(info.value)
    assert message == f"unknown requirement id {bad!r} (known: UT-C01..UT-C22, UT-S01..UT-S14)"
    assert isinstance(info.value, KeyError)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("UT-C10", ("UT-C10",)),
        ("UT-C10, ut-c18", ("UT-C10", "UT-C18")),
        ("  ut-S02 ,UT-c01  ", ("UT-S02", "UT-C01")),
        ("UT-C10 UT-C11", ("UT-C10", "UT-C11")),
        ("UT-C10, UT-C10, ut-c10", ("UT-C10",)),
        ("UT-C18, UT-C10, UT-C18", ("UT-C18", "UT-C10")),
        ("UT-C10,", ("UT-C10",)),
        ("UT-C01..UT-C03", ("UT-C01", "UT-C02", "UT-C03")),
        ("ut-s13 .. UT-S14", ("UT-S13", "UT-S14")),
        ("UT-C05..UT-C05", ("UT-C05",)),
        ("UT-C02, UT-C01..UT-C03", ("UT-C02", "UT-C01", "UT-C03")),
    ],
)
def test_parse_requirement_ids(text: str, expected: tuple[str, ...]) -> None:
    assert parse_requirement_ids(text) == expected


def test_parse_full_ranges_cover_each_party() -> None:
    everything = parse_requirement_ids("UT-C01..UT-C22, UT-S01..UT-S14")
    assert everything == tuple(CATALOGUE)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "no requirement ids"),
        ("  , ,", "no requirement ids"),
        ("UT-C10, UT-C99", "unknown requirement id 'UT-C99'"),
        ("bogus", "unknown requirement id 'BOGUS'"),
        ("UT-C05..UT-C01", "runs backwards"),
        ("UT-C20..UT-S02", "mixes client and server"),
        ("UT-C01..UT-C99", "unknown requirement id 'UT-C99'"),
        ("UT-C01..", "unknown requirement id ''"),
    ],
)
def test_parse_requirement_ids_rejects(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)) as info:
        parse_requirement_ids(text)
    message = str(info.value)
    assert "\n" not in message
    assert repr(text) in message


@pytest.mark.parametrize(
    ("level", "verdict"),
    [
        (Level.MUST, Verdict.FAIL),
        (Level.SHOULD, Verdict.NON_STRICT),
        (Level.INFORMATIONAL, Verdict.INFORMATIONAL),
    ],
)
def test_verdict_for_broken(level: Level, verdict: Verdict) -> None:
    assert verdict_for_broken(level) is verdict


def test_enum_values_are_the_doc_spellings() -> None:
    assert [lv.value for lv in Level] == ["MUST", "SHOULD", "INFORMATIONAL"]
    assert Verdict.NON_STRICT.value == "NON-STRICT"
    assert Verdict.NOT_EXERCISED.value == "NOT-EXERCISED"
    assert Verdict.HARNESS_ERROR.value == "HARNESS-ERROR"
