"""Memory of the harness for one large case: files stay generated and streamed.

Usage: ``python benchmarks/chunk_memory.py [--size-mib 100] [--chunk 10MB] [--concurrency 4]
[--client command|callable]``

One client-conformance case (`CaseRunner`: the source written for the client, the loopback
server, the trace, every check) with a file of `--size-mib` MiB uploaded by the reference
client in chunks of `--chunk`. By default the client runs as a command (`kaltura-conformance
upload`) in a process of its own, so the figures are the harness's alone: the peak of
Python allocations (tracemalloc, every thread) and the growth of this process's peak RSS.
`--client callable` runs `run_job` in this process instead (figures then include the
client's own chunk buffers). A harness that held the file would show its size here.
"""

from __future__ import annotations

import argparse
import resource
import shlex
import sys
import time
import tracemalloc
from pathlib import Path

try:
    from conformance.clients.reference import run_job
except ModuleNotFoundError:  # run from a checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from conformance.clients.reference import run_job

from conformance.clients.runners import CallableClient, CommandClient
from conformance.content import SourceFile
from conformance.endpoints import EndpointConfig, KalturaEndpoint
from conformance.endpoints.server import LoopbackServer
from conformance.runner import CaseRunner, ClientRunner
from conformance.scenario import ClientParams, UploadScenario
from conformance.sizes import parse_size

MIB = 1 << 20
UPLOAD_COMMAND = (
    f"{shlex.quote(sys.executable)} -m conformance.cli upload {{file}} "
    "--service-url {service_url} --ks {ks} --token-id {token_id} "
    "--chunk-size {chunk_size} --concurrency {concurrency}"
)


def peak_rss_mib() -> float:
    """This process's peak resident set so far (Linux: ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def client(kind: str) -> ClientRunner:
    if kind == "callable":
        return CallableClient(run_job, "reference client (in this process)")
    return CommandClient(UPLOAD_COMMAND)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=100)
    parser.add_argument("--chunk", type=parse_size, default=parse_size("10MB"))
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--client", choices=("command", "callable"), default="command")
    args = parser.parse_args()
    scenario = UploadScenario(
        SourceFile(args.size_mib * MIB, 7), ClientParams(args.chunk, args.concurrency)
    )
    endpoint = KalturaEndpoint(EndpointConfig(final_wait=0.2))
    with LoopbackServer(endpoint) as server:
        runner = CaseRunner(endpoint, server.url, client(args.client), time_limit=300)
        before = peak_rss_mib()
        tracemalloc.start()
        began = time.perf_counter()
        result = runner.run(scenario)
        elapsed = time.perf_counter() - began
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        after = peak_rss_mib()
    endpoint.close()
    failed = ", ".join(r.requirement_id for r in result.failed) or "none"
    print(f"case: {scenario.describe()}")
    print(f"client ({args.client}): {result.client.detail[:100]}")
    print(f"  {args.size_mib} MiB in {len(result.evidence.uploads)} requests, {elapsed:.2f} s")
    print(f"  broken requirements: {failed}")
    print(f"  tracemalloc peak (every thread of this process): {traced_peak / MIB:.1f} MiB")
    growth = after - before
    print(f"  peak RSS: {before:.0f} MiB before the case, {after:.0f} MiB after (+{growth:.0f})")
    return 0 if result.client.succeeded and not result.failed else 1


if __name__ == "__main__":
    sys.exit(main())
