"""results.html: one self-contained page (inline CSS and SVG, no external assets).

A header with the result and the run; then what failed, first and open (`reports.failures`:
each broken requirement's shrunk case with its request timeline, evidence, byte map and
replay command); the requirement table with verdict badges (in words, coloured too); a
collapsible `<details>` per requirement (rule, messages, failing cases with their replay
commands; NOT-EXERCISED drawn dashed, never like a PASS) and the table of cases, the sampled
passing ones with their timeline folded. The only script is the copy button's, and the
page reads the same without it. Every piece of text from the document is escaped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from html import escape
from pathlib import Path
from typing import Any, Final

from reports.disagreements import INTRO as DISAGREED_INTRO
from reports.disagreements import TITLE as DISAGREED
from reports.disagreements import lines as disagreement_lines
from reports.exercise import not_exercised_headline
from reports.failures import COPY_SCRIPT, DRAWING_CSS, failure_section, table_drawings
from reports.files import write_text
from reports.schema import check
from reports.verdicts import FAILING, Verdict
from reports.view import (
    NOT_A_PASS,
    Outcome,
    baseline_lines,
    baseline_mark,
    counts_text,
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
from reports.view import html_text as _text

__all__ = ["MAX_LISTED_CASES", "render_html", "write_html"]

TITLE = "Kaltura upload conformance"
MAX_LISTED_CASES = 20  # cases listed per requirement; the cases table has them all
_HARNESS = Verdict.HARNESS_ERROR
# CSS class per verdict: fixed names, never built from document text.
_CLASS: Final[Mapping[str, str]] = {
    Verdict.PASS: "pass",
    Verdict.FAIL: "fail",
    Verdict.NON_STRICT: "nonstrict",
    Verdict.NOT_EXERCISED: "skipped",
    Verdict.INFORMATIONAL: "info",
    Verdict.HARNESS_ERROR: "harness",
}
_BASELINE_CLASS: Final[Mapping[str, str]] = {"KNOWN": "skipped", "FIXED": "pass", "EXPIRED": "fail"}
_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1f2328}
header{padding:1.2em 2em;border-bottom:4px solid #1a7f37;background:#f6f8fa}
header.failed{border-color:#cf222e}
header.unexercised{border-color:#bf8700}
.unexercised-note{border-left:4px solid #bf8700;padding:.2em .8em;margin:.6em 0;background:#fff8c5}
tr.unexercised td{background:#fff8c5}
.notpass{font-weight:600;color:#9a6700}
main{padding:0 2em 2em}
h1{margin:0 0 .3em;font-size:1.6em}
table{border-collapse:collapse;margin:.6em 0;width:100%}
th,td{border:1px solid #d0d7de;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f6f8fa}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.92em}
pre{background:#f6f8fa;padding:.5em;white-space:pre-wrap;word-break:break-all}
dl.run{display:grid;grid-template-columns:max-content 1fr;gap:.1em 1em;margin:.5em 0 0}
dl.run dt{font-weight:600}
dl.run dd{margin:0}
details{border:1px solid #d0d7de;border-radius:6px;margin:.5em 0;padding:.3em .8em}
summary{cursor:pointer;font-weight:600}
blockquote{margin:.5em 0;padding-left:1em;border-left:4px solid #d0d7de;color:#444}
.badge{display:inline-block;padding:0 .5em;border-radius:1em;color:#fff;font-size:.85em;
  font-weight:600;white-space:nowrap}
.badge.pass{background:#1a7f37}.badge.fail{background:#cf222e}
.badge.nonstrict{background:#bc4c00}.badge.skipped{background:#6e7781}
.badge.info{background:#0969da}.badge.harness{background:#8250df}
details.skipped{border-style:dashed;background:#f6f8fa}
"""


