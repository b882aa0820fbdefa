"""Joining the CI jobs of a sharded run (`reports.merge`, `kaltura-conformance merge`):
the union of their cases is one run's document, and jobs of different runs are refused."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from conformance.cli import main
from conformance.reporting import summary_lines
from reports import render_html, render_markdown, validate, write_reports
from reports.merge import MergeError, merge_shards


def sample_shards(sample: Any, count: int) -> list[dict[str, Any]]:
    """The sample run's cases dealt round-robin to `count` CI jobs, each job's document."""
    cases = copy.deepcopy(sample.cases)
    return [
        sample.build(cases[index - 1 :: count], shard={"index": index, "count": count})
        for index in range(1, count + 1)
    ]


def _comparable(doc: dict[str, Any]) -> tuple[Any, ...]:
    """What a merge must reproduce: requirements, cases and summary (the run's metadata
    says it was merged)."""
    return doc["requirements"], doc["cases"], doc["summary"]


def test_merged_jobs_equal_the_whole_run(sample: Any) -> None:
    whole = sample.build()
    shards = sample_shards(sample, 3)
    merged = merge_shards([(f"job{i}", doc) for i, doc in enumerate(shards, 1)])
    assert validate(merged) == []
    assert _comparable(merged) == _comparable(whole)
    assert merged["run"]["merged"] == {"count": 3, "shards": [1, 2, 3], "missing": []}
    assert "shard" not in merged["run"]
    # in any order the directories are given
    again = merge_shards([(f"job{i}", doc) for i, doc in reversed(list(enumerate(shards, 1)))])
    assert _comparable(again) == _comparable(whole)


def test_the_merged_run_began_with_the_first_job_and_lasted_the_longest(sample: Any) -> None:
    shards = sample_shards(sample, 2)
    shards[0]["run"] |= {"started_at": "2026-11-24T16:00:05Z", "duration_s": 3.0}
    shards[1]["run"] |= {"started_at": "2026-11-24T16:00:01Z", "duration_s": 9.5}
    run = merge_shards([("a", shards[0]), ("b", shards[1])])["run"]
    assert (run["started_at"], run["duration_s"]) == ("2026-11-24T16:00:01Z", 9.5)


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("hypothesis_seed", "999", "hypothesis_seed"),
        ("profile", "quick", "profile"),
        ("target", "command 'other {file}'", "target"),
        ("requirements_selected", ["UT-C10"], "requirements_selected"),
        ("tool_version", "0.2.0", "tool_version"),
        ("strict", True, "strict"),
        ("client_chunk", {"bytes": 5, "how": "given"}, "client_chunk bytes"),
        ("baseline", {"path": "b.toml", "strict": False, "entries": []}, "baseline"),
    ],
)
def test_jobs_of_different_runs_are_refused_naming_the_field_and_the_job(
    sample: Any, field: str, value: object, named: str
) -> None:
    shards = sample_shards(sample, 2)
    shards[1]["run"][field] = value
    if field == "strict":
        shards[1]["run"]["require_exercised"] = True
    with pytest.raises(MergeError) as refused:
        merge_shards([("out/a", shards[0]), ("out/b", shards[1])])
    message = str(refused.value)
    assert message.startswith(f"out/b: {named} ")
    assert "differs from out/a's" in message
    assert "\n" not in message


def test_a_job_given_twice_or_missing_is_refused(sample: Any) -> None:
    one, _, three = sample_shards(sample, 3)
    with pytest.raises(MergeError, match=r"^b: job 1 given twice \(also a\)$"):
        merge_shards([("a", one), ("b", copy.deepcopy(one)), ("c", three)])
    with pytest.raises(MergeError, match=r"^job\(s\) 2/3 missing: their cases were not run"):
        merge_shards([("a", one), ("c", three)])
    with pytest.raises(MergeError, match=r"shard count 2 differs"):
        merge_shards([("a", one), ("x", sample_shards(sample, 2)[1])])


def test_a_partial_merge_is_marked_in_the_document_and_the_headline(sample: Any) -> None:
    one, _, three = sample_shards(sample, 3)
    merged = merge_shards([("a", one), ("c", three)], allow_partial=True)
    assert merged["run"]["merged"] == {"count": 3, "shards": [1, 3], "missing": [2]}
    assert len(merged["cases"]) == len(one["cases"]) + len(three["cases"])
    headline = render_markdown(merged).split("\n\n")[1]
    assert headline.startswith("**PARTIAL: job(s) 2 missing, their cases not run")
    assert "<p><strong>PARTIAL: job(s) 2 missing" in render_html(merged)
    lines = summary_lines(merged, "out")
    assert "merged: PARTIAL: job(s) 2 missing, their cases not run; jobs 1, 3 of 3" in lines


def test_a_whole_runs_results_are_not_a_job(sample: Any) -> None:
    with pytest.raises(MergeError, match=r"^whole: not a CI job's results"):
        merge_shards([("whole", sample.build())])


def test_the_schema_checks_shard_and_merged(doc: dict[str, Any]) -> None:
    def problems(**run: Any) -> list[str]:
        changed = copy.deepcopy(doc)
        changed["run"] |= run
        return validate(changed)

    assert problems(shard={"index": 2, "count": 3}) == []
    assert problems(shard={"index": 4, "count": 3}) == [
        "$.run.shard.index: 4 is above the count, 3"
    ]
    assert problems(shard={"index": 0, "count": 3})  # indices count from 1
    assert problems(merged={"count": 3, "shards": [1, 3], "missing": [2]}) == []
    assert problems(merged={"count": 3, "shards": [1, 3], "missing": []}) == [
        "$.run.merged: shards and missing must list 1 to 3 once each, ascending"
    ]
    assert problems(merged={"count": 2, "shards": [2, 1], "missing": []})  # ascending
    both = {"shard": {"index": 1, "count": 1}, "merged": {"count": 1, "shards": [1], "missing": []}}
    assert problems(**both) == ["$.run: a shard's results or a merge of shards, not both"]
    assert validate(doc) == []  # a document without either, as every older one


def _job_directories(tmp_path: Path, docs: list[dict[str, Any]]) -> list[str]:
    names = []
    for i, doc in enumerate(docs, 1):
        write_reports(doc, tmp_path / f"job{i}")
        names.append(str(tmp_path / f"job{i}"))
    return names


def test_the_merge_command_writes_every_report_and_exits_with_the_verdict(
    sample: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    whole = sample.build()
    directories = _job_directories(tmp_path, sample_shards(sample, 3))
    out = tmp_path / "merged"
    assert main(["merge", *directories, "--report-dir", str(out)]) == whole["summary"]["exit_code"]
    assert {p.name for p in out.iterdir()} == {
        "results.json",
        "summary.md",
        "junit.xml",
        "results.html",
    }
    assert "merged from CI jobs" in (out / "summary.md").read_text(encoding="utf-8")
    assert "Kaltura upload conformance" in capsys.readouterr().out


def test_the_merge_command_refuses_in_one_line_with_exit_2(
    sample: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shards = sample_shards(sample, 2)
    shards[1]["run"]["hypothesis_seed"] = "7"
    directories = _job_directories(tmp_path, shards)
    assert main(["merge", *directories, "--report-dir", str(tmp_path / "m")]) == 2
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    assert f'{directories[1]}: hypothesis_seed "7" differs' in lines[0]
    assert main(["merge", str(tmp_path / "nowhere"), "--report-dir", str(tmp_path / "m")]) == 2
    assert "cannot read" in capsys.readouterr().out
    assert main(["merge", directories[0], "--report-dir", directories[0]]) == 2
    assert "--report-dir" in capsys.readouterr().out


def test_jobs_judged_against_a_baseline_merge_judged_against_it(sample: Any) -> None:
    """The baseline travels in `run` and the builder judges the union against it: a failure
    every job accepted stays KNOWN and does not fail the merged run."""
    baseline = {
        "path": "conformance-baseline.toml",
        "strict": False,
        "entries": [{"id": "UT-C10", "reason": "known", "expires": "2027-01-01"}],
    }
    cases = copy.deepcopy(sample.cases[:2])  # without the sample's harness error
    whole = sample.build(cases, baseline=baseline)
    shards = [
        sample.build(cases[index - 1 :: 2], shard={"index": index, "count": 2}, baseline=baseline)
        for index in (1, 2)
    ]
    merged = merge_shards([("a", shards[0]), ("b", shards[1])])
    assert validate(merged) == []
    statuses = {r["id"]: r["baseline"]["status"] for r in merged["requirements"] if "baseline" in r}
    assert statuses == {"UT-C10": "known"}
    assert merged["summary"]["exit_code"] == whole["summary"]["exit_code"] == 0
