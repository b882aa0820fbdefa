"""The drawings of results.html. At the top, what failed and when: one open `<details>` per
broken requirement (FAIL, NON-STRICT, HARNESS-ERROR) with its shrunk case (else its first):
the check's message, the request timeline with the evidence highlighted, the evidence
requests in words, the byte map, and the `--replay` command in a read-only text box (a copy
button where scripts run; select-all works without). In the cases table, each timeline once
(at most `MAX_TABLE_DRAWINGS` of them, so that the page stays light). And the drawing styles.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from reports.svg import byte_map_svg, timeline_svg, zoom_window
from reports.timelines import answer_label, evidence_ids, request_label
from reports.verdicts import FAILING, Verdict
from reports.view import html_text as _text
from reports.view import plural, shrink_text

__all__ = [
    "COPY_SCRIPT",
    "DRAWING_CSS",
    "MAX_TABLE_DRAWINGS",
    "case_drawing",
    "failure_section",
    "featured_case",
    "table_drawings",
]

MAX_EVIDENCE_LISTED: Final = 20
MAX_RANGES_LISTED: Final = 30
MAX_TABLE_DRAWINGS: Final = 12  # timelines drawn in the cases table (a page of a few MiB)
_NOT_DRAWN = (
    f'<p class="omitted">Timeline not drawn here (this table draws {MAX_TABLE_DRAWINGS}); '
    "results.json has it.</p>"
)
# Bars are told apart by words and dash patterns too; the colours only help.
DRAWING_CSS = """
svg.timeline,svg.timeline-zoom,svg.bytemap{max-width:100%;height:auto;display:block;margin:.3em 0}
svg text{font:11px ui-monospace,SFMono-Regular,Menlo,monospace;fill:#1f2328}
.axis line{stroke:#57606a}.axis line.grid{stroke:#d0d7de;stroke-dasharray:2 3}
.bar rect,.range rect,.held rect{stroke:#1f2328;stroke-width:1}
.bar.ok rect,.range.acknowledged rect{fill:#aceebb}
.bar.error rect{fill:#ffcecb;stroke-dasharray:6 2}
.bar.http-error rect{fill:#ffb77c;stroke-dasharray:2 2}
.bar.reset rect{fill:#d8b9ff;stroke-dasharray:8 2 2 2}
.bar.dropped rect{fill:#c8d1da;stroke-dasharray:1 3}
.bar.none rect{fill:#ffffff;stroke-dasharray:4 4}
.bar.evidence rect{stroke:#000;stroke-width:3.5}
.bar.evidence text{font-weight:700}
.fault-mark{fill:#cf222e}text.fault{fill:#a40e26;font-weight:700}
.range.re-sent rect{fill:#fff1a8;stroke-dasharray:6 2}
.range.overlapping rect{fill:#ffb77c;stroke-dasharray:2 2}
.range.sent rect{fill:#d8b9ff;stroke-dasharray:8 2 2 2}
.range.never-sent rect{fill:#ffffff;stroke-dasharray:4 4}
.range.thin rect{stroke:#a40e26;stroke-width:2}.thin-mark{fill:#a40e26}
.held rect{fill:#b6e3ff}
ul.legend{list-style:none;padding:0;margin:.2em 0;font-size:.85em}
ul.legend li{display:inline-block;margin-right:1em}
.swatch{display:inline-block;width:1.4em;height:.8em;border:1px solid #1f2328;
  vertical-align:middle;margin-right:.3em}
.swatch.ok{background:#aceebb}.swatch.error{background:#ffcecb;border-style:dashed}
.swatch.http-error{background:#ffb77c;border-style:dotted}
.swatch.reset{background:#d8b9ff;border-style:dashed}
.swatch.dropped{background:#c8d1da;border-style:dotted}
.swatch.none{background:#fff;border-style:dashed}.swatch.evidence{border-width:3px}
details.failure{border-color:#cf222e;border-width:2px}
details.failure.harness{border-color:#8250df}
.replay textarea{width:100%;font:12px ui-monospace,monospace;box-sizing:border-box}
.omitted{font-style:italic}
@media print{
  details::details-content{content-visibility:visible;display:block}
  button.copy{display:none}
  header{background:none}
}
"""
# The copy button only: the page reads the same without it (the box can be selected).
COPY_SCRIPT = """<script>
for (const button of document.querySelectorAll("button.copy")) {
  button.hidden = false;
  button.addEventListener("click", () => {
    const box = document.getElementById(button.dataset.for);
    box.select();
    const done = () => { button.textContent = "copied"; };
    if (navigator.clipboard) {
      navigator.clipboard.writeText(box.value).then(done, () => document.execCommand("copy"));
    } else { document.execCommand("copy"); done(); }
  });
}
</script>"""
_LEGEND = (
    ("ok", "ok"),
    ("error", "Kaltura error object"),
    ("http-error", "HTTP error"),
    ("reset", "reset (no answer, not applied)"),
    ("dropped", "dropped (applied, answer lost)"),
    ("none", "no answer"),
    ("evidence", "evidence: thick outline, the word evidence"),
)


def featured_case(
    doc: Mapping[str, Any], requirement: Mapping[str, Any]
) -> Mapping[str, Any] | None:
    """The case shown for a broken requirement: its shrunk case, else its first broken one
    (a harness error when that is all there is)."""
    rid = requirement["id"]
    indices = requirement["failing_cases"] or [
        c["index"] for c in doc["cases"] if c["verdicts"].get(rid) == Verdict.HARNESS_ERROR
    ]
    cases: list[Mapping[str, Any]] = [doc["cases"][i] for i in indices]
    shrunk = [c for c in cases if (c.get("shrink") or {}).get("status") == "shrunk"]
    chosen = shrunk or cases
    return chosen[0] if chosen else None


Render = Callable[[str], str]


def failure_section(doc: Mapping[str, Any], badge: Render, rich: Render) -> str:
    """`<section id="failures">`; empty when nothing is broken. `badge(verdict)` and
    `rich(text)` are the page's own renderers."""
    broken = [r for r in doc["requirements"] if r["verdict"] in FAILING]
    if not broken:
        return ""
    parts = ['<section id="failures"><h2>What failed</h2>']
    parts += [_failure(doc, r, badge, rich) for r in broken]
    parts.append("</section>")
    return "\n".join(parts)


def _failure(doc: Mapping[str, Any], entry: Mapping[str, Any], badge: Render, rich: Render) -> str:
    rid = entry["id"]
    harness = " harness" if entry["verdict"] == Verdict.HARNESS_ERROR else ""
    parts = [
        f'<details open class="failure{harness}" id="{_text("failure-" + rid)}" '
        f'data-requirement="{_text(rid)}">',
        f"<summary>{badge(entry['verdict'])} {_text(rid)} ({_text(entry['level'])}): "
        f"{rich(entry['rule'])}</summary>",
    ]
    case = featured_case(doc, entry)
    if case is None:
        parts.append("<p>No case recorded.</p></details>")
        return "\n".join(parts)
    description = f": {_text(case['description'])}" if case["description"] else ""
    shrink = shrink_text(case.get("shrink"))
    parts.append(
        f'<p>Case <a href="#case-{case["index"]}">#{case["index"]}</a> '
        f"<code>{_text(case['test'])}</code>{description}"
        f"{f' ({_text(shrink)})' if shrink else ''}</p>"
    )
    found = case["breaches"].get(rid) or _observed(case, rid)
    if found:
        parts.append('<h4>What the check found</h4><ul class="found">')
        parts += [f"<li>{rich(message)}</li>" for message in found[:5]]
        parts.append("</ul>")
    timeline = case.get("timeline")
    if timeline is not None:
        parts.append(case_drawing(timeline, rid))
    else:
        parts.append("<p>No timeline recorded for this case.</p>")
    parts.append(_replay(case))
    parts.append("</details>")
    return "\n".join(parts)


def _observed(case: Mapping[str, Any], rid: str) -> list[str]:
    summary = case["observations"].get(rid, {}).get("summary")
    return [summary] if isinstance(summary, str) else []


def case_drawing(timeline: Mapping[str, Any], requirement_id: str | None = None) -> str:
    """Timeline, legend, evidence list and byte map of one case."""
    unit = "steps" if timeline.get("axis") == "steps" else "requests"
    parts = [f"<h4>Timeline ({len(timeline['requests'])} {unit})</h4>", _legend()]
    parts.append(timeline_svg(timeline, requirement_id))
    window = zoom_window(timeline, requirement_id)
    if window is not None:
        start, end = window
        parts.append(f"<h4>Zoomed to the evidence: {start:.4f} s to {end:.4f} s</h4>")
        parts.append(timeline_svg(timeline, requirement_id, window))
    if timeline["omitted"]:
        parts.append(f'<p class="omitted">{timeline["omitted"]} more requests not drawn.</p>')
    parts.append(_disagreed(timeline))
    parts.append(_evidence(timeline, requirement_id))
    if timeline["bytes"] is not None:
        parts.append("<h4>Bytes of the file</h4>")
        parts.append(byte_map_svg(timeline["bytes"]))
        parts.append(_ranges(timeline["bytes"]))
    return "\n".join(parts)


def _legend() -> str:
    items = "".join(
        f'<li><span class="swatch {kind}"></span>{_text(words)}</li>' for kind, words in _LEGEND
    )
    return f'<ul class="legend">{items}<li>fault: a marker and the word fault</li></ul>'


def _evidence(timeline: Mapping[str, Any], requirement_id: str | None) -> str:
    named = evidence_ids(timeline, requirement_id)
    if not named:
        return ""
    by_id = {r["id"]: r for r in timeline["requests"]}
    items = []
    for exchange_id in sorted(named)[:MAX_EVIDENCE_LISTED]:
        request = by_id.get(exchange_id)
        if request is None:
            items.append(f"<li>request #{exchange_id} (not drawn)</li>")
            continue
        items.append(
            f"<li><code>{_text(request['call'])} {_text(request_label(request))}</code> "
            f"sent at {request['sent']:.4f} s: {_text(answer_label(request))}</li>"
        )
    more = len(named) - MAX_EVIDENCE_LISTED
    tail = f"<li>{more} more</li>" if more > 0 else ""
    return f'<h4>Evidence</h4><ul class="evidence">{"".join(items)}{tail}</ul>'


def _disagreed(timeline: Mapping[str, Any]) -> str:
    """A server run: the steps where the server answered otherwise than the model predicted,
    the two answers side by side."""
    rows = [
        f"<tr><td>{r['id']}</td><td><code>{_text(r['role'])}</code></td>"
        f"<td>{_text(r['disagreed']['server'])}</td><td>{_text(r['disagreed']['model'])}</td></tr>"
        for r in timeline["requests"]
        if r.get("disagreed")
    ]
    if not rows:
        return ""
    head = "<tr><th>Step</th><th>Request</th><th>Server answered</th><th>Model predicted</th></tr>"
    return (
        f'<h4>Where the server and the model disagreed</h4><table class="disagreed">'
        f"<thead>{head}</thead><tbody>{''.join(rows[:MAX_EVIDENCE_LISTED])}</tbody></table>"
    )


def _ranges(byte_map: Mapping[str, Any]) -> str:
    ranges = byte_map["ranges"]
    items = [
        f"<li>{r['start']}–{r['end']}: {_text(r['kind'])} ({plural(r['end'] - r['start'], 'byte')})"
        "</li>"
        for r in ranges[:MAX_RANGES_LISTED]
    ]
    if len(ranges) > MAX_RANGES_LISTED:
        items.append(f"<li>{len(ranges) - MAX_RANGES_LISTED} more ranges</li>")
    held = byte_map["held"]
    holds = "no token state" if held is None else f"the token holds {plural(held, 'byte')}"
    size = plural(byte_map["size"], "byte")
    return f'<ul class="ranges">{"".join(items)}</ul><p>Of {size}, {holds}.</p>'


def _replay(case: Mapping[str, Any]) -> str:
    if not case["replay"]:
        return ""
    box = f"replay-{case['index']}"
    return (
        f'<div class="replay"><h4>Replay</h4><textarea id="{box}" readonly rows="2">'
        f"{_text(case['replay'])}</textarea>"
        f'<button type="button" class="copy" data-for="{box}" hidden>copy</button></div>'
    )


def table_drawings(doc: Mapping[str, Any]) -> dict[int, str]:
    """Per case index, what the cases table shows of its timeline: a pointer for a case
    drawn under What failed, else its drawing, folded, for at most `MAX_TABLE_DRAWINGS`
    cases (broken ones first), so that the page stays light; a note for the rest."""
    featured = {
        case["index"]: entry["id"]
        for entry in doc["requirements"]
        if entry["verdict"] in FAILING
        for case in [featured_case(doc, entry)]
        if case is not None and "timeline" in case
    }
    with_timeline = [c for c in doc["cases"] if "timeline" in c and c["index"] not in featured]
    with_timeline.sort(key=lambda c: not set(c["verdicts"].values()) & FAILING)
    shown: dict[int, str] = {}
    for index, rid in featured.items():
        link = f'<a href="#{_text("failure-" + rid)}">under What failed</a>'
        shown[index] = f'<p class="drawn">Timeline: drawn {link}.</p>'
    for number, case in enumerate(with_timeline):
        shown[case["index"]] = _drawing(case) if number < MAX_TABLE_DRAWINGS else _NOT_DRAWN
    return shown


def _drawing(case: Mapping[str, Any]) -> str:
    """A case's timeline, folded."""
    timeline = case["timeline"]
    count = len(timeline["requests"]) + timeline["omitted"]
    return (
        f'<details class="drawing"><summary>timeline ({plural(count, "request")})</summary>'
        f"{case_drawing(timeline)}</details>"
    )
