"""`kaltura-conformance baseline` and `replay`, and `run --baseline`, up to where a case
would run: in process, through the same `main` (the whole runs are in
tests/suite/test_known_failures.py, e2e)."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest

from conformance.baselines import PLACEHOLDER_REASON, load_baseline
from conformance.cli import main
from conformance.options import OptionError, RunOptions
from conformance.requirements import CATALOGUE
from reports import ResultsBuilder

RUN = {
    "tool_version": "0.1.0",
    "started_at": "2026-11-24T16:00:00Z",
    "duration_s": 1.0,
    "direction": "client",
    "target": "reference client",
    "endpoint": "loopback http://127.0.0.1:1",
    "profile": "quick",
    "hypothesis_seed": "1",
    "strict": False,
    "requirements_selected": None,
    "python": "3.11",
    "platform": "Linux",
    "workers": 1,
}


def _saved(tmp_path: Path, verdicts: dict[str, str], **run: Any) -> Path:
    builder = ResultsBuilder({**RUN, **run})
    for rid in verdicts:
        row = CATALOGUE[rid]
        builder.add_requirement(rid, row.level.value, row.rule)
    builder.add_case({"test": "test_client_conformance[plain]", "verdicts": verdicts})
    path = tmp_path / "results.json"
    path.write_text(json.dumps(builder.build()), encoding="utf-8")
    return path


def _one_line(capsys: pytest.CaptureFixture[str], starts: str) -> str:
    out = capsys.readouterr().out.strip()
    assert len(out.splitlines()) == 1, out
    assert out.startswith(starts), out
    return out


def test_baseline_writes_the_failing_requirements_expiring_in_90_days(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = _saved(tmp_path, {"UT-C03": "FAIL", "UT-C10": "PASS", "UT-C17": "NON-STRICT"})
    out = tmp_path / "b.toml"
    before = datetime.datetime.now(datetime.timezone.utc).date()
    assert main(["baseline", "--from", str(saved), "--out", str(out)]) == 0
    after = datetime.datetime.now(datetime.timezone.utc).date()
    entries = load_baseline(out, CATALOGUE.keys()).entries
    assert [e.id for e in entries] == ["UT-C03", "UT-C17"]
    assert {e.reason for e in entries} == {PLACEHOLDER_REASON}
    days = {before + datetime.timedelta(days=90), after + datetime.timedelta(days=90)}
    assert {e.expires for e in entries} <= days
    assert "2 known failure(s)" in capsys.readouterr().out
    assert main(["baseline", "--from", str(saved), "--out", str(out), "--expires-in", "7"]) == 2
    _one_line(capsys, "kaltura-conformance baseline: error: --out=")
    given = ["--expires", "2030-02-01", "--force"]
    assert main(["baseline", "--from", str(saved), "--out", str(out), *given]) == 0
    assert {e.expires for e in load_baseline(out, CATALOGUE).entries} == {datetime.date(2030, 2, 1)}


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--from", "missing.json"], "--from: "),
        (["--expires-in", "0"], "--expires-in='0'"),
        (["--expires-in", "soon"], "--expires-in='soon'"),
        (["--expires", "2030-02-30"], "--expires='2030-02-30'"),
    ],
)
def test_baseline_refuses_in_one_line(
    argv: list[str], named: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = _saved(tmp_path, {"UT-C03": "FAIL"})
    full = ["--from", str(saved), "--out", str(tmp_path / "b.toml"), *argv]
    assert main(["baseline", *full]) == 2
    _one_line(capsys, f"kaltura-conformance baseline: error: {named}")
    assert not (tmp_path / "b.toml").exists()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("version = 1\n[[known]\n", "b.toml: not TOML"),
        (
            'version = 1\n\n[[known]]\nid = "UT-C77"\nreason = "r"\nexpires = 2030-01-01\n',
            "b.toml:3: entry 1: id 'UT-C77' is not a requirement ID",
        ),
    ],
)
def test_run_refuses_a_malformed_baseline_before_any_case(
    text: str, problem: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = tmp_path / "b.toml"
    baseline.write_text(text, encoding="utf-8")
    argv = ["run", "--report-dir", str(tmp_path / "out"), "--baseline", str(baseline)]
    assert main(argv) == 2
    said = _one_line(capsys, "kaltura-conformance run: error: --baseline: ")
    assert said.startswith(f"kaltura-conformance run: error: --baseline: {tmp_path}/{problem}")
    assert not (tmp_path / "out" / "results.json").exists()


def test_strict_baseline_needs_a_baseline(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--strict-baseline"]) == 2
    _one_line(capsys, "kaltura-conformance run: error: --strict-baseline: needs --baseline")


def test_replay_refuses_what_it_cannot_replay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(tmp_path / "missing.json")]) == 2
    _one_line(capsys, "kaltura-conformance replay: error: RESULTS_JSON: ")
    (tmp_path / "other.json").write_text('{"schema": "something else"}')
    assert main(["replay", str(tmp_path / "other.json")]) == 2
    _one_line(capsys, "kaltura-conformance replay: error: RESULTS_JSON: ")
    server = _saved(tmp_path, {"UT-S01": "FAIL"}, direction="server")
    assert main(["replay", str(server)]) == 2
    said = _one_line(capsys, "kaltura-conformance replay: error: RESULTS_JSON: ")
    assert "replay is for client runs" in said
    client = _saved(tmp_path, {"UT-C03": "FAIL"})
    assert main(["replay", str(client), "--times", "0"]) == 2
    _one_line(capsys, "kaltura-conformance replay: error: --times='0'")


def test_replay_of_a_run_without_failures_has_nothing_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = _saved(tmp_path, {"UT-C03": "PASS"})
    assert main(["replay", str(saved), "--report-dir", str(tmp_path / "out")]) == 0
    _one_line(capsys, f"{saved}: no failing case to replay")
    assert not (tmp_path / "out").exists()


def test_replay_takes_one_scenario_or_an_array_of_them() -> None:
    scenario = {"source": {"size": 3, "seed": 1}, "params": {"chunk_size": 2, "concurrency": 1}}
    one = RunOptions(replay=json.dumps(scenario))
    (only,) = one.replay_scenarios()
    assert (only.source.size, only.params.chunk_size) == (3, 2)
    several = RunOptions(replay=json.dumps([scenario, scenario, scenario]))
    assert len(several.replay_scenarios()) == 3
    assert several.replay_scenarios()[0] == one.replay_scenarios()[0]
    for bad in ("[]", "[1]", "{not json"):
        with pytest.raises(OptionError, match=r"^--kaltura-replay: not a scenario"):
            RunOptions(replay=bad)
