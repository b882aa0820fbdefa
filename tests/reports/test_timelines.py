"""Case timelines in the reports: the optional `cases[].timeline` field (rules, its own
consistency, old documents still valid), which cases keep one, lanes, the SVG timeline and
byte map (bars = requests, lanes never overlap, x to scale, labels, evidence highlighted,
ranges to scale and complete), escaping, the Markdown text timeline and its bounds."""

from __future__ import annotations

import copy
import itertools
import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports import render_html, render_markdown, validate
from reports.failures import MAX_TABLE_DRAWINGS
from reports.svg import PLOT_LEFT, PLOT_WIDTH, Scale, byte_map_svg, timeline_svg, zoom_window
from reports.timelines import (
    MAX_TEXT_LINES,
    PASSING_DRAWN_PER_TEST,
    drawn_cases,
    lanes,
    text_timeline,
)

Doc = dict[str, Any]
Sample = Any
SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '</svg><script>alert("x")</script>&<b>'


def request(exchange_id: int, sent: float, answered: float | None, **more: Any) -> dict[str, Any]:
    return {
        "id": exchange_id,
        "sent": sent,
        "answered": answered,
        "connection": more.pop("connection", "conn-1"),
        "call": "uploadtoken.upload",
        "role": "middle",
        "resume": True,
        "final_chunk": False,
        "resume_at": 1024 * exchange_id,
        "length": 1024,
        "answer": "ok",
        "code": None,
        "http_status": 200,
        "fault": None,
        "params": {"resumeAt": str(1024 * exchange_id)},
        **more,
    }


def timeline(**more: Any) -> dict[str, Any]:
    """Three requests, two at once; #2 is evidence for UT-C10, #3 was reset by a fault."""
    return {
        "requests": [
            request(1, 0.0, 0.1, role="opening", resume=False, resume_at=0),
            request(2, 0.1, 0.5, connection="conn-2"),
            request(3, 0.2, 0.3, answer="reset", http_status=None, fault="reset before apply"),
        ],
        "omitted": 0,
        "evidence": {"UT-C10": [2]},
        "bytes": {
            "size": 4000,
            "ranges": [
                {"start": 0, "end": 1000, "kind": "acknowledged"},
                {"start": 1000, "end": 1500, "kind": "overlapping"},
                {"start": 1500, "end": 3000, "kind": "re-sent"},
                {"start": 3000, "end": 4000, "kind": "never-sent"},
            ],
            "held": 1000,
            "full": False,
        },
        **more,
    }


def with_timeline(sample: Sample, drawn: dict[str, Any] | None = None) -> Doc:
    """The sample document, its failing case (#1, UT-C10 FAIL) carrying `drawn`."""
    cases = copy.deepcopy(sample.cases)
    cases[1]["timeline"] = drawn if drawn is not None else timeline()
    return sample.build(cases)


def failing(doc: Doc) -> dict[str, Any]:
    """The case that fails UT-C10 (its position is the builder's choice)."""
    return doc["cases"][failing_index(doc)]


def failing_index(doc: Doc) -> int:
    index: int = next(r for r in doc["requirements"] if r["id"] == "UT-C10")["failing_cases"][0]
    return index


def _svg(text: str) -> ET.Element:
    return ET.fromstring(text)  # well-formed XML, or this raises


def _bars(svg: ET.Element) -> list[ET.Element]:
    return [g for g in svg.iter(f"{SVG}g") if "bar" in g.get("class", "").split()]


# --- the document -------------------------------------------------------------------------


def test_a_timeline_is_valid_and_old_documents_still_are(sample: Sample) -> None:
    assert validate(with_timeline(sample)) == []
    assert validate(sample.build()) == []  # no case has one: a document from before


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda t: t["requests"][0].update(answer="maybe"), "requests[0].answer: expected one"),
        (lambda t: t["requests"][0].update(answered=-1), "requests[0].answered: expected a n"),
        (lambda t: t["requests"][1].update(answered=0.05), "requests[1].answered: before"),
        (lambda t: t["requests"][1].update(id=1), "requests[1].id: request 1 is listed twice"),
        (lambda t: t["evidence"].update({"UT-C19": [1]}), 'evidence["UT-C19"]: the case has no'),
        (lambda t: t["bytes"]["ranges"].pop(1), "bytes.ranges[1]: expected a range from 1000"),
        (lambda t: t["bytes"].update(size=5000), "bytes.ranges: the ranges end at 4000"),
        (lambda t: t["bytes"]["ranges"][0].update(kind="lost"), "ranges[0].kind: expected one"),
        (lambda t: t["requests"][0].update(resume_at="0"), "requests[0].resume_at: expected a"),
        (lambda t: t.update(extra=1), "timeline.extra: unknown field"),
    ],
)
def test_a_wrong_timeline_is_named(sample: Sample, change: Any, problem: str) -> None:
    doc = with_timeline(sample)
    change(failing(doc)["timeline"])
    problems = validate(doc)
    where = f"$.cases[{failing_index(doc)}].timeline"
    assert any(problem in p and p.startswith(where) for p in problems), problems


