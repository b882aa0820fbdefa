"""A file many times larger than the harness may hold: generated, streamed, never in memory.

The client is the reference uploader run as a command (a process of its own), so that the
allocations traced here are the harness's alone: writing the source for the client, the
loopback server reading bodies into blobs, the trace, the model's assembly and every check.
Their peak depends on the requests in flight, not on the file (benchmarks/chunk_memory.py
measures 21 MiB for a 100 MiB file in 10 MB chunks, four at a time, and for 300 MiB alike).
"""

from __future__ import annotations

import shlex
import sys
import tracemalloc
from collections.abc import Iterator

import pytest

from conformance.clients.runners import CommandClient
from conformance.content import SourceFile
from conformance.endpoints.server import LoopbackServer
from conformance.requirements import Verdict
from conformance.runner import CaseRunner
from conformance.scenario import ClientParams, UploadScenario

MIB = 1 << 20
SIZE = 40 * MIB + 3000  # four whole 10 MB chunks and a short close
CHUNK = 10_000_000  # a client's own chunk, in the hundreds of KiB the profiles draw
BOUND = 24 * MIB  # well below SIZE: holding the file anywhere breaks it
UPLOAD = (
    f"{shlex.quote(sys.executable)} -m conformance.cli upload {{file}} "
    "--service-url {service_url} --ks {ks} --token-id {token_id} "
    "--chunk-size {chunk_size} --concurrency {concurrency}"
)


@pytest.fixture
def traced() -> Iterator[None]:
    tracemalloc.start()
    try:
        yield
    finally:
        tracemalloc.stop()


@pytest.mark.usefixtures("traced")
def test_a_large_case_is_judged_without_holding_the_file(server: LoopbackServer) -> None:
    scenario = UploadScenario(SourceFile(SIZE, 11), ClientParams(CHUNK, 2))
    runner = CaseRunner(server.endpoint, server.url, CommandClient(UPLOAD), time_limit=60)
    tracemalloc.reset_peak()
    result = runner.run(scenario)
    _, peak = tracemalloc.get_traced_memory()
    assert result.client.succeeded, result.client.detail
    assert not result.failed, [r.message() for r in result.failed]
    assert len(result.evidence.uploads) == 5
    assert result.verdict("UT-C15") is Verdict.PASS  # the assembled file's digest was compared
    assert peak < BOUND, (
        f"the harness peaked at {peak / MIB:.1f} MiB for a {SIZE / MIB:.0f} MiB file"
    )
