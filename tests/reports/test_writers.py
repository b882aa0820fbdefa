"""Each writer on the realistic document: structure, counts, and escaping of hostile text."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from lxml import etree  # type: ignore[import-untyped]

from reports import (
    FILES,
    ReportError,
    render_html,
    render_json,
    render_junit,
    render_markdown,
    write_reports,
)
from reports.failures import COPY_SCRIPT

Doc = dict[str, Any]
Sample = Any  # conftest's Sample
IDS = ["UT-C01", "UT-C10", "UT-C17", "UT-C18", "UT-C19", "UT-C22"]
RENDERERS = [render_json, render_markdown, render_junit, render_html]


# --- results.json -------------------------------------------------------------------------


def test_json_is_the_document_pretty_and_stable(doc: Doc) -> None:
    text = render_json(doc)
    assert json.loads(text) == doc
    assert text.endswith("}\n")
    assert text.startswith('{\n  "schema": "kaltura-upload-conformance/results/1",\n  "run": {')
    assert render_json(json.loads(text)) == text


def test_json_keeps_non_ascii_text(sample: Sample) -> None:
    cases = sample.cases
    cases[0]["description"] = "10 MiB · café"
    text = render_json(sample.build(cases))
    assert "10 MiB · café" in text  # UTF-8 characters kept, not \u-escaped
    assert "\\u001b[31mError" in text  # control characters are, as JSON requires


@pytest.mark.parametrize("render", RENDERERS, ids=lambda render: render.__name__)
def test_every_writer_refuses_an_invalid_document(doc: Doc, render: Any) -> None:
    del doc["summary"]
    with pytest.raises(ReportError, match=r"\$\.summary: missing"):
        render(doc)


# --- summary.md ---------------------------------------------------------------------------


def _table_rows(markdown: str) -> dict[str, list[str]]:
    rows = {}
    for line in markdown.splitlines():
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
        if cells and re.fullmatch(r"UT-[CS]\d+", cells[0]):
            rows[cells[0]] = cells
    return rows


def test_markdown_headline_and_requirement_table(doc: Doc) -> None:
    text = render_markdown(doc)
    assert text.startswith("# ❌ Kaltura upload conformance: failed (exit code 1)\n")
    assert "| ID | Level | Verdict | Cases |\n| --- | --- | --- | --- |\n" in text
    rows = _table_rows(text)
    assert list(rows) == IDS
    assert rows["UT-C10"] == ["UT-C10", "MUST", "❌ FAIL", "1 pass / 1 fail / 1 harness error"]
    assert rows["UT-C17"][2] == "⚠️ NON-STRICT"
    assert rows["UT-C18"][2:] == ["⏭️ NOT-EXERCISED", "2 not exercised"]
    assert rows["UT-C19"][2] == "💥 HARNESS-ERROR"
    assert rows["UT-C22"][2] == "ℹ️ INFORMATIONAL"


def test_markdown_details_failures_with_rule_messages_and_replay(doc: Doc, sample: Sample) -> None:
    text = render_markdown(doc)
    failures = text.split("## Failures", 1)[1].split("\n## ", 1)[0]
    headings = re.findall(r"^### (.*)$", failures, re.MULTILINE)
    assert headings == ["❌ UT-C10 (MUST): FAIL", "⚠️ UT-C17 (SHOULD): NON-STRICT"]
    assert "> The closing request is sent only after every other data request" in failures
    assert (
        "> A data request that failed transiently is re-sent with the same `resumeAt`" in failures
    )
    assert f"```sh\n{sample.replay}\n```" in failures
    assert "First failing case #0 (`test_client_conformance[early-close]`" in failures
    assert (
        "## Harness errors\n\n- case #1 `test_client_conformance[faults]`: client command" in text
    )
    assert "| Hypothesis seed | `12345` |" in text


def test_markdown_escapes_html_and_pipes(sample: Sample) -> None:
    text = render_markdown(sample.build(target="command 'a | b' <x>"))
    assert "<script>" not in text
    assert "- request #7 &lt;script&gt;alert(1)&lt;/script&gt; | col &amp; `a|b` sent" in text
    assert "| target | `command 'a \\| b' <x>` |" in text  # code span: literal, pipe escaped
    assert all(len(row) == 4 for row in _table_rows(text).values())


def test_markdown_caps_messages_at_three(sample: Sample) -> None:
    cases = sample.cases
    cases[1]["breaches"]["UT-C10"] = [f"breach {n}" for n in range(5)]
    text = render_markdown(sample.build(cases))
    assert "- breach 2" in text
    assert "- breach 3" not in text


def test_markdown_code_spans_survive_backticks(sample: Sample) -> None:
    cases = sample.cases
    cases[1]["test"] = "test_x[`odd`]"
    cases[1]["replay"] = "run ```fenced```"
    text = render_markdown(sample.build(cases))
    assert "``test_x[`odd`]``" in text
    assert "````sh\nrun ```fenced```\n````" in text


def test_markdown_for_a_passing_run(sample: Sample) -> None:
    verdicts = {"UT-C01": "PASS", "UT-C10": "PASS", "UT-C22": "INFORMATIONAL"}
    text = render_markdown(sample.build([{"test": "t", "verdicts": verdicts}]))
    assert text.startswith("# ✅ Kaltura upload conformance: passed (exit code 0)")
    assert "not exercised:" not in text.lower()
    assert "## Failures" not in text
    assert "## Harness errors" not in text


def test_markdown_strict(doc: Doc) -> None:
    assert "failed (strict) (exit code 1)" in render_markdown(doc, strict=True)


# --- junit.xml ----------------------------------------------------------------------------


def _junit(doc: Doc, *, strict: bool = False) -> ET.Element:
    text = render_junit(doc, strict=strict)
    etree.fromstring(text.encode("utf-8"))  # lxml parses it too
    return ET.fromstring(text.encode("utf-8"))


def test_junit_suite_counts_and_attributes(doc: Doc) -> None:
    root = _junit(doc)
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == "kaltura-upload-conformance"
    expected = {"tests": "6", "failures": "1", "errors": "1", "skipped": "1", "time": "12.300"}
    assert {name: suite.get(name) for name in expected} == expected
    assert {name: root.get(name) for name in expected} == expected
    assert suite.get("timestamp") == "2026-11-24T16:00:00Z"
    properties = {p.get("name"): p.get("value") for p in suite.findall("properties/property")}
    assert properties["hypothesis_seed"] == "12345"
    assert properties["exit_code"] == "1"


def test_junit_one_testcase_per_requirement(doc: Doc) -> None:
    cases = {case.get("name"): case for case in _junit(doc).iter("testcase")}
    assert list(cases) == IDS
    assert {case.get("classname") for case in cases.values()} == {"kaltura_conformance.client"}
    properties = {p.get("name"): p.get("value") for p in cases["UT-C10"].findall("properties/")}
    assert properties["requirement_id"] == "UT-C10"
    assert properties["level"] == "MUST"
    failure = cases["UT-C10"].find("failure")
    assert failure is not None
    assert failure.get("type") == "FAIL"
    assert (failure.get("message") or "").startswith("UT-C10 FAIL (1 pass / 1 fail / 1 harness")
    assert "<script>alert(1)</script>" in (failure.text or "")  # escaped in the XML, then parsed
    assert "replay: kaltura-conformance run" in (failure.text or "")
    assert cases["UT-C18"].find("skipped") is not None
    error = cases["UT-C19"].find("error")
    assert error is not None
    assert "harness error in case #1: client command not found: node" in (error.text or "")
    for rid in ("UT-C01", "UT-C17", "UT-C22"):
        assert [child.tag for child in cases[rid]] == ["properties", "system-out"]
    assert (cases["UT-C17"].findtext("system-out") or "").startswith("NON-STRICT: a SHOULD")
    assert '"requests": {"min": 12' in (cases["UT-C22"].findtext("system-out") or "")


def test_junit_strict_makes_non_strict_a_failure(doc: Doc) -> None:
    root = _junit(doc, strict=True)
    assert root.get("failures") == "2"
    (case,) = [c for c in root.iter("testcase") if c.get("name") == "UT-C17"]
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("type") == "NON-STRICT"


def test_junit_server_requirements_and_control_characters(sample: Sample) -> None:
    builder = sample.builder(
        direction="server",
        target="server http://127.0.0.1:8080",
        requirements=[("UT-S05", "MUST", "A close sent before all chunks arrived fails.")],
    )
    builder.add_case(
        {"test": "t", "verdicts": {"UT-S05": "FAIL"}, "breaches": {"UT-S05": ["\x1b[31mred\x00"]}}
    )
    root = _junit(builder.build())
    (case,) = root.iter("testcase")
    assert case.get("classname") == "kaltura_conformance.server"
    assert "\\x1b[31mred\\x00" in (case.findtext("failure") or "")


# --- results.html -------------------------------------------------------------------------


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []
        self.ids: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.ids += [value or "" for name, value in attrs if name == "id"]
        if tag not in {"meta", "br", "hr", "img", "link"}:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open.pop() == tag, f"</{tag}> closes a different element"

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html: str) -> _Collector:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    assert collector.open == []
    return collector


def test_html_is_self_contained_and_well_nested(doc: Doc) -> None:
    page = render_html(doc)
    parsed = _parse(page)
    assert page.startswith("<!DOCTYPE html>")
    # The copy button's script is the only one, and it is fixed text.
    assert parsed.tags.count("script") == 1
    assert page.count("<script") == 1
    assert COPY_SCRIPT in page
    assert not re.search(r"""(src|href)=["'](?!#)""", page)  # only in-page links
    assert "<style>" in page
    assert "Kaltura upload conformance: failed (exit code 1)" in "".join(parsed.text)


