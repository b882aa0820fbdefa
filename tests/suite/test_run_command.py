"""`kaltura-conformance run` end to end, as a user runs it (in a subprocess).

Those runs are the `e2e` tier (README: run it with `-m e2e`); the option checks, which
end before pytest starts, run in-process in the fast tier: the same `main`, without a
Python start-up each.
"""

from __future__ import annotations

import base64
import html
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

from conformance.cli import main
from conformance.suite.groups import GROUPS

SCRIPTS = Path(__file__).resolve().parent.parent / "clients" / "scripts"
REPORTS = "conformance-reports"  # the default --report-dir, under the cwd
REPORT_FILES = {"results.json", "summary.md", "junit.xml", "results.html"}
E2E = pytest.mark.e2e


def run(
    *options: str, cwd: Path, timeout: float = 240, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "conformance.cli", "run", "--profile", "quick", *options]
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False, env=env
    )


def results(directory: Path) -> dict[str, object]:
    document: dict[str, object] = json.loads((directory / "results.json").read_text())
    return document


def verdicts(directory: Path) -> dict[str, str]:
    rows = results(directory)["requirements"]
    assert isinstance(rows, list)
    return {row["id"]: row["verdict"] for row in rows}


@E2E
def test_the_reference_client_passes_and_reports_are_written(tmp_path: Path) -> None:
    done = run("--report-dir", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:]
    out = tmp_path / "out"
    assert {p.name for p in out.iterdir()} == REPORT_FILES
    found = verdicts(out)
    assert len(found) == 22
    assert not {rid for rid, verdict in found.items() if verdict in ("FAIL", "NON-STRICT")}
    assert "hypothesis seed" in done.stdout
    assert "UT-C10  MUST" in done.stdout


@E2E
def test_the_default_report_dir_is_conformance_reports_under_the_cwd(tmp_path: Path) -> None:
    done = run("--requirements", "UT-C12", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:]
    assert set(verdicts(tmp_path / REPORTS)) == {"UT-C12"}