def render_html(doc: Mapping[str, Any], *, strict: bool = False) -> str:
    """The page; `strict` judges NON-STRICT SHOULDs as failures, as `run.strict` does."""
    valid = check(dict(doc))
    result = outcome(valid, strict)
    title = f"{TITLE}: {result.title}"
    failures = failure_section(valid, _badge, _rich)
    body = [
        _header(valid, strict),
        "<main>",
        failures,
        *_replay_section(valid),
        _section("Requirements", _requirement_table(valid["requirements"])),
        *_baseline(valid),
        _section("Details", "\n".join(_details(valid, r) for r in valid["requirements"])),
        *_disagreements(valid),
        _section("Cases", _case_table(valid["cases"], table_drawings(valid))),
        "</main>",
        COPY_SCRIPT if failures else "",
    ]
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            '<head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_text(title)}</title>",
            f"<style>{_CSS}{DRAWING_CSS}</style></head>",
            "<body>",
            *body,
            "</body></html>",
            "",
        ]
    )


def write_html(doc: Mapping[str, Any], path: str | Path, *, strict: bool = False) -> Path:
    return write_text(path, render_html(doc, strict=strict))


def _header(doc: Mapping[str, Any], strict: bool) -> str:
    result = outcome(doc, strict)
    mode = " (strict)" if result.strict else ""
    summary = doc["summary"]
    facts = (
        f"{plural(summary['cases'], 'case')} · {summary['must_failed']} MUST failed · "
        f"{len(result.unexercised)} MUST not exercised · "
        f"{summary['should_failed']} SHOULD non-strict · "
        f"{plural(summary['harness_errors'], 'case')} with harness errors"
    )
    rows = "".join(f"<dt>{_text(k)}</dt><dd>{_text(v)}</dd>" for k, v in run_rows(doc["run"]))
    state = "failed" if result.exit_code else "unexercised" if result.unexercised else "passed"
    return (
        f'<header class="{state}">'
        # No emoji: a browser without an emoji font shows a box; the words say it all.
        f"<h1>{_text(TITLE)}: {_text(result.title)}{mode} "
        f"(exit code {result.exit_code})</h1>"
        f"{_partial(doc)}"
        f"{_unexercised(result)}"
        f"<p>{_text(facts)}</p>"
        # Folded, so that what failed is above the fold.
        f'<details class="run"><summary>the run</summary><dl class="run">{rows}</dl></details>'
        "</header>"
    )


def _partial(doc: Mapping[str, Any]) -> str:
    """A merge of some CI jobs only says so under the headline."""
    partial = partial_text(doc["run"])
    return "" if partial is None else f"<p><strong>{_text(partial)}</strong></p>"


def _unexercised(result: Outcome) -> str:
    """The unexercised MUSTs and their likely causes, under the headline."""
    if not result.unexercised:
        return ""
    ids = _text(", ".join(result.unexercised))
    lead = (
        f"Not exercised: {ids}."
        if result.titled_unexercised
        else f"<strong>{_text(not_exercised_headline(len(result.unexercised)))}</strong> ({ids})."
    )
    causes = "".join(f"<li>{_rich(cause)}</li>" for cause in result.causes)
    hint = (
        ""
        if result.require_exercised
        else "<p><code>--require-exercised</code> (or <code>--strict</code>) makes such a run "
        "exit 1.</p>"
    )
    note = f"<p>{lead} Likely causes:</p><ul>{causes}</ul>{hint}"
    return f'<div class="unexercised-note">{note}</div>'


def _replay_section(doc: Mapping[str, Any]) -> list[str]:
    """A replay run: each saved failing case and requirement, FIXED, FAILED or FLAKY."""
    section = doc.get("replay")
    if section is None:
        return []
    intro = (
        f"<p>The failing cases of <code>{_text(section['from'])}</code>, each run "
        f"{_text(plural(section['times'], 'time'))}: FIXED passed every time, FAILED failed "
        "every time, FLAKY some of each.</p>"
    )
    cases = [
        "<tr>" + "".join(f"<td>{_text(text)}</td>" for text in row) + "</tr>"
        for row in replay_case_rows(doc)
    ]
    rules = [
        "<tr>" + "".join(f"<td>{_text(text)}</td>" for text in row) + "</tr>"
        for row in replay_requirement_rows(doc)
    ]
    tables = _table(["Saved cases", "Broke", "Runs", "Replay"], cases, "replay") + _table(
        ["ID", "Runs", "Replay"], rules, "replay"
    )
    return [_section("Replay", intro + tables)]


