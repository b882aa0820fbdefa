"""`kaltura-conformance run`: client conformance through pytest, with reports.

With no target it judges the suite's reference client against the embedded loopback
server (the README's main job). With `--service-url` (and credentials) it judges that
server instead (server conformance, UT-S*), or with a client too, that client uploading to
that account. Exit codes: 0 every MUST passed (and, with --strict, every
SHOULD), 1 a MUST failed (or, with --require-exercised or --strict, no case exercised it),
2 a usage error, 3 a harness error, 130/143 stopped by SIGINT/SIGTERM (the finished cases
reported, marked interrupted).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import pytest

from conformance.live import live_target
from conformance.options import (
    OptionError,
    RunOptions,
    client_chunk_size,
    requirement_ids,
    writable_directory,
)
from conformance.suite.groups import runnable
from reports import exit_code

__all__ = ["add_arguments", "execute"]

_USAGE = 2
_HARNESS = 3
_SIGNALLED = (130, 143)  # SIGINT, SIGTERM: 128 + the signal (conformance.interrupts)


def add_arguments(sub: argparse.ArgumentParser) -> None:
    target = sub.add_mutually_exclusive_group()
    target.add_argument("--client-cmd", metavar="CMD", help='e.g. "node upload.js {file}"')
    target.add_argument("--client", metavar="MODULE:FUNCTION", help="a Python callable")
    sub.add_argument("--profile", default="default", help="quick, default or thorough")
    sub.add_argument("--requirements", metavar="IDS", help="only these, e.g. UT-C10,UT-C18")
    sub.add_argument(
        "--report-dir",
        default="conformance-reports",
        help="where reports go (conformance-reports/)",
    )
    sub.add_argument(
        "--time-limit",
        type=float,
        metavar="SECONDS",
        help="a client's time per case (quick 30, default 60, thorough 120)",
    )
    sub.add_argument("--final-wait", type=float, default=0.2, metavar="SECONDS")
    sub.add_argument("--strict", action="store_true", help="SHOULD failures fail the run")
    sub.add_argument(
        "--require-exercised",
        action="store_true",
        help="a MUST no case exercised fails the run (--strict implies it)",
    )
    sub.add_argument("--in-process", action="store_true", help="serve httpx clients over respx")
    sub.add_argument("--replay", metavar="SCENARIO_JSON", help="run exactly this case")
    shrink = sub.add_mutually_exclusive_group()
    shrink.add_argument(
        "--shrink-time",
        type=float,
        metavar="SECONDS",
        help="how long a failing group may shrink (quick 20, default 60, thorough 300)",
    )
    shrink.add_argument("--no-shrink", action="store_true", help="report the first failure")
    sub.add_argument("--client-chunk-size", metavar="SIZE", help="the client's own, e.g. 10MB")
    sub.add_argument("--seed", type=int, help="the Hypothesis seed (printed by every run)")
    sub.add_argument(
        "-n",
        "--workers",
        help="pytest-xdist workers, or auto (default: one per group of cases, at once)",
    )
    live = sub.add_argument_group("live account (KALTURA_* variables are read too)")
    live.add_argument("--service-url", metavar="URL", help="judge this server (UT-S*)")
    live.add_argument("--partner-id", metavar="N")
    live.add_argument("--admin-secret", metavar="SECRET", help="or KALTURA_ADMIN_SECRET")
    live.add_argument("--ks", metavar="KS", help="a KS instead of the admin secret")
    live.add_argument("--slow-closes", action="store_true", help="run the early-close checks")
    live.add_argument("--close-wait", type=float, metavar="SECONDS", help="server's (45)")
    for name, kind in _BUDGETS.items():
        live.add_argument(f"--{name}", type=kind, metavar="N", help="budget (see README)")


_BUDGETS: dict[str, type] = {
    "max-requests": int,
    "max-bytes": int,
    "max-concurrency": int,
    "max-rps": float,
}
_LIVE = ("service-url", "partner-id", "admin-secret", "ks", "close-wait", *_BUDGETS)


def execute(args: argparse.Namespace, prog: str) -> int:
    try:
        options = _options(args)
    except OptionError as error:
        # The same checks serve pytest's --kaltura-* options; here they are called --*.
        print(f"{prog} run: error: {str(error).replace('--kaltura-', '--')}")
        return _USAGE
    report = Path(options.report_dir) / "results.json"
    if report.exists():
        report.unlink()  # a stale report must never speak for this run
    status = pytest.main(_pytest_args(args, options))
    return _exit_code(status, report, options.strict, options.require_exercised)


def _options(args: argparse.Namespace) -> RunOptions:
    options = RunOptions(
        client_cmd=args.client_cmd,
        client=args.client,
        profile=args.profile,
        requirements=requirement_ids(args.requirements),
        report_dir=args.report_dir,
        time_limit=args.time_limit,
        final_wait=args.final_wait,
        strict=args.strict,
        require_exercised=args.require_exercised,
        in_process=args.in_process,
        replay=args.replay,
        shrink_time=args.shrink_time,
        no_shrink=args.no_shrink,
        client_chunk_size=client_chunk_size(args.client_chunk_size),
    )
    options.client_runner()  # a bad --client-cmd or --client fails here, in one line
    writable_directory("--report-dir", options.report_dir)
    live_target({name.replace("-", "_"): value for name, value in _live_values(args)})
    if args.workers is not None and args.workers != "auto" and not args.workers.isdigit():
        raise OptionError(f"-n={args.workers!r}: a number of workers, or auto")
    return options


def _pytest_args(args: argparse.Namespace, options: RunOptions) -> list[str]:
    """The suite's own pytest run, independent of any pytest config in the cwd."""
    argv = ["--pyargs", "conformance.suite", "-c", os.devnull, "-q", "--tb=short"]
    # Plugins a conformance run never uses: each xdist worker would import them (~1 s).
    argv += ["-p", "no:cacheprovider", "-p", "no:anyio", "-p", "no:respx", "-p", "no:cov"]
    argv += ["-W", "ignore::pytest.PytestAssertRewriteWarning"]  # we imported conformance first
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        argv += ["-p", "conformance.plugin", "-p", "xdist.plugin", "-p", "hypothesis"]
    argv += ["--kaltura-profile", options.profile, "--kaltura-report-dir", options.report_dir]
    argv += _given("--kaltura-time-limit", _text(options.time_limit))
    argv += ["--kaltura-final-wait", str(options.final_wait)]
    argv += _given("--client-cmd", options.client_cmd) + _given("--client", options.client)
    argv += _given("--kaltura-requirements", ",".join(options.requirements or ()) or None)
    argv += _given("--kaltura-replay", options.replay)
    argv += _given("--kaltura-shrink-time", _text(options.shrink_time))
    argv += ["--kaltura-no-shrink"] if options.no_shrink else []
    chunk = options.client_chunk_size
    argv += _given("--kaltura-client-chunk-size", None if chunk is None else str(chunk))
    argv += _given("--hypothesis-seed", None if args.seed is None else str(args.seed))
    argv += ["--kaltura-strict"] if options.strict else []
    argv += ["--kaltura-require-exercised"] if options.require_exercised else []
    argv += ["--kaltura-slow-closes"] if args.slow_closes else []
    for name, value in _live_values(args):
        argv += [f"--kaltura-{name}", str(value)]
    argv += ["--kaltura-in-process"] if options.in_process else []
    # load: the suite orders its longest shards first, and load hands them out in order
    workers = _workers(args, options)
    argv += ["-n", workers, "--dist", "load"] if workers != "0" else []
    return argv


