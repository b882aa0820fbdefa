"""Re-render every report from a saved results file.

    python -m reports results.json --out DIR [--strict]

Exits 0 when the reports were written, 2 on a bad file or bad arguments (one line on
stderr). It does not exit with the results' own code: rendering is not judging.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from reports import ReportError, load, write_reports

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m reports",
        description="Render results.json, summary.md, junit.xml and results.html from a "
        "saved results file.",
    )
    parser.add_argument("results", help="a results.json written by the suite")
    parser.add_argument("--out", required=True, help="the directory to write the reports into")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="count NON-STRICT (a broken SHOULD) and a MUST no case exercised as failures",
    )
    args = parser.parse_args(argv)
    try:
        doc = load(args.results)
        written = write_reports(doc, args.out, strict=args.strict)
    except ReportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: cannot write the reports: {' '.join(str(error).split())}", file=sys.stderr)
        return 2
    for path in written.values():
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
