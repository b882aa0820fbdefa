"""What every writer shows the same way: labels, emoji, counts, the overall result, the run
metadata, and text made safe for XML and HTML. Everything here reads the document only."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from typing import Any, Final

from reports.derive import requires_exercised
from reports.exercise import must_not_exercised, not_exercised_causes, not_exercised_headline
from reports.known import explain, word
from reports.verdicts import ORDER, Baselined, Level, Replayed, Verdict, exit_code

__all__ = [
    "EMOJI",
    "LABELS",
    "NOT_A_PASS",
    "Outcome",
    "baseline_lines",
    "baseline_mark",
    "chunk_text",
    "counts_text",
    "first_case_with",
    "first_failing_case",
    "harness_error_cases",
    "html_text",
    "merged_text",
    "outcome",
    "partial_text",
    "party",
    "plural",
    "printable",
    "replay_case_rows",
    "replay_requirement_rows",
    "run_rows",
    "shrink_text",
    "split_code",
    "unexercised_must",
]

EMOJI: Final[Mapping[str, str]] = {
    Verdict.PASS: "✅",
    Verdict.FAIL: "❌",
    Verdict.NON_STRICT: "⚠️",
    Verdict.NOT_EXERCISED: "⏭️",
    Verdict.INFORMATIONAL: "ℹ️",
    Verdict.HARNESS_ERROR: "💥",
}
LABELS: Final[Mapping[str, str]] = {
    Verdict.PASS: "pass",
    Verdict.FAIL: "fail",
    Verdict.NON_STRICT: "non-strict",
    Verdict.NOT_EXERCISED: "not exercised",
    Verdict.INFORMATIONAL: "informational",
    Verdict.HARNESS_ERROR: "harness error",
}
_RESULTS: Final[Mapping[int, tuple[str, str]]] = {
    0: ("✅", "passed"),
    1: ("❌", "failed"),
    3: ("❌", "harness error"),
}
# What a MUST row that no case exercised says besides its verdict: never read as a pass.
NOT_A_PASS: Final = "not a pass"
# (field, label) in display order; every writer shows the same run metadata.
_RUN_FIELDS: Final = (
    ("interrupted", "interrupted (only the cases finished before are reported)"),
    ("merged", "merged from CI jobs"),
    ("shard", "CI job (shard)"),
    ("direction", "direction"),
    ("target", "target"),
    ("endpoint", "endpoint"),
    ("profile", "profile"),
    ("hypothesis_seed", "Hypothesis seed"),
    ("strict", "strict"),
    ("require_exercised", "require exercised"),
    ("client_chunk", "client chunk"),
    ("requirements_selected", "requirements selected"),
    ("baseline", "baseline"),
    ("started_at", "started at"),
    ("duration_s", "duration (s)"),
    ("workers", "workers"),
    ("tool_version", "tool version"),
    ("python", "Python"),
    ("platform", "platform"),
)
# A code span: a run of backticks, the shortest text, the same run (CommonMark).
_CODE_SPAN = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)", re.DOTALL)
# Characters XML 1.0 forbids (and HTML calls parse errors): shown as escapes instead.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Outcome:
    """The run's overall result as shown in headlines.

    `title` is `passed`, `failed` or `harness error`, except that a run whose only trouble
    is MUSTs no case exercised (`unexercised`, with their likely `causes`) is titled by
    `not_exercised_headline` instead (`titled_unexercised`): never `passed`."""

    exit_code: int
    strict: bool
    emoji: str
    title: str
    require_exercised: bool = False
    unexercised: tuple[str, ...] = ()
    causes: tuple[str, ...] = ()
    titled_unexercised: bool = False


def outcome(doc: Mapping[str, Any], strict: bool = False) -> Outcome:
    """The result of `doc`, strict if the run was strict or `strict` asks for it (which
    also requires every MUST to be exercised, as `--strict` does)."""
    require = requires_exercised(doc["run"]) or strict
    strict = strict or bool(doc["run"]["strict"])
    code = exit_code(doc, strict, require_exercised=require)
    emoji, title = _RESULTS[code]
    missing = tuple(must_not_exercised(doc))
    # Nothing broke (a harness error aside, unless it decides the code): the unexercised
    # MUSTs are the story, and the exit code's when they were required.
    titled = bool(missing) and code != 3 and exit_code(doc, strict, False) != 1
    if titled:
        emoji = EMOJI[Verdict.NOT_EXERCISED] if code == 0 else emoji
        title = not_exercised_headline(len(missing))
    causes = tuple(_causes(doc))
    if doc.get("replay") is not None:
        return Outcome(code, strict, *_replay_title(doc["replay"]), require, missing, causes)
    known = sum(
        1
        for entry in doc["requirements"]
        if (entry.get("baseline") or {}).get("status") == Baselined.KNOWN
    )
    if known and not titled:
        title += f" ({plural(known, 'known failure')}, baselined)"
    return Outcome(code, strict, emoji, title, require, missing, causes, titled)


def _replay_title(section: Mapping[str, Any]) -> tuple[str, str]:
    """`replay: 3 of 3 cases FIXED` or `replay: 1 FAILED, 1 FLAKY of 3 cases`."""
    statuses = [entry["status"] for entry in section["cases"]]
    total = plural(len(statuses), "case")
    if all(status == Replayed.FIXED for status in statuses):
        return "✅", f"replay: {len(statuses)} of {total} FIXED"
    counts = ", ".join(
        f"{statuses.count(status)} {status}"
        for status in (Replayed.FAILED, Replayed.FLAKY)
        if status in statuses
    )
    return "❌", f"replay: {counts} of {total}"


def _causes(doc: Mapping[str, Any]) -> list[str]:
    """The causes the run stored (what it said then), or computed for an older document."""
    stored: list[str] | None = doc["summary"].get("not_exercised_causes")
    return stored if stored is not None else not_exercised_causes(doc)


def unexercised_must(entry: Mapping[str, Any]) -> bool:
    """Whether a requirement row is a MUST that no case exercised."""
    return bool(entry["level"] == Level.MUST and entry["verdict"] == Verdict.NOT_EXERCISED)


def baseline_mark(entry: Mapping[str, Any]) -> str:
    """`KNOWN`, `FIXED` or `EXPIRED` when the run's baseline speaks of the requirement."""
    judged = entry.get("baseline")
    return word(judged["status"]) if judged else ""