def _workers(args: argparse.Namespace, options: RunOptions) -> str:
    """`-n` as given; by default one xdist worker per group of cases, however many cores:
    a case mostly waits (on the client, a held chunk, a close retried after a pause), and
    a failing group shrinks for up to its budget, so the groups run side by side and a
    verdict comes after one budget, not one per group. A server run and a replay: one."""
    if args.workers is not None:
        return str(args.workers)
    server_run = args.service_url or os.environ.get("KALTURA_SERVICE_URL")
    if options.replay is not None or (server_run and not (options.client_cmd or options.client)):
        return "0"
    live = bool(server_run)
    count = len(runnable(requirements=options.requirements, live=live))
    return "0" if count <= 1 else str(count)


def _live_values(args: argparse.Namespace) -> list[tuple[str, object]]:
    """The live options given, by option name (without the leading dashes)."""
    given = ((name, getattr(args, name.replace("-", "_"))) for name in _LIVE)
    return [(name, value) for name, value in given if value is not None]


def _given(flag: str, value: str | None) -> list[str]:
    return [] if value is None else [flag, value]


def _text(value: float | None) -> str | None:
    return None if value is None else repr(value)


def _exit_code(
    pytest_status: int | pytest.ExitCode, report: Path, strict: bool, require_exercised: bool
) -> int:
    if int(pytest_status) == pytest.ExitCode.USAGE_ERROR:
        return _USAGE
    if int(pytest_status) in _SIGNALLED:  # the reports of the finished cases are written
        return int(pytest_status)
    if not report.exists():
        return _HARNESS  # the run broke before judging anything
    try:
        document = json.loads(report.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return _HARNESS
    return exit_code(document, strict=strict, require_exercised=require_exercised)