def test_the_builder_keeps_timelines_of_broken_cases_and_a_sample_of_the_others(
    sample: Sample,
) -> None:
    cases = copy.deepcopy(sample.cases)
    passing = cases[0]
    cases += [copy.deepcopy(passing) | {"description": f"again {n}"} for n in range(5)]
    for case in cases:
        case["timeline"] = timeline(evidence={})
    cases[1]["timeline"] = timeline()
    doc = sample.build(cases)
    kept = [c["index"] for c in doc["cases"] if "timeline" in c]
    broken = [
        c["index"] for c in doc["cases"] if set(c["verdicts"].values()) & {"FAIL", "HARNESS-ERROR"}
    ]
    assert set(broken) <= set(kept)
    passing_kept = [i for i in kept if i not in broken]
    assert len(passing_kept) == PASSING_DRAWN_PER_TEST  # all six passing cases share a test
    assert validate(doc) == []


def test_drawn_cases_picks_per_test() -> None:
    cases = [
        {"test": "a", "verdicts": {"UT-C01": "PASS"}},
        {"test": "a", "verdicts": {"UT-C01": "PASS"}},
        {"test": "b", "verdicts": {"UT-C01": "PASS"}},
        {"test": "a", "verdicts": {"UT-C01": "NON-STRICT"}},
    ]
    assert drawn_cases(cases) == {0, 2, 3}


# --- lanes ----------------------------------------------------------------------------------


intervals = st.lists(
    st.tuples(
        st.floats(0, 10, allow_nan=False),
        st.one_of(st.none(), st.floats(0, 5, allow_nan=False)),
        st.sampled_from(["conn-1", "conn-2", "conn-3"]),
    ),
    max_size=30,
)


@given(intervals)
def test_lanes_hold_every_request_once_and_never_overlap_in_time(
    drawn: list[tuple[float, float | None, str]],
) -> None:
    requests = [
        request(i, sent, None if took is None else sent + took, connection=conn)
        for i, (sent, took, conn) in enumerate(drawn)
    ]
    rows = lanes(requests)
    placed = sorted(r["id"] for lane in rows for r in lane.requests)
    assert placed == list(range(len(requests)))
    horizon = max([0.001, *(r["answered"] or r["sent"] for r in requests)])
    for lane in rows:
        spans = sorted(
            (r["sent"], r["answered"] if r["answered"] is not None else horizon)
            for r in lane.requests
        )
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert end <= start


def test_sequential_connections_get_a_lane_each() -> None:
    rows = lanes(timeline()["requests"])
    assert [lane.name for lane in rows] == ["conn 1", "conn 2"]  # #1 and #3 share conn-1
    crowded = [request(i, 0.0, 1.0, connection=f"c{i}") for i in range(12)]
    assert [lane.name for lane in lanes(crowded)][:2] == ["slot 1", "slot 2"]
    assert len(lanes(crowded)) == 12  # all at once: one slot each


# --- the SVG timeline ---------------------------------------------------------------------


def test_the_timeline_has_one_bar_per_request_to_scale_with_labels() -> None:
    drawn = timeline()
    svg = _svg(timeline_svg(drawn))
    bars = _bars(svg)
    assert sorted(int(b.get("data-id", "")) for b in bars) == [1, 2, 3]
    horizon = float(svg.get("data-horizon", ""))
    assert horizon == pytest.approx(0.5)
    for bar in bars:
        rect = bar.find(f"{SVG}rect")
        assert rect is not None
        x, width = float(rect.get("x", "")), float(rect.get("width", ""))
        sent, end = float(bar.get("data-sent", "")), float(bar.get("data-end", ""))
        assert x == pytest.approx(PLOT_LEFT + PLOT_WIDTH * sent / horizon, abs=0.01)
        assert width == pytest.approx(max(3.0, PLOT_WIDTH * (end - sent) / horizon), abs=0.02)
        title = bar.find(f"{SVG}title")
        assert title is not None
        assert "answer:" in (title.text or "")
    texts = " ".join(t.text or "" for t in svg.iter(f"{SVG}text"))
    assert "#2 middle: ok; resumeAt=2048 1024 B" in texts
    assert "fault: reset before apply" in texts
    assert "reset" in " ".join(b.get("class", "") for b in bars)


