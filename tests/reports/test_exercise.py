"""The MUSTs no case exercised, the headline that says so, and their likely causes."""

from __future__ import annotations

from typing import Any

import pytest

from reports import (
    ResultsBuilder,
    must_not_exercised,
    not_exercised_causes,
    not_exercised_headline,
)
from reports.exercise import NO_CASES

Doc = dict[str, Any]
Sample = Any  # conftest's Sample

# UT-C04 and UT-C10 need a multi-request upload; UT-C01 is exercised by any upload.
REQUIREMENTS = [
    ("UT-C01", "MUST", "Every data request names an upload token that exists."),
    ("UT-C04", "MUST", "No `resume=true` request before the opening was acknowledged."),
    ("UT-C10", "MUST", "The closing request is sent only after every other was acknowledged."),
    ("UT-C17", "SHOULD", "A data request that failed transiently is re-sent."),
]
SINGLE = {"UT-C01": "PASS", "UT-C04": "NOT-EXERCISED", "UT-C10": "NOT-EXERCISED"}
SILENT = dict.fromkeys(("UT-C01", "UT-C04", "UT-C10"), "NOT-EXERCISED")


def _case(
    size: int,
    *,
    data: int | None = 1,
    requests: int | None = None,
    told: int = 65536,
    verdicts: dict[str, str] | None = None,
    succeeded: bool = True,
    timed_out: bool = False,
) -> dict[str, Any]:
    """A client case as `CaseResult.to_dict` records it."""
    trace = {} if data is None else {"data_requests": data, "requests": data + 1}
    if requests is not None:
        trace["requests"] = requests
    return {
        "test": f"test_client_conformance[{size}]",
        "scenario": {
            "source": {"size": size, "seed": 7},
            "params": {"chunk_size": told, "concurrency": 2},
            "faults": {"faults": []},
        },
        "client": {
            "succeeded": succeeded,
            "timed_out": timed_out,
            "duration": 0.1,
            "detail": "exit code 0" if succeeded else "exit code 1",
        },
        "verdicts": SINGLE if verdicts is None else verdicts,
        "trace": trace,
    }


def _doc(sample: Sample, cases: list[dict[str, Any]], **run: Any) -> Doc:
    builder = sample.builder(requirements=REQUIREMENTS, **run)
    builder.add_cases(cases)
    doc: Doc = builder.build()
    return doc


def test_the_headline(sample: Sample) -> None:
    assert not_exercised_headline(6) == (
        "6 MUST requirements were not exercised: this run does not show conformance to them"
    )
    assert not_exercised_headline(1) == (
        "1 MUST requirement was not exercised: this run does not show conformance to it"
    )


def test_only_musts_count_and_every_must_exercised_has_no_cause(sample: Sample) -> None:
    verdicts = {"UT-C01": "PASS", "UT-C04": "PASS", "UT-C10": "PASS", "UT-C17": "NOT-EXERCISED"}
    doc = _doc(sample, [_case(100, data=3, verdicts=verdicts)])
    assert must_not_exercised(doc) == []
    assert not_exercised_causes(doc) == []
    assert doc["summary"]["must_not_exercised"] == []
    assert doc["summary"]["not_exercised_causes"] == []


def test_no_case_at_all(sample: Sample) -> None:
    doc = _doc(sample, [])
    assert must_not_exercised(doc) == ["UT-C01", "UT-C04", "UT-C10"]
    assert not_exercised_causes(doc) == [NO_CASES]


def test_single_requests_with_an_unknown_chunk_name_the_largest_file(sample: Sample) -> None:
    """The user's report: a fixed 1,000,000-byte chunk, every file smaller."""
    doc = _doc(sample, [_case(1000), _case(262144), _case(5000)])
    assert doc["summary"]["must_not_exercised"] == ["UT-C04", "UT-C10"]
    assert not_exercised_causes(doc) == [
        "every upload was a single data request: the client's chunk is probably larger than "
        "every file (the largest was 262144 bytes); give it with `--client-chunk-size SIZE` so "
        "that the cases are drawn around it"
    ]
    assert doc["summary"]["not_exercised_causes"] == not_exercised_causes(doc)


def test_single_requests_with_a_known_chunk(sample: Sample) -> None:
    learned = {"bytes": 1000000, "how": "learned: the client's data requests were 1000000 bytes"}
    (cause,) = not_exercised_causes(_doc(sample, [_case(262144)], client_chunk=learned))
    assert cause == (
        "every upload was a single data request: the client's chunk of 1000000 bytes (learned: "
        "the client's data requests were 1000000 bytes) is larger than every file (the largest "
        "was 262144 bytes)"
    )
    given = {"bytes": 4096, "how": "given with --client-chunk-size"}
    (cause,) = not_exercised_causes(_doc(sample, [_case(262144)], client_chunk=given))
    assert cause.endswith(
        "although files of up to 262144 bytes were drawn around a client chunk of 4096 bytes "
        "(given with --client-chunk-size): the client probably sends every file whole"
    )


