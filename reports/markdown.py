"""summary.md: a CI job summary (GitHub `$GITHUB_STEP_SUMMARY`, GitLab) of a results document.

Text from the document is treated as untrusted: outside code spans `<`, `>` and `&` become
entities (job summaries render HTML), table cells escape `|`, and every message is one line.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reports.disagreements import INTRO as DISAGREED_INTRO
from reports.disagreements import TITLE as DISAGREED
from reports.disagreements import lines as disagreement_lines
from reports.exercise import not_exercised_headline
from reports.files import write_text
from reports.schema import check
from reports.timelines import text_timeline
from reports.verdicts import BROKEN
from reports.view import (
    EMOJI,
    NOT_A_PASS,
    Outcome,
    baseline_lines,
    baseline_mark,
    counts_text,
    first_failing_case,
    harness_error_cases,
    outcome,
    partial_text,
    plural,
    printable,
    replay_case_rows,
    replay_requirement_rows,
    run_rows,
    shrink_text,
    split_code,
    unexercised_must,
)

__all__ = ["MAX_MESSAGES", "render_markdown", "write_markdown"]

MAX_MESSAGES = 3
MAX_HARNESS_ERRORS = 5
TITLE = "Kaltura upload conformance"


def render_markdown(doc: Mapping[str, Any], *, strict: bool = False) -> str:
    """The summary; `strict` judges NON-STRICT SHOULDs as failures, as `run.strict` does."""
    valid = check(dict(doc))
    result = outcome(valid, strict)
    blocks = [
        _headline(valid, result),
        *_replay(valid),
        _table(valid["requirements"]),
        *_baseline(valid),
        *_failures(valid),
        *_harness_errors(valid),
        *_disagreements(valid),
        _run(valid["run"]),
    ]
    return "\n\n".join(block for block in blocks if block) + "\n"


def write_markdown(doc: Mapping[str, Any], path: str | Path, *, strict: bool = False) -> Path:
    return write_text(path, render_markdown(doc, strict=strict))


def _headline(doc: Mapping[str, Any], result: Outcome) -> str:
    summary = doc["summary"]
    mode = " (strict)" if result.strict else ""
    facts = [
        f"{doc['run']['direction']} {code(doc['run']['target'])}",
        f"endpoint {code(doc['run']['endpoint'])}",
        plural(summary["cases"], "case"),
        f"{summary['must_failed']} MUST failed",
        f"{len(result.unexercised)} MUST not exercised",
        f"{summary['should_failed']} SHOULD non-strict",
        f"{plural(summary['harness_errors'], 'case')} with harness errors",
    ]
    title = f"# {result.emoji} {TITLE}: {result.title}{mode} (exit code {result.exit_code})"
    partial = partial_text(doc["run"])
    warning = f"**{prose(partial)}**" if partial else ""
    parts = (title, warning, _unexercised(result), " · ".join(facts))
    return "\n\n".join(part for part in parts if part)


def _unexercised(result: Outcome) -> str:
    """The unexercised MUSTs and their likely causes, under the headline."""
    if not result.unexercised:
        return ""
    ids = ", ".join(result.unexercised)
    lead = (
        f"Not exercised: {ids}."
        if result.titled_unexercised
        else f"**{not_exercised_headline(len(result.unexercised))}** ({ids})."
    )
    causes = "\n".join(f"- {prose(cause)}" for cause in result.causes)
    hint = (
        ""
        if result.require_exercised
        else "\n\n`--require-exercised` (or `--strict`) makes such a run exit 1."
    )
    return f"{lead} Likely causes:\n\n{causes}{hint}"


def _table(requirements: list[Mapping[str, Any]]) -> str:
    rows = ["| ID | Level | Verdict | Cases |", "| --- | --- | --- | --- |"]
    for entry in requirements:
        verdict = f"{EMOJI[entry['verdict']]} {entry['verdict']}"
        if unexercised_must(entry):
            verdict += f" ({NOT_A_PASS})"
        if baseline_mark(entry):
            verdict += f" · **{baseline_mark(entry)}**"
        cells = [entry["id"], entry["level"], verdict, counts_text(entry["counts"])]
        rows.append("| " + " | ".join(cell(text) for text in cells) + " |")
    return "\n".join(rows)


def _replay(doc: Mapping[str, Any]) -> list[str]:
    """A replay run: each saved failing case and requirement, FIXED, FAILED or FLAKY."""
    section = doc.get("replay")
    if section is None:
        return []
    intro = (
        f"The failing cases of {code(section['from'])}, each run {plural(section['times'], 'time')}"
        ": FIXED passed every time, FAILED failed every time, FLAKY some of each."
    )
    cases = ["| Saved cases | Broke | Runs | Replay |", "| --- | --- | --- | --- |"]
    cases += ["| " + " | ".join(cell(text) for text in row) + " |" for row in replay_case_rows(doc)]
    rules = ["| ID | Runs | Replay |", "| --- | --- | --- |"]
    rules += [
        "| " + " | ".join(cell(text) for text in row) + " |" for row in replay_requirement_rows(doc)
    ]
    return ["## Replay", intro, "\n".join(cases), "\n".join(rules)]


def _baseline(doc: Mapping[str, Any]) -> list[str]:
    found = baseline_lines(doc)
    if not found:
        return []
    return ["## Baseline", "\n".join(f"- {prose(line)}" for line in found)]


def _failures(doc: Mapping[str, Any]) -> list[str]:
    broken = [entry for entry in doc["requirements"] if entry["verdict"] in BROKEN]
    if not broken:
        return []
    return ["## Failures", *(_failure(doc, entry) for entry in broken)]


def _failure(doc: Mapping[str, Any], entry: Mapping[str, Any]) -> str:
    verdict = entry["verdict"]
    known = f" ({baseline_mark(entry)})" if baseline_mark(entry) else ""
    lines = [
        f"### {EMOJI[verdict]} {entry['id']} ({entry['level']}): {verdict}{known}",
        "",
        f"> {prose(entry['rule'])}",
    ]
    messages = entry["messages"][:MAX_MESSAGES]
    if messages:
        lines += ["", *(f"- {prose(message)}" for message in messages)]
    case = first_failing_case(doc, entry)
    if case is not None:
        lines += ["", _case_line(case)]
        if case["replay"]:
            lines += ["", *fenced(case["replay"], "sh")]
        lines += _timeline(case, entry["id"])
    return "\n".join(lines)


def _timeline(case: Mapping[str, Any], requirement_id: str) -> list[str]:
    """The case's requests, one line each in the order sent (`<< evidence` marks those the
    check names); nothing for a case recorded without a timeline."""
    timeline = case.get("timeline")
    if timeline is None or not timeline["requests"]:
        return []
    text = "\n".join(text_timeline(timeline, requirement_id))
    header = "Its requests (seconds from the first, lane, request, answer):"
    return ["", header, "", *fenced(text, "text")]


def _harness_errors(doc: Mapping[str, Any]) -> list[str]:
    cases = harness_error_cases(doc)
    if not cases:
        return []
    items = [_harness_item(case) for case in cases[:MAX_HARNESS_ERRORS]]
    if len(cases) > MAX_HARNESS_ERRORS:
        items.append(f"- … and {len(cases) - MAX_HARNESS_ERRORS} more (see results.html)")
    return ["## Harness errors", "\n".join(items)]


def _disagreements(doc: Mapping[str, Any]) -> list[str]:
    found = disagreement_lines(doc)
    if not found:
        return []
    items = "\n".join(f"- {prose(line)}" for line in found)
    return [f"## {DISAGREED}", prose(DISAGREED_INTRO), items]


def _harness_item(case: Mapping[str, Any]) -> str:
    detail = f": {prose(case['client']['detail'])}" if case["client"] else ""
    return f"- case #{case['index']} {code(case['test'])}{detail}"


def _case_line(case: Mapping[str, Any]) -> str:
    about = code(case["test"])
    if case["description"]:
        about += f": {prose(case['description'])}"
    shrink = shrink_text(case.get("shrink"))
    shrunk = f", {prose(shrink)}" if shrink else ""
    ending = "; replay it with:" if case["replay"] else "."
    return f"First failing case #{case['index']} ({about}){shrunk}{ending}"


def _run(run: Mapping[str, Any]) -> str:
    rows = ["## Run", "", "| | |", "| --- | --- |"]
    rows += [f"| {cell(label)} | {cell(code(value))} |" for label, value in run_rows(run)]
    return "\n".join(rows)


def prose(text: str) -> str:
    """Document text as one Markdown line: code spans kept, HTML outside them escaped."""
    line = " ".join(printable(text).split())
    return "".join(
        part if is_code else html.escape(part, quote=False) for is_code, part in split_code(line)
    )


def code(text: str) -> str:
    """`text` as an inline code span, whatever backticks it holds."""
    line = " ".join(printable(text).split())
    fence = "`" * (_longest_backtick_run(line) + 1)
    pad = " " if line.startswith("`") or line.endswith("`") else ""
    return f"{fence}{pad}{line}{pad}{fence}"


def fenced(text: str, language: str) -> list[str]:
    """`text` as a fenced code block, the fence longer than any backtick run inside."""
    fence = "`" * max(3, _longest_backtick_run(text) + 1)
    return [f"{fence}{language}", printable(text), fence]


def cell(text: str) -> str:
    """Text for a table cell: one line, `|` escaped (also inside code spans, as GFM wants)."""
    return " ".join(text.split()).replace("|", "\\|")


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)