def test_evidence_bars_are_highlighted_in_class_and_words() -> None:
    svg = _svg(timeline_svg(timeline(), "UT-C10"))
    evidence = [b for b in _bars(svg) if "evidence" in b.get("class", "").split()]
    assert [b.get("data-id") for b in evidence] == ["2"]
    label = evidence[0].find(f"{SVG}text")
    assert label is not None
    assert (label.text or "").startswith("evidence")
    other = _svg(timeline_svg(timeline(), "UT-C18"))  # names nothing
    assert not [b for b in _bars(other) if "evidence" in b.get("class", "")]


def test_the_byte_map_is_to_scale_and_complete() -> None:
    drawn = timeline()["bytes"]
    svg = _svg(byte_map_svg(drawn))
    ranges = [g for g in svg.iter(f"{SVG}g") if "range" in g.get("class", "").split()]
    assert [g.get("class") for g in ranges] == [
        "range acknowledged",
        "range overlapping",
        "range re-sent",
        "range never-sent",
    ]
    total = 0.0
    for g in ranges:
        rect = g.find(f"{SVG}rect")
        assert rect is not None
        start, end = int(g.get("data-start", "")), int(g.get("data-end", ""))
        assert float(rect.get("x", "")) == pytest.approx(
            PLOT_LEFT + PLOT_WIDTH * start / 4000, abs=0.01
        )
        assert float(rect.get("width", "")) == pytest.approx(
            PLOT_WIDTH * (end - start) / 4000, abs=0.01
        )
        total += end - start
    assert total == drawn["size"]
    held = next(g for g in svg.iter(f"{SVG}g") if g.get("class") == "held")
    assert "token not closed, holds 1000 of 4000 bytes" in ET.tostring(held, encoding="unicode")


def test_a_token_closed_short_says_both_its_status_and_its_bytes() -> None:
    """`full` is the token's FULL_UPLOAD status: a client that closed early leaves a closed
    token holding part of the file, and the drawing must not call that complete."""
    closed_short = {**timeline()["bytes"], "held": 1000, "full": True}
    svg = _svg(byte_map_svg(closed_short))
    held = next(g for g in svg.iter(f"{SVG}g") if g.get("class") == "held")
    words = ET.tostring(held, encoding="unicode")
    assert "token closed (FULL_UPLOAD), holds 1000 of 4000 bytes" in words
    assert "complete" not in words


def test_every_document_string_is_escaped_in_the_drawings(sample: Sample) -> None:
    hostile = timeline()
    for entry in hostile["requests"]:
        entry.update(connection=HOSTILE, call=HOSTILE, role=HOSTILE, code=HOSTILE, fault=HOSTILE)
        entry["params"] = {HOSTILE: HOSTILE}
    hostile["requests"][0]["answer"] = "error"
    page = render_html(with_timeline(sample, hostile))
    assert "<script>alert" not in page
    assert "</svg><script>" not in page
    assert page.count("<script>") == 1  # the copy button's
    for svg in re.findall(r"<svg.*?</svg>", page, re.DOTALL):
        _svg(svg)  # each drawing still parses: nothing broke out of it
    summary = render_markdown(with_timeline(sample, hostile))
    assert "<script>alert" not in summary.split("```text")[0]


# --- the page -------------------------------------------------------------------------------


def test_the_page_opens_on_what_failed(sample: Sample) -> None:
    doc = with_timeline(sample)
    page = render_html(doc)
    replay = f"replay-{failing_index(doc)}"
    failures = page.index('<section id="failures">')
    assert failures < page.index("<h2>Requirements</h2>")
    assert '<details open class="failure" id="failure-UT-C10" data-requirement="UT-C10">' in page
    assert page.index('id="failure-UT-C10"') < page.index('<svg class="timeline"')
    assert f'<textarea id="{replay}" readonly' in page
    assert f'class="copy" data-for="{replay}" hidden' in page  # shown by the script only


def test_a_failing_case_without_a_timeline_still_reads(sample: Sample) -> None:
    page = render_html(sample.build())  # a document from before timelines
    assert "No timeline recorded for this case." in page


def test_many_requests_say_how_many_were_not_drawn(sample: Sample) -> None:
    page = render_html(with_timeline(sample, timeline(omitted=57)))
    assert "57 more requests not drawn." in page


# --- the Markdown text timeline -----------------------------------------------------------


def test_the_text_timeline_is_one_line_per_request_in_order() -> None:
    lines = text_timeline(timeline(), "UT-C10")
    assert len(lines) == 3
    assert re.match(r"\s+0\.000s\s+conn 1\s+uploadtoken\.upload\s+#1 opening resumeAt=0", lines[0])
    assert lines[1].endswith(
        "#2 middle resumeAt=2048 1024 B resume=true finalChunk=false -> ok  << evidence"
    )
    assert lines[2].endswith("-> reset  [fault: reset before apply]")


