"""`python -m reports results.json --out DIR`: re-render every report from a saved file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from reports import FILES, render_html, render_junit, render_markdown, write_json
from reports.__main__ import main


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reports", *map(str, args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )


def test_round_trip_through_a_subprocess(tmp_path: Path, doc: dict[str, Any]) -> None:
    saved = write_json(doc, tmp_path / "saved.json")
    done = _run(saved, "--out", tmp_path / "out", "--strict")
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES.values())
    assert done.stdout.splitlines() == [str(out / name) for name in FILES.values()]
    assert (out / "results.json").read_bytes() == saved.read_bytes()
    assert (out / "summary.md").read_text(encoding="utf-8") == render_markdown(doc, strict=True)
    assert (out / "junit.xml").read_text(encoding="utf-8") == render_junit(doc, strict=True)
    assert (out / "results.html").read_text(encoding="utf-8") == render_html(doc, strict=True)


def test_documents_with_and_without_the_newer_fields_re_render(
    tmp_path: Path, doc: dict[str, Any]
) -> None:
    doc["run"]["client_chunk"] = {"bytes": 1000000, "how": "given with --client-chunk-size"}
    doc["cases"][0]["shrink"] = {"status": "shrunk", "steps": 3, "seconds": 0.5, "reason": ""}
    newer = write_json(doc, tmp_path / "newer.json")
    assert main([str(newer), "--out", str(tmp_path / "newer")]) == 0
    assert "1000000 bytes" in (tmp_path / "newer" / "summary.md").read_text(encoding="utf-8")
    for name in ("require_exercised", "client_chunk"):
        del doc["run"][name]
    for name in ("must_not_exercised", "not_exercised_causes"):
        del doc["summary"][name]
    del doc["cases"][0]["shrink"]
    older = write_json(doc, tmp_path / "older.json")
    assert main([str(older), "--out", str(tmp_path / "older")]) == 0


def test_an_older_document_without_causes_gets_them_computed(tmp_path: Path, sample: Any) -> None:
    verdicts = {"UT-C01": "PASS", "UT-C10": "NOT-EXERCISED"}
    doc = sample.build([{"test": "t", "verdicts": verdicts, "trace": {"data_requests": 1}}])
    del doc["summary"]["not_exercised_causes"]
    saved = write_json(doc, tmp_path / "saved.json")
    assert main([str(saved), "--out", str(tmp_path / "out")]) == 0
    text = (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")
    assert "- every upload was a single data request" in text


def test_a_bad_file_exits_2_with_one_line(tmp_path: Path, doc: dict[str, Any]) -> None:
    doc["summary"]["exit_code"] = 0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    done = _run(bad, "--out", tmp_path / "out")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        f"error: {bad}: not a valid results document: $.summary.exit_code: expected 1 from "
        "the requirements and cases, got 0\n"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "cannot read"), ("[1, 2", "not JSON"), ("[]", "expected an object")],
)
def test_other_bad_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    path = tmp_path / "results.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert main([str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert message in err
    assert err.count("\n") == 1


def test_an_unwritable_output_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], doc: dict[str, Any]
) -> None:
    saved = write_json(doc, tmp_path / "saved.json")
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    assert main([str(saved), "--out", str(blocker / "out")]) == 2
    assert capsys.readouterr().err.startswith("error: cannot write the reports: ")


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["results.json"])
    assert raised.value.code == 2
    assert "--out" in capsys.readouterr().err
