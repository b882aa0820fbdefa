"""The pytest plugin (entry point `pytest11`), loaded in every pytest run of an environment
where the suite is installed — the user's unrelated suites included.

So it imports nothing heavy and changes nothing unless asked: today it only declares the
`requirement` marker that ties a test to catalogue IDs. Fixtures, options and reports for
conformance runs arrive with the endpoints and the suite.
"""

from __future__ import annotations

import pytest

__all__ = ["REQUIREMENT_MARKER"]

REQUIREMENT_MARKER = "requirement"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{REQUIREMENT_MARKER}(*ids): the UT-C/UT-S requirement IDs a test checks",
    )
