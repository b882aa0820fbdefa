"""How long a user waits for a client-conformance verdict: figures, not a timed test.

    python benchmarks/suite_speed.py [--rounds 3] [--figures 1,2,3,4,5]
        [--mutants opening_omits_final,hangs,...] [--mutant-profiles quick,default]

Each figure is the median of interleaved rounds, with the machine's cores beside it:
1. the README's main job, `kaltura-conformance run` (default profile, reference client),
   with its default workers and with `-n 0`; target: <= 20 s on a 2-core machine;
2. the suite's own overhead per case with a command client: the time a case takes minus
   the time the client process itself ran (`true`, which exits at once); target: < 50 ms;
3. each one-defect mutant client of tests/clients (run with --strict, so that a broken
   SHOULD is shrunk like a MUST), quick profile until its verdict: target <= 60 s; default
   profile: target <= 180 s;
4. `--client-cmd 'sleep 1000'`, quick profile, until its UT-C14 FAIL: target <= 120 s;
5. how busy the CPU was during the failing runs of 3 and 4: user + system time of the
   run's processes over wall time x cores (the rest of the wall time, the run waited).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from conformance.clients.runners import CommandClient
from conformance.content import SourceFile
from conformance.endpoints import EndpointConfig, KalturaEndpoint
from conformance.endpoints.server import LoopbackServer
from conformance.runner import CaseRunner
from conformance.scenario import ClientParams, UploadScenario

ROOT = Path(__file__).resolve().parent.parent
MUTANTS_DIR = ROOT / "tests" / "clients"
SHIM = "kuc_mutant_clients"
# The mutant clients as `module:function` callables for `--client` (tests/clients is not a
# package): one module-level function per `Bug`, named by the bug's value.
SHIM_SOURCE = f"""
import sys
sys.path.insert(0, {str(MUTANTS_DIR)!r})
from mutants import Bug, mutant
globals().update({{bug.value: mutant(bug) for bug in Bug}})
"""


@dataclass(frozen=True)
class Timed:
    wall: float
    cpu: float  # user + system seconds of the run and every process it waited for
    exit_code: int
    verdicts: dict[str, str]

    @property
    def busy(self) -> float:
        return self.cpu / (self.wall * (os.cpu_count() or 1))


def run_timed(*options: str, env: dict[str, str] | None = None) -> Timed:
    with tempfile.TemporaryDirectory() as directory:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "conformance.cli", "run", *options],
            cwd=directory,
            capture_output=True,
            text=True,
            check=False,
            env=env,
        )
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        report = Path(directory) / "conformance-reports" / "results.json"
        if done.returncode not in (0, 1) or not report.exists():
            raise SystemExit(f"run {' '.join(options)} exited {done.returncode}:\n{done.stdout}")
        rows = json.loads(report.read_text())["requirements"]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    verdicts = {row["id"]: row["verdict"] for row in rows}
    return Timed(wall, cpu, done.returncode, verdicts)


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


def _median(runs: list[Timed]) -> Timed:
    ordered = sorted(runs, key=lambda run: run.wall)
    return ordered[len(ordered) // 2]


def _mutant_env(shim_dir: str) -> dict[str, str]:
    path = os.pathsep.join(filter(None, (shim_dir, os.environ.get("PYTHONPATH"))))
    return {**os.environ, "PYTHONPATH": path}


def _all_bugs() -> list[str]:
    sys.path.insert(0, str(MUTANTS_DIR))
    from mutants import Bug  # noqa: PLC0415  (tests/clients is on the path only here)

    return [bug.value for bug in Bug]


def figure_main_job(rounds: int) -> None:
    default, serial = [], []
    for n in range(rounds):  # interleaved, so noise hits both alike
        same = ("--seed", str(1000 + n))  # the very same cases in both runs
        default.append(run_timed(*same))
        serial.append(run_timed("-n", "0", *same))
    one, two = _median(default).wall, _median(serial).wall
    print(f"1. kaltura-conformance run (default profile): {one:6.2f} s   target <= 20 s")
    print(f"   the same with -n 0 (one process):           {two:6.2f} s   ({two / one:.2f}x)")


def figure_overhead(cases: int) -> None:
    overhead, client = case_overhead(cases)
    print(
        f"2. suite overhead per case, command client:   {overhead * 1000:6.1f} ms  "
        f"target < 50 ms (the client process itself ran {client * 1000:.1f} ms)"
    )


def figure_mutants(rounds: int, bugs: list[str], profiles: list[str]) -> list[Timed]:
    failing: list[Timed] = []
    targets = {"quick": 60, "default": 180}
    with tempfile.TemporaryDirectory() as shim_dir:
        Path(shim_dir, f"{SHIM}.py").write_text(SHIM_SOURCE)
        env = _mutant_env(shim_dir)
        for profile in profiles:
            print(
                f"3. mutant clients, {profile} profile, until the verdict "
                f"(target <= {targets.get(profile, '?')} s):"
            )
            for bug in bugs:
                runs = [
                    run_timed(
                        "--client",
                        f"{SHIM}:{bug}",
                        "--profile",
                        profile,
                        "--strict",
                        "--seed",
                        str(2000 + n),
                        env=env,
                    )
                    for n in range(rounds)
                ]
                median = _median(runs)
                failing += [run for run in runs if run.exit_code == 1]
                broken = sorted(
                    r for r, v in median.verdicts.items() if v in ("FAIL", "NON-STRICT")
                )
                print(
                    f"   {bug:<30} {median.wall:6.1f} s  exit {median.exit_code}  "
                    f"CPU busy {median.busy:4.0%}  broken: {', '.join(broken) or 'none'}"
                )
    return failing


def figure_hang(rounds: int) -> list[Timed]:
    runs = [
        run_timed("--client-cmd", "sleep 1000", "--profile", "quick", "--seed", str(3000 + n))
        for n in range(rounds)
    ]
    median = _median(runs)
    print(
        f"4. --client-cmd 'sleep 1000', quick profile: {median.wall:6.1f} s to UT-C14 "
        f"{median.verdicts.get('UT-C14')}   target <= 120 s"
    )
    return runs


def figure_busy(failing: list[Timed]) -> None:
    if not failing:
        return
    busy = statistics.median(run.busy for run in failing)
    print(
        f"5. CPU busy during failing runs: median {busy:.0%} of {os.cpu_count()} cores' "
        f"wall time ({len(failing)} runs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cases", type=int, default=50)
    parser.add_argument("--figures", default="1,2,3,4,5")
    parser.add_argument("--mutants", help="bug values, comma-separated (default: all)")
    parser.add_argument("--mutant-profiles", default="quick,default")
    args = parser.parse_args()
    figures = set(args.figures.split(","))
    print(
        f"suite_speed: {args.rounds} round(s) (medians), Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} cores"
    )
    failing: list[Timed] = []
    if "1" in figures:
        figure_main_job(args.rounds)
    if "2" in figures:
        figure_overhead(args.cases)
    if "3" in figures:
        bugs = args.mutants.split(",") if args.mutants else _all_bugs()
        failing += figure_mutants(args.rounds, bugs, args.mutant_profiles.split(","))
    if "4" in figures:
        failing += figure_hang(args.rounds)
    if "5" in figures:
        figure_busy(failing)


if __name__ == "__main__":
    main()