def _baseline(doc: Mapping[str, Any]) -> list[str]:
    found = baseline_lines(doc)
    if not found:
        return []
    items = "".join(f"<li>{_text(line)}</li>" for line in found)
    return [_section("Baseline", f"<ul>{items}</ul>")]


def _disagreements(doc: Mapping[str, Any]) -> list[str]:
    found = disagreement_lines(doc)
    if not found:
        return []
    items = "".join(f"<li>{_text(line)}</li>" for line in found)
    return [_section(DISAGREED, f"<p>{_text(DISAGREED_INTRO)}</p><ul>{items}</ul>")]


def _section(title: str, content: str) -> str:
    return f"<section><h2>{_text(title)}</h2>\n{content}\n</section>"


def _requirement_table(requirements: list[Mapping[str, Any]]) -> str:
    rows = [
        f"<tr{_row_class(r)}>"
        f'<td><a href="#{_anchor("req", r["id"])}">{_text(r["id"])}</a></td>'
        f"<td>{_text(r['level'])}</td><td>{_verdict(r)}</td>"
        f"<td>{_text(counts_text(r['counts']))}</td><td>{_rich(r['rule'])}</td>"
        "</tr>"
        for r in requirements
    ]
    return _table(["ID", "Level", "Verdict", "Cases", "Rule"], rows, "requirements")


def _row_class(entry: Mapping[str, Any]) -> str:
    return ' class="unexercised"' if unexercised_must(entry) else ""


def _verdict(entry: Mapping[str, Any]) -> str:
    """The verdict badge; an unexercised MUST also says in words that it is not a pass."""
    badge = _badge(entry["verdict"])
    mark = baseline_mark(entry)
    if mark:
        badge += f' <span class="badge {_BASELINE_CLASS[mark]}">{mark}</span>'
    if unexercised_must(entry):
        return f'{badge} <span class="notpass">{_text(NOT_A_PASS)}</span>'
    return badge


def _details(doc: Mapping[str, Any], entry: Mapping[str, Any]) -> str:
    opened = " open" if entry["verdict"] in FAILING or unexercised_must(entry) else ""
    parts = [
        f'<details id="{_anchor("req", entry["id"])}" class="{_CLASS[entry["verdict"]]}"{opened}>',
        f"<summary>{_verdict(entry)} {_text(entry['id'])} ({_text(entry['level'])}) "
        f"· {_text(counts_text(entry['counts']))}</summary>",
        f"<blockquote>{_rich(entry['rule'])}</blockquote>",
    ]
    if entry["messages"]:
        items = "".join(f"<li>{_rich(message)}</li>" for message in entry["messages"])
        parts.append(f"<h4>Messages</h4><ul>{items}</ul>")
    if entry["failing_cases"]:
        parts.append(_case_list("Failing cases", doc, entry["failing_cases"]))
    harness = [c["index"] for c in doc["cases"] if c["verdicts"].get(entry["id"]) == _HARNESS]
    if harness:
        parts.append(_case_list("Harness errors", doc, harness))
    if entry["observations"]:
        parts.append(f"<h4>Observations</h4>{_observations(entry['observations'])}")
    parts.append("</details>")
    return "\n".join(parts)