@E2E
@pytest.mark.skipif(not (SCRIPTS / "mutant_omits_final_chunk.sh").exists(), reason="no script")
def test_a_mutant_fails_with_exit_1_naming_its_requirement(tmp_path: Path) -> None:
    pytest.importorskip("shutil").which("curl") or pytest.skip("curl is not installed")
    script = SCRIPTS / "mutant_omits_final_chunk.sh"
    # The default profile and a fixed seed: a quick run may draw only one-chunk files,
    # which this mutant uploads correctly.
    done = run(
        "--client-cmd",
        f"sh {script}",
        "--requirements",
        "UT-C03",
        "--profile",
        "default",
        "--seed",
        "1",
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stdout[-3000:]
    assert verdicts(tmp_path / REPORTS)["UT-C03"] == "FAIL"
    assert "UT-C03 FAIL" in done.stdout
    assert "--replay" in done.stdout  # the shrunk case comes with its replay command


@E2E
def test_credentials_never_reach_the_reports(tmp_path: Path) -> None:
    """A client that prints its KS and admin secret and fails: its output is kept in the
    report, scrubbed."""
    leak = tmp_path / "leaked.txt"
    client = f"sh -c 'echo {{ks}} {{admin_secret}} | tee -a {leak}; exit 1'"
    done = run("--client-cmd", client, "--requirements", "UT-C14", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:]  # an honest failure breaks no MUST
    secrets = set(leak.read_text().split())
    assert secrets
    for path in (tmp_path / REPORTS).iterdir():
        text = path.read_text()
        assert not [s for s in secrets if s in text], path.name
    assert "<redacted> <redacted>" in (tmp_path / REPORTS / "results.json").read_text()
    assert not [s for s in secrets if s in done.stdout + done.stderr]


@E2E
def test_a_client_that_cannot_be_run_is_a_harness_error(tmp_path: Path) -> None:
    done = run("--client-cmd", "no-such-uploader {file}", "--requirements", "UT-C02", cwd=tmp_path)
    assert done.returncode == 3, done.stdout[-3000:]
    assert verdicts(tmp_path / REPORTS)["UT-C02"] == "HARNESS-ERROR"


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (("--profile", "fast"), "--profile"),
        (("--requirements", "UT-C99"), "--requirements"),
        (("--client-cmd", "up {nope}"), "--client-cmd"),
        (("--client", "no_such_module:upload"), "--client"),
        (("--time-limit", "0"), "--time-limit"),
        (("--replay", "{not json"), "--replay"),
        (("-n", "many"), "-n"),
        # Issue 12 rows 7, 8: the reference client judged instead, exit 0; the whole run,
        # then a 67-line traceback, exit 1.
        (("--client-cmd", ""), "--client-cmd"),
        (("--client-cmd", "  "), "--client-cmd"),
        (("--client", ""), "--client"),
        (("--report-dir", "a-file"), "--report-dir"),
        (("--report-dir", "a-file/reports"), "--report-dir"),
        (("--report-dir", "/proc/no-reports-here"), "--report-dir"),
        (("--report-dir", ""), "--report-dir"),
    ],
)
def test_a_wrong_option_is_one_line_and_exit_2(
    tmp_path: Path,
    options: tuple[str, ...],
    named: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """In-process: an option error ends the run before pytest starts, in `main` itself."""
    (tmp_path / "a-file").write_text("not a directory")
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--profile", "quick", *options]) == 2
    done = capsys.readouterr()
    lines = (done.out + done.err).strip().splitlines()
    assert len(lines) == 1, lines
    assert named in lines[0]


@E2E
def test_parallel_workers_write_the_reports_once(tmp_path: Path) -> None:
    done = run("-n", "2", "--requirements", "UT-C10,UT-C17", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:]
    document = results(tmp_path / REPORTS)
    assert document["run"]["workers"] == 2  # type: ignore[index]
    assert set(verdicts(tmp_path / REPORTS)) == {"UT-C10", "UT-C17"}


def shrinks(directory: Path) -> list[dict[str, object]]:
    """The shrink reports of the run's failing cases (one per failing shard)."""
    cases = results(directory)["cases"]
    assert isinstance(cases, list)
    return [case["shrink"] for case in cases if case.get("shrink")]


# Claims success without uploading a byte: UT-C14 fails in every case, of every size.
CLAIMS_SUCCESS = "sh -c 'exit 0'"


@E2E
@pytest.mark.parametrize(
    ("options", "status"),
    [
        (("--shrink-time", "3600"), "shrunk"),  # ends when Hypothesis does, not on a clock
        (("--shrink-time", "0"), "not-shrunk"),
        (("--no-shrink",), "off"),
    ],
)
def test_the_failing_case_says_how_its_shrink_went(
    tmp_path: Path, options: tuple[str, ...], status: str
) -> None:
    done = run("--client-cmd", CLAIMS_SUCCESS, "--requirements", "UT-C14", *options, cwd=tmp_path)
    assert done.returncode == 1, done.stdout[-3000:]
    found = shrinks(tmp_path / REPORTS)
    assert found, done.stdout[-3000:]
    assert {report["status"] for report in found} == {status}
    assert f"shrink: {status}" in done.stdout
    if status != "shrunk":
        assert {report["steps"] for report in found} == {0}


@E2E
def test_a_hang_is_not_shrunk_past_the_budget(tmp_path: Path) -> None:
    """Each step of a hang's shrink would wait out the time limit again: with a budget
    shorter than that limit, the hang is reported as found, in about one time limit."""
    options = ("--time-limit", "1", "--shrink-time", "0.5", "--requirements", "UT-C14")
    # A given chunk: no probe, whose hang would already make shrinking pointless.
    options += ("--client-chunk-size", "1000")
    done = run("--client-cmd", "sleep 30", *options, cwd=tmp_path)
    assert done.returncode == 1, done.stdout[-3000:]
    found = shrinks(tmp_path / REPORTS)
    assert found
    for report in found:
        assert report["status"] == "not-shrunk"
        assert "hit its 1 s time limit" in str(report["reason"])
    cases = results(tmp_path / REPORTS)["cases"]
    assert isinstance(cases, list)
    assert all(case["client"]["timed_out"] for case in cases)


# A client that fails at once: no case reaches a data request, so UT-C02 (the opening
# request's resume=false) is NOT-EXERCISED in every case, and nothing is broken.
SILENT = ("--client-cmd", "sh -c 'exit 1'", "--requirements", "UT-C02")
HEADLINE = "1 MUST requirement was not exercised: this run does not show conformance to it"


@E2E
def test_an_unexercised_must_is_not_a_pass(tmp_path: Path) -> None:
    done = run(*SILENT, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:]
    # three cases, and the chunk-size probe (which taught nothing: no data came)
    assert "UT-C02  MUST          NOT-EXERCISED  4 not exercised: not a pass" in done.stdout
    assert f"{HEADLINE} (UT-C02)" in done.stdout
    assert (
        "the suite's endpoint received no data request (`uploadToken.upload`) in any case"
        in done.stdout
    )
    summary = (tmp_path / REPORTS / "summary.md").read_text(encoding="utf-8")
    assert summary.startswith(f"# ⏭️ Kaltura upload conformance: {HEADLINE} (exit code 0)")


@E2E
def test_require_exercised_makes_it_exit_1(tmp_path: Path) -> None:
    done = run(*SILENT, "--require-exercised", cwd=tmp_path, timeout=120)
    assert done.returncode == 1, done.stdout[-3000:]
    assert results(tmp_path / REPORTS)["run"]["require_exercised"] is True  # type: ignore[index]


@E2E
def test_kaltura_require_exercised_makes_pytest_exit_1(tmp_path: Path) -> None:
    """The same run as plain pytest: no test fails, yet the run does."""
    client, command, _, ids = SILENT
    options = [client, command, "--kaltura-requirements", ids, "--kaltura-profile", "quick"]
    pytest_run = [sys.executable, "-m", "pytest", "--pyargs", "conformance.suite", "-q"]
    pytest_run += ["-p", "no:cacheprovider", *options, "--kaltura-require-exercised"]
    done = subprocess.run(
        pytest_run, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == pytest.ExitCode.TESTS_FAILED, done.stdout[-3000:]
    assert f"{HEADLINE} (UT-C02)" in done.stdout


FIXED_CHUNK_CLIENT = """
from dataclasses import replace

from conformance.clients.reference import run_job


def upload(job):
    run_job(replace(job, chunk_size=1_000_000))  # its own chunk, whatever it is asked
"""


@E2E
def test_a_clients_own_chunk_is_learned_and_every_group_cuts_files(tmp_path: Path) -> None:
    (tmp_path / "fixed_chunk_client.py").write_text(FIXED_CHUNK_CLIENT)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = run("--client", "fixed_chunk_client:upload", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stdout[-3000:]
    document = results(tmp_path / REPORTS)
    chunk = document["run"]["client_chunk"]  # type: ignore[index]
    assert chunk["bytes"] == 1_000_000
    assert chunk["how"].startswith("learned: ")
    assert "client chunk: 1000000 bytes (learned: " in done.stdout
    requests: dict[str, list[int]] = {}
    for case in document["cases"]:  # type: ignore[attr-defined]
        requests.setdefault(case["test"], []).append(case["trace"]["data_requests"])
    assert "chunk-probe" in requests
    assert len(requests) == 1 + len(GROUPS)  # the probe, and every group
    assert all(max(counts) > 1 for counts in requests.values()), requests


@E2E
def test_workers_draw_from_the_seed_the_run_prints(tmp_path: Path) -> None:
    """Without --seed the run chooses one; every xdist worker must use it, so that the
    printed --seed replays the very same cases."""
    options = ("--requirements", "UT-C13,UT-C18", "-n", "2")
    first = run(*options, "--report-dir", "first", cwd=tmp_path)
    assert first.returncode == 0, first.stdout[-3000:]
    seed = results(tmp_path / "first")["run"]["hypothesis_seed"]  # type: ignore[index]
    again = run(*options, "--seed", str(seed), "--report-dir", "again", cwd=tmp_path)
    assert again.returncode == 0, again.stdout[-3000:]

    def drawn(directory: str) -> list[str]:
        cases = results(tmp_path / directory)["cases"]
        return sorted(json.dumps(case["scenario"], sort_keys=True) for case in cases)  # type: ignore[attr-defined]

    assert drawn("first") == drawn("again")


@E2E
def test_in_process_cases_run_at_once_over_respx(tmp_path: Path) -> None:
    """--in-process serves httpx clients over respx, while a group's lanes run at once."""
    done = run("--in-process", "--requirements", "UT-C10,UT-C17", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:]
    document = results(tmp_path / REPORTS)
    assert document["run"]["endpoint"] == "in-process (respx)"  # type: ignore[index]
    assert verdicts(tmp_path / REPORTS)["UT-C10"] == "PASS"


# Prints its KS and admin secret in every encoding, padded so that the kept output tail
# (its last 16 KiB) begins inside the admin secret, at an offset that differs per case.
LEAKY_CLIENT = r"""
import base64, json, os, sys, urllib.parse, zlib
ks, secret = os.environ["KALTURA_KS"], os.environ["KALTURA_ADMIN_SECRET"]
with open(sys.argv[1], "a") as seen:
    seen.write(f"{ks}\n{secret}\n")
forms = []
for s in (secret, ks):
    forms += [s, urllib.parse.quote(s, safe=""), json.dumps(s)[1:-1].replace("/", "\\/")]
    forms += [base64.b64encode(s.encode()).decode(), s[:10] + "\n" + s[10:]]
body = " ".join(forms)
cut = zlib.crc32(os.environ["KALTURA_UPLOAD_TOKEN_ID"].encode()) % len(secret)
sys.stdout.write("x" * 20000 + body + "y" * (16 * 1024 - len(body) + cut))
sys.exit(1)
"""


def secret_runs(secret: str) -> set[str]:
    """Every 8 characters in a row of the secret and of its encodings."""
    forms = [secret, quote(secret, safe=""), json.dumps(secret)[1:-1].replace("/", "\\/")]
    forms.append(base64.b64encode(secret.encode()).decode().rstrip("="))
    return {form[i : i + 8] for form in forms for i in range(len(form) - 7)}


@E2E
def test_no_run_of_a_secret_reaches_any_file_or_the_console(tmp_path: Path) -> None:
    """Issue 12 row 3: an output tail cut inside the admin secret put its last 16 of 32
    characters into results.json and results.html."""
    script, seen = tmp_path / "leaky.py", tmp_path / "seen.txt"
    script.write_text(LEAKY_CLIENT)
    client = f"{shlex.quote(sys.executable)} {script} {seen}"
    done = run("--client-cmd", client, "--requirements", "UT-C14", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:]
    runs = set().union(*(secret_runs(s) for s in seen.read_text().split()))
    assert len(seen.read_text().split()) >= 6  # several cases, several cuts
    written = [p for p in (tmp_path / REPORTS).rglob("*") if p.is_file()]
    assert {p.name for p in written} == REPORT_FILES
    texts = {p.name: p.read_text() for p in written} | {"console": done.stdout + done.stderr}
    for name, text in texts.items():
        for view in (text, html.unescape(text)):
            flat = view.replace("\r", "").replace("\n", "").replace("\\n", "")
            assert not [r for r in runs if r in flat], name


def _case_keys(directory: Path) -> list[str]:
    """Each case's group, scenario and verdicts: what the same seed must reproduce."""
    cases = results(directory)["cases"]
    assert isinstance(cases, list)
    keys = [{k: case[k] for k in ("test", "scenario", "verdicts")} for case in cases]
    return sorted(json.dumps(key, sort_keys=True) for key in keys)


@E2E
def test_three_shards_merged_equal_the_unsharded_run_case_for_case(tmp_path: Path) -> None:
    """Issue 15: `--shard 1/3`, `2/3`, `3/3` with one seed, merged, are the whole run."""
    seed = ("--seed", "20261203", "-n", "2")
    whole = run(*seed, "--report-dir", "whole", cwd=tmp_path)
    assert whole.returncode == 0, whole.stdout[-3000:]
    jobs = []
    for index in (1, 2, 3):
        job = run(*seed, "--shard", f"{index}/3", "--report-dir", f"job{index}", cwd=tmp_path)
        assert job.returncode == 0, job.stdout[-3000:]
        assert results(tmp_path / f"job{index}")["run"]["shard"] == {"index": index, "count": 3}  # type: ignore[index]
        jobs.append(str(tmp_path / f"job{index}"))
    shares = [_case_keys(Path(job)) for job in jobs]
    assert all(shares), "every job of a quick run of every group has cases"
    merged = tmp_path / "merged"
    assert main(["merge", *jobs, "--report-dir", str(merged)]) == 0
    assert _case_keys(merged) == _case_keys(tmp_path / "whole")
    assert sorted(key for share in shares for key in share) == _case_keys(tmp_path / "whole")
    assert verdicts(merged) == verdicts(tmp_path / "whole")
    assert results(merged)["run"]["merged"] == {"count": 3, "shards": [1, 2, 3], "missing": []}  # type: ignore[index]


@E2E
def test_a_job_dealt_no_lane_still_writes_its_results(tmp_path: Path) -> None:
    """One group of one lane (quick, one requirement) in two jobs: job 2 runs no case,
    yet its results (the share it ran: nothing) join the merge."""
    options = ("--requirements", "UT-C12", "--seed", "5")
    for index in (1, 2):
        done = run(*options, "--shard", f"{index}/2", "--report-dir", f"job{index}", cwd=tmp_path)
        assert done.returncode == 0, done.stdout[-3000:]
    empty = results(tmp_path / "job2")
    assert empty["cases"] == []
    assert empty["run"]["shard"] == {"index": 2, "count": 2}  # type: ignore[index]
    jobs = [str(tmp_path / "job1"), str(tmp_path / "job2")]
    assert main(["merge", *jobs, "--report-dir", str(tmp_path / "merged")]) == 0
    assert _case_keys(tmp_path / "merged") == _case_keys(tmp_path / "job1")
