"""Debian's Chromium for the tests that need a real browser (and docs/report_screenshot.py).

`QUIET_FLAGS` keep a headless Chromium off the network it would reach on its own: on these
machines its background connections are refused, many at a time, and it looks up Google's
hosts at every start."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["CHROMIUM", "QUIET_FLAGS", "browser_context"]

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


@contextmanager
def browser_context(playwright: Any, profile: Path, width: int, height: int) -> Iterator[Any]:
    """A headless Debian Chromium driven by Playwright (`playwright` from `sync_playwright`),
    a fresh profile in `profile`, off the network; closed at the end."""
    context = playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=CHROMIUM,
        headless=True,
        args=list(QUIET_FLAGS),
        viewport={"width": width, "height": height},
    )
    try:
        yield context
    finally:
        context.close()
