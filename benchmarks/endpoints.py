"""Our endpoints against the raw limits of their transports, measured in the same run.

Usage::

    python benchmarks/endpoints.py            # full run: 3 rounds, 2 GiB; ~10 min on 2 cores
    python benchmarks/endpoints.py --quick    # 1 round, 256 MiB, fewer requests; < 1 min

Not a test: it prints figures, each beside its raw limit and the ratio, and says which
targets were met. Method as in `transport-measurements.md`: every configuration runs in its
own process (`endpoints_workers.py`), so peak RSS is per configuration; rounds are
interleaved (A B C … A B C …); 50 warm-up requests precede every timed run; medians are
quoted, and a ratio is taken inside each round, then its median over the rounds. The
machine is noisy (and may be shared): compare through the ratios; the load average is
printed before and after every figure.

1. In-process uploads/s: our endpoint through `respx_router` (plain `httpx.Client`) and
   through `mock_transport`, against a bare `httpx.MockTransport` handler that only parses
   the body with the same `multipart.PushMultipartParser` and answers a fixed JSON.
   Target: respx costs at most 2x the bare handler's time per request. Beside it, the
   equal-work limit `keep`: the bare handler also hashing the file bytes and appending them
   to a temporary file, the least a server that keeps the upload does.
2. Loopback uploads/s: `LoopbackServer` against a minimal `ThreadingHTTPServer` (HTTP/1.1
   keep-alive, Nagle off, same parser, fixed JSON), both in a thread of the client's process
   and in a process of their own. Target: ours serves at least half the raw requests/s.
   Beside it the equal-work limit `keep`: the raw server also hashing each request's file
   bytes and appending them to a temporary file.
3. 2 GiB in 8 MiB chunks (sequential three-stage upload, each body streamed from
   `SourceFile`), server in its own process; then `uploadToken.get` and the endpoint's file
   digest. Raw limit: the same bytes through the minimal server, which only hashes them;
   beside it the same server also appending them to one file (what keeping them costs).
   Targets: >= 300 MiB/s, server peak RSS (VmHWM) < 150 MiB.
4. Memory over 10,000 requests through the respx endpoint: RSS and tracemalloc after
   1,000 and after 10,000, with the endpoint's trace kept and with it cleared.
5. Memory of `kaltura-conformance serve` as a user starts it (bounded trace) over N small
   requests (`--serve-requests`, default 200,000; --quick 20,000): its VmRSS after a
   warm-up tenth and at the end, and the growth per request (`endpoints_serve.py`).
   Target: < 0.1 KB per request. Then 4 rounds of 16 concurrent 8 MiB JSON bodies: VmRSS
   after each (target: less than 16 MiB kept).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WORKER = Path(__file__).with_name("endpoints_workers.py")
KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30
SIZES = (KIB, 64 * KIB, MIB)
THREADS = (1, 4)
LARGE_CHUNK = 8 * MIB


@dataclass(frozen=True)
class Plan:
    """How much of everything: the full run or `--quick`."""

    rounds: int
    warmup: int
    inprocess_requests: dict[int, int]
    loopback_requests: dict[int, int]
    large_total: int
    memory_checkpoints: tuple[int, int]
    one_process_per_cell: bool


FULL = Plan(
    rounds=3,
    warmup=50,
    inprocess_requests={KIB: 1200, 64 * KIB: 1200, MIB: 400},
    loopback_requests={KIB: 500, 64 * KIB: 500, MIB: 200},
    large_total=2 * GIB,
    memory_checkpoints=(1_000, 10_000),
    one_process_per_cell=True,
)
QUICK = Plan(
    rounds=1,
    warmup=20,
    inprocess_requests={KIB: 300, 64 * KIB: 300, MIB: 60},
    loopback_requests={KIB: 100, 64 * KIB: 100, MIB: 30},
    large_total=256 * MIB,
    memory_checkpoints=(200, 600),
    one_process_per_cell=False,
)


# -- running workers ------------------------------------------------------------------


def run_worker(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run specs (one configuration) in a fresh interpreter; their results."""
    done = subprocess.run(
        [sys.executable, str(WORKER), json.dumps(specs)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"worker failed for {specs[0]}:\n{done.stderr[-3000:]}")
    results: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    return results


@dataclass
class Series:
    """Results per configuration key, one list entry per round."""

    rounds: dict[tuple[Any, ...], list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, key: tuple[Any, ...], result: dict[str, Any]) -> None:
        self.rounds.setdefault(key, []).append(result)

    def median(self, key: tuple[Any, ...], metric: str) -> float:
        return statistics.median(r[metric] for r in self.rounds[key])

    def ratio(self, top: tuple[Any, ...], bottom: tuple[Any, ...], metric: str) -> float:
        """Median over rounds of top/bottom taken inside each round."""
        pairs = zip(self.rounds[top], self.rounds[bottom], strict=True)
        return statistics.median(a[metric] / b[metric] for a, b in pairs)

    def peak(self, key: tuple[Any, ...], metric: str) -> float | None:
        values = [r[metric] for r in self.rounds[key] if r.get(metric) is not None]
        return max(values) if values else None


def run_interleaved(
    configs: list[tuple[tuple[Any, ...], list[tuple[tuple[Any, ...], dict[str, Any]]]]],
    plan: Plan,
) -> Series:
    """configs: (config key, [(cell key, spec)]); rounds interleave every configuration.
    Full run: one process per cell; quick: one process per configuration."""
    series = Series()
    for _ in range(plan.rounds):
        for _config, cells in configs:
            groups = [[cell] for cell in cells] if plan.one_process_per_cell else [cells]
            for group in groups:
                results = run_worker([spec for _key, spec in group])
                for (key, _spec), result in zip(group, results, strict=True):
                    series.add(key, result)
    return series


# -- the figures ----------------------------------------------------------------------


def figure_inprocess(plan: Plan) -> None:
    configs = []
    for transport in ("bare", "keep", "respx", "mock"):
        cells = [
            (
                (transport, size, threads),
                {
                    "kind": "inprocess",
                    "transport": transport,
                    "size": size,
                    "threads": threads,
                    "requests": plan.inprocess_requests[size],
                    "warmup": plan.warmup,
                },
            )
            for size in SIZES
            for threads in THREADS
        ]
        configs.append(((transport,), cells))
    series = run_interleaved(configs, plan)
    print(
        "ratio = our time per request / the bare handler's, inside each round "
        "(= bare req/s / ours); target for respx <= 2.00x.\n"
        "keep = the bare handler that also hashes the file bytes and appends them to a file "
        "(what keeping an upload costs); respx/keep = the ratio to that equal-work limit"
    )
    header = (
        f"{'chunk':>7} {'thr':>3} | {'bare req/s':>10} | {'respx req/s':>11} {'ratio':>6} "
        f"{'target':>6} | {'mock req/s':>10} {'ratio':>6} | {'keep req/s':>10} "
        f"{'respx/keep':>10} | {'CPU us/req bare/respx/mock':>26} | {'peak RSS MiB b/r/m':>18}"
    )
    print(header)
    print("-" * len(header))
    for size in SIZES:
        for threads in THREADS:
            bare, keep, respx, mock = (
                (name, size, threads) for name in ("bare", "keep", "respx", "mock")
            )
            respx_ratio = series.ratio(bare, respx, "rps")
            mock_ratio = series.ratio(bare, mock, "rps")
            keep_ratio = series.ratio(keep, respx, "rps")
            cpu = "/".join(f"{series.median(k, 'cpu_us'):.0f}" for k in (bare, respx, mock))
            rss = "/".join(f"{series.peak(k, 'rss_mib'):.0f}" for k in (bare, respx, mock))
            print(
                f"{_size(size):>7} {'x' + str(threads):>3} | {series.median(bare, 'rps'):>10,.0f}"
                f" | {series.median(respx, 'rps'):>11,.0f} {respx_ratio:>5.2f}x "
                f"{_verdict(respx_ratio <= 2.0):>6} | {series.median(mock, 'rps'):>10,.0f}"
                f" {mock_ratio:>5.2f}x | {series.median(keep, 'rps'):>10,.0f} {keep_ratio:>9.2f}x"
                f" | {cpu:>26} | {rss:>18}"
            )


def figure_loopback(plan: Plan) -> None:
    configs = []
    for mode in ("thread", "process"):
        for server in ("raw", "keep", "ours"):
            cells = [
                (
                    (server, mode, size, threads),
                    {
                        "kind": "loopback",
                        "server": server,
                        "mode": mode,
                        "size": size,
                        "threads": threads,
                        "requests": plan.loopback_requests[size],
                        "warmup": plan.warmup,
                    },
                )
                for size in SIZES
                for threads in THREADS
            ]
            configs.append(((server, mode), cells))
    series = run_interleaved(configs, plan)
    print(
        "ratio = ours req/s / raw req/s inside each round; target >= 0.50. "
        "thread: server in a thread of the client's process; process: in its own process.\n"
        "keep = the raw server that also hashes each request's file bytes and appends them to "
        "a file (equal work); ours/keep = the ratio to it.\n"
        "CPU = the client process's user+sys per request (in thread mode it includes the server)"
    )
    header = (
        f"{'chunk':>7} {'thr':>3} | {'mode':>7} | {'raw req/s':>9} | {'ours req/s':>10} "
        f"{'ratio':>6} {'target':>6} | {'keep req/s':>10} {'ours/keep':>9} | "
        f"{'CPU us/req raw/ours':>19} | {'server VmHWM MiB raw/ours':>25}"
    )
    print(header)
    print("-" * len(header))
    for size in SIZES:
        for threads in THREADS:
            for mode in ("thread", "process"):
                raw, keep, ours = ((name, mode, size, threads) for name in ("raw", "keep", "ours"))
                ratio = series.ratio(ours, raw, "rps")
                keep_ratio = series.ratio(ours, keep, "rps")
                cpu = "/".join(f"{series.median(k, 'cpu_us'):.0f}" for k in (raw, ours))
                peaks = [series.peak(k, "server_rss_mib") for k in (raw, ours)]
                rss = "/".join("-" if p is None else f"{p:.0f}" for p in peaks)
                print(
                    f"{_size(size):>7} {'x' + str(threads):>3} | {mode:>7} | "
                    f"{series.median(raw, 'rps'):>9,.0f} | {series.median(ours, 'rps'):>10,.0f} "
                    f"{ratio:>5.2f}x {_verdict(ratio >= 0.5):>6} | "
                    f"{series.median(keep, 'rps'):>10,.0f} {keep_ratio:>8.2f}x | "
                    f"{cpu:>19} | {rss:>25}"
                )


LARGE_SERVERS = ("raw", "raw-store", "ours")


def figure_large(plan: Plan) -> None:
    total = plan.large_total
    configs = []
    for server in LARGE_SERVERS:
        spec = {"kind": "large", "server": server, "total": total, "chunk": LARGE_CHUNK}
        configs.append(((server,), [((server,), {**spec, "seed": 20240})]))
    series = run_interleaved(configs, plan)
    print(
        f"{_size(total)} in {_size(LARGE_CHUNK)} chunks ({total // LARGE_CHUNK} requests), httpx "
        "client streaming 1 MiB pieces of SourceFile; every server in its own process "
        "(endpoints_servers.py).\nraw = the minimal server, hashing the fileData bytes; "
        "raw-store = the same, also appending them to one temporary file; ours = "
        "KalturaEndpoint + LoopbackServer, as `kaltura-conformance serve`.\n"
        "Server CPU s = user+sys of the server process during the upload (less sensitive to "
        "other load than MiB/s)."
    )
    header = (
        f"{'server':>9} | {'MiB/s per round':>16} | {'median':>6} | {'server CPU s':>12} | "
        f"{'server VmHWM MiB':>16} | {'client RSS MiB':>14} | checks"
    )
    print(header)
    print("-" * len(header))
    for server in LARGE_SERVERS:
        key = (server,)
        per_round = " ".join(f"{r['mib_s']:.0f}" for r in series.rounds[key])
        print(
            f"{server:>9} | {per_round:>16} | {series.median(key, 'mib_s'):>6.0f} | "
            f"{series.median(key, 'server_cpu_s'):>12.2f} | "
            f"{series.peak(key, 'server_rss_mib'):>16.0f} | "
            f"{series.peak(key, 'rss_mib'):>14.0f} | {_large_checks(series.rounds[key], total)}"
        )
    mib_s = series.median(("ours",), "mib_s")
    raw = series.ratio(("ours",), ("raw",), "mib_s")
    store = series.ratio(("ours",), ("raw-store",), "mib_s")
    peak = series.peak(("ours",), "server_rss_mib") or 0.0
    print(
        f"ours/raw {raw:.2f}x, ours/raw-store {store:.2f}x; target >= 300 MiB/s: "
        f"{_verdict(mib_s >= 300)} ({mib_s:.0f}); target server peak RSS < 150 MiB: "
        f"{_verdict(peak < 150)} ({peak:.0f})"
    )


def _large_checks(runs: list[dict[str, Any]], total: int) -> str:
    checks = "digest " + ("ok" if all(r["digest_ok"] for r in runs) else "MISMATCH")
    if "status" in runs[0]:
        statuses = sorted({r["status"] for r in runs})
        sizes = "ok" if all(r["uploaded"] == total for r in runs) else "WRONG"
        checks += f", status {statuses}, uploadedFileSize {sizes}"
    return checks


def figure_memory(plan: Plan) -> None:
    first, last = plan.memory_checkpoints
    print(
        "respx endpoint, 64 KiB chunks, sessions of 25 requests (add, opening, 22 middles, "
        "close, delete); one process per row; readings in MiB"
    )
    header = (
        f"{'measure':>11} | {'trace':>21} | {'after ' + format(first, ','):>12} | "
        f"{'after ' + format(last, ','):>13} | {'growth per request':>18}"
    )
    print(header)
    print("-" * len(header))
    for traced in (False, True):
        for clear in (False, True):
            spec = {
                "kind": "memory",
                "size": 64 * KIB,
                "checkpoints": [first, last],
                "clear_trace": clear,
                "tracemalloc": traced,
            }
            result = run_worker([spec])[0]
            (n1, m1), (n2, m2) = ((int(k), v) for k, v in result["readings"].items())
            growth = (m2 - m1) * MIB / (n2 - n1)
            trace = "cleared every session" if clear else f"kept ({result['trace_len']:,})"
            print(
                f"{'tracemalloc' if traced else 'RSS':>11} | {trace:>21} | {m1:>12.1f} | "
                f"{m2:>13.1f} | {growth:>14,.0f} B"
            )


def figure_serve(plan: Plan, requests: int) -> None:
    from endpoints_serve import json_burst_memory, serve_memory  # noqa: PLC0415  (a sibling)

    print("serve, default options, one connection; get: one token's uploadToken.get; sessions:")
    print("add, 1 KiB upload, get, delete (each leaves a deleted token in the model)")
    for load in ("get", "sessions"):
        result = serve_memory(requests, load)
        per_request = result["per_request_bytes"]
        print(
            f"{load:>8}: VmRSS after {result['warmup']:,.0f}: {result['start_kib'] / KIB:.1f} MiB;"
            f" after {result['requests']:,.0f}: {result['end_kib'] / KIB:.1f} MiB; growth "
            f"{per_request:,.1f} B per request (target < 100 B: {_verdict(per_request < 100)}); "
            f"{result['requests_per_s']:,.0f} requests/s"
        )
    readings = json_burst_memory()
    grown = readings[-1] - readings[0]
    print(
        "16 concurrent 8 MiB JSON bodies, 4 rounds: VmRSS "
        + " -> ".join(f"{mib:.0f}" for mib in readings)
        + f" MiB (kept {grown:.0f} MiB; target < 16 MiB: {_verdict(grown < 16)})"
    )


# -- output helpers ---------------------------------------------------------------------


def _size(size: int) -> str:
    for unit, name in ((GIB, "GiB"), (MIB, "MiB"), (KIB, "KiB")):
        if size >= unit and size % unit == 0:
            return f"{size // unit} {name}"
    return f"{size} B"


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _figure(title: str, body: Callable[[Plan], None], plan: Plan) -> None:
    print(f"\n== {title} ==  (load average before: {_load()})", flush=True)
    began = time.perf_counter()
    body(plan)
    print(f"({time.perf_counter() - began:.0f} s; load average after: {_load()})", flush=True)


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="reduced run for CI smoke use")
    parser.add_argument(
        "--only", choices=("1", "2", "3", "4", "5"), action="append", help="run only these figures"
    )
    parser.add_argument(
        "--serve-requests", type=int, metavar="N", help="requests of figure 5 (default 200,000)"
    )
    args = parser.parse_args(None if argv is None else list(argv))
    plan = QUICK if args.quick else FULL
    processes = "one process per cell" if plan.one_process_per_cell else "one per configuration"
    only = set(args.only or ("1", "2", "3", "4", "5"))
    serve_requests = args.serve_requests or (20_000 if args.quick else 200_000)
    print(
        f"benchmarks/endpoints.py {'--quick' if args.quick else '(full)'}: "
        f"{os.cpu_count()} CPUs, {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.system()} {platform.release()}; "
        f"{plan.rounds} round(s), {plan.warmup} warm-up requests per run, "
        f"{processes}"
    )
    began = time.perf_counter()
    figures = (
        ("1", "1. In-process upload requests/s", figure_inprocess),
        ("2", "2. Loopback upload requests/s", figure_loopback),
        ("3", "3. Large upload through the loopback server in its own process", figure_large),
        ("4", "4. Memory over many requests through the respx endpoint", figure_memory),
        (
            "5",
            "5. Memory of `serve` over many small requests",
            lambda plan: figure_serve(plan, serve_requests),
        ),
    )
    for number, title, body in figures:
        if number in only:
            _figure(title, body, plan)
    print(f"\ntotal {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