def baseline_lines(doc: Mapping[str, Any]) -> list[str]:
    """The baseline's word on each requirement it speaks of, one line each (none without
    a baseline); first what fails the run, then what is stale, then what is accepted."""
    order = {"expired": 0, "fixed": 1, "known": 2}
    judged = [entry for entry in doc["requirements"] if entry.get("baseline")]
    judged.sort(key=lambda entry: order[entry["baseline"]["status"]])
    return [explain(doc["run"], entry) for entry in judged]


def replay_case_rows(doc: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    """(saved cases, what they broke, passed/failed of the runs, status) per case replayed."""
    section = doc.get("replay") or {"cases": []}
    return [
        (
            ", ".join(f"#{index}" for index in entry["saved_cases"]),
            ", ".join(entry["requirements"]),
            f"{entry['passed']} passed / {entry['failed']} failed",
            entry["status"],
        )
        for entry in section["cases"]
    ]


def replay_requirement_rows(doc: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(ID, passed/failed of the runs of the cases it broke, status) per requirement."""
    section = doc.get("replay") or {"requirements": []}
    return [
        (entry["id"], f"{entry['passed']} passed / {entry['failed']} failed", entry["status"])
        for entry in section["requirements"]
    ]


def counts_text(counts: Mapping[str, int]) -> str:
    """`3 pass / 1 fail / 2 not exercised` (zeros left out)."""
    parts = [f"{counts[v]} {LABELS[v]}" for v in ORDER if counts.get(v)]
    return " / ".join(parts) or "no cases"


def party(requirement_id: str) -> str:
    """`client` for UT-C…, `server` for UT-S…."""
    return "server" if requirement_id.startswith("UT-S") else "client"


def first_failing_case(
    doc: Mapping[str, Any], requirement: Mapping[str, Any]
) -> Mapping[str, Any] | None:
    failing: list[int] = requirement["failing_cases"]
    return doc["cases"][failing[0]] if failing else None


def first_case_with(
    doc: Mapping[str, Any], requirement_id: str, verdict: str
) -> Mapping[str, Any] | None:
    """The first case where `requirement_id` got `verdict`."""
    cases: list[Mapping[str, Any]] = doc["cases"]
    return next((c for c in cases if c["verdicts"].get(requirement_id) == verdict), None)


def harness_error_cases(doc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The cases the suite could not run properly (any verdict HARNESS-ERROR)."""
    cases: list[Mapping[str, Any]] = doc["cases"]
    return [c for c in cases if Verdict.HARNESS_ERROR in c["verdicts"].values()]


def plural(count: int, word: str) -> str:
    """`1 case`, `2 cases`."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def run_rows(run: Mapping[str, Any]) -> list[tuple[str, str]]:
    """`(label, value)` for the run metadata, values as text."""
    shown = {
        "client_chunk": chunk_text,
        "baseline": _baseline_text,
        "shard": _shard_text,
        "merged": merged_text,
    }
    return [
        (label, shown.get(name, _text)(run[name])) for name, label in _RUN_FIELDS if name in run
    ]


def _shard_text(shard: Mapping[str, int]) -> str:
    return f"{shard['index']} of {shard['count']}: its share of the cases only"


def merged_text(merged: Mapping[str, Any]) -> str:
    """`jobs 1, 2, 3 of 3`; a partial merge says which jobs are missing, first."""
    joined = f"jobs {_text(merged['shards']) or 'none'} of {merged['count']}"
    if not merged["missing"]:
        return joined
    return f"PARTIAL: job(s) {_text(merged['missing'])} missing, their cases not run; {joined}"


def partial_text(run: Mapping[str, Any]) -> str | None:
    """The warning a merge of some CI jobs only carries in every headline, or None."""
    merged = run.get("merged")
    if merged is None or not merged["missing"]:
        return None
    return merged_text(merged)


def _baseline_text(baseline: Mapping[str, Any]) -> str:
    count = len(baseline["entries"])
    entries = "1 entry" if count == 1 else f"{count} entries"
    strict = ", strict" if baseline["strict"] else ""
    return f"{baseline['path']} ({entries}{strict})"


def chunk_text(chunk: Mapping[str, Any] | None) -> str:
    """`1000000 bytes (given with --client-chunk-size)`: the run's `client_chunk`."""
    if chunk is None:
        return _text(None)
    if chunk["bytes"] is None:  # the suite's own sizes: `how` says why
        return str(chunk["how"])
    return f"{chunk['bytes']} bytes ({chunk['how']})"


def shrink_text(shrink: Mapping[str, Any] | None) -> str | None:
    """How a failing case was shrunk, in a few words (None when the case does not say):
    `shrunk in 12 steps, 4.1 s`, `cut after 37 steps, 20.0 s (the 20 s shrink budget): the
    smallest failing case found so far`, `not shrunk: the client hit its time limit`."""
    if shrink is None:
        return None
    status, reason = shrink["status"], shrink["reason"].strip()
    spent = f"{plural(shrink['steps'], 'step')}, {shrink['seconds']:.1f} s"
    if status == "shrunk":
        return f"shrunk in {spent}" + (f" ({reason})" if reason else "")
    if status == "cut":
        why = f" ({reason})" if reason else ""
        return f"cut after {spent}{why}: the smallest failing case found so far"
    word = "not shrunk" if status == "not-shrunk" else "shrinking off"
    return f"{word}: {reason}" if reason else word


def _text(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def html_text(value: object) -> str:
    """`value` as text in HTML or SVG: printable, and escaped for text and attributes."""
    return escape(printable(str(value)), quote=True)


def printable(text: str) -> str:
    """`text` with control characters shown as `\\x1b` (ANSI colours in a client's output
    would otherwise make the XML unparseable)."""
    return _UNPRINTABLE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def split_code(text: str) -> list[tuple[bool, str]]:
    """`text` cut into `(is_code, part)`: code spans (backticks kept) and the prose between."""
    parts: list[tuple[bool, str]] = []
    position = 0
    for match in _CODE_SPAN.finditer(text):
        parts.append((False, text[position : match.start()]))
        parts.append((True, match.group()))
        position = match.end()
    parts.append((False, text[position:]))
    return [(is_code, part) for is_code, part in parts if part]
