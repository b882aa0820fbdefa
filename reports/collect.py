"""Collect case results from any number of workers into one results document.

    builder = ResultsBuilder(run={...})
    builder.add_requirement("UT-C10", "MUST", "The closing request is sent only after ...")
    builder.add_case({"test": "...", "description": "...", "verdicts": {...}, ...})
    doc = builder.build()          # validated; raises ReportError otherwise

Cases may arrive in any order (xdist workers finish when they finish): `build` sorts them,
so the same cases always give the same document.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from reports.derive import counts_of, failing_cases_of, summary_of
from reports.disagreements import disagreements_of
from reports.known import requirement_baseline
from reports.paths import ROOT, item, key
from reports.schema import SCHEMA_ID, ReportError, check, shape_problems
from reports.timelines import drawn_cases
from reports.verdicts import Verdict, aggregate_verdict, tally

__all__ = ["MAX_MESSAGES", "ResultsBuilder", "merge_observations", "plain"]

MAX_MESSAGES = 5
MAX_DISTINCT_VALUES = 5
_SUMMARY_FIELDS = ("cases", "must_failed", "should_failed", "harness_errors", "exit_code")
_CASE_DEFAULTS: Mapping[str, Any] = {
    "description": "",
    "scenario": {},
    "client": None,
    "verdicts": {},
    "breaches": {},
    "observations": {},
    "trace": {},
    "replay": None,
}
_CASE_FIELDS = ("index", "test", *_CASE_DEFAULTS)
_SURROGATE = re.compile("[\ud800-\udfff]")
_ID_NUMBER = re.compile(r"(.*?)(\d+)")


class ResultsBuilder:
    """Accumulates run metadata, requirement metadata and cases; `build` makes the document.

    Safe to feed from several threads; workers in other processes send their case dicts
    to the one process that owns the builder.
    """

    def __init__(self, run: Mapping[str, Any] | None = None) -> None:
        self._lock = threading.Lock()
        self._run: dict[str, Any] = plain(run or {}, key(ROOT, "run"))
        self._requirements: dict[str, dict[str, str]] = {}
        self._cases: list[dict[str, Any]] = []

    def update_run(self, **fields: Any) -> None:
        """Set run metadata known only later (`duration_s`, `workers`)."""
        with self._lock:
            self._run.update(plain(fields, key(ROOT, "run")))

    def add_requirement(self, requirement_id: str, level: str, rule: str) -> None:
        """Register a requirement; registering the same one again is harmless."""
        entry = {"id": requirement_id, "level": level, "rule": rule}
        with self._lock:
            known = self._requirements.setdefault(requirement_id, entry)
        if known != entry:
            raise ReportError(f"{requirement_id} registered twice with different metadata")

    def add_case(self, case: Mapping[str, Any]) -> None:
        """Add one case: `test` and `verdicts` are needed, the other fields default to
        empty. Strings that are not valid Unicode are repaired; `index` is assigned later."""
        copied = {**_CASE_DEFAULTS, **plain(case, key(ROOT, "cases"))}
        copied.pop("index", None)
        with self._lock:
            self._cases.append(copied)

    def add_cases(self, cases: Iterable[Mapping[str, Any]]) -> None:
        for case in cases:
            self.add_case(case)

    def build(self) -> dict[str, Any]:
        """The validated results document; raises `ReportError` naming the first problem."""
        with self._lock:
            run = plain(self._run)
            metadata = sorted(self._requirements.values(), key=lambda r: _id_order(r["id"]))
            cases = _indexed(self._cases)
        # A strict run requires every MUST to be exercised; the document says so itself.
        run.setdefault("require_exercised", run.get("strict") is True)
        doc: dict[str, Any] = {"schema": SCHEMA_ID, "run": run}
        # Derivation trusts the shapes, so check them first on a stand-in with empty results.
        doc["requirements"] = [_placeholder(entry) for entry in metadata]
        doc["cases"] = cases
        doc["summary"] = dict.fromkeys(_SUMMARY_FIELDS, 0)
        _raise_first(shape_problems(doc))
        doc["requirements"] = [_requirement(entry, cases, run) for entry in metadata]
        doc["summary"] = summary_of(doc)
        disagreed = disagreements_of(cases)
        if disagreed:
            doc["disagreements"] = disagreed
        return check(doc)


def _raise_first(problems: list[str]) -> None:
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ReportError(f"cannot build the results document: {problems[0]}{more}")


def _indexed(cases: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of the cases in a stable order, with `index` = position and fields in the
    documented order.

    Ordered by test and description, then by the whole case, so that even identical-looking
    cases land in the same order whichever worker reported first.
    """

    def order(numbered: tuple[int, dict[str, Any]]) -> tuple[str, str, str, int]:
        seq, case = numbered
        # The timeline (up to 200 requests) would only cost here: what the case did is
        # already in the rest of it.
        rest = {name: value for name, value in case.items() if name != "timeline"}
        return (str(case.get("test")), str(case.get("description")), _canonical(rest), seq)

    ordered = [case for _, case in sorted(enumerate(cases), key=order)]
    drawn = drawn_cases(ordered)
    return [
        _fields_in_order(_drawn_only({**case, "index": i}, i in drawn))
        for i, case in enumerate(ordered)
    ]


