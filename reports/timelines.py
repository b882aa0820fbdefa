"""A case's `timeline` (the requests of the case, the evidence each broken requirement names,
the byte map of the file): its rules, its own consistency, which cases keep one, the lanes
its requests are drawn in, and the compact text timeline of the Markdown summary.

Times are seconds from the case's first request. A lane holds requests that never overlap
in time: one lane per connection when the connections are few and each carried one request
at a time (HTTP/1.1 keep-alive), else one per concurrent slot (greedy interval packing).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from reports import rules
from reports.paths import item, key
from reports.verdicts import FAILING

__all__ = [
    "ANSWERS",
    "BYTE_KINDS",
    "MAX_TEXT_LINES",
    "PASSING_DRAWN_PER_TEST",
    "TIMELINE",
    "Lane",
    "answer_label",
    "drawn_cases",
    "end_of",
    "evidence_ids",
    "horizon_of",
    "lanes",
    "request_label",
    "text_timeline",
    "timeline_problems",
]

ANSWERS: Final = ("ok", "error", "http-error", "reset", "dropped", "none")
BYTE_KINDS: Final = ("acknowledged", "re-sent", "overlapping", "sent", "never-sent")
PASSING_DRAWN_PER_TEST: Final = 1  # passing cases that keep their timeline, per test
MAX_TEXT_LINES: Final = 40  # requests listed in a text timeline
MAX_CONNECTION_LANES: Final = 8  # more connections than this are packed into slots


def _finite(value: object, path: str) -> list[str]:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if number and math.isfinite(value):  # type: ignore[arg-type]
        return []
    return [f"{path}: expected a number, got {rules.describe(value)}"]


_NUMBER = rules.nullable(_finite)
_REQUEST = {
    "id": rules.COUNT,
    "sent": rules.DURATION,
    "answered": rules.nullable(rules.DURATION),
    "connection": rules.STRING,
    "call": rules.STRING,
    "role": rules.STRING,
    "resume": rules.nullable(rules.BOOL),
    "final_chunk": rules.nullable(rules.BOOL),
    "resume_at": _NUMBER,
    "length": rules.nullable(rules.COUNT),
    "answer": rules.one_of(*ANSWERS),
    "code": rules.nullable(rules.STRING),
    "http_status": rules.nullable(rules.COUNT),
    "fault": rules.nullable(rules.STRING),
    "params": rules.map_of(rules.STRING, rules.STRING),
    "disagreed": rules.obj({"server": rules.STRING, "model": rules.STRING}),
}
_RANGE = {"start": rules.COUNT, "end": rules.COUNT, "kind": rules.one_of(*BYTE_KINDS)}
_BYTES = {
    "size": rules.COUNT,
    "ranges": rules.list_of(rules.obj(_RANGE)),
    "held": rules.nullable(rules.COUNT),
    "full": rules.BOOL,
}
_ID = rules.matching(r"UT-[CS]\d{2,}", "a requirement ID like UT-C01")
TIMELINE: Final = rules.obj(
    {
        "axis": rules.one_of("seconds", "steps"),
        "requests": rules.list_of(rules.obj(_REQUEST, optional=("disagreed",))),
        "omitted": rules.COUNT,
        "evidence": rules.map_of(_ID, rules.list_of(rules.COUNT)),
        "bytes": rules.nullable(rules.obj(_BYTES)),
    },
    optional=("axis",),
)


@dataclass(frozen=True)
class Lane:
    """A row of the drawing: its name and the requests in it, in time order."""

    name: str
    requests: tuple[Mapping[str, Any], ...]


def timeline_problems(case: Mapping[str, Any], path: str) -> list[str]:
    """A well-shaped timeline that disagrees with itself or its case: answers before their
    requests, ids twice, evidence for a requirement the case has no verdict on, byte ranges
    that do not tile the file."""
    timeline = case["timeline"]
    problems: list[str] = []
    seen: set[int] = set()
    for i, request in enumerate(timeline["requests"]):
        here = item(key(path, "requests"), i)
        if request["id"] in seen:
            problems.append(f"{key(here, 'id')}: request {request['id']} is listed twice")
        seen.add(request["id"])
        answered = request["answered"]
        if answered is not None and answered < request["sent"]:
            problems.append(f"{key(here, 'answered')}: before the request was sent")
    for rid in timeline["evidence"]:
        if rid not in case["verdicts"]:
            problems.append(f"{key(key(path, 'evidence'), rid)}: the case has no verdict on {rid}")
    if timeline["bytes"] is not None:
        problems += _tiling_problems(timeline["bytes"], key(path, "bytes"))
    return problems


def _tiling_problems(byte_map: Mapping[str, Any], path: str) -> list[str]:
    position = 0
    for i, entry in enumerate(byte_map["ranges"]):
        if entry["start"] != position or entry["end"] <= entry["start"]:
            return [f"{item(key(path, 'ranges'), i)}: expected a range from {position} onwards"]
        position = entry["end"]
    if position != byte_map["size"]:
        return [f"{key(path, 'ranges')}: the ranges end at {position}, not at the size"]
    return []


def drawn_cases(cases: Sequence[Mapping[str, Any]]) -> set[int]:
    """Positions of the cases whose timeline the reports keep: every case with a broken or
    harness-error verdict, and the first `PASSING_DRAWN_PER_TEST` others of each test."""
    drawn: set[int] = set()
    passing: dict[str, int] = {}
    for position, case in enumerate(cases):
        if any(v in FAILING for v in case.get("verdicts", {}).values()):
            drawn.add(position)
            continue
        test = str(case.get("test"))
        if passing.get(test, 0) < PASSING_DRAWN_PER_TEST:
            passing[test] = passing.get(test, 0) + 1
            drawn.add(position)
    return drawn


def evidence_ids(timeline: Mapping[str, Any], requirement_id: str | None = None) -> set[int]:
    """The exchange ids named as evidence (for one requirement, or for any)."""
    named: Mapping[str, list[int]] = timeline["evidence"]
    if requirement_id is not None:
        return set(named.get(requirement_id, ()))
    return {i for ids in named.values() for i in ids}


def end_of(request: Mapping[str, Any], horizon: float) -> float:
    """When a request stopped occupying its lane: its answer, else the end of the case."""
    answered = request["answered"]
    return horizon if answered is None else float(answered)


def horizon_of(requests: Iterable[Mapping[str, Any]]) -> float:
    """The last moment anything happened (at least 1 ms, so that the scale is defined)."""
    moments = [float(r["sent"] if r["answered"] is None else r["answered"]) for r in requests]
    return max([0.001, *moments])


def lanes(requests: Sequence[Mapping[str, Any]]) -> list[Lane]:
    """The requests in rows that never overlap in time (see the module docstring)."""
    horizon = horizon_of(requests)
    ordered = sorted(requests, key=lambda r: (r["sent"], r["id"]))
    by_connection: dict[str, list[Mapping[str, Any]]] = {}
    for request in ordered:
        by_connection.setdefault(request["connection"], []).append(request)
    if len(by_connection) <= MAX_CONNECTION_LANES and all(
        _sequential(group, horizon) for group in by_connection.values()
    ):
        return [
            Lane(f"conn {n}", tuple(group))
            for n, group in enumerate(by_connection.values(), start=1)
        ]
    return _packed(ordered, horizon)


def _sequential(group: Sequence[Mapping[str, Any]], horizon: float) -> bool:
    return all(
        end_of(before, horizon) <= after["sent"] for before, after in itertools.pairwise(group)
    )


def _packed(ordered: Sequence[Mapping[str, Any]], horizon: float) -> list[Lane]:
    """Greedy interval packing: each request in the first slot free when it was sent."""
    slots: list[list[Mapping[str, Any]]] = []
    ends: list[float] = []
    for request in ordered:
        free = next((n for n, end in enumerate(ends) if end <= request["sent"]), None)
        if free is None:
            slots.append([])
            ends.append(0.0)
            free = len(slots) - 1
        slots[free].append(request)
        ends[free] = end_of(request, horizon)
    return [Lane(f"slot {n}", tuple(slot)) for n, slot in enumerate(slots, start=1)]


def request_label(request: Mapping[str, Any]) -> str:
    """`#3 middle resumeAt=4096 1024 B resume=true finalChunk=false`: the request alone."""
    parts = [f"#{request['id']}", str(request["role"])]
    if request["resume_at"] is not None:
        parts.append(f"resumeAt={request['resume_at']}")
    if request["length"] is not None:
        parts.append(f"{request['length']} B")
    for name, flag in (("resume", "resume"), ("finalChunk", "final_chunk")):
        if request[flag] is not None:
            parts.append(f"{name}={str(request[flag]).lower()}")
    return " ".join(parts)


def answer_label(request: Mapping[str, Any]) -> str:
    """`ok`, `error UPLOAD_TOKEN_NOT_FOUND`, `http-error 500`, `reset`, `dropped`, `no answer`."""
    answer = request["answer"]
    if answer == "error" and request["code"]:
        return f"error {request['code']}"
    if answer == "http-error" and request["http_status"] is not None:
        return f"http-error {request['http_status']}"
    return "no answer" if answer == "none" else str(answer)


def text_timeline(timeline: Mapping[str, Any], requirement_id: str | None = None) -> list[str]:
    """One line per request in the order sent: time, lane, request, answer, fault, and
    `<< evidence` on the requests the failing check names; at most `MAX_TEXT_LINES`."""
    requests = timeline["requests"]
    lane_of = {r["id"]: lane.name for lane in lanes(requests) for r in lane.requests}
    named = evidence_ids(timeline, requirement_id)
    ordered = sorted(requests, key=lambda r: (r["sent"], r["id"]))
    steps = timeline.get("axis") == "steps"
    lines = [
        _text_line(r, lane_of[r["id"]], r["id"] in named, steps) for r in ordered[:MAX_TEXT_LINES]
    ]
    left = len(ordered) - MAX_TEXT_LINES + timeline["omitted"]
    if left > 0:
        lines.append(f"... {left} more requests not listed")
    return lines


def _text_line(request: Mapping[str, Any], lane: str, evidence: bool, steps: bool) -> str:
    when = f"step {request['sent']:>3}" if steps else f"{request['sent']:8.3f}s"
    line = (
        f"{when}  {_one_line(lane):<7} {_one_line(request['call']):<20} "
        f"{_one_line(request_label(request))} -> {_one_line(answer_label(request))}"
    )
    if request["fault"]:
        line += f"  [fault: {_one_line(request['fault'])}]"
    disagreed = request.get("disagreed")
    if disagreed:
        line += f"  [model predicted: {_one_line(disagreed['model'])}]"
    return line + ("  << evidence" if evidence else "")


def _one_line(text: str) -> str:
    """Document text on one line: a hostile value cannot start a line of its own."""
    return " ".join(text.split())
