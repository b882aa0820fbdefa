"""A case's `timeline` as the suite records it (`conformance.suite.timeline`): every request
with its times, answer and fault, the evidence ids of each broken requirement, the byte map
(ranges that tile the file exactly), bounded, and free of credentials."""

from __future__ import annotations

from typing import Any

from failing_report import failing_document, mutants_module
from hypothesis import given
from hypothesis import strategies as st

from conformance.checks import CaseEvidence, ClientOutcome, FinalToken
from conformance.clients.runners import CallableClient, Job
from conformance.content import SourceFile
from conformance.endpoints import EndpointConfig, KalturaEndpoint
from conformance.faults import Fault, FaultKind, FaultPlan, NthMiddleRequest
from conformance.runner import CaseRunner
from conformance.scenario import ClientParams, UploadScenario
from conformance.suite.timeline import MAX_DRAWN, byte_map, case_timeline
from conformance.trace import Answered, Exchange, PayloadInfo
from reports import find_secrets

SOURCE = SourceFile(5 * 8192 + 100, 77)


def _upload(
    exchange_id: int, at: float, size: int, *, ok: bool = True, resume: bool = True
) -> Exchange:
    return Exchange(
        id=exchange_id,
        connection="c",
        arrival=10.0 + exchange_id,
        body_complete=10.0 + exchange_id,
        service="uploadtoken",
        action="upload",
        token_id="0_t",
        resume=resume,
        final_chunk=False,
        resume_at=at,
        payload=PayloadInfo(True, "f", size, None),
        answer=Answered("ok" if ok else "http-error", http_status=200 if ok else 500),
        answered_at=10.5 + exchange_id,
    )


def _evidence(*exchanges: Exchange, size: int = 1000, held: int | None = None) -> CaseEvidence:
    final = None if held is None else FinalToken("0_t", 1, held, None)
    return CaseEvidence(SourceFile(size, 1), exchanges, ClientOutcome(True), final, "0_t")


def _kinds(evidence: CaseEvidence) -> list[tuple[int, int, str]]:
    return [(r["start"], r["end"], r["kind"]) for r in byte_map(evidence)["ranges"]]


def test_byte_ranges_say_what_became_of_each_byte() -> None:
    evidence = _evidence(
        _upload(1, 0, 300, resume=False),
        _upload(2, 200, 300),  # overlaps #1 by 100 acknowledged bytes
        _upload(3, 600, 100, ok=False),  # sent once, refused
        _upload(4, 700, 100, ok=False),
        _upload(5, 700, 100),  # re-sent, then acknowledged
        _upload(6, 950, 500),  # past the end: cut at the size
        held=500,
    )
    assert _kinds(evidence) == [
        (0, 200, "acknowledged"),
        (200, 300, "overlapping"),
        (300, 500, "acknowledged"),
        (500, 600, "never-sent"),
        (600, 700, "sent"),
        (700, 800, "re-sent"),
        (800, 950, "never-sent"),
        (950, 1000, "acknowledged"),
    ]
    drawn = byte_map(evidence)
    assert (drawn["size"], drawn["held"], drawn["full"]) == (1000, 500, False)


def test_an_offset_that_is_no_byte_is_left_out() -> None:
    evidence = _evidence(_upload(1, 2.5, 10), _upload(2, float("inf"), 10), _upload(3, -1, 10))
    assert _kinds(evidence) == [(0, 1000, "never-sent")]
    assert byte_map(_evidence(size=0))["ranges"] == []


spans = st.lists(
    st.tuples(st.integers(0, 1200), st.integers(0, 400), st.booleans(), st.booleans()),
    max_size=12,
)


@given(st.integers(0, 1000), spans)
def test_the_ranges_tile_the_file(size: int, drawn: list[tuple[int, int, bool, bool]]) -> None:
    exchanges = [
        _upload(i, at, length, ok=ok, resume=resume)
        for i, (at, length, ok, resume) in enumerate(drawn, start=1)
    ]
    ranges = byte_map(_evidence(*exchanges, size=size))["ranges"]
    position = 0
    for entry in ranges:
        assert entry["start"] == position < entry["end"]
        position = entry["end"]
    assert position == size
    assert sum(r["end"] - r["start"] for r in ranges) == size


def test_many_requests_are_cut_and_counted() -> None:
    exchanges = [_upload(i, 0, 1) for i in range(1, MAX_DRAWN + 31)]
    timeline = case_timeline(_evidence(*exchanges), ())
    assert len(timeline["requests"]) == MAX_DRAWN
    assert timeline["omitted"] == 30


def test_a_real_case_with_a_fault_and_no_credential_in_its_timeline() -> None:
    mutants = mutants_module()
    seen: dict[str, str] = {}

    def client(job: Job) -> None:
        seen["ks"] = job.ks
        seen["secret"] = job.admin_secret
        mutants.reference_client(job)

    faults = FaultPlan((Fault(NthMiddleRequest(1), FaultKind.HTTP_ERROR),))
    scenario = UploadScenario(SOURCE, ClientParams(8192, 2), faults)
    endpoint = KalturaEndpoint(EndpointConfig(final_wait=0.2))
    try:
        runner = CaseRunner(endpoint, "http://127.0.0.1:9", CallableClient(client), in_process=True)
        result = runner.run(scenario)
    finally:
        endpoint.close()
    timeline = case_timeline(result.evidence, result.results)
    requests = timeline["requests"]
    assert [r["id"] for r in requests] == [e.id for e in result.evidence.exchanges]
    faulted = [r for r in requests if r["fault"]]
    assert [(r["fault"], r["answer"], r["http_status"]) for r in faulted] == [
        ("HTTP 503 on middle request #1", "http-error", 503)
    ]
    assert all(r["answered"] is None or r["answered"] >= r["sent"] >= 0 for r in requests)
    assert {r["role"] for r in requests} >= {"opening", "middle", "close"}
    bytes_ = timeline["bytes"]
    assert bytes_["held"] == SOURCE.size
    assert bytes_["full"] is True
    assert "re-sent" in {r["kind"] for r in bytes_["ranges"]}  # the faulted middle, again
    assert timeline["evidence"] == {}  # the reference client breaks nothing
    assert seen["ks"]
    assert not find_secrets(timeline, [seen["ks"], seen["secret"]])


def test_evidence_names_the_requests_the_breaches_name() -> None:
    doc = failing_document()
    case: dict[str, Any] = next(c for c in doc["cases"] if c["timeline"]["evidence"])
    drawn = {r["id"] for r in case["timeline"]["requests"]}
    for rid, ids in case["timeline"]["evidence"].items():
        assert case["verdicts"][rid] in ("FAIL", "NON-STRICT")
        assert set(ids) <= drawn
        for exchange_id in ids:
            assert any(f"#{exchange_id} " in m for m in case["breaches"][rid]), (rid, exchange_id)
