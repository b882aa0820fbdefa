"""results.html of a failing run, rendered in a real browser (headless Debian Chromium,
driven by Playwright without a browser download of its own), judged from the rendered DOM:
the failing section is open and on screen, its timeline has one bar per traced request of
the case, the evidence bars are drawn highlighted, the copy button's script ran, and there
is no console error and no request but the file itself.

The document comes from real cases (`tests/support/failing_report.py`: a mutant client
against a loopback endpoint, about a second). Skipped, with the reason, where no Chromium or
no Playwright can be had (`.ci/run` installs Debian's chromium).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chromium import CHROMIUM, browser_context
from failing_report import failing_document

from reports import write_html

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return failing_document()


@pytest.fixture(scope="module")
def rendered(
    document: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, list[str], list[str]]]:
    """The page as Chromium rendered it, its console errors and every URL it requested."""
    page_file = write_html(document, tmp_path_factory.mktemp("report") / "results.html")
    profile = tmp_path_factory.mktemp("profile")
    errors: list[str] = []
    requested: list[str] = []
    with (
        sync_api.sync_playwright() as playwright,
        browser_context(playwright, profile, 1100, 900) as context,
    ):
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("request", lambda request: requested.append(request.url))
        page.goto(Path(page_file).resolve().as_uri(), wait_until="load")
        yield page, errors, requested


def _featured(document: dict[str, Any], requirement_id: str) -> dict[str, Any]:
    requirement = next(r for r in document["requirements"] if r["id"] == requirement_id)
    case: dict[str, Any] = document["cases"][requirement["failing_cases"][0]]
    return case


def test_the_failing_section_is_open_on_screen(
    rendered: tuple[Any, list[str], list[str]], document: dict[str, Any]
) -> None:
    page, _, _ = rendered
    broken = [r["id"] for r in document["requirements"] if r["verdict"] in ("FAIL", "NON-STRICT")]
    assert broken, "the mutant broke nothing: the test shows nothing"
    shown = page.eval_on_selector_all(
        "#failures details.failure", "all => all.map(d => [d.dataset.requirement, d.open])"
    )
    assert shown == [[rid, True] for rid in broken]
    first = page.locator("#failures details.failure").first
    assert first.locator("svg.timeline").is_visible()
    box = page.locator("#failures h2").bounding_box()
    assert box is not None
    assert box["y"] < 900  # above the fold: what went wrong, without scrolling


def test_each_timeline_has_one_bar_per_traced_request_and_highlights_the_evidence(
    rendered: tuple[Any, list[str], list[str]], document: dict[str, Any]
) -> None:
    page, _, _ = rendered
    sections = page.locator("#failures details.failure")
    for n in range(sections.count()):
        section = sections.nth(n)
        rid = section.get_attribute("data-requirement")
        case = _featured(document, rid)
        bars = section.locator("svg.timeline g.bar")
        assert bars.count() == case["trace"]["requests"] == len(case["timeline"]["requests"])
        ids = sorted(int(i) for i in bars.evaluate_all("all => all.map(b => b.dataset.id)"))
        assert ids == sorted(r["id"] for r in case["timeline"]["requests"])
        evidence = section.locator("svg.timeline g.bar.evidence")
        named = sorted(set(case["timeline"]["evidence"][rid]))
        drawn = sorted(int(i) for i in evidence.evaluate_all("all => all.map(b => b.dataset.id)"))
        assert drawn == named
        widths = bars.evaluate_all(
            "all => all.map(b => [b.classList.contains('evidence'),"
            " getComputedStyle(b.querySelector('rect')).strokeWidth])"
        )
        for is_evidence, width in widths:
            assert (float(width.removesuffix("px")) > 2) == is_evidence


def test_no_console_error_no_network_and_the_copy_button_works(
    rendered: tuple[Any, list[str], list[str]],
) -> None:
    page, errors, requested = rendered
    assert errors == []
    assert requested == [page.url]  # the file itself, nothing else
    assert page.locator("button.copy").first.is_visible()  # the script ran
