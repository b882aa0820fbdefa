"""The CI integrations: the GitHub Action (`action.yml`) and the GitLab template
(`ci/gitlab-ci.yml`).

Their shapes are checked as YAML, and their scripts are run as the CI systems would run
them: each `run:` step of the action with `bash --noprofile --norc -eo pipefail` (GitHub's
`shell: bash`) in a temporary directory, with the environment GitHub sets (the inputs
through the env mapping the action defines, `GITHUB_ACTION_PATH` the repository, a fake
`GITHUB_STEP_SUMMARY` and `GITHUB_OUTPUT`). The install step is swapped for this test's
own environment (its `bin` first on PATH), which already has the suite: installing it again
would only test pip. The fast tests put a fake `kaltura-conformance` first on PATH that
records its arguments; the e2e ones run the real suite.
"""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parent.parent
ACTION = ROOT / "action.yml"
GITLAB = ROOT / "ci" / "gitlab-ci.yml"
INPUT = re.compile(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}")
GITLAB_STAGES = {".pre", "build", "test", "deploy", ".post"}  # GitLab's default stages
# Records its arguments, writes a summary.md where it was told, exits with $FAKE_STATUS.
FAKE = r"""#!/usr/bin/env bash
printf '%s\n' "$@" > "$FAKE_ARGS"
dir=conformance-reports
while [ $# -gt 0 ]; do
  if [ "$1" = --report-dir ]; then dir=$2; fi
  shift
done
if [ "${FAKE_WRITES:-yes}" = yes ]; then
  mkdir -p "$dir" && echo "# fake summary" > "$dir/summary.md"
fi
exit "${FAKE_STATUS:-0}"
"""


def _action() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    return loaded


def _gitlab() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))
    return loaded


def test_the_action_is_a_composite_with_the_documented_inputs() -> None:
    action = _action()
    assert action["name"]
    assert action["description"]
    wanted = {"client-cmd", "profile", "requirements", "baseline", "shard", "report-dir"}
    assert wanted <= set(action["inputs"])
    for spec in action["inputs"].values():
        assert spec["description"]
        assert "default" in spec
    assert action["runs"]["using"] == "composite"
    for step in action["runs"]["steps"]:
        assert ("uses" in step) != ("run" in step), step
        if "run" in step:
            assert step["shell"] == "bash"
            # Inputs reach a script through its environment only: no script injection.
            assert "${{" not in step["run"], step.get("name")
            for value in step.get("env", {}).values():
                assert INPUT.fullmatch(str(value)), value
    assert {"exit-code", "report-dir"} <= set(action["outputs"])


def _fake_bin(tmp_path: Path) -> Path:
    folder = tmp_path / "fake-bin"
    folder.mkdir()
    fake = folder / "kaltura-conformance"
    fake.write_text(FAKE)
    fake.chmod(0o755)
    return folder


class Ran:
    def __init__(self, status: int, summary: str, outputs: str, output: str) -> None:
        self.status, self.summary, self.outputs, self.output = status, summary, outputs, output


def run_action(
    inputs: dict[str, str], work: Path, *, path_first: Path, env: dict[str, str] | None = None
) -> Ran:
    """The action's steps as GitHub runs them (the install step swapped, see above)."""
    action = _action()
    values = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    values |= inputs
    summary, outputs = work / "step-summary.md", work / "github-output"
    summary.write_text("earlier step\n")
    base = {
        **os.environ,
        **(env or {}),
        "PATH": f"{path_first}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}"
        + os.environ.get("PATH", ""),
        "GITHUB_ACTION_PATH": str(ROOT),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(outputs),
        "GITHUB_PATH": str(work / "github-path"),
        "RUNNER_TEMP": str(work),
    }
    status, output = 0, ""
    for step in action["runs"]["steps"]:
        if "uses" in step:  # actions/setup-python, only with a python-version
            assert step["if"] == "inputs.python-version != ''"
            assert values["python-version"] == ""
            continue
        if step.get("id") == "install":
            continue  # this environment has the suite already
        step_env = {
            name: INPUT.sub(lambda m: values[m.group(1)], str(value))
            for name, value in step.get("env", {}).items()
        }
        script = work / f"step-{step['id']}.sh"
        script.write_text(step["run"])
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=work,
            env={**base, **step_env},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        status, output = done.returncode, done.stdout + done.stderr
        if status != 0:
            break
    read = outputs.read_text() if outputs.exists() else ""
    return Ran(status, summary.read_text(), read, output)


