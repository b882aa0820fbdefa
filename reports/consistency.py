"""Cross-field checks of a well-shaped results document: does it agree with itself?

Run only after the shape checks passed, so every field here has its documented type.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from reports.derive import counts_of, failing_cases_of, summary_of
from reports.known import requirement_baseline
from reports.paths import ROOT, item, key
from reports.replay import replay_problems
from reports.timelines import timeline_problems
from reports.verdicts import aggregate_verdict, allowed_verdicts

__all__ = ["consistency_problems"]

_PREFIX = {"client": "UT-C", "server": "UT-S"}


def consistency_problems(doc: Mapping[str, Any]) -> list[str]:
    problems = _requirement_problems(doc)
    problems += _run_problems(doc["run"])
    problems += _baseline_entry_problems(doc["run"])
    problems += _case_problems(doc)
    if problems:
        return problems  # the derived fields below would disagree for the same reason
    problems += _derived_problems(doc) + replay_problems(doc)
    if not problems:
        problems += _summary_problems(doc)
    return problems


def _requirement_problems(doc: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    seen: set[str] = set()
    prefix = _PREFIX[doc["run"]["direction"]]
    for i, entry in enumerate(doc["requirements"]):
        path, rid = key(item(key(ROOT, "requirements"), i), "id"), entry["id"]
        if rid in seen:
            problems.append(f"{path}: {rid} is listed twice")
        seen.add(rid)
        if not rid.startswith(prefix):
            direction = doc["run"]["direction"]
            problems.append(f"{path}: {rid} does not belong to a {direction} run ({prefix}*)")
    selected = doc["run"]["requirements_selected"] or []
    for i, rid in enumerate(selected):
        if rid not in seen:
            path = item(key(key(ROOT, "run"), "requirements_selected"), i)
            problems.append(f"{path}: {rid} has no entry in $.requirements")
    return problems


def _run_problems(run: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    if run["strict"] and run.get("require_exercised") is False:
        path = key(key(ROOT, "run"), "require_exercised")
        problems.append(f"{path}: expected true (strict implies it), got false")
    return problems + _shard_problems(run)


def _shard_problems(run: Mapping[str, Any]) -> list[str]:
    """A CI job's index within its count; a merge's jobs, joined and missing, exactly 1..N."""
    shard, merged = run.get("shard"), run.get("merged")
    if shard is not None and merged is not None:
        return [f"{key(ROOT, 'run')}: a shard's results or a merge of shards, not both"]
    if shard is not None and shard["index"] > shard["count"]:
        path = key(key(key(ROOT, "run"), "shard"), "index")
        return [f"{path}: {shard['index']} is above the count, {shard['count']}"]
    if merged is None:
        return []
    listed = [*merged["shards"], *merged["missing"]]
    every = list(range(1, merged["count"] + 1))
    ascending = all(merged[name] == sorted(set(merged[name])) for name in ("shards", "missing"))
    if sorted(listed) != every or not ascending:
        path = key(key(ROOT, "run"), "merged")
        return [f"{path}: shards and missing must list 1 to {merged['count']} once each, ascending"]
    return []


def _baseline_entry_problems(run: Mapping[str, Any]) -> list[str]:
    entries = (run.get("baseline") or {}).get("entries", [])
    path = key(key(key(ROOT, "run"), "baseline"), "entries")
    problems: list[str] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        if entry["id"] in seen:
            problems.append(f"{key(item(path, i), 'id')}: {entry['id']} is listed twice")
        seen.add(entry["id"])
    return problems


def _case_problems(doc: Mapping[str, Any]) -> list[str]:
    levels = {entry["id"]: entry["level"] for entry in doc["requirements"]}
    problems: list[str] = []
    for i, case in enumerate(doc["cases"]):
        path = item(key(ROOT, "cases"), i)
        if case["index"] != i:
            problems.append(
                f"{key(path, 'index')}: expected {i} (its position), got {case['index']}"
            )
        problems += _verdict_problems(case["verdicts"], key(path, "verdicts"), levels)
        for name in ("breaches", "observations"):
            problems += [
                f"{key(key(path, name), rid)}: {rid} has no verdict in this case"
                for rid in case[name]
                if rid not in case["verdicts"]
            ]
        if "timeline" in case:
            problems += timeline_problems(case, key(path, "timeline"))
    return problems


def _verdict_problems(
    verdicts: Mapping[str, str], path: str, levels: Mapping[str, str]
) -> list[str]:
    problems: list[str] = []
    for rid, verdict in verdicts.items():
        if rid not in levels:
            problems.append(f"{key(path, rid)}: {rid} has no entry in $.requirements")
        elif verdict not in allowed_verdicts(levels[rid]):
            problems.append(f"{key(path, rid)}: a {levels[rid]} requirement cannot be {verdict}")
    return problems


def _derived_problems(doc: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    cases = doc["cases"]
    for i, entry in enumerate(doc["requirements"]):
        path, rid = item(key(ROOT, "requirements"), i), entry["id"]
        counts = counts_of(cases, rid)
        verdict = aggregate_verdict(counts, entry["level"])
        expected = {
            "counts": counts,
            "verdict": verdict,
            "failing_cases": failing_cases_of(cases, rid),
        }
        problems += [
            f"{key(path, name)}: expected {_shown(value)} from the cases, got {_shown(entry[name])}"
            for name, value in expected.items()
            if entry[name] != value
        ]
        judged = requirement_baseline(doc["run"], rid, verdict)
        if entry.get("baseline") != judged:
            problems.append(
                f"{key(path, 'baseline')}: expected {_shown(judged)} from run.baseline and "
                f"the verdict, got {_shown(entry.get('baseline'))}"
            )
    return problems


def _summary_problems(doc: Mapping[str, Any]) -> list[str]:
    """Every derived summary field the document has must be what its requirements and cases
    give; of the causes (prose whose wording may change) only that there are some exactly
    when a MUST was not exercised."""
    path, summary = key(ROOT, "summary"), doc["summary"]
    expected = summary_of(doc)
    causes = expected.pop("not_exercised_causes")
    problems = [
        f"{key(path, name)}: expected {_shown(value)} from the requirements and cases, "
        f"got {_shown(summary[name])}"
        for name, value in expected.items()
        if name in summary and summary[name] != value
    ]
    if "not_exercised_causes" in summary and bool(summary["not_exercised_causes"]) != bool(causes):
        wanted = "at least one cause" if causes else "no cause (every MUST was exercised)"
        problems.append(f"{key(path, 'not_exercised_causes')}: expected {wanted}")
    return problems


def _shown(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)
