"""Inline SVG drawings of a case's `timeline`: the requests over time, and the byte map of
the file. Readable without JavaScript; every piece of document text is escaped.

Timeline: x is time from the case's first request, to scale (`Scale`); one row per lane
(`reports.timelines.lanes`); each request a bar from sent to answered (`answered` null: to
the end of the case, open-ended). Meaning is never carried by colour alone: each bar says
its answer in words and draws its outline in a dash pattern of its own; a fault is a
marker with the word `fault`; an evidence bar has a thick outline and the word `evidence`.
A hover `<title>` gives the decoded parameters (the record holds no credential).

Byte map: the file from byte 0 to its size, to scale, each range a segment of its kind
(labelled in words where it is wide enough, and always in the title and the list under
it), and a second row with what the token finally holds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from reports.timelines import (
    Lane,
    answer_label,
    end_of,
    evidence_ids,
    horizon_of,
    lanes,
    request_label,
)
from reports.view import html_text as _text

__all__ = [
    "LANE_HEIGHT",
    "PLOT_LEFT",
    "PLOT_WIDTH",
    "Scale",
    "byte_map_svg",
    "timeline_svg",
    "zoom_window",
]

PLOT_LEFT: Final = 64  # px for the lane names
PLOT_WIDTH: Final = 820  # px of the time (or byte) axis
LANE_HEIGHT: Final = 40  # px per lane: a fault label line above a bar
_BAR_TOP: Final = 13  # px from a lane's top to its bar
_BAR_HEIGHT: Final = 22
_AXIS: Final = 24  # px for the axis and its tick labels
_MIN_BAR: Final = 3.0  # px: an instant request stays visible
_CHAR: Final = 6.2  # px per character of the 11 px label font, to decide what fits
_TICKS: Final = 6


@dataclass(frozen=True)
class Scale:
    """Linear map from [0, span] (seconds or bytes) to [PLOT_LEFT, PLOT_LEFT + PLOT_WIDTH]."""

    span: float
    least_step: float = 0.0  # bytes: no tick between two whole bytes
    origin: float = 0.0  # a zoomed view starts later

    def x(self, value: float) -> float:
        inside = min(max(value - self.origin, 0.0), self.span)
        return PLOT_LEFT + PLOT_WIDTH * inside / self.span

    def ticks(self) -> list[float]:
        """Round values over the span, about `_TICKS` of them (1, 2, 5 × 10^k apart)."""
        raw = self.span / _TICKS
        magnitude = 10 ** math.floor(math.log10(raw))
        step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
        step = max(step, self.least_step)
        first = math.ceil(self.origin / step - 1e-9)
        last = math.floor((self.origin + self.span) / step + 1e-9)
        return [n * step for n in range(first, last + 1)]


def timeline_svg(
    timeline: Mapping[str, Any],
    requirement_id: str | None = None,
    window: tuple[float, float] | None = None,
) -> str:
    """The requests of the case; the evidence of `requirement_id` (of every broken
    requirement when None) highlighted. With a `window` (seconds), only that stretch, to
    its own scale (`svg.timeline-zoom`), in the same lanes."""
    requests = timeline["requests"]
    rows = lanes(requests)
    horizon = horizon_of(requests)
    start, end = window or (0.0, horizon)
    steps = timeline.get("axis") == "steps"
    scale = Scale(end - start, least_step=1.0 if steps else 0.0, origin=start)
    if window is not None:
        rows = [_within(lane, start, end, horizon) for lane in rows]
    named = evidence_ids(timeline, requirement_id)
    height = _AXIS + LANE_HEIGHT * max(1, len(rows))
    width = PLOT_LEFT + PLOT_WIDTH + 8
    css = "timeline" if window is None else "timeline-zoom"
    parts = [
        f'<svg class="{css}" role="img" xmlns="http://www.w3.org/2000/svg" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'data-horizon="{horizon:.6f}" data-window="{start:.6f} {end:.6f}">',
        f"<title>{_text(_summary(requests, rows, timeline['omitted']))}</title>",
        _axis(scale, height, "step" if steps else "s"),
    ]
    for number, lane in enumerate(rows):
        parts.append(_lane(lane, number, scale, horizon, named, steps=steps))
    parts.append("</svg>")
    return "".join(parts)


def zoom_window(
    timeline: Mapping[str, Any], requirement_id: str | None = None
) -> tuple[float, float] | None:
    """A stretch around the evidence when it is too short to tell apart on the whole
    case's scale (under a tenth of it); None when the whole view shows it well enough."""
    named = evidence_ids(timeline, requirement_id)
    requests = timeline["requests"]
    horizon = horizon_of(requests)
    shown = [r for r in requests if r["id"] in named]
    if not shown or timeline.get("axis") == "steps":  # steps are all as wide
        return None
    first = min(r["sent"] for r in shown)
    last = max(end_of(r, horizon) for r in shown)
    if last - first >= horizon / 10:
        return None
    pad = max((last - first) / 10, 0.0005)
    return (max(0.0, first - pad), min(horizon, last + pad))


