"""Why a requirement no case judged was set aside, in a few console lines.

Through the proxy a check's verdict is taken away where its evidence cannot be vouched for
(a server/model disagreement, a request the model did not follow or the proxy could not
forward, content written in an order the proxy cannot see, a case the budget could not pay
for); the case records why under its observation `"not judged"` (a list of reasons), which
results.json carries in `cases[].observations`. The console names them under the
requirement's row: the distinct reasons in case order, each with how many cases gave it,
cut to a width, at most `MAX_LINES` of them and then how many more; a reason already
printed under an earlier row is named by that row (one disagreement often sets aside a
dozen checks).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from reports.verdicts import Verdict
from reports.view import plural, printable

__all__ = ["MAX_LINES", "NOT_JUDGED", "WIDTH", "set_aside_lines", "set_aside_reasons"]

NOT_JUDGED: Final = "not judged"  # the observation a doubt leaves (conformance.checks.doubts)
MAX_LINES: Final = 3  # reasons per requirement on the console; the rest are counted
WIDTH: Final = 120  # characters of one reason on the console (the rest is in results.json)


def set_aside_reasons(doc: Mapping[str, Any], rid: str) -> list[tuple[str, int]]:
    """Each distinct reason requirement `rid` was set aside for, in case order, with the
    number of cases that gave it."""
    counts: dict[str, int] = {}
    for case in doc.get("cases") or ():
        observed = (case.get("observations") or {}).get(rid) or {}
        reasons = observed.get(NOT_JUDGED) if isinstance(observed, Mapping) else None
        for reason in dict.fromkeys(map(str, reasons if isinstance(reasons, list) else ())):
            counts[reason] = counts.get(reason, 0) + 1
    return list(counts.items())


def set_aside_lines(
    doc: Mapping[str, Any], row: Mapping[str, Any], shown: dict[str, str] | None = None
) -> list[str]:
    """The lines under a NOT-EXERCISED requirement's row saying why its cases set it aside;
    none for any other row, or when no case set it aside. `shown` (reason -> the row that
    printed it first) is filled in across the rows of one table."""
    if row.get("verdict") != Verdict.NOT_EXERCISED:
        return []
    rid = str(row.get("id"))
    seen = {} if shown is None else shown
    reasons = set_aside_reasons(doc, rid)
    lines = []
    for reason, count in reasons[:MAX_LINES]:  # only a printed reason is referred back to
        said = f"as under {seen[reason]}" if reason in seen else _cut(reason)
        seen.setdefault(reason, rid)
        lines.append(f"set aside{_in_cases(count)}: {said}")
    if len(reasons) > MAX_LINES:
        lines.append(f"… and {len(reasons) - MAX_LINES} more (results.json)")
    return lines


def _in_cases(count: int) -> str:
    return "" if count == 1 else f" in {plural(count, 'case')}"


def _cut(reason: str) -> str:
    flat = printable(" ".join(reason.split()))
    return flat if len(flat) <= WIDTH else f"{flat[: WIDTH - 1]}…"