def test_html_has_every_requirement_and_case(doc: Doc) -> None:
    parsed = _parse(render_html(doc))
    assert [i for i in parsed.ids if i.startswith("req-")] == [f"req-{rid}" for rid in IDS]
    assert [i for i in parsed.ids if i.startswith("case-")] == ["case-0", "case-1", "case-2"]
    assert parsed.tags.count("details") >= len(IDS)


def test_html_escapes_everything(doc: Doc, sample: Sample) -> None:
    page = render_html(doc)
    assert page.count("<script>") == 1  # the copy button's (above)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; | col &amp; <code>a|b</code>" in page
    assert "boom &lt;b&gt;" in page
    assert "\x1b" not in page
    assert "\\x1b[31mError" in page
    text = "".join(_parse(page).text)
    assert sample.hostile.replace("`", "") in text  # what a reader sees is the message
    assert sample.replay in text


def test_html_badges_and_open_details(doc: Doc) -> None:
    page = render_html(doc)
    assert '<span class="badge fail">FAIL</span>' in page
    assert '<span class="badge nonstrict">NON-STRICT</span>' in page
    assert '<span class="badge harness">HARNESS-ERROR</span>' in page
    assert '<details id="req-UT-C10" class="fail" open>' in page
    assert '<details id="req-UT-C19" class="harness" open>' in page
    assert '<details id="req-UT-C01" class="pass">' in page