def test_single_requests_with_a_chunk_of_unknown_size(sample: Sample) -> None:
    unknown = {"bytes": None, "how": "not learned: no case sent two data requests"}
    (cause,) = not_exercised_causes(_doc(sample, [_case(262144)], client_chunk=unknown))
    assert "(the largest was 262144 bytes) (client chunk: not learned: no case sent" in cause
    assert "`--client-chunk-size SIZE`" in cause


def test_single_requests_of_files_that_fit_the_chunk_the_client_was_told(
    sample: Sample,
) -> None:
    """A client that follows `{chunk_size}` sends a file no larger than it in one request."""
    (cause,) = not_exercised_causes(_doc(sample, [_case(100, told=512), _case(512, told=4096)]))
    assert cause == (
        "every upload was a single data request: every file fit in the chunk the client was "
        "told (`{chunk_size}`, up to 4096 bytes; the largest file was 512 bytes); a larger "
        "profile (`--profile thorough`) draws bigger files"
    )


def test_a_client_that_never_uploads(sample: Sample) -> None:
    cases = [
        _case(100, data=0, verdicts=SILENT, succeeded=False),
        _case(200, data=0, verdicts=SILENT, succeeded=False),
        _case(300, data=0, verdicts=SILENT, succeeded=False, timed_out=True),
    ]
    assert not_exercised_causes(_doc(sample, cases)) == [
        "the suite's endpoint received no data request (`uploadToken.upload`) in any case: "
        "the client failed in 2 cases and timed out in 1 case (its output is in results.html)"
    ]


def test_some_silent_cases_and_single_requests_are_both_causes(sample: Sample) -> None:
    cases = [_case(100, data=0, verdicts=SILENT, succeeded=False), _case(200)]
    causes = not_exercised_causes(_doc(sample, cases))
    assert [cause.split(":")[0] for cause in causes] == [
        "the suite's endpoint received no data request (`uploadToken.upload`) in 1 of 2 cases",
        "every upload was a single data request",
    ]


def test_a_client_that_uploads_elsewhere_is_told_where_to_upload(sample: Sample) -> None:
    """The suite saw no request (the client ignored the URL it was given)."""
    verdicts = {"UT-C01": "NOT-EXERCISED", "UT-C04": "NOT-EXERCISED", "UT-C10": "NOT-EXERCISED"}
    cases = [_case(100, data=0, requests=0, verdicts=verdicts) for _ in range(2)]
    (cause,) = not_exercised_causes(_doc(sample, cases, endpoint="https://www.kaltura.com"))
    assert cause.startswith(
        "the suite's endpoint saw no request in any case, yet the client reported success in "
        "2 cases: it uploaded elsewhere. A client must upload to the service URL it is given"
    )


def test_a_selection_limits_what_is_judged(sample: Sample) -> None:
    verdicts = {"UT-C04": "NOT-EXERCISED", "UT-C10": "NOT-EXERCISED"}
    requirements = [r for r in REQUIREMENTS if r[0] in verdicts]
    builder = sample.builder(requirements=requirements, requirements_selected=["UT-C04", "UT-C10"])
    builder.add_case(_case(100, data=3, verdicts=verdicts))
    assert not_exercised_causes(builder.build()) == [
        "the run was limited to UT-C04, UT-C10 (`--requirements`): only the cases aimed at them ran"
    ]


def test_requirements_no_case_judged_name_their_skipped_tests(sample: Sample) -> None:
    builder = ResultsBuilder({**sample.run, "direction": "server", "target": "server x"})
    builder.add_requirement("UT-S01", "MUST", "An opening request stores its payload.")
    builder.add_requirement("UT-S05", "MUST", "An early close fails.")
    builder.add_case({"test": "test_UT_S01", "verdicts": {"UT-S01": "PASS"}})
    assert not_exercised_causes(builder.build()) == [
        "no case judged UT-S05: the tests aimed at it were skipped or deselected (pytest's "
        "skip reasons say why); the early-close checks UT-S05, UT-S06, UT-S08 wait out the "
        "server's close wait and run only with `--slow-closes` or `--profile thorough`"
    ]


def test_otherwise_the_cases_did_not_reach_them(sample: Sample) -> None:
    verdicts = {"UT-C01": "PASS", "UT-C04": "PASS", "UT-C10": "NOT-EXERCISED"}
    assert not_exercised_causes(_doc(sample, [_case(100, data=4, verdicts=verdicts)])) == [
        "the generated cases never reached the situations that exercise it: a larger profile "
        "(`--profile thorough`) draws more and bigger cases"
    ]


@pytest.mark.parametrize(
    "scenario",
    [{}, {"source": "big"}, {"source": {"size": "10"}}, {"size": 10, "chunks": 2}],
    ids=["empty", "odd-source", "size-as-text", "other-shape"],
)
def test_scenarios_of_other_shapes_leave_the_size_out(sample: Sample, scenario: Doc) -> None:
    case = {**_case(100), "scenario": scenario}
    (cause,) = not_exercised_causes(_doc(sample, [case]))
    assert cause.startswith(
        "every upload was a single data request: the client's chunk is probably larger than "
        "every file; give it with"
    )


def test_traces_without_counts_claim_nothing_about_requests(sample: Sample) -> None:
    (cause,) = not_exercised_causes(_doc(sample, [_case(100, data=None)]))
    assert cause.startswith("the generated cases never reached")