def test_the_action_passes_only_the_inputs_given(tmp_path: Path) -> None:
    fake = _fake_bin(tmp_path)
    args = tmp_path / "args"
    hostile = 'node up.js {file} "$(touch pwned)"; touch pwned2 `touch pwned3`'
    ran = run_action(
        {"client-cmd": hostile, "shard": "2/3"},
        tmp_path,
        path_first=fake,
        env={"FAKE_ARGS": str(args)},
    )
    assert ran.status == 0, ran.output
    assert args.read_text().splitlines() == [
        "run",
        "--report-dir",
        "conformance-reports",
        "--client-cmd",
        hostile,
        "--shard",
        "2/3",
    ]
    assert not list(tmp_path.glob("pwned*"))  # the command was passed, never run as shell
    given = {"baseline": "base.toml", "profile": "quick", "requirements": "UT-C10"}
    given |= {"report-dir": "out", "extra-args": "--strict --seed 7"}
    run_action(given, tmp_path, path_first=fake, env={"FAKE_ARGS": str(args)})
    assert args.read_text().splitlines() == [
        "run", "--report-dir", "out", "--profile", "quick", "--requirements", "UT-C10",
        "--baseline", "base.toml", "--strict", "--seed", "7",
    ]  # fmt: skip


@pytest.mark.parametrize("status", [0, 1, 3])
def test_the_action_appends_the_summary_and_exits_with_the_suites_code(
    tmp_path: Path, status: int
) -> None:
    fake = _fake_bin(tmp_path)
    env = {"FAKE_ARGS": str(tmp_path / "args"), "FAKE_STATUS": str(status)}
    ran = run_action({}, tmp_path, path_first=fake, env=env)
    assert ran.status == status
    assert ran.summary == "earlier step\n# fake summary\n"
    assert f"exit-code={status}\n" in ran.outputs
    assert "report-dir=conformance-reports\n" in ran.outputs


def test_without_a_summary_the_action_says_why_in_the_job_summary(tmp_path: Path) -> None:
    fake = _fake_bin(tmp_path)
    stale = tmp_path / "conformance-reports" / "summary.md"
    stale.parent.mkdir()
    stale.write_text("# an earlier run's summary\n")
    env = {"FAKE_ARGS": str(tmp_path / "args"), "FAKE_STATUS": "2", "FAKE_WRITES": "no"}
    ran = run_action({}, tmp_path, path_first=fake, env=env)
    assert ran.status == 2
    assert "earlier run" not in ran.summary
    assert "kaltura-conformance exited 2 before writing conformance-reports/summary.md" in (
        ran.summary
    )


def _matches(pattern: str, path: str) -> bool:
    return fnmatch.fnmatch(path, pattern)