# --- write_reports ------------------------------------------------------------------------


def test_write_reports_writes_exactly_the_four_files(tmp_path: Path, doc: Doc) -> None:
    out = tmp_path / "new" / "dir"
    written = write_reports(doc, out, strict=True)
    assert written == {kind: out / name for kind, name in FILES.items()}
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES.values())
    assert json.loads(written["json"].read_text(encoding="utf-8")) == doc
    assert written["markdown"].read_text(encoding="utf-8") == render_markdown(doc, strict=True)
    assert written["junit"].read_text(encoding="utf-8") == render_junit(doc, strict=True)
    assert written["html"].read_text(encoding="utf-8") == render_html(doc, strict=True)


def test_write_reports_writes_nothing_for_an_invalid_document(tmp_path: Path, doc: Doc) -> None:
    doc["cases"][0]["index"] = 9
    with pytest.raises(ReportError):
        write_reports(doc, tmp_path / "out")
    assert not (tmp_path / "out").exists()


# --- MUSTs no case exercised --------------------------------------------------------------

HEADLINE = "1 MUST requirement was not exercised: this run does not show conformance to it"
SINGLE_CAUSE = "every upload was a single data request: the client's chunk is probably larger"


def _unexercised(sample: Sample, **run: Any) -> Doc:
    """Single-request uploads: UT-C10 (MUST) is NOT-EXERCISED in every case, nothing broke."""
    cases = [
        {
            "test": f"t[{size}]",
            "verdicts": {"UT-C01": "PASS", "UT-C10": "NOT-EXERCISED", "UT-C22": "INFORMATIONAL"},
            "scenario": {"source": {"size": size, "seed": 1}, "params": {"chunk_size": 1}},
            "trace": {"requests": 2, "data_requests": 1},
        }
        for size in (1000, 262144)
    ]
    return sample.build(cases, **run)  # type: ignore[no-any-return]


