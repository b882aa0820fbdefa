"""Make docs/report-failing.png: the top of results.html for a failing client, as headless
Chromium shows it. The document comes from real cases (`tests/support/failing_report.py`).

    .venv/bin/python docs/report_screenshot.py [--out docs/report-failing.png]

Needs Debian's chromium (`/usr/bin/chromium`) and the dev extra (Playwright).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))

from chromium import CHROMIUM, browser_context  # noqa: E402
from failing_report import failing_document  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from reports import write_html  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "report-failing.png"))
    out = Path(parser.parse_args().out)
    if CHROMIUM is None:
        print("--out: no chromium on this machine", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as work:
        page_file = write_html(failing_document(), Path(work) / "results.html")
        with (
            sync_playwright() as playwright,
            browser_context(playwright, Path(work) / "profile", 1000, 1100) as context,
        ):
            page = context.new_page()
            page.goto(page_file.resolve().as_uri(), wait_until="load")
            page.screenshot(path=str(out))
    print(f"wrote {out} ({out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