def _drawn_only(case: dict[str, Any], drawn: bool) -> dict[str, Any]:
    """The case without its timeline unless the reports draw it: results.json stays small."""
    if not drawn:
        case.pop("timeline", None)
    return case


def _fields_in_order(case: dict[str, Any]) -> dict[str, Any]:
    known = {name: plain(case[name]) for name in _CASE_FIELDS if name in case}
    return {**known, **{name: plain(v) for name, v in case.items() if name not in known}}


def _placeholder(entry: Mapping[str, str]) -> dict[str, Any]:
    return {
        **entry,
        "verdict": Verdict.NOT_EXERCISED,
        "counts": tally(()),
        "failing_cases": [],
        "messages": [],
        "observations": {},
    }


def _requirement(
    entry: Mapping[str, str], cases: Sequence[Mapping[str, Any]], run: Mapping[str, Any]
) -> dict[str, Any]:
    rid = entry["id"]
    counts = counts_of(cases, rid)
    verdict = aggregate_verdict(counts, entry["level"])
    judged = requirement_baseline(run, rid, verdict)
    return {
        **entry,
        "verdict": verdict,
        "counts": counts,
        "failing_cases": failing_cases_of(cases, rid),
        "messages": _messages(cases, rid),
        "observations": merge_observations(
            case["observations"][rid] for case in cases if rid in case["observations"]
        ),
        **({} if judged is None else {"baseline": judged}),
    }


def _messages(cases: Sequence[Mapping[str, Any]], rid: str) -> list[str]:
    """The first distinct breach messages, in case order (the reader wants examples, not
    every repetition of the same bug)."""
    found = (message for case in cases for message in case["breaches"].get(rid, ()))
    distinct = list(dict.fromkeys(found))
    return distinct[:MAX_MESSAGES]


def merge_observations(per_case: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """One summary per observation name across cases.

    Numbers become `{"min", "median", "max", "cases"}`; anything else becomes
    `{"values": [the first 5 distinct values], "cases"}`.
    """
    collected: dict[str, list[Any]] = {}
    for observations in per_case:
        for name, value in observations.items():
            collected.setdefault(name, []).append(value)
    return {name: _merged(values) for name, values in sorted(collected.items())}


def _merged(values: list[Any]) -> dict[str, Any]:
    if all(_is_number(value) for value in values):
        median = statistics.median(values)
        if all(isinstance(v, int) for v in values) and float(median).is_integer():
            median = int(median)  # the median of [4, 4] is 4, not 4.0
        return {
            "min": min(values),
            "median": median,
            "max": max(values),
            "cases": len(values),
        }
    distinct = list({_canonical(value): value for value in values}.values())
    return {"values": distinct[:MAX_DISTINCT_VALUES], "cases": len(values)}


def plain(value: Any, path: str = ROOT) -> Any:
    """A deep copy of `value` as plain JSON data (tuples become lists, lone surrogates
    become U+FFFD); anything that is not JSON data raises `ReportError` naming its path."""
    # str, int and float subclasses (enums) become the plain type, as JSON would read them.
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ReportError(f"{path}: {value} is not a JSON number")
        return float(value)
    if isinstance(value, Mapping):
        return {_name(name, path): plain(v, key(path, str(name))) for name, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v, item(path, i)) for i, v in enumerate(value)]
    raise ReportError(f"{path}: a Python {type(value).__name__} is not JSON data")


def _name(name: object, path: str) -> str:
    if not isinstance(name, str):
        raise ReportError(f"{path}: key {name!r} is not a string")
    return _SURROGATE.sub("\ufffd", name)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _id_order(requirement_id: str) -> tuple[str, int, str]:
    """UT-C2 < UT-C10 < UT-S01: by prefix, then by number."""
    match = _ID_NUMBER.fullmatch(requirement_id)
    if match is None:
        return (requirement_id, 0, requirement_id)
    return (match.group(1), int(match.group(2)), requirement_id)
