"""From the cases a conformance run recorded to the results document and report files.

The plugin's controller calls this once at the end of a run (xdist workers only send
their case dicts). `reports` renders plain dicts and knows nothing of the suite; this
module supplies what only the suite knows: the catalogue's levels and rules, and the run's
metadata.
"""

from __future__ import annotations

import datetime
import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conformance import __version__
from conformance.baselines import PLACEHOLDER_REASON
from conformance.requirements import CATALOGUE, Party, Verdict
from reports import ResultsBuilder, not_exercised_headline, write_reports
from reports.asides import set_aside_lines
from reports.disagreements import TITLE as DISAGREED
from reports.disagreements import lines as disagreement_lines
from reports.view import baseline_lines, baseline_mark, chunk_text, merged_text

__all__ = ["build_results", "summary_lines", "write_results"]

_MARK = {
    Verdict.PASS.value: "PASS",
    Verdict.FAIL.value: "FAIL",
    Verdict.NON_STRICT.value: "NON-STRICT",
    Verdict.NOT_EXERCISED.value: "not exercised",
    Verdict.INFORMATIONAL.value: "info",
    Verdict.HARNESS_ERROR.value: "HARNESS-ERROR",
}


def _unexplained(baseline: dict[str, Any]) -> list[str]:
    """A warning while entries still carry the placeholder `baseline` wrote: a known failure
    is only as good as the reason someone gave for it."""
    waiting = [e["id"] for e in baseline["entries"] if e["reason"] == PLACEHOLDER_REASON]
    if not waiting:
        return []
    return [
        f"  note: no reason given yet for {', '.join(waiting)} (the placeholder is still there)"
    ]


def build_results(
    cases: Sequence[dict[str, Any]],
    *,
    direction: str,
    target: str,
    profile: str,
    seed: str | None,
    strict: bool,
    selected: Sequence[str] | None,
    started_at: float,
    workers: int,
    require_exercised: bool = False,
    client_chunk: dict[str, Any] | None = None,
    interrupted: bool = False,
    baseline: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
    shard: dict[str, int] | None = None,
) -> dict[str, Any]:
    """The results document (schema v1) of one run.

    `require_exercised` (implied by `strict`) makes a MUST that no case exercised fail the
    run; `client_chunk` (`{"bytes": int | None, "how": str}`), when known, is the chunk size
    the cases were drawn around and how it was chosen; `baseline` (`Baseline.to_dict`) the
    known failures the run is judged with; `options` how a case was run (`run.options`),
    what `kaltura-conformance replay` needs to run a case again exactly; `shard`
    (`{"index", "count"}`) the CI job's share this run ran (`--shard I/N`)."""
    party = Party.CLIENT if direction == "client" else Party.SERVER
    builder = ResultsBuilder(
        run={
            "tool_version": __version__,
            "started_at": _timestamp(started_at),
            "duration_s": round(max(0.0, _now() - started_at), 3),
            "direction": direction,
            "target": target,
            "endpoint": _endpoint(cases),
            "profile": profile,
            "hypothesis_seed": seed,
            "strict": strict,
            "require_exercised": require_exercised or strict,
            "requirements_selected": list(selected) if selected else None,
            "python": platform.python_version(),
            "platform": platform.platform(terse=True),
            "workers": max(1, workers),
            **({} if client_chunk is None else {"client_chunk": client_chunk}),
            **({"interrupted": True} if interrupted else {}),
            **({} if baseline is None else {"baseline": baseline}),
            **({} if options is None else {"options": options}),
            **({} if shard is None else {"shard": shard}),
        }
    )
    for requirement in CATALOGUE.values():
        if requirement.party is party and (not selected or requirement.id in selected):
            builder.add_requirement(requirement.id, requirement.level.value, requirement.rule)
    builder.add_cases(cases)
    return builder.build()


def _endpoint(cases: Sequence[dict[str, Any]]) -> str:
    for case in cases:
        endpoint = case.get("trace", {}).get("endpoint")
        if endpoint:
            return str(endpoint)
    return "unknown"