def _case_list(title: str, doc: Mapping[str, Any], indices: list[int]) -> str:
    items = []
    for index in indices[:MAX_LISTED_CASES]:
        case = doc["cases"][index]
        items.append(f"<li>{_case_link(case)}{_replay(case)}</li>")
    more = len(indices) - MAX_LISTED_CASES
    tail = f"<p>… and {more} more in the cases table.</p>" if more > 0 else ""
    return f"<h4>{_text(title)}</h4><ul>{''.join(items)}</ul>{tail}"


def _case_link(case: Mapping[str, Any]) -> str:
    description = f": {_text(case['description'])}" if case["description"] else ""
    link = f'<a href="#{_anchor("case", str(case["index"]))}">#{case["index"]}</a>'
    return f"{link} <code>{_text(case['test'])}</code>{description}"


def _observations(observations: Mapping[str, Any]) -> str:
    rows = [
        f"<tr><td><code>{_text(name)}</code></td><td><code>{_text(_json(value))}</code></td></tr>"
        for name, value in observations.items()
    ]
    return _table(["Observation", "Across cases"], rows, "observations")


def _case_table(cases: list[Mapping[str, Any]], drawn: Mapping[int, str]) -> str:
    rows = [
        f'<tr id="{_anchor("case", str(case["index"]))}"><td>{case["index"]}</td>'
        f"<td><code>{_text(case['test'])}</code></td><td>{_text(case['description'])}</td>"
        f"<td>{_client(case['client'])}</td>"
        f"<td>{_case_verdicts(case)}{drawn.get(case['index'], '')}</td></tr>"
        for case in cases
    ]
    return _table(["#", "Test", "Description", "Client", "Verdicts"], rows, "cases")


def _client(client: Mapping[str, Any] | None) -> str:
    if client is None:
        return "—"
    state = "timed out" if client["timed_out"] else "succeeded" if client["succeeded"] else "failed"
    summary = f"{state} in {client['duration']:.2f} s"
    if not client["detail"]:
        return _text(summary)
    detail = f"<pre>{_text(client['detail'])}</pre>"
    return f"<details><summary>{_text(summary)}</summary>{detail}</details>"


def _case_verdicts(case: Mapping[str, Any]) -> str:
    """The verdicts that need a look (everything but PASS and INFORMATIONAL), with breaches
    and the replay command."""
    quiet = (Verdict.PASS, Verdict.INFORMATIONAL)
    loud = {rid: v for rid, v in case["verdicts"].items() if v not in quiet}
    if not case["verdicts"]:
        return "no verdicts"
    if not loud:
        return f"{_badge(Verdict.PASS)} nothing broken"
    items = []
    for rid, verdict in loud.items():
        breaches = "".join(f"<li>{_rich(text)}</li>" for text in case["breaches"].get(rid, []))
        listed = f"<ul>{breaches}</ul>" if breaches else ""
        items.append(f"<li>{_badge(verdict)} {_text(rid)}{listed}</li>")
    return f"<ul>{''.join(items)}</ul>{_replay(case)}"


def _replay(case: Mapping[str, Any]) -> str:
    """The replay command, and how the case was shrunk when the case says."""
    shrink = shrink_text(case.get("shrink"))
    shrunk = f'<p class="shrink">{_text(shrink)}</p>' if shrink else ""
    replay = f"<pre>{_text(case['replay'])}</pre>" if case["replay"] else ""
    return shrunk + replay


def _table(headings: list[str], rows: list[str], css: str) -> str:
    head = "".join(f"<th>{_text(heading)}</th>" for heading in headings)
    body = "\n".join(rows)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>'


def _badge(verdict: str) -> str:
    return f'<span class="badge {_CLASS[verdict]}">{_text(verdict)}</span>'


def _anchor(kind: str, name: str) -> str:
    return escape(f"{kind}-{name}", quote=True)


def _rich(text: str) -> str:
    """Document Markdown-ish text: code spans as `<code>`, everything escaped."""
    return "".join(
        f"<code>{_text(part.strip('`'))}</code>" if is_code else _text(part)
        for is_code, part in split_code(printable(text))
    )


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)
