"""Debian's Chromium for the tests that need a real browser (and docs/report_screenshot.py).

`QUIET_FLAGS` keep a headless Chromium off the network it would reach on its own: on these
machines its background connections are refused, many at a time, and it looks up Google's
hosts at every start."""

from __future__ import annotations

import shutil

__all__ = ["CHROMIUM", "QUIET_FLAGS"]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
QUIET_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