def write_results(document: dict[str, Any], directory: str) -> dict[str, Path]:
    os.makedirs(directory, exist_ok=True)
    return write_reports(document, Path(directory), strict=bool(document["run"]["strict"]))


def summary_lines(document: dict[str, Any], directory: str) -> list[str]:
    """The verdict table printed at the end of a run, and where the reports are."""
    run = document["run"]
    judged = f"{run['direction']} {run['target']}"
    if run["direction"] == "client":  # the server it uploaded to: ours, or a live account
        judged += f" on {run['endpoint']}"
    lines = ["", f"Kaltura upload conformance, {judged}: requirements x verdicts"]
    if run.get("interrupted"):
        lines.append("INTERRUPTED: only the cases that finished before are reported")
    lines += _sharding(run)
    shown: dict[str, str] = {}  # each reason in full once, under the first row it sets aside
    for row in document["requirements"]:
        lines.append(_row(row))
        lines += [f"          {line}" for line in set_aside_lines(document, row, shown)]
    summary = document["summary"]
    lines.append(
        f"{summary['cases']} cases; {summary['must_failed']} MUST failed, "
        f"{len(summary['must_not_exercised'])} MUST not exercised, "
        f"{summary['should_failed']} SHOULD non-strict; exit code {summary['exit_code']}"
    )
    lines += _not_exercised(document)
    baselined = baseline_lines(document)
    if baselined:
        lines.append(f"baseline {document['run']['baseline']['path']}:")
        lines += [f"  - {line}" for line in baselined]
        lines += _unexplained(document["run"]["baseline"])
    disagreed = disagreement_lines(document)
    if disagreed:
        lines.append(f"{DISAGREED} ({len(disagreed)}; not the client's fault, see summary.md):")
        lines += [f"  - {line}" for line in disagreed[:10]]
        if len(disagreed) > 10:
            lines.append(f"  - ... and {len(disagreed) - 10} more")
    chunk = run.get("client_chunk")
    if chunk is not None:
        lines.append(f"client chunk: {chunk_text(chunk)}")
    seed = document["run"].get("hypothesis_seed")
    if seed is not None:
        lines.append(f"hypothesis seed {seed} (replay the run with --seed {seed})")
    lines.append(f"reports: {Path(directory).resolve()}")
    return lines


def _sharding(run: dict[str, Any]) -> list[str]:
    """A CI job's share, or a merge of the jobs (partial ones first, in capitals)."""
    shard, merged = run.get("shard"), run.get("merged")
    if shard is not None:
        return [
            f"CI job {shard['index']} of {shard['count']} (--shard): its share of the cases "
            "only; `kaltura-conformance merge` joins the jobs"
        ]
    return [] if merged is None else [f"merged: {merged_text(merged)}"]


def _row(row: dict[str, Any]) -> str:
    """One requirement; a MUST no case exercised says it is not a pass, in capitals."""
    counts = row["counts"]
    seen = ", ".join(f"{n} {_MARK[v].lower()}" for v, n in counts.items() if n)
    mark = _MARK[row["verdict"]]
    if row["level"] == "MUST" and row["verdict"] == Verdict.NOT_EXERCISED.value:
        mark, seen = "NOT-EXERCISED", f"{seen}: not a pass"
    if baseline_mark(row):
        seen = f"{seen} [{baseline_mark(row)}]"
    return f"  {row['id']:<7} {row['level']:<13} {mark:<14} {seen}"


def _not_exercised(document: dict[str, Any]) -> list[str]:
    """The headline of the MUSTs no case exercised, and their likely causes."""
    summary, run = document["summary"], document["run"]
    missing: list[str] = summary["must_not_exercised"]
    if not missing:
        return []
    lines = [f"{not_exercised_headline(len(missing))} ({', '.join(missing)})", "likely causes:"]
    lines += [f"  - {cause}" for cause in summary["not_exercised_causes"]]
    if not run["require_exercised"]:
        lines.append("(--require-exercised or --strict makes such a run exit 1)")
    return lines


def _timestamp(epoch: float) -> str:
    moment = datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _now() -> float:
    return time.time()