def test_the_gitlab_template_is_a_valid_job_template() -> None:
    template = _gitlab()
    assert "stages" not in template  # an include must not replace the project's stages
    jobs = {name: job for name, job in template.items() if isinstance(job, dict)}
    assert {".kaltura-conformance", ".kaltura-conformance-merge"} <= set(jobs)
    assert all(name.startswith(".") for name in jobs)  # templates only: nothing runs alone
    for name in (".kaltura-conformance", ".kaltura-conformance-merge"):
        job = jobs[name]
        assert job["stage"] in GITLAB_STAGES
        parent = jobs[job["extends"]]
        for key in ("script",):
            assert isinstance(job[key], list)
            assert all(isinstance(s, str) for s in job[key])
        assert all(isinstance(s, str) for s in parent["before_script"])
        artifacts = job["artifacts"]
        assert artifacts["when"] == "always"
        assert all(isinstance(p, str) for p in artifacts["paths"])
    junit = jobs[".kaltura-conformance"]["artifacts"]["reports"]["junit"]
    # where the suite writes junit.xml: a whole run, and job 2 of a parallel run
    assert _matches(junit, "conformance-reports/junit.xml")
    assert _matches(junit, "conformance-reports-2/junit.xml")
    merged = jobs[".kaltura-conformance-merge"]["artifacts"]["reports"]["junit"]
    assert _matches(merged, "conformance-reports/junit.xml")


def _gitlab_script(name: str, work: Path, fake: Path, variables: dict[str, str]) -> list[str]:
    """The job's script lines run by `sh -e` (as GitLab's runner does), in `work`."""
    job = _gitlab()[name]
    defaults = {k: str(v) for k, v in job.get("variables", {}).items()}
    args = work / "args"
    env = {**os.environ, **defaults, **variables, "FAKE_ARGS": str(args)}
    env["PATH"] = f"{fake}{os.pathsep}{env['PATH']}"
    script = "\n".join(job["script"])
    done = subprocess.run(
        ["sh", "-e", "-c", script], cwd=work, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return args.read_text().splitlines()


def test_the_gitlab_job_shards_with_parallel_and_merges(tmp_path: Path) -> None:
    fake = _fake_bin(tmp_path)
    client = {"KALTURA_CONFORMANCE_CLIENT_CMD": "node up.js {file}"}
    whole = _gitlab_script(".kaltura-conformance", tmp_path, fake, client)
    assert whole == [
        "run", "--report-dir", "conformance-reports", "--client-cmd", "node up.js {file}",
    ]  # fmt: skip
    job = {**client, "CI_NODE_INDEX": "2", "CI_NODE_TOTAL": "3"}
    job |= {"KALTURA_CONFORMANCE_BASELINE": "b.toml", "KALTURA_CONFORMANCE_EXTRA_ARGS": "--strict"}
    sharded = _gitlab_script(".kaltura-conformance", tmp_path, fake, job)
    assert sharded == [
        "run", "--shard", "2/3", "--report-dir", "conformance-reports-2",
        "--client-cmd", "node up.js {file}", "--baseline", "b.toml", "--strict",
    ]  # fmt: skip
    for index in (1, 3):
        (tmp_path / f"conformance-reports-{index}").mkdir()
    merge = _gitlab_script(".kaltura-conformance-merge", tmp_path, fake, {})
    assert merge == [
        "merge", "conformance-reports-1/", "conformance-reports-2/", "conformance-reports-3/",
        "--report-dir", "conformance-reports",
    ]  # fmt: skip


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("client", "requirements", "status", "headline"),
    [
        ("", "UT-C12", 0, "✅ Kaltura upload conformance: passed"),
        # Claims success without uploading a byte: UT-C14 fails.
        ("sh -c 'exit 0'", "UT-C14", 1, "❌ Kaltura upload conformance: failed"),
    ],
)
def test_the_actions_steps_run_the_suite(
    tmp_path: Path, client: str, requirements: str, status: int, headline: str
) -> None:
    inputs = {"client-cmd": client, "profile": "quick", "requirements": requirements}
    inputs["extra-args"] = "--no-shrink"
    ran = run_action(inputs, tmp_path, path_first=Path(sys.executable).parent)
    assert ran.status == status, ran.output[-3000:]
    assert ran.summary.startswith(f"earlier step\n# {headline}")
    assert f"| {requirements} | MUST |" in ran.summary
    assert (tmp_path / "conformance-reports" / "junit.xml").exists()
    assert f"exit-code={status}\n" in ran.outputs
