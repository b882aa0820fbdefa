"""The results document's validation: a valid document passes; each kind of defect is
reported, once, with its JSON path."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reports import SCHEMA_ID, ReportError, load, validate
from reports.schema import check

Doc = dict[str, Any]


def test_a_built_document_is_valid_and_survives_a_json_round_trip(doc: Doc) -> None:
    assert validate(doc) == []
    assert json.loads(json.dumps(doc)) == doc
    assert check(doc) is doc


def _set(path: str, value: object) -> Callable[[Doc], None]:
    """A mutation that sets `a.b.0.c`-style `path` to `value`."""

    def mutate(doc: Doc) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return mutate


def _delete(path: str) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        del node[last]

    return mutate


# (mutation, the path the one problem must name, a word the problem must contain)
DEFECTS: dict[str, tuple[Callable[[Doc], None], str, str]] = {
    "missing run field": (_delete("run.tool_version"), "$.run.tool_version", "missing"),
    "unknown top-level field": (_set("extra", 1), "$.extra", "unknown field"),
    "unknown case field": (_set("cases.0.color", "red"), "$.cases[0].color", "unknown"),
    "wrong type": (_set("run.workers", "2"), "$.run.workers", "integer"),
    "bool is not a number": (_set("run.duration_s", True), "$.run.duration_s", "number"),
    "zero workers": (_set("run.workers", 0), "$.run.workers", ">= 1"),
    "negative duration": (_set("run.duration_s", -1), "$.run.duration_s", ">= 0"),
    "bad direction": (_set("run.direction", "both"), "$.run.direction", "one of"),
    "bad profile": (_set("run.profile", "huge"), "$.run.profile", "one of"),
    "naive timestamp": (_set("run.started_at", "2026-11-24T16:00:00"), "$.run.started_at", "zone"),
    "not a timestamp": (_set("run.started_at", "yesterday"), "$.run.started_at", "ISO 8601"),
    "seed as a number": (_set("run.hypothesis_seed", 12345), "$.run.hypothesis_seed", "string"),
    "bad selected id": (
        _set("run.requirements_selected", ["UT-X1"]),
        "$.run.requirements_selected[0]",
        "requirement ID",
    ),
    "selected id without entry": (
        _set("run.requirements_selected", ["UT-C02"]),
        "$.run.requirements_selected[0]",
        "no entry",
    ),
    "bad level": (_set("requirements.0.level", "MAY"), "$.requirements[0].level", "one of"),
    "bad verdict": (_set("requirements.0.verdict", "OK"), "$.requirements[0].verdict", "one of"),
    "empty rule": (_set("requirements.0.rule", " "), "$.requirements[0].rule", "non-empty"),
    "too many messages": (
        _set("requirements.1.messages", ["m"] * 6),
        "$.requirements[1].messages",
        "at most 5",
    ),
    "missing count": (
        _delete("requirements.0.counts.PASS"),
        "$.requirements[0].counts.PASS",
        "missing",
    ),
    "unknown count": (
        _set("requirements.0.counts.MAYBE", 0),
        "$.requirements[0].counts.MAYBE",
        "unknown",
    ),
    "negative count": (
        _set("requirements.0.counts.PASS", -1),
        "$.requirements[0].counts.PASS",
        ">= 0",
    ),
    "counts disagree with cases": (
        _set("requirements.0.counts.PASS", 5),
        "$.requirements[0].counts",
        "from the cases",
    ),
    "verdict disagrees with counts": (
        _set("requirements.1.verdict", "PASS"),
        "$.requirements[1].verdict",
        '"FAIL"',
    ),
    "failing cases disagree": (
        _set("requirements.1.failing_cases", [2]),
        "$.requirements[1].failing_cases",
        "[0]",
    ),
    "duplicate requirement": (
        lambda doc: doc["requirements"].append(copy.deepcopy(doc["requirements"][0])),
        "$.requirements[6].id",
        "twice",
    ),
    "server requirement in a client run": (
        lambda doc: doc["requirements"].append({**doc["requirements"][3], "id": "UT-S01"}),
        "$.requirements[6].id",
        "client run",
    ),
    "case index out of place": (_set("cases.1.index", 7), "$.cases[1].index", "position"),
    "case verdict for an unknown requirement": (
        _set("cases.0.verdicts.UT-C05", "PASS"),
        '$.cases[0].verdicts["UT-C05"]',
        "no entry",
    ),
    "verdict impossible for the level": (
        _set("cases.0.verdicts.UT-C10", "NON-STRICT"),
        '$.cases[0].verdicts["UT-C10"]',
        "MUST requirement cannot be NON-STRICT",
    ),
    "breach without verdict": (
        _set("cases.2.breaches.UT-C19", ["x"]),
        '$.cases[2].breaches["UT-C19"]',
        "no verdict",
    ),
    "bad verdict key": (
        _set("cases.0.verdicts.c10", "PASS"),
        "$.cases[0].verdicts.c10",
        "requirement ID",
    ),
    "client fields": (
        _delete("cases.0.client.timed_out"),
        "$.cases[0].client.timed_out",
        "missing",
    ),
    "trace field typed": (
        _set("cases.0.trace.requests", "12"),
        "$.cases[0].trace.requests",
        "integer",
    ),
    "empty replay": (_set("cases.0.replay", ""), "$.cases[0].replay", "non-empty"),
    "require_exercised not a bool": (
        _set("run.require_exercised", "yes"),
        "$.run.require_exercised",
        "true or false",
    ),
    "strict without require_exercised": (
        lambda doc: doc["run"].update(strict=True, require_exercised=False),
        "$.run.require_exercised",
        "strict implies it",
    ),
    "client chunk without how": (
        _set("run.client_chunk", {"bytes": 1000}),
        "$.run.client_chunk.how",
        "missing",
    ),
    "client chunk of zero bytes": (
        _set("run.client_chunk", {"bytes": 0, "how": "given"}),
        "$.run.client_chunk.bytes",
        ">= 1",
    ),
    "unknown shrink status": (
        _set("cases.1.shrink", {"status": "done", "steps": 1, "seconds": 1, "reason": ""}),
        "$.cases[1].shrink.status",
        "one of",
    ),
    "negative shrink steps": (
        _set("cases.1.shrink", {"status": "cut", "steps": -1, "seconds": 1, "reason": ""}),
        "$.cases[1].shrink.steps",
        ">= 0",
    ),
    "unknown shrink field": (
        _set("cases.1.shrink", {"status": "off", "steps": 0, "seconds": 0, "reason": "", "x": 1}),
        "$.cases[1].shrink.x",
        "unknown",
    ),
    "not-exercised MUSTs disagree": (
        _set("summary.must_not_exercised", ["UT-C01"]),
        "$.summary.must_not_exercised",
        'expected [] from the requirements and cases, got ["UT-C01"]',
    ),
    "a cause without an unexercised MUST": (
        _set("summary.not_exercised_causes", ["the chunk"]),
        "$.summary.not_exercised_causes",
        "no cause",
    ),
    "summary disagrees": (_set("summary.must_failed", 0), "$.summary.must_failed", "expected 1"),
    "exit code not one of": (_set("summary.exit_code", 2), "$.summary.exit_code", "one of"),
    "exit code float": (_set("summary.exit_code", 1.0), "$.summary.exit_code", "one of"),
    "not JSON data": (_set("cases.0.scenario.when", object()), "$.cases[0].scenario.when", "JSON"),
    "not a finite number": (
        _set("cases.0.scenario.ratio", float("nan")),
        "$.cases[0].scenario.ratio",
        "JSON number",
    ),
    "tuple": (_set("cases.0.trace.faults_fired", ("a",)), "$.cases[0].trace.faults_fired", "JSON"),
    "non-string key": (_set("cases.0.scenario", {1: 2}), "$.cases[0].scenario", "not a string"),
    "lone surrogate": (_set("cases.0.description", "\udc80"), "$.cases[0].description", "Unicode"),
}


@pytest.mark.parametrize("name", sorted(DEFECTS))
def test_each_defect_is_reported_once_with_its_path(doc: Doc, name: str) -> None:
    mutate, path, word = DEFECTS[name]
    mutate(doc)
    problems = validate(doc)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{path}: "), problems
    assert word in problems[0]
    assert "\n" not in problems[0]


def test_the_optional_fields_are_valid(doc: Doc) -> None:
    doc["run"]["client_chunk"] = {"bytes": None, "how": "the suite's own chunk sizes"}
    doc["cases"][1]["shrink"] = {"status": "shrunk", "steps": 12, "seconds": 4.1, "reason": ""}
    doc["cases"][0]["shrink"] = None
    assert validate(doc) == []
    doc["run"]["client_chunk"] = None
    assert validate(doc) == []


def _unexercised(sample: Any, **run: Any) -> Doc:
    """A run whose MUST UT-C10 no case exercised."""
    verdicts = {"UT-C01": "PASS", "UT-C10": "NOT-EXERCISED"}
    return sample.build([{"test": "t", "verdicts": verdicts}], **run)  # type: ignore[no-any-return]


def test_a_document_from_before_the_new_fields_stays_valid(sample: Any) -> None:
    """Without `run.require_exercised` an unexercised MUST kept the exit code 0, also in a
    strict run: the validator still agrees with it."""
    old = _unexercised(sample, strict=True)
    assert old["summary"]["exit_code"] == 1
    del old["run"]["require_exercised"]
    del old["summary"]["must_not_exercised"]
    del old["summary"]["not_exercised_causes"]
    old["summary"]["exit_code"] = 0
    assert validate(old) == []


def test_causes_are_needed_when_a_must_was_not_exercised(sample: Any) -> None:
    doc = _unexercised(sample)
    assert doc["summary"]["must_not_exercised"] == ["UT-C10"]
    doc["summary"]["not_exercised_causes"] = ["any wording will do"]
    assert validate(doc) == []
    doc["summary"]["not_exercised_causes"] = []
    assert validate(doc) == ["$.summary.not_exercised_causes: expected at least one cause"]


def test_the_exit_code_follows_require_exercised(sample: Any) -> None:
    assert _unexercised(sample)["summary"]["exit_code"] == 0
    doc = _unexercised(sample, require_exercised=True)
    assert doc["summary"]["exit_code"] == 1
    doc["summary"]["exit_code"] = 0
    assert validate(doc) == [
        "$.summary.exit_code: expected 1 from the requirements and cases, got 0"
    ]


def test_every_problem_is_reported_not_only_the_first(doc: Doc) -> None:
    del doc["run"]["python"]
    doc["run"]["workers"] = -3
    doc["cases"][1]["test"] = 5
    problems = validate(doc)
    assert [p.split(":")[0] for p in problems] == [
        "$.run.python",
        "$.run.workers",
        "$.cases[1].test",
    ]


@pytest.mark.parametrize(
    ("started_at", "valid"),
    [
        ("2026-11-24T16:00:00Z", True),
        ("2026-11-24T16:00:00.12Z", True),
        ("2026-11-24T16:00:00.123456+01:00", True),
        ("2026-11-24T16:00:00", False),
        ("2026-02-30T16:00:00Z", False),
        ("2026-11-24T25:00:00Z", False),
        ("2026-11-24", False),
    ],
)
def test_timestamps(doc: Doc, started_at: str, valid: bool) -> None:
    doc["run"]["started_at"] = started_at
    assert (validate(doc) == []) is valid


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        ([], "$: expected an object, got an array"),
        ({}, '$.schema: expected "kaltura-upload-conformance/results/1", got nothing'),
        ({"schema": "kaltura-upload-conformance/results/2"}, "$.schema: expected"),
    ],
)
def test_not_a_document_at_all(doc: object, problem: str) -> None:
    problems = validate(doc)
    assert len(problems) == 1
    assert problems[0].startswith(problem)


def test_odd_keys_are_quoted_in_paths(doc: Doc) -> None:
    doc["cases"][0]["verdicts"]["UT-C10"] = "MAYBE"
    assert validate(doc) == [
        '$.cases[0].verdicts["UT-C10"]: expected one of "PASS", "FAIL", "NON-STRICT", '
        '"NOT-EXERCISED", "INFORMATIONAL", "HARNESS-ERROR", got string "MAYBE"'
    ]


def test_check_raises_one_line_naming_the_first_problem(doc: Doc) -> None:
    del doc["run"]["python"]
    doc["run"]["workers"] = 0
    with pytest.raises(
        ReportError,
        match=r"^not a valid results document: \$\.run\.python: "
        r"missing \(and 1 more\)$",
    ):
        check(doc)


def test_load_reads_a_valid_file(tmp_path: Path, doc: Doc) -> None:
    path = tmp_path / "results.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert load(path) == doc
    assert load(str(path))["schema"] == SCHEMA_ID


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        (b"{not json", "not JSON: Expecting property name"),
        (b'{"x": NaN}', "not JSON: NaN is not a JSON number"),
        (b"\xff\xfe", "cannot read"),
        (b'{"schema": "kaltura-upload-conformance/results/1"}', "$.run: missing (and 3 more)"),
    ],
)
def test_load_raises_one_line_for_a_bad_file(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "results.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ReportError) as raised:
        load(path)
    text = str(raised.value)
    assert text.startswith(f"{path}: ")
    assert message in text
    assert "\n" not in text
