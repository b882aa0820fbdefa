"""`kaltura-conformance merge DIR…`: the CI jobs of one sharded run (`--shard I/N`) joined
into one results document, every report format and one exit code (`reports.merge`).

Exit codes: those of `run` for the joined document (0, 1, 3); 2 when the directories are not
the jobs of one run, or cannot be read: one line naming what and which directory.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from conformance.options import OptionError, writable_directory
from conformance.reporting import summary_lines, write_results
from reports import FILES, ReportError, load
from reports.merge import merge_shards

__all__ = ["add_arguments", "execute"]

_USAGE = 2


def add_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "directories", nargs="+", metavar="DIR", help="a CI job's report directory (results.json)"
    )
    sub.add_argument(
        "--report-dir",
        default="conformance-reports",
        metavar="OUT",
        help="where the merged reports go (default: conformance-reports)",
    )
    sub.add_argument(
        "--allow-partial",
        action="store_true",
        help="merge even when a job's results are missing (the reports say which)",
    )


def execute(args: argparse.Namespace, prog: str) -> int:
    try:
        document = _merged(args)
    except (ReportError, OptionError) as error:
        print(f"{prog} merge: error: {error}")
        return _USAGE
    write_results(document, args.report_dir)
    for line in summary_lines(document, args.report_dir):
        print(line)
    return int(document["summary"]["exit_code"])


def _merged(args: argparse.Namespace) -> dict[str, Any]:
    out = Path(args.report_dir).resolve()
    if any(Path(directory).resolve() == out for directory in args.directories):
        raise OptionError(f"--report-dir={args.report_dir}: one of the jobs' directories")
    writable_directory("--report-dir", args.report_dir)
    sources = [(name, load(Path(name) / FILES["json"])) for name in args.directories]
    return merge_shards(sources, allow_partial=args.allow_partial)
