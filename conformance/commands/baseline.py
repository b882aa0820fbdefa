"""`kaltura-conformance baseline`: the known failures of a saved run, as a baseline file.

    kaltura-conformance baseline --from conformance-reports/results.json \\
        --out conformance-baseline.toml [--expires-in 90 | --expires 2027-03-01]

Every requirement the run FAILed or found NON-STRICT becomes an entry with a placeholder
reason to fill in and an expiry date; `run --baseline FILE` then accepts those failures
until their dates (docs/baseline.md). Usage errors are one line naming the option, exit 2.
"""

from __future__ import annotations

import argparse
import datetime
from pathlib import Path

from conformance.baselines import baseline_from_results
from reports import ReportError, load
from reports.verdicts import BROKEN

__all__ = ["DEFAULT_DAYS", "add_arguments", "execute"]

DEFAULT_DAYS = 90
_USAGE = 2


def add_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--from",
        dest="source",
        default="conformance-reports/results.json",
        metavar="RESULTS_JSON",
        help="the results of a run (default: conformance-reports/results.json)",
    )
    sub.add_argument(
        "--out",
        default="conformance-baseline.toml",
        metavar="FILE",
        help="the baseline file to write (default: conformance-baseline.toml)",
    )
    when = sub.add_mutually_exclusive_group()
    when.add_argument(
        "--expires-in",
        metavar="DAYS",
        help=f"entries expire this many days from today (default: {DEFAULT_DAYS})",
    )
    when.add_argument("--expires", metavar="YYYY-MM-DD", help="entries expire on this date")
    sub.add_argument("--force", action="store_true", help="overwrite --out if it exists")


def execute(args: argparse.Namespace, prog: str, today: datetime.date | None = None) -> int:
    day = today or datetime.datetime.now(datetime.timezone.utc).date()
    try:
        expires = _expiry(args, day)
        out = _out(args)
        doc = load(args.source)
    except (ValueError, ReportError) as error:
        print(f"{prog} baseline: error: {_named(error)}")
        return _USAGE
    text = baseline_from_results(doc, expires)
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as error:
        print(f"{prog} baseline: error: --out={out}: cannot write ({error.strerror})")
        return _USAGE
    count = sum(1 for entry in doc["requirements"] if entry["verdict"] in BROKEN)
    print(f"wrote {out}: {count} known failure(s), expiring {expires.isoformat()}")
    if count:
        print("fill in each reason, then run with --baseline " + str(out))
    return 0


def _expiry(args: argparse.Namespace, today: datetime.date) -> datetime.date:
    if args.expires is not None:
        try:
            return datetime.date.fromisoformat(args.expires)
        except ValueError:
            raise ValueError(f"--expires={args.expires!r}: a date YYYY-MM-DD") from None
    if args.expires_in is None:
        return today + datetime.timedelta(days=DEFAULT_DAYS)
    text = str(args.expires_in)
    if not text.isdigit() or int(text) < 1 or int(text) > 36500:
        raise ValueError(f"--expires-in={text!r}: a number of days from 1 to 36500")
    return today + datetime.timedelta(days=int(text))


def _out(args: argparse.Namespace) -> Path:
    out = Path(args.out)
    if out.is_dir():
        raise ValueError(f"--out={out}: a directory; give a file name")
    if out.exists() and not args.force:
        raise ValueError(f"--out={out}: exists (its reasons would be lost); --force overwrites")
    return out


def _named(error: Exception) -> str:
    """A results-file problem is named by `--from`, the others name themselves."""
    text = str(error)
    return f"--from: {text}" if isinstance(error, ReportError) else text
