"""Issue 15's "done when" for baselines and replay, as a client's CI runs them: whole runs
(e2e), in process through `conformance.cli.main` (the same code as the console script,
without a Python start-up each).

A mutant client that omits `finalChunk` on its opening (UT-C03) fails; with its baseline
it passes, its failure KNOWN; one entry expired fails it; the reference client with that
now stale baseline is FIXED (exit 1 under --strict-baseline, naming the lines to delete);
`replay` of the mutant's saved run says FAILED for the mutant and FIXED for the reference
client put in its place.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from conformance.cli import main
from conformance.commands.run import suite_argv

SCRIPTS = Path(__file__).resolve().parent.parent / "clients" / "scripts"
MUTANT = f"sh {SCRIPTS / 'mutant_omits_final_chunk.sh'}"
REFERENCE = f"sh {SCRIPTS / 'reference_upload.sh'}"
QUICK = ["--profile", "quick", "--requirements", "UT-C03", "--seed", "1"]

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("curl") is None, reason="the sh clients need curl"),
]


def _run(*argv: str) -> int:
    return main(["run", *QUICK, *argv])


def _document(directory: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((directory / "results.json").read_text())
    return document


def _row(directory: Path) -> dict[str, Any]:
    (row,) = _document(directory)["requirements"]
    assert row["id"] == "UT-C03"
    return dict(row)


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The mutant's failing run, and its baseline (`saved.parent / "baseline.toml"`)."""
    where = tmp_path_factory.mktemp("saved")
    assert _run("--client-cmd", MUTANT, "--report-dir", str(where / "reports")) == 1
    assert _row(where / "reports")["verdict"] == "FAIL"
    results = where / "reports" / "results.json"
    assert main(["baseline", "--from", str(results), "--out", str(where / "baseline.toml")]) == 0
    return results


def test_a_failing_client_with_its_baseline_passes(saved: Path, tmp_path: Path) -> None:
    baseline = saved.parent.parent / "baseline.toml"
    assert (
        _run("--client-cmd", MUTANT, "--report-dir", str(tmp_path), "--baseline", str(baseline))
        == 0
    )
    row = _row(tmp_path)
    assert row["verdict"] == "FAIL"
    assert row["baseline"]["status"] == "known"
    assert "**KNOWN**" in (tmp_path / "summary.md").read_text()
    assert '<skipped message="UT-C03 KNOWN' in (tmp_path / "junit.xml").read_text()


def test_pytest_exits_as_the_baseline_judges(saved: Path, tmp_path: Path) -> None:
    """The pytest front end: the mutant's failed test is accepted, so pytest exits 0."""
    baseline = saved.parent.parent / "baseline.toml"
    argv = [*suite_argv(), "--client-cmd", MUTANT, "--kaltura-profile", "quick"]
    argv += ["--kaltura-requirements", "UT-C03", "--hypothesis-seed", "1"]
    argv += ["--kaltura-report-dir", str(tmp_path), "--kaltura-baseline", str(baseline)]
    assert pytest.main(argv) == 0
    assert _row(tmp_path)["baseline"]["status"] == "known"


def test_one_expired_entry_fails_the_run(saved: Path, tmp_path: Path) -> None:
    expired = tmp_path / "expired.toml"
    given = ["--from", str(saved), "--out", str(expired), "--expires", "2020-01-01"]
    assert main(["baseline", *given]) == 0
    out = tmp_path / "out"
    assert _run("--client-cmd", MUTANT, "--report-dir", str(out), "--baseline", str(expired)) == 1
    assert _row(out)["baseline"]["status"] == "expired"
    assert (
        "UT-C03 EXPIRED: its baseline entry expired on 2020-01-01"
        in (out / "summary.md").read_text()
    )


def test_a_fixed_client_with_a_stale_baseline_is_reported_fixed(
    saved: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = str(saved.parent.parent / "baseline.toml")
    assert _run("--report-dir", str(tmp_path / "a"), "--baseline", baseline) == 0
    assert _row(tmp_path / "a")["baseline"]["status"] == "fixed"
    capsys.readouterr()
    strict = ["--baseline", baseline, "--strict-baseline"]
    assert _run("--report-dir", str(tmp_path / "b"), *strict) == 1
    said = capsys.readouterr().out
    assert f"UT-C03 FIXED: it passes now; delete its baseline entry, {baseline} lines 8-11" in said


def test_replay_says_failed_for_the_mutant_and_fixed_for_the_repaired_client(
    saved: Path, tmp_path: Path
) -> None:
    broken, repaired = tmp_path / "broken", tmp_path / "repaired"
    assert main(["replay", str(saved), "--times", "2", "--report-dir", str(broken)]) == 1
    section = _document(broken)["replay"]
    assert section["times"] == 2
    assert section["cases"]
    assert {case["status"] for case in section["cases"]} == {"FAILED"}
    assert all(case["failed"] == 2 for case in section["cases"])
    assert [r["id"] for r in section["requirements"]] == ["UT-C03"]
    argv = ["replay", str(saved), "--report-dir", str(repaired), "--client-cmd", REFERENCE]
    assert main(argv) == 0
    section = _document(repaired)["replay"]
    assert {case["status"] for case in section["cases"]} == {"FIXED"}
    assert all(case["passed"] == 3 for case in section["cases"])  # the default --times
    assert "| UT-C03 |" in (repaired / "summary.md").read_text()
