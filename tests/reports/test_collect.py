"""The builder: order independence, derived fields, caps, merged observations, bad input."""

from __future__ import annotations

import copy
import enum
import json
import random
import threading
from typing import Any

import pytest

from reports import ReportError, ResultsBuilder, validate
from reports.collect import MAX_MESSAGES, merge_observations, plain

Doc = dict[str, Any]
Sample = Any  # conftest's Sample (not importable under --import-mode=importlib)


def _case(test: str, verdicts: dict[str, str], **more: Any) -> dict[str, Any]:
    return {"test": test, "verdicts": verdicts, **more}


def test_the_same_cases_in_any_order_give_the_same_document(sample: Sample) -> None:
    twins = [  # same test and description, different content: still a stable order
        _case("t[x]", {"UT-C10": "FAIL"}, breaches={"UT-C10": ["second"]}),
        _case("t[x]", {"UT-C10": "FAIL"}, breaches={"UT-C10": ["first"]}),
    ]
    cases = sample.cases + twins
    documents = []
    for seed in range(4):
        shuffled = copy.deepcopy(cases)
        random.Random(seed).shuffle(shuffled)
        builder = sample.builder()
        for requirement in reversed(sample.requirements):
            builder.add_requirement(*requirement)
        builder.add_cases(shuffled)
        documents.append(json.dumps(builder.build()))
    assert len(set(documents)) == 1