def _within(lane: Lane, start: float, end: float, horizon: float) -> Lane:
    kept = tuple(r for r in lane.requests if r["sent"] <= end and end_of(r, horizon) >= start)
    return Lane(lane.name, kept)


def _summary(requests: Sequence[Mapping[str, Any]], rows: list[Lane], omitted: int) -> str:
    more = f", {omitted} more requests not drawn" if omitted else ""
    return f"{len(requests)} requests in {len(rows)} lanes{more}"


def _axis(scale: Scale, height: int, unit: str) -> str:
    parts = [
        f'<g class="axis"><line x1="{PLOT_LEFT}" y1="{_AXIS - 6}" '
        f'x2="{PLOT_LEFT + PLOT_WIDTH}" y2="{_AXIS - 6}"/>'
    ]
    for tick in scale.ticks():
        x = scale.x(tick)
        parts.append(
            f'<line class="grid" x1="{x:.1f}" y1="{_AXIS - 6}" x2="{x:.1f}" y2="{height}"/>'
            f'<text x="{x:.1f}" y="{_AXIS - 10}" text-anchor="middle">'
            f"{_text(_number(tick, unit))}</text>"
        )
    parts.append("</g>")
    return "".join(parts)


def _lane(
    lane: Lane, number: int, scale: Scale, horizon: float, named: set[int], *, steps: bool
) -> str:
    top = _AXIS + number * LANE_HEIGHT
    parts = [
        f'<g class="lane" data-lane="{_text(lane.name)}">',
        f'<text class="lane-name" x="4" y="{top + _BAR_TOP + 15}">{_text(lane.name)}</text>',
    ]
    starts = [scale.x(r["sent"]) for r in lane.requests]
    ends = [scale.x(end_of(r, horizon)) for r in lane.requests]
    # Where the next bar begins and where the one before ended (an empty lane has neither).
    after = [*starts[1:], float(PLOT_LEFT + PLOT_WIDTH + 8)][: len(starts)]
    before = [float(PLOT_LEFT), *ends[:-1]][: len(starts)]
    parts += [
        _bar(
            r,
            top,
            scale=scale,
            horizon=horizon,
            evidence=r["id"] in named,
            free=(since, until),
            steps=steps,
        )
        for r, since, until in zip(lane.requests, before, after, strict=True)
    ]
    parts.append("</g>")
    return "".join(parts)


def _bar(
    request: Mapping[str, Any],
    top: int,
    *,
    scale: Scale,
    horizon: float,
    evidence: bool,
    free: tuple[float, float],
    steps: bool,
) -> str:
    """One request; its label inside the bar, else after it, else before it, within the
    `free` stretch of its lane (from where the bar before ends to where the next begins):
    never over another bar."""
    start = scale.x(request["sent"])
    width = max(_MIN_BAR, scale.x(end_of(request, horizon)) - start)
    answer = request["answer"]
    classes = f"bar {answer}" + (" evidence" if evidence else "")
    label = ("evidence " if evidence else "") + _short_label(request)
    y = top + _BAR_TOP
    parts = [
        f'<g class="{classes}" data-id="{request["id"]}" data-sent="{request["sent"]}" '
        f'data-end="{end_of(request, horizon)}">',
        f"<title>{_text(_hover(request, evidence, steps))}</title>",
        f'<rect x="{start:.2f}" y="{y}" width="{width:.2f}" height="{_BAR_HEIGHT}"/>',
    ]
    parts.append(_label(label, start, width, free, y + 15))
    if request["fault"]:
        parts.append(
            f'<path class="fault-mark" d="M{start:.2f} {y - 1} l-4 -6 h8 z"/>'
            f'<text class="fault" x="{start + 6:.2f}" y="{y - 2}">'
            f"{_text(_fit('fault: ' + request['fault'], PLOT_WIDTH / 3))}</text>"
        )
    parts.append("</g>")
    return "".join(parts)


def _label(label: str, start: float, width: float, free: tuple[float, float], y: int) -> str:
    """The bar's words where they fit; a label cut to nothing is left to the title."""
    since, until = free
    inside = (width - 4, start + 3, "start")
    places = (
        (inside, 12),
        ((until - start - width - 5, start + width + 3, "start"), 4),  # after the bar
        ((start - since - 5, start - 3, "end"), 4),  # before it
        (inside, 4),
    )
    for (room, x, anchor), least in places:
        if room >= least * _CHAR:
            shown = _text(_fit(label, room))
            return f'<text x="{x:.2f}" y="{y}" text-anchor="{anchor}">{shown}</text>'
    return ""