def test_markdown_headline_of_an_unexercised_must(sample: Sample) -> None:
    text = render_markdown(_unexercised(sample))
    assert text.startswith(f"# ⏭️ Kaltura upload conformance: {HEADLINE} (exit code 0)\n\n")
    assert "Not exercised: UT-C10. Likely causes:\n\n- " + SINGLE_CAUSE in text
    assert "(the largest was 262144 bytes)" in text
    assert "`--require-exercised` (or `--strict`) makes such a run exit 1." in text
    assert " · 1 MUST not exercised · " in text
    rows = _table_rows(text)
    assert rows["UT-C10"][2] == "⏭️ NOT-EXERCISED (not a pass)"
    assert rows["UT-C18"][2] == "⏭️ NOT-EXERCISED"  # a SHOULD: no claim either way
    assert "passed" not in text.split("\n", 1)[0]


def test_markdown_an_unexercised_must_required(sample: Sample) -> None:
    for doc, strict in (
        (_unexercised(sample, require_exercised=True), False),
        (_unexercised(sample), True),
    ):
        text = render_markdown(doc, strict=strict)
        assert text.startswith(f"# ❌ Kaltura upload conformance: {HEADLINE}")
        assert "(exit code 1)" in text.split("\n", 1)[0]
        assert "makes such a run exit 1" not in text


def test_markdown_a_failed_run_also_says_what_was_not_exercised(sample: Sample) -> None:
    cases = [{"test": "t", "verdicts": {"UT-C01": "FAIL", "UT-C10": "NOT-EXERCISED"}}]
    text = render_markdown(sample.build(cases))
    assert text.startswith("# ❌ Kaltura upload conformance: failed (exit code 1)\n\n")
    assert f"**{HEADLINE}** (UT-C10). Likely causes:" in text


def test_the_client_chunk_in_every_report(sample: Sample) -> None:
    chunk = {"bytes": 1000000, "how": "given with --client-chunk-size"}
    doc = _unexercised(sample, client_chunk=chunk)
    shown = "1000000 bytes (given with --client-chunk-size)"
    assert f"| client chunk | `{shown}` |" in render_markdown(doc)
    assert f"<dt>client chunk</dt><dd>{shown}</dd>" in render_html(doc)
    properties = {p.get("name"): p.get("value") for p in _junit(doc).iter("property")}
    assert json.loads(properties["client_chunk"] or "") == chunk
    assert "the client's chunk of 1000000 bytes (given with --client-chunk-size)" in (
        render_markdown(doc)
    )


