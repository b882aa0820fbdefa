"""A run judged against its baseline: which listed failures are KNOWN, FIXED or EXPIRED.

The run's `baseline` (`run.baseline`: the file's path, whether it is strict, its entries)
and the day the run started decide, for each requirement the baseline lists, what the
baseline says of it (`requirement_baseline`):

- `fixed`: the requirement passes now; the entry is stale (delete it: `delete_hint`);
- `expired`: it does not pass and its entry's date is past: the run fails;
- `known`: it is broken (FAIL or NON-STRICT) and accepted until the date: it does not fail
  the run (`reports.verdicts.exit_code`).

A listed requirement that was not exercised (or only informational) is neither, until
its date passes. The builder adds these; the validator derives them again.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from reports.verdicts import Baselined, Verdict, is_broken

__all__ = [
    "baseline_entries",
    "delete_hint",
    "explain",
    "judging_day",
    "requirement_baseline",
    "word",
]

_WORDS = {Baselined.KNOWN: "KNOWN", Baselined.FIXED: "FIXED", Baselined.EXPIRED: "EXPIRED"}


def judging_day(run: Mapping[str, Any]) -> datetime.date:
    """The day an entry's date is compared with: the day the run started, as recorded."""
    return datetime.date.fromisoformat(str(run["started_at"])[:10])


def baseline_entries(run: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The run's baseline entries by requirement ID (none without a baseline)."""
    baseline = run.get("baseline")
    if not baseline:
        return {}
    return {entry["id"]: entry for entry in baseline["entries"]}


def requirement_baseline(
    run: Mapping[str, Any], requirement_id: str, verdict: str
) -> dict[str, Any] | None:
    """What the run's baseline says of a requirement with this verdict, or None when it
    does not list it (or has nothing to say yet)."""
    entry = baseline_entries(run).get(requirement_id)
    if entry is None:
        return None
    status = _status(verdict, datetime.date.fromisoformat(entry["expires"]), judging_day(run))
    if status is None:
        return None
    return {"status": status, "reason": entry["reason"], "expires": entry["expires"]}


def _status(verdict: str, expires: datetime.date, day: datetime.date) -> str | None:
    if verdict == Verdict.PASS:
        return Baselined.FIXED
    if day > expires:
        return Baselined.EXPIRED
    return Baselined.KNOWN if is_broken(verdict) else None


def word(status: str) -> str:
    """`KNOWN`, `FIXED`, `EXPIRED`: as every report shows it."""
    return _WORDS[status]


def delete_hint(run: Mapping[str, Any], requirement_id: str) -> str:
    """Where a stale entry is: `conformance-baseline.toml lines 12-15 (id = "UT-C10")`."""
    baseline = run.get("baseline") or {}
    entry = baseline_entries(run).get(requirement_id, {})
    lines = entry.get("lines")
    where = f" lines {lines[0]}-{lines[1]}" if lines else ""
    return f'{baseline.get("path", "the baseline")}{where} (id = "{requirement_id}")'


def explain(run: Mapping[str, Any], requirement: Mapping[str, Any]) -> str:
    """One line on a requirement the baseline speaks of (empty when it does not)."""
    judged = requirement.get("baseline")
    if not judged:
        return ""
    rid, status = requirement["id"], judged["status"]
    if status == Baselined.FIXED:
        return f"{rid} FIXED: it passes now; delete its baseline entry, {delete_hint(run, rid)}"
    if status == Baselined.EXPIRED:
        return (
            f"{rid} EXPIRED: its baseline entry expired on {judged['expires']} and it still "
            f"does not pass ({delete_hint(run, rid)}); reason was: {judged['reason']}"
        )
    return f"{rid} KNOWN (until {judged['expires']}): {judged['reason']}"