def test_cases_from_many_threads(sample: Sample) -> None:
    builder = sample.builder()
    threads = [
        threading.Thread(target=builder.add_case, args=(_case(f"t[{n}]", {"UT-C01": "PASS"}),))
        for n in range(20)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    doc = builder.build()
    assert [case["index"] for case in doc["cases"]] == list(range(20))
    assert doc["requirements"][0]["counts"]["PASS"] == 20


def test_indices_follow_test_then_description(sample: Sample) -> None:
    builder = sample.builder()
    builder.add_case(_case("t[b]", {}, description="a"))
    builder.add_case(_case("t[a]", {}, description="z"))
    builder.add_case(_case("t[a]", {}, description="b"))
    doc = builder.build()
    order = [(c["index"], c["test"], c["description"]) for c in doc["cases"]]
    assert order == [(0, "t[a]", "b"), (1, "t[a]", "z"), (2, "t[b]", "a")]


def test_cases_get_defaults_and_fields_in_documented_order(sample: Sample) -> None:
    builder = sample.builder()
    builder.add_case({"verdicts": {}, "test": "t", "index": 99, "extra_note": 1})
    with pytest.raises(ReportError, match=r"\$\.cases\[0\]\.extra_note: unknown field"):
        builder.build()
    builder = sample.builder()
    builder.add_case({"verdicts": {}, "test": "t", "index": 99})
    (case,) = builder.build()["cases"]
    assert list(case) == [
        "index",
        "test",
        "description",
        "scenario",
        "client",
        "verdicts",
        "breaches",
        "observations",
        "trace",
        "replay",
    ]
    assert case["index"] == 0
    assert case["client"] is None
    assert case["replay"] is None


def test_counts_verdicts_failing_cases_and_summary(doc: Doc, sample: Sample) -> None:
    by_id = {r["id"]: r for r in doc["requirements"]}
    assert [r["id"] for r in doc["requirements"]] == [rid for rid, _, _ in sample.requirements]
    assert {rid: r["verdict"] for rid, r in by_id.items()} == {
        "UT-C01": "PASS",
        "UT-C10": "FAIL",
        "UT-C17": "NON-STRICT",
        "UT-C18": "NOT-EXERCISED",
        "UT-C19": "HARNESS-ERROR",
        "UT-C22": "INFORMATIONAL",
    }
    assert by_id["UT-C10"]["counts"] == {
        "PASS": 1,
        "FAIL": 1,
        "NON-STRICT": 0,
        "NOT-EXERCISED": 0,
        "INFORMATIONAL": 0,
        "HARNESS-ERROR": 1,
    }
    assert by_id["UT-C10"]["failing_cases"] == [0]
    assert by_id["UT-C17"]["failing_cases"] == [0]
    assert doc["summary"] == {
        "cases": 3,
        "must_failed": 1,
        "should_failed": 1,
        "harness_errors": 1,
        "exit_code": 1,
        "must_not_exercised": [],
        "not_exercised_causes": [],
    }


def test_strict_runs_count_non_strict_in_the_exit_code(sample: Sample) -> None:
    assert sample.build(strict=True)["summary"]["exit_code"] == 1
    passing = [c for c in sample.cases if "early-close" not in c["test"]]
    assert sample.build(passing)["summary"]["exit_code"] == 3  # the harness error remains
    nonstrict = [_case("t", {"UT-C17": "NON-STRICT", "UT-C10": "PASS"})]
    assert sample.build(nonstrict)["summary"]["exit_code"] == 0
    assert sample.build(nonstrict, strict=True)["summary"]["exit_code"] == 1


def test_requirements_without_cases_are_not_exercised(sample: Sample) -> None:
    doc = sample.builder().build()
    assert doc["cases"] == []
    assert {r["verdict"] for r in doc["requirements"]} == {"NOT-EXERCISED"}
    assert doc["summary"]["exit_code"] == 0


def test_messages_are_distinct_capped_and_in_case_order(sample: Sample) -> None:
    builder = sample.builder()
    for n in range(4):
        messages = [f"breach {n}a", f"breach {n}b", "the same every time"]
        builder.add_case(_case(f"t[{n}]", {"UT-C10": "FAIL"}, breaches={"UT-C10": messages}))
    (entry,) = [r for r in builder.build()["requirements"] if r["id"] == "UT-C10"]
    assert len(entry["messages"]) == MAX_MESSAGES
    assert entry["messages"] == [
        "breach 0a",
        "breach 0b",
        "the same every time",
        "breach 1a",
        "breach 1b",
    ]
    assert entry["failing_cases"] == [0, 1, 2, 3]


def test_observations_are_merged_across_cases() -> None:
    merged = merge_observations(
        [
            {"requests": 12, "ratio": 1.5, "client": "node", "sizes": [1, 2]},
            {"requests": 15, "ratio": 1.0, "client": "node"},
            {"requests": 10, "ratio": 2.0, "client": "python", "sizes": [1, 2]},
        ]
    )
    assert merged == {
        "client": {"values": ["node", "python"], "cases": 3},
        "ratio": {"min": 1.0, "median": 1.5, "max": 2.0, "cases": 3},
        "requests": {"min": 10, "median": 12, "max": 15, "cases": 3},
        "sizes": {"values": [[1, 2]], "cases": 2},
    }
    assert merge_observations([{"n": 4}, {"n": 5}])["n"]["median"] == 4.5
    assert merge_observations([{"flag": True}, {"flag": 1}])["flag"] == {
        "values": [True, 1],
        "cases": 2,
    }
    assert merge_observations([]) == {}


def test_observations_in_the_document(doc: Doc) -> None:
    (shape,) = [r for r in doc["requirements"] if r["id"] == "UT-C22"]
    assert shape["observations"]["requests"] == {"min": 12, "median": 13.5, "max": 15, "cases": 2}
    assert shape["observations"]["chunk_size_max"]["median"] == 1048576


def test_same_requirement_twice_is_fine_unless_it_differs(sample: Sample) -> None:
    builder = sample.builder()
    builder.add_requirement(*sample.requirements[0])
    with pytest.raises(ReportError, match="UT-C01 registered twice"):
        builder.add_requirement("UT-C01", "SHOULD", "other")


def test_build_names_the_first_problem(sample: Sample) -> None:
    builder = sample.builder()
    builder.add_case(_case("t", {"UT-C10": "MAYBE"}))
    with pytest.raises(ReportError, match=r'^cannot build .*\$\.cases\[0\]\.verdicts\["UT-C10"\]'):
        builder.build()
    builder = sample.builder()
    builder.add_case(_case("t", {"UT-C05": "PASS"}))
    with pytest.raises(ReportError, match=r"UT-C05 has no entry in \$\.requirements"):
        builder.build()
    with pytest.raises(ReportError, match=r"\$\.run\.workers: missing"):
        ResultsBuilder({k: v for k, v in sample.run.items() if k != "workers"}).build()


def test_update_run_fills_late_metadata(sample: Sample) -> None:
    builder = sample.builder(duration_s=0)
    builder.update_run(duration_s=3.5, workers=4)
    run = builder.build()["run"]
    assert (run["duration_s"], run["workers"]) == (3.5, 4)


def test_input_is_copied_and_repaired(sample: Sample) -> None:
    case = _case("t", {"UT-C01": "PASS"}, description="bad \udc80 byte", scenario={"k": (1, 2)})
    builder = sample.builder()
    builder.add_case(case)
    case["verdicts"]["UT-C01"] = "FAIL"  # the builder kept its own copy
    doc = builder.build()
    assert doc["cases"][0]["description"] == "bad \ufffd byte"
    assert doc["cases"][0]["scenario"] == {"k": [1, 2]}
    assert doc["cases"][0]["verdicts"] == {"UT-C01": "PASS"}
    assert validate(doc) == []
    assert builder.build() == doc  # building twice gives the same


def test_plain_turns_enums_into_plain_values() -> None:
    class Word(str, enum.Enum):
        FAIL = "FAIL"

    class Number(enum.IntEnum):
        ONE = 1

    copied = plain({"verdict": Word.FAIL, "n": Number.ONE, "t": (True, None, 1.5)})
    assert copied == {"verdict": "FAIL", "n": 1, "t": [True, None, 1.5]}
    assert type(copied["verdict"]) is str
    assert type(copied["n"]) is int


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"a": object()}, r"\$\.a: a Python object is not JSON data"),
        ({"a": [float("inf")]}, r"\$\.a\[0\]: inf is not a JSON number"),
        ({3: 1}, r"\$: key 3 is not a string"),
    ],
)
def test_plain_rejects_what_json_cannot_hold(value: object, message: str) -> None:
    with pytest.raises(ReportError, match=message):
        plain(value)
