"""One results document from the results of the CI jobs of one sharded run (`--shard I/N`).

Each job ran a share of the run's lanes (whole Hypothesis runs, each with its own seed), so
the union of their cases is the unsharded run's, case for case; the requirement verdicts,
the summary and the exit code are derived again from that union (`ResultsBuilder`), as for
any run. Joining is refused, one line naming the field and the source, when the jobs are not
the shares of one run: another seed, profile, client, requirement selection, strictness,
client chunk, tool version or baseline, a job index given twice, or a job missing (unless
`allow_partial`: then the document says which, `run.merged.missing`, and every report
headline does too).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from reports.collect import ResultsBuilder
from reports.schema import ReportError

__all__ = ["SAME_RUN_FIELDS", "MergeError", "merge_shards"]

# The run fields every job of one sharded run has alike (`client_chunk` by its bytes).
SAME_RUN_FIELDS = (
    "direction",
    "target",
    "profile",
    "hypothesis_seed",
    "requirements_selected",
    "strict",
    "require_exercised",
    "tool_version",
    "baseline",
)

Source = tuple[str, Mapping[str, Any]]
"""Where a document came from (its directory, as the user named it), and the document."""


class MergeError(ReportError):
    """The documents are not the jobs of one sharded run; the message is one line."""


def merge_shards(sources: Sequence[Source], *, allow_partial: bool = False) -> dict[str, Any]:
    """The results document of the whole run, from its jobs' valid documents."""
    if not sources:
        raise MergeError("no results to merge")
    for name, doc in sources:
        if "shard" not in doc["run"]:
            raise MergeError(f"{name}: not a CI job's results (run with --shard I/N)")
    first_name, first = sources[0]
    for name, doc in sources[1:]:
        _same_run(first_name, first, name, doc)
    joined, missing = _indices(sources, allow_partial=allow_partial)
    builder = ResultsBuilder(run=_merged_run(sources, joined, missing))
    for entry in first["requirements"]:
        builder.add_requirement(entry["id"], entry["level"], entry["rule"])
    for _, doc in sources:
        builder.add_cases(doc["cases"])
    return builder.build()


def _same_run(first_name: str, first: Mapping[str, Any], name: str, doc: Mapping[str, Any]) -> None:
    run, base = doc["run"], first["run"]
    fields = [
        *((field, run.get(field), base.get(field)) for field in SAME_RUN_FIELDS),
        ("shard count", run["shard"]["count"], base["shard"]["count"]),
        ("client_chunk bytes", _chunk_bytes(run), _chunk_bytes(base)),
        ("requirements", _ids(doc), _ids(first)),
    ]
    for field, value, expected in fields:
        if value != expected:
            raise MergeError(
                f"{name}: {field} {_shown(value)} differs from {first_name}'s {_shown(expected)}"
            )


def _indices(sources: Sequence[Source], *, allow_partial: bool) -> tuple[list[int], list[int]]:
    """The job indices joined, and those missing (refused unless `allow_partial`)."""
    seen: dict[int, str] = {}
    for name, doc in sources:
        index = doc["run"]["shard"]["index"]
        if index in seen:
            raise MergeError(f"{name}: job {index} given twice (also {seen[index]})")
        seen[index] = name
    count = sources[0][1]["run"]["shard"]["count"]
    missing = [index for index in range(1, count + 1) if index not in seen]
    if missing and not allow_partial:
        listed = ", ".join(f"{index}/{count}" for index in missing)
        raise MergeError(
            f"job(s) {listed} missing: their cases were not run "
            "(--allow-partial merges the others, marked partial)"
        )
    return sorted(seen), missing


def _merged_run(sources: Sequence[Source], joined: list[int], missing: list[int]) -> dict[str, Any]:
    """The first job's run metadata, as one run: it began with the first job and lasted as
    long as the longest (CI jobs run side by side)."""
    runs = [doc["run"] for _, doc in sources]
    run = {name: value for name, value in runs[0].items() if name != "shard"}
    run["started_at"] = min(r["started_at"] for r in runs)  # RFC 3339 UTC: sorts as text
    run["duration_s"] = max(r["duration_s"] for r in runs)
    run["workers"] = max(r["workers"] for r in runs)
    if any(r.get("interrupted") for r in runs):
        run["interrupted"] = True
    run["merged"] = {"count": runs[0]["shard"]["count"], "shards": joined, "missing": missing}
    return run


def _chunk_bytes(run: Mapping[str, Any]) -> object:
    chunk = run.get("client_chunk")
    return None if chunk is None else chunk["bytes"]


def _ids(doc: Mapping[str, Any]) -> list[str]:
    return [entry["id"] for entry in doc["requirements"]]


def _shown(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)
