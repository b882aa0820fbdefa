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
from conformance.options import RunOptions, run_options, writable_directory
from conformance.optiontable import CLI, OPTIONS, OptionError, pytest_argv
from conformance.suite.configured import shard_lanes_of
from conformance.suite.groups import runnable
from reports import exit_code

__all__ = ["add_arguments", "execute", "suite_argv"]

_USAGE = 2
_HARNESS = 3
_SIGNALLED = (130, 143)  # SIGINT, SIGTERM: 128 + the signal (conformance.interrupts)


def add_arguments(sub: argparse.ArgumentParser) -> None:
    """The options of `conformance.optiontable` as this command spells them, and the
    command's own: how pytest runs (`--seed`, `-n`), not what the suite judges."""
    live = sub.add_argument_group("live account (KALTURA_* variables are read too)")
    CLI.declare(sub.add_argument, live.add_argument)
    sub.add_argument("--seed", type=int, help="the Hypothesis seed (printed by every run)")
    sub.add_argument(
        "-n",
        "--workers",
        help="pytest-xdist workers, or auto (default: one per group of cases, at once)",
    )


def execute(args: argparse.Namespace, prog: str) -> int:
    try:
        options = _options(args)
    except OptionError as error:  # named as this command spells it
        print(f"{prog} run: error: {error}")
        return _USAGE
    report = Path(options.report_dir) / "results.json"
    if report.exists():
        report.unlink()  # a stale report must never speak for this run
    status = pytest.main(_pytest_args(args, options))
    return _exit_code(status, report, options.strict, options.require_exercised)


def _given(args: argparse.Namespace) -> dict[str, object]:
    return CLI.given(lambda dest: getattr(args, dest))


def _options(args: argparse.Namespace) -> RunOptions:
    """The run's options, checked."""
    given = _given(args)
    options = run_options(given, CLI)
    options.client_runner()  # a bad --client-cmd or --client fails here, in one line
    options.baseline_file()  # so does a malformed --baseline, before any case runs
    writable_directory(CLI.flag("report_dir"), options.report_dir)
    live = live_target(given, front=CLI) is not None
    if options.shard is not None and _server_run(options, live=live):
        flag = CLI.flag("shard")
        raise OptionError(f"{flag}: shards split a client's cases; a server run is whole")
    if args.workers is not None and args.workers != "auto" and not args.workers.isdigit():
        raise OptionError(f"-n={args.workers!r}: a number of workers, or auto")
    return options


def suite_argv() -> list[str]:
    """The suite's own pytest run, independent of any pytest config in the cwd (the run's
    options are added to it)."""
    argv = ["--pyargs", "conformance.suite", "-c", os.devnull, "-q", "--tb=short"]
    # Plugins a conformance run never uses: each xdist worker would import them (~1 s).
    argv += ["-p", "no:cacheprovider", "-p", "no:anyio", "-p", "no:respx", "-p", "no:cov"]
    argv += ["-W", "ignore::pytest.PytestAssertRewriteWarning"]  # we imported conformance first
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        argv += ["-p", "conformance.plugin", "-p", "xdist.plugin", "-p", "hypothesis"]
    return argv


def _pytest_args(args: argparse.Namespace, options: RunOptions) -> list[str]:
    argv = suite_argv()
    # The run's options as checked (the chunk size in bytes, --strict's implication), the
    # live account's as typed (the environment's are read there again).
    given = _given(args)
    live = live_target(given, front=CLI) is not None
    account = {o.name: given[o.name] for o in OPTIONS if o.live}
    run = {o.name: getattr(options, o.name) for o in OPTIONS if not o.live}
    argv += pytest_argv({**account, **run})
    argv += [] if args.seed is None else ["--hypothesis-seed", str(args.seed)]
    # load: the suite orders its longest groups (most lanes) first, and load hands them out in order
    workers = _workers(args, options, live=live)
    argv += ["-n", workers, "--dist", "load"] if workers != "0" else []
    return argv


def _workers(args: argparse.Namespace, options: RunOptions, *, live: bool) -> str:
    """`-n` as given; by default one xdist worker per group of cases, however many cores:
    a case mostly waits (on the client, a held chunk, a close retried after a pause), and
    a failing group shrinks for up to its budget, so the groups run side by side and a
    verdict comes after one budget, not one per group. A server run and a replay: one."""
    if args.workers is not None:
        return str(args.workers)
    if options.replay is not None or _server_run(options, live=live):
        return "0"
    groups = runnable(requirements=options.requirements, live=live)
    dealt = shard_lanes_of(options, live=live)  # a CI job runs the groups dealt to it
    count = len([g for g in groups if dealt is None or dealt.get(g.name)])
    return "0" if count <= 1 else str(count)


def _server_run(options: RunOptions, *, live: bool) -> bool:
    """A live URL and no client: the run judges the server."""
    return live and not (options.client_cmd or options.client)


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
