"""What the trace keeps: everything of a case until it is judged and forgotten (the suite's
endpoints), or a window of the latest exchanges (`serve`, which runs for days)."""

from __future__ import annotations

import platform

import httpx
import pytest

from conformance.cli import _build_parser
from conformance.commands import serve
from conformance.endpoints import EndpointConfig, KalturaEndpoint, TraceLog
from conformance.endpoints.fault_runtime import FaultRuntime
from conformance.endpoints.inprocess import mock_transport
from conformance.endpoints.trace import UNCLAIMED_KEPT
from conformance.faults import FaultPlan

GET = "http://kaltura.test/api_v3/service/uploadtoken/action/get"


def _gets(endpoint: KalturaEndpoint, ks: str, count: int) -> None:
    with httpx.Client(transport=mock_transport(endpoint)) as client:
        for n in range(count):
            client.post(GET, data={"ks": ks, "uploadTokenId": f"0_{n}", "format": "1"})


def test_a_window_keeps_the_latest_exchanges() -> None:
    trace = TraceLog(window=3)
    for n in range(10):
        trace.open(f"conn-{n}", float(n), float(n))
    assert [e.id for e in trace] == [8, 9, 10]
    assert len(trace) == 3


def test_an_endpoint_with_a_window_stays_bounded() -> None:
    endpoint = KalturaEndpoint(EndpointConfig(trace_window=5))
    try:
        partner = endpoint.add_partner()
        _gets(endpoint, endpoint.start_session(partner), 40)
        kept = endpoint.trace.exchanges()
        assert len(kept) == 5
        assert [e.params["uploadTokenId"] for e in kept] == [f"0_{n}" for n in range(35, 40)]
    finally:
        endpoint.close()


def test_forgetting_a_partner_keeps_the_window() -> None:
    trace = TraceLog(window=4)
    for n in range(6):
        trace.open("c", 0.0, 0.0).partner_id = n % 2
    trace.forget(0)
    assert [e.partner_id for e in trace] == [1, 1]
    for _ in range(5):
        trace.open("c", 0.0, 0.0)
    assert len(trace) == 4


def test_the_suite_endpoint_keeps_a_case_whole_until_it_is_forgotten(
    endpoint: KalturaEndpoint,
) -> None:
    """The checks read every exchange of a case; `forget_partner` then frees them."""
    assert endpoint.trace.window is None
    judged, running = endpoint.add_partner(), endpoint.add_partner()
    _gets(endpoint, endpoint.start_session(judged), 30)
    _gets(endpoint, endpoint.start_session(running), 3)
    assert len(endpoint.trace.exchanges(judged.partner_id)) == 30
    endpoint.forget_partner(judged.partner_id)
    assert endpoint.trace.exchanges(judged.partner_id) == []
    assert len(endpoint.trace) == 3


def test_serve_keeps_a_bounded_trace_by_default() -> None:
    args = _build_parser().parse_args(["serve"])
    assert serve.endpoint_config(args).trace_window == serve.DEFAULT_TRACE_WINDOW <= 10_000
    args = _build_parser().parse_args(["serve", "--trace-window", "7"])
    assert serve.endpoint_config(args).trace_window == 7


@pytest.mark.parametrize("window", [0, -1, True])
def test_a_window_must_be_positive(window: int) -> None:
    with pytest.raises(ValueError, match="window"):
        TraceLog(window)
    with pytest.raises(ValueError, match="trace_window"):
        EndpointConfig(trace_window=window)


def test_fault_counters_keep_a_window_of_tokens_when_asked() -> None:
    """Counted per token for fault plans; `serve` (a window) must not keep one per token
    forever, the suite (no window) counts a case's whole upload."""
    for window, expected in ((None, 2), (2, 1)):
        runtime = FaultRuntime(token_window=window)
        runtime.attach(1, FaultPlan())
        for token in ("a", "b", "c", "a"):
            facts, _ = runtime.on_data_request(
                1, token, resume=True, final=False, resume_at=0.0, exchange_id=1
            )
        assert facts.data_index == expected  # "a" evicted by "b" and "c" under a window of 2
    endpoint = KalturaEndpoint(EndpointConfig(trace_window=3))
    assert endpoint.faults.token_window == 3
    endpoint.close()


def test_forget_drops_the_oldest_unclaimed_exchanges() -> None:
    """Exchanges no partner claims are never read by a case: a suite run keeps only the
    latest `UNCLAIMED_KEPT` of them, whatever the number of cases."""
    trace = TraceLog()
    for n in range(UNCLAIMED_KEPT + 50):
        trace.open(f"c{n}", 0.0, 0.0)  # partner_id None: no KS, or a bad one
    trace.open("case", 0.0, 0.0).partner_id = 7
    trace.open("other", 0.0, 0.0).partner_id = 8
    trace.forget(7)
    unclaimed = [e for e in trace if e.partner_id is None]
    assert [e.connection for e in unclaimed] == [f"c{n}" for n in range(50, UNCLAIMED_KEPT + 50)]
    assert [e.partner_id for e in trace if e.partner_id is not None] == [8]


def test_the_trace_keeps_a_bounded_part_of_each_request(endpoint: KalturaEndpoint) -> None:
    """An 8 MiB JSON value (or a thousand of 1 KiB) must not live on in the trace: `serve`
    grew by every such body. Every name is kept, so `present()` still answers."""
    partner = endpoint.add_partner()
    ks = endpoint.start_session(partner)
    big = {"ks": ks, "uploadTokenId": "0_x", "format": 1, "pad": "y" * (1 << 20)}
    many = {f"p{n}": "z" * 1000 for n in range(300)}
    with httpx.Client(transport=mock_transport(endpoint)) as client:
        client.post(GET, json=big)
        client.post(GET, json={"ks": ks, "format": 1, **many, "finalChunk": "1"})
    first, second = endpoint.trace.exchanges()
    assert first.params["pad"].startswith("y" * 100)
    assert first.params["pad"].endswith(f"<{1 << 20} characters>")
    assert len(first.params["pad"]) < 1100
    assert second.present("finalChunk")
    assert sum(len(value) for value in second.params.values()) <= 70_000


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="a glibc tunable")
def test_serve_makes_glibc_give_large_buffers_back() -> None:
    """Figure 5 of benchmarks/endpoints.py shows the effect (memory is not a test's job)."""
    assert serve.return_large_buffers()


DELETE = "http://kaltura.test/api_v3/service/uploadtoken/action/delete"


@pytest.mark.parametrize(("window", "kept"), [(3, 3), (None, 12)])
def test_serve_forgets_all_but_its_latest_deleted_tokens(window: int | None, kept: int) -> None:
    """A token per session, added and deleted, cost ~620 B forever in `serve` (the model
    kept every deleted row); with a window it keeps the latest deleted ones only."""
    endpoint = KalturaEndpoint(EndpointConfig(trace_window=window))
    try:
        partner = endpoint.add_partner()
        ks = endpoint.start_session(partner)
        ids = [endpoint.add_token(partner.partner_id, "f.bin", 10) for _ in range(12)]
        with httpx.Client(transport=mock_transport(endpoint)) as client:
            for token_id in ids:
                client.post(DELETE, data={"ks": ks, "uploadTokenId": token_id, "format": "1"})
        held = [endpoint.holds(partner.partner_id, token_id) for token_id in ids]
        assert sum(held) == kept
        assert held[-1]  # the latest are the ones kept
    finally:
        endpoint.close()
