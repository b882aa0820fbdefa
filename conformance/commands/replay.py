"""`kaltura-conformance replay RESULTS_JSON`: a saved run's failing cases, run again.

    kaltura-conformance replay conformance-reports/results.json [--times 3] \\
        [--report-dir conformance-reports/replay] [--client-cmd CMD | --client M:F]

Every failing case of the saved client run (a FAIL, NON-STRICT or HARNESS-ERROR verdict)
runs again N times, exactly: its scenario, through the `--replay` option of an ordinary
run (`conformance.suite.test_client.test_replay`), with the saved run's options
(`run.options`: the client, its time limit, the close wait, the client chunk size; for a
document written before that field, the client from the cases' replay commands). A
`--client-cmd` or `--client` given here replaces the saved client: a repaired build.

The replay run writes the usual reports, whose results document carries a `replay`
section: each case FIXED (passed every time), FAILED (every time) or FLAKY (with the
counts), and each requirement likewise (`reports.replay`). Exit 0 when every case is
FIXED, 1 when any is FAILED or FLAKY, 2 a usage error, 3 a harness error.

A case of a run through the proxy on a live account is replayed on the suite's own
endpoint (and the replay says so): the live account's answers are not part of a scenario.
"""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path
from typing import Any

import pytest

from conformance.commands.run import suite_argv
from conformance.options import RunOptions, run_options, writable_directory
from conformance.optiontable import CLI, OPTIONS, OptionError, pytest_argv
from reports import ReportError, exit_code, load, write_reports
from reports.replay import replay_section, to_replay
from reports.view import replay_case_rows, replay_requirement_rows

__all__ = ["DEFAULT_TIMES", "add_arguments", "execute"]

DEFAULT_TIMES = 3
MAX_TIMES = 100
_USAGE, _HARNESS = 2, 3
_SIGNALLED = (130, 143)
# What a case needs besides its scenario, as `run.options` records it.
_CASE_OPTIONS = ("client_cmd", "client", "time_limit", "final_wait", "client_chunk_size")


def add_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("results", metavar="RESULTS_JSON", help="the results of a client run")
    sub.add_argument(
        "--times", default=str(DEFAULT_TIMES), metavar="N", help="runs per case (default: 3)"
    )
    sub.add_argument(
        "--report-dir",
        default="conformance-reports/replay",
        metavar="DIR",
        help="where the replay's reports go (default: conformance-reports/replay)",
    )
    client = sub.add_mutually_exclusive_group()
    client.add_argument("--client-cmd", metavar="CMD", help="replay with this client instead")
    client.add_argument("--client", metavar="MODULE:FUNCTION", help="the same, a callable")


def execute(args: argparse.Namespace, prog: str) -> int:
    try:
        times = _times(args.times)
        saved = _saved(args.results)
        scenarios = [scenario for scenario, _ in to_replay(saved)]
        if not scenarios:
            print(f"{args.results}: no failing case to replay")
            return 0
        options = _options(saved, args, scenarios * times)
    except (OptionError, ReportError) as error:
        print(f"{prog} replay: error: {error}")
        return _USAGE
    report = Path(options.report_dir) / "results.json"
    if report.exists():
        report.unlink()  # a stale report must never speak for this replay
    print(f"replaying {len(scenarios)} failing case(s) of {args.results}, {times} time(s) each")
    if saved["run"]["endpoint"].startswith("proxy "):
        print(f"note: that run was on {saved['run']['endpoint']}; this replay is on the suite's")
        print("own endpoint (a live account's answers are not replayed)")
    status = int(pytest.main(_argv(options)))
    if status == pytest.ExitCode.USAGE_ERROR:
        return _USAGE
    if status in _SIGNALLED:
        return status
    return _judge(saved, report, source=args.results, times=times)


def _times(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_TIMES:
        raise OptionError(f"--times={text!r}: a whole number from 1 to {MAX_TIMES}")
    return int(text)


def _saved(path: str) -> dict[str, Any]:
    try:
        doc = load(path)
    except ReportError as error:
        raise ReportError(f"RESULTS_JSON: {error}") from None
    if doc["run"]["direction"] != "client":
        raise ReportError(
            f"RESULTS_JSON: {path} is a server run; replay is for client runs (rerun a server "
            "with kaltura-conformance run --service-url …)"
        )
    return doc


def _options(
    saved: dict[str, Any], args: argparse.Namespace, scenarios: list[dict[str, Any]]
) -> RunOptions:
    """The saved run's options for a case, the given client instead of its own."""
    run = saved["run"]
    case = dict(run.get("options") or _from_replay_commands(saved))
    if args.client_cmd is not None or args.client is not None:
        case.update(client_cmd=args.client_cmd, client=args.client)
    given = {name: case.get(name) for name in _CASE_OPTIONS}
    given |= {"in_process": bool(case.get("in_process")), "profile": run["profile"]}
    given |= {"strict": run["strict"], "report_dir": args.report_dir}
    selected = run["requirements_selected"]  # the same rows as the saved run's reports
    given["requirements"] = ",".join(selected) if selected else None
    given["replay"] = json.dumps(scenarios, separators=(",", ":"))
    options = run_options(given, CLI)
    options.client_runner()  # a client that cannot start: one line, now
    writable_directory("--report-dir", options.report_dir)
    return options


def _from_replay_commands(saved: dict[str, Any]) -> dict[str, Any]:
    """The client of a document written before `run.options`: from a case's replay command
    (`kaltura-conformance run --client-cmd '…' --replay '…'`)."""
    for case in saved["cases"]:
        words = shlex.split(case["replay"] or "")
        for flag in ("--client-cmd", "--client"):
            if flag in words[:-1]:
                value = words[words.index(flag) + 1]
                return {"client_cmd": value} if flag == "--client-cmd" else {"client": value}
    return {}


def _argv(options: RunOptions) -> list[str]:
    values = {o.name: getattr(options, o.name) for o in OPTIONS if not o.live}
    return suite_argv() + pytest_argv(values)  # one process: the cases run in turn


def _judge(saved: dict[str, Any], report: Path, *, source: str, times: int) -> int:
    try:
        doc = load(report)
    except ReportError:
        return _HARNESS  # the replay broke before judging anything
    doc["replay"] = replay_section(saved, doc["cases"], source=source, times=times)
    doc["summary"]["exit_code"] = exit_code(doc)
    write_reports(doc, report.parent)
    for line in _lines(doc, report.parent):
        print(line)
    code: int = doc["summary"]["exit_code"]
    return code


def _lines(doc: dict[str, Any], directory: Path) -> list[str]:
    section = doc["replay"]
    lines = ["", f"replay of {section['from']}, {section['times']} run(s) per case:"]
    for saved, broke, counts, status in replay_case_rows(doc):
        lines.append(f"  case {saved:<10} {status:<7} {counts} ({broke})")
    for rid, counts, status in replay_requirement_rows(doc):
        lines.append(f"  {rid:<15} {status:<7} {counts}")
    lines.append(f"exit code {doc['summary']['exit_code']}; reports: {directory.resolve()}")
    return lines
