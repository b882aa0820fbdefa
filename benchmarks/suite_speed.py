"""How fast a client-conformance run is: figures, not a timed test.

    python benchmarks/suite_speed.py [--rounds 3]

Prints, each with the median of the rounds:
1. the wall time of the README's main job, `kaltura-conformance run` (default profile,
   reference client, one process); target: under 60 s on a 2-core machine;
2. the suite's own overhead per case with a command client: the time a case takes minus
   the time the client process itself ran (`true`, which exits at once); target: < 50 ms;
3. `run -n 2` against `run -n 0` on the default profile; target: at least 1.6x faster.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time

from conformance.clients.runners import CommandClient
from conformance.content import SourceFile
from conformance.endpoints import EndpointConfig, KalturaEndpoint
from conformance.endpoints.server import LoopbackServer
from conformance.runner import CaseRunner
from conformance.scenario import ClientParams, UploadScenario


def run_wall_time(*options: str) -> float:
    with tempfile.TemporaryDirectory() as directory:
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "conformance.cli", "run", *options],
            cwd=directory,
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(
            f"run {' '.join(options)} exited {done.returncode}:\n{done.stdout[-2000:]}"
        )
    return elapsed


def case_overhead(cases: int) -> tuple[float, float]:
    """(median overhead per case, median client run) in seconds, with `true` as client."""
    endpoint = KalturaEndpoint(EndpointConfig(final_wait=0.2))
    scenario = UploadScenario(SourceFile(64 * 1024, 1), ClientParams(16 * 1024, 2))
    overheads, client_times = [], []
    with LoopbackServer(endpoint) as server:
        runner = CaseRunner(endpoint, server.url, CommandClient("true {file}"), time_limit=10)
        for _ in range(cases):
            start = time.perf_counter()
            result = runner.run(scenario)
            total = time.perf_counter() - start
            overheads.append(total - result.client.duration)
            client_times.append(result.client.duration)
    endpoint.close()
    return statistics.median(overheads), statistics.median(client_times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cases", type=int, default=50)
    args = parser.parse_args()
    serial, parallel = [], []
    for round_number in range(args.rounds):  # interleaved, so noise hits both alike
        same = ("--seed", str(1000 + round_number))  # the very same cases in both runs
        serial.append(run_wall_time("-n", "0", *same))
        parallel.append(run_wall_time("-n", "2", *same))
    overhead, client = case_overhead(args.cases)
    one, two = statistics.median(serial), statistics.median(parallel)
    print(f"suite_speed: {args.rounds} rounds (medians), Python {sys.version.split()[0]}")
    print(f"1. kaltura-conformance run (default profile, -n 0): {one:6.2f} s   target < 60 s")
    print(
        f"2. suite overhead per case, command client:         {overhead * 1000:6.1f} ms  "
        f"target < 50 ms (the client process itself ran {client * 1000:.1f} ms)"
    )
    print(
        f"3. run -n 2: {two:6.2f} s vs -n 0: {one:6.2f} s → {one / two:4.2f}x faster   "
        "target >= 1.6x"
    )


if __name__ == "__main__":
    main()