def test_html_an_unexercised_must(sample: Sample) -> None:
    page = render_html(_unexercised(sample))
    _parse(page)
    assert '<header class="unexercised">' in page
    assert f"<h1>Kaltura upload conformance: {HEADLINE} (exit code 0)</h1>" in page
    assert "Not exercised: UT-C10. Likely causes:</p><ul><li>every upload was a single" in page
    row = '<span class="badge skipped">NOT-EXERCISED</span> <span class="notpass">not a pass'
    assert (
        f'<tr class="unexercised"><td><a href="#req-UT-C10">UT-C10</a></td><td>MUST</td><td>{row}'
        in page
    )
    assert '<details id="req-UT-C10" class="skipped" open>' in page
    required = render_html(_unexercised(sample, require_exercised=True))
    assert '<header class="failed">' in required


def test_junit_an_unexercised_must_is_skipped_with_its_causes(sample: Sample) -> None:
    root = _junit(_unexercised(sample))
    (case,) = [c for c in root.iter("testcase") if c.get("name") == "UT-C10"]
    skipped = case.find("skipped")
    assert skipped is not None
    message = skipped.get("message") or ""
    assert message.startswith("UT-C10 NOT-EXERCISED (2 not exercised): not a pass: no case")
    assert "Likely causes: " + SINGLE_CAUSE in message
    assert SINGLE_CAUSE in (case.findtext("system-out") or "")
    properties = {p.get("name"): p.get("value") for p in root.findall("testsuite/properties/")}
    assert properties["must_not_exercised"] == "UT-C10"
    assert properties["result"] == HEADLINE


def test_junit_an_unexercised_must_required_is_a_failure(sample: Sample) -> None:
    for root in (
        _junit(_unexercised(sample, require_exercised=True)),
        _junit(_unexercised(sample), strict=True),
    ):
        assert root.get("failures") == "1"
        (case,) = [c for c in root.iter("testcase") if c.get("name") == "UT-C10"]
        failure = case.find("failure")
        assert failure is not None
        assert failure.get("type") == "NOT-EXERCISED"
        assert case.find("skipped") is None
        assert SINGLE_CAUSE in (failure.text or "")


# --- how a failing case was shrunk --------------------------------------------------------


@pytest.mark.parametrize(
    ("shrink", "shown"),
    [
        (
            {"status": "shrunk", "steps": 12, "seconds": 4.06, "reason": ""},
            "shrunk in 12 steps, 4.1 s",
        ),
        (
            {"status": "cut", "steps": 37, "seconds": 20, "reason": "the 20 s shrink budget"},
            "cut after 37 steps, 20.0 s (the 20 s shrink budget): the smallest failing case "
            "found so far",
        ),
        (
            {
                "status": "not-shrunk",
                "steps": 0,
                "seconds": 0,
                "reason": "the client hit its time limit",
            },
            "not shrunk: the client hit its time limit",
        ),
        ({"status": "off", "steps": 0, "seconds": 0, "reason": ""}, "shrinking off"),
    ],
    ids=["shrunk", "cut", "not-shrunk", "off"],
)
def test_the_shrink_is_shown_by_the_replay_command(
    sample: Sample, shrink: dict[str, Any], shown: str
) -> None:
    cases = sample.cases
    cases[1]["shrink"] = shrink  # the failing case
    doc = sample.build(cases)
    text = render_markdown(doc)
    assert f"close answered CANNOT_MATCH once), {shown}; replay it with:" in text
    page = render_html(doc)
    assert f'<p class="shrink">{shown}</p><pre>' in page
    assert f"shrink: {shown}\nreplay: " in (
        _junit(doc).findtext("testsuite/testcase/failure") or ""
    )


def test_no_shrink_no_words(doc: Doc) -> None:
    assert "shrunk" not in render_markdown(doc)
    assert 'class="shrink"' not in render_html(doc)