def _short_label(request: Mapping[str, Any]) -> str:
    """`#6 close: error CODE; resumeAt=40960 3000 B …`: what it was and got first, as a
    narrow bar cuts the end."""
    detail = request_label(request).split(" ", 2)[2:]  # after `#id role`
    rest = f"; {detail[0]}" if detail else ""
    return f"#{request['id']} {request['role']}: {answer_label(request)}{rest}"


def _hover(request: Mapping[str, Any], evidence: bool, steps: bool) -> str:
    answered = request["answered"]
    took = "" if answered is None else f", answered {answered:.4f} s"
    when = (
        f"step {request['id']}"
        if steps
        else f"sent {request['sent']:.4f} s{took} on connection {request['connection']}"
    )
    lines = [
        f"{request['call']} {request_label(request)}",
        when,
        f"answer: {answer_label(request)}",
    ]
    if request["fault"]:
        lines.append(f"fault: {request['fault']}")
    disagreed = request.get("disagreed")
    if disagreed:
        lines.append(
            f"server answered {disagreed['server']}; the model predicted {disagreed['model']}"
        )
    if evidence:
        lines.append("evidence: a failing check names this request")
    lines += [f"{name}={value}" for name, value in request["params"].items()]
    return "\n".join(lines)


def byte_map_svg(byte_map: Mapping[str, Any]) -> str:
    """The file's bytes by what became of them, and what the token holds, to scale."""
    size = byte_map["size"]
    scale = Scale(max(1, size), least_step=1.0)
    width = PLOT_LEFT + PLOT_WIDTH + 8
    height = _AXIS + 2 * LANE_HEIGHT
    parts = [
        f'<svg class="bytemap" role="img" xmlns="http://www.w3.org/2000/svg" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" data-size="{size}">',
        f"<title>{_text(f'byte map of the {size}-byte file')}</title>",
        _axis(scale, height, "B"),
        f'<text class="lane-name" x="4" y="{_AXIS + _BAR_TOP + 15}">sent</text>',
    ]
    parts += [_segment(r, scale, _AXIS + _BAR_TOP) for r in byte_map["ranges"]]
    parts.append(_held(byte_map, scale, _AXIS + LANE_HEIGHT + _BAR_TOP))
    parts.append("</svg>")
    return "".join(parts)


def _segment(entry: Mapping[str, Any], scale: Scale, y: int) -> str:
    """One range; a trouble range too thin to see gets a marker and its words above."""
    start, end, kind = entry["start"], entry["end"], entry["kind"]
    x = scale.x(start)
    width = max(1.0, scale.x(end) - x)
    title = f"{kind}: bytes {start} to {end} ({end - start} bytes)"
    label = f'<text x="{x + 3:.2f}" y="{y + 15}">{_text(_fit(kind, width))}</text>'
    thin = width < 4 and kind != "acknowledged"
    mark = (
        f'<path class="thin-mark" d="M{x + width / 2:.2f} {y - 1} l-4 -6 h8 z"/>'
        f'<text class="thin-label" x="{x + width / 2 + 6:.2f}" y="{y - 2}">'
        f"{_text(f'{kind} {end - start} B at {start}')}</text>"
    )
    return (
        f'<g class="range {kind}{" thin" if thin else ""}" data-start="{start}" data-end="{end}">'
        f"<title>{_text(title)}</title>"
        f'<rect x="{x:.2f}" y="{y}" width="{width:.2f}" height="{_BAR_HEIGHT}"/>'
        f"{label if width >= 4 * _CHAR else ''}{mark if thin else ''}</g>"
    )


def _held(byte_map: Mapping[str, Any], scale: Scale, y: int) -> str:
    held, size = byte_map["held"], byte_map["size"]
    name = f'<text class="lane-name" x="4" y="{y + 15}">token</text>'
    if held is None:
        return f'{name}<text x="{PLOT_LEFT + 3}" y="{y + 15}">no token state</text>'
    # `full` is the token's status (FULL_UPLOAD), not its bytes: a token closed short says so.
    status = "closed (FULL_UPLOAD)" if byte_map["full"] else "not closed"
    words = f"token {status}, holds {held} of {size} bytes"
    width = max(1.0, scale.x(held) - PLOT_LEFT) if held else 0.0
    return (
        f'{name}<g class="held" data-held="{held}"><title>{_text(words)}</title>'
        f'<rect x="{PLOT_LEFT}" y="{y}" width="{width:.2f}" height="{_BAR_HEIGHT}"/>'
        f'<text x="{PLOT_LEFT + 3}" y="{y + 15}">{_text(words)}</text></g>'
    )


def _fit(text: str, width: float) -> str:
    room = max(0, int(width / _CHAR) - 1)
    return text if len(text) <= room else text[: max(0, room - 1)] + "…"


def _number(value: float, unit: str) -> str:
    if unit == "B":
        for factor, name in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
            if value >= factor:
                return f"{value / factor:.3g} {name}"
        return f"{value:g} B"
    if unit == "step":
        return f"step {value:g}"
    return f"{value:.3g} s"