def test_the_text_timeline_is_bounded() -> None:
    many = timeline(requests=[request(i, i / 10, i / 10 + 0.05) for i in range(100)], omitted=5)
    lines = text_timeline(many)
    assert len(lines) == MAX_TEXT_LINES + 1
    assert lines[-1] == "... 65 more requests not listed"


def test_the_summary_shows_the_first_failing_case_timeline(sample: Sample) -> None:
    summary = render_markdown(with_timeline(sample))
    block = summary.split("### ")[1]  # UT-C10, the first failure
    assert block.startswith("❌ UT-C10")
    assert "```text\n" in block
    assert "#2 middle resumeAt=2048 1024 B resume=true finalChunk=false -> ok  << evidence" in block


def test_a_short_burst_of_evidence_gets_a_zoomed_view_to_its_own_scale() -> None:
    drawn = timeline()
    # The case goes on long after, on a connection of its own: a lane empty in the zoom.
    drawn["requests"].append(request(4, 9.0, 10.0, connection="conn-3"))
    drawn["evidence"] = {"UT-C10": [2]}  # 0.1 to 0.5 s of 10 s
    window = zoom_window(drawn, "UT-C10")
    assert window is not None
    start, end = window
    assert start < 0.1
    assert 0.5 < end < 1.0
    svg = _svg(timeline_svg(drawn, "UT-C10", window))
    assert svg.get("class") == "timeline-zoom"
    shown = sorted(int(b.get("data-id", "")) for b in _bars(svg))
    assert shown == [1, 2, 3]  # #4 lies outside the window
    bar = next(b for b in _bars(svg) if b.get("data-id") == "2")
    rect = bar.find(f"{SVG}rect")
    assert rect is not None
    expected = PLOT_LEFT + PLOT_WIDTH * (0.1 - start) / (end - start)
    assert float(rect.get("x", "")) == pytest.approx(expected, abs=0.01)
    assert zoom_window(timeline(), "UT-C10") is None  # 0.4 s of 0.5 s: no zoom needed
    assert zoom_window(timeline(), "UT-C18") is None  # no evidence


def test_ticks_are_round_and_inside_the_span() -> None:
    assert Scale(0.5).ticks() == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    assert Scale(0.01, origin=0.003).ticks() == pytest.approx([0.004, 0.006, 0.008, 0.01, 0.012])
    assert Scale(3, least_step=1.0).ticks() == [0, 1, 2, 3]


def test_a_thin_trouble_range_is_marked_in_words() -> None:
    drawn = {
        "size": 100000,
        "ranges": [
            {"start": 0, "end": 8192, "kind": "acknowledged"},
            {"start": 8192, "end": 8193, "kind": "never-sent"},
            {"start": 8193, "end": 100000, "kind": "acknowledged"},
        ],
        "held": 8192,
        "full": False,
    }
    svg = byte_map_svg(drawn)
    assert 'class="range never-sent thin"' in svg
    assert "never-sent 1 B at 8192" in svg


@given(intervals, st.sets(st.integers(0, 29), max_size=5))
def test_any_timeline_draws_whole_and_zoomed(
    drawn: list[tuple[float, float | None, str]], named: set[int]
) -> None:
    requests = [
        request(i, sent, None if took is None else sent + took, connection=conn)
        for i, (sent, took, conn) in enumerate(drawn)
    ]
    ids = sorted(i for i in named if i < len(requests))
    some = timeline(requests=requests, evidence={"UT-C10": ids})
    whole = _svg(timeline_svg(some, "UT-C10"))
    assert len(_bars(whole)) == len(requests)
    window = zoom_window(some, "UT-C10")
    if window is not None:
        zoomed = _svg(timeline_svg(some, "UT-C10", window))
        assert {b.get("data-id") for b in _bars(zoomed)} >= {str(i) for i in ids}


def test_the_page_stays_light_with_many_large_failing_cases(sample: Sample) -> None:
    failing_case = sample.cases[1]
    cases = []
    for n in range(30):
        case = copy.deepcopy(failing_case) | {"description": f"case {n}"}
        requests = [request(i, i / 100, i / 100 + 0.02, connection=f"c{i % 4}") for i in range(200)]
        case["timeline"] = timeline(requests=requests, evidence={"UT-C10": [7, 70]}, omitted=9)
        cases.append(case)
    doc = sample.build(cases)
    page = render_html(doc)
    assert page.count('<details class="drawing">') == MAX_TABLE_DRAWINGS
    assert page.count("Timeline not drawn here") == 30 - 1 - MAX_TABLE_DRAWINGS  # 1 on top
    assert page.count("Timeline: drawn <a href=") == 1
    assert len(page.encode()) < 3 << 20  # a few MiB at most
