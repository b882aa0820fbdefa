"""Report writers for conformance results (JSON, Markdown, HTML, JUnit).

This package renders a saved results document made of plain dicts (schema v1, see
`reports.schema`) and imports nothing from `conformance` or `strategies` (enforced by
import-linter): results travel as data, so a report can be re-rendered from a saved file.

    builder = ResultsBuilder(run)             # run metadata
    builder.add_requirement(rid, level, rule)  # for every requirement selected
    builder.add_case(case)                    # from any worker, in any order
    write_reports(builder.build(), "out/")    # results.json, summary.md, junit.xml, results.html
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reports.collect import ResultsBuilder, merge_observations
from reports.exercise import must_not_exercised, not_exercised_causes, not_exercised_headline
from reports.html import render_html, write_html
from reports.json_report import render_json, write_json
from reports.junit import render_junit, write_junit
from reports.leaks import find_secrets
from reports.markdown import render_markdown, write_markdown
from reports.schema import SCHEMA_ID, ReportError, check, load, validate
from reports.verdicts import ORDER, Level, Verdict, aggregate_verdict, exit_code

__all__ = [
    "FILES",
    "ORDER",
    "SCHEMA_ID",
    "Level",
    "ReportError",
    "ResultsBuilder",
    "Verdict",
    "aggregate_verdict",
    "check",
    "exit_code",
    "find_secrets",
    "load",
    "merge_observations",
    "must_not_exercised",
    "not_exercised_causes",
    "not_exercised_headline",
    "render_html",
    "render_json",
    "render_junit",
    "render_markdown",
    "validate",
    "write_html",
    "write_json",
    "write_junit",
    "write_markdown",
    "write_reports",
]

# Report kind -> file name, in the order they are written.
FILES: Mapping[str, str] = {
    "json": "results.json",
    "markdown": "summary.md",
    "junit": "junit.xml",
    "html": "results.html",
}


def write_reports(
    doc: Mapping[str, Any], directory: str | Path, *, strict: bool = False
) -> dict[str, Path]:
    """Write every report of `doc` into `directory` (created if needed); returns the paths
    by kind (`json`, `markdown`, `junit`, `html`).

    The document is validated once before anything is written, so an invalid one leaves no
    partial set of files. `strict` (or the run's own `strict`) makes NON-STRICT a failure in
    the rendered reports (and, as `--strict` does, a MUST that no case exercised);
    results.json is the document unchanged.
    """
    valid = check(dict(doc))
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "json": write_json(valid, folder / FILES["json"]),
        "markdown": write_markdown(valid, folder / FILES["markdown"], strict=strict),
        "junit": write_junit(valid, folder / FILES["junit"], strict=strict),
        "html": write_html(valid, folder / FILES["html"], strict=strict),
    }
