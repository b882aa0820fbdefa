"""`kaltura-conformance`: the commands, their exit codes, and one-line usage errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance.cli import _build_parser, chunk_size, file_size, main
from conformance.commands import run as run_command
from conformance.options import RunOptions
from conformance.reporting import build_results
from conformance.requirements import CATALOGUE


def test_simulate_converges_and_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["simulate", "--size", "100KiB", "--chunk-size", "8KiB", "--early-close", "2"])
    out = capsys.readouterr().out
    assert code == 0
    assert "UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE (after waiting)" in out
    assert "token:  FULL_UPLOAD, uploadedFileSize=102400" in out
    assert "(identical to the source)" in out


def test_simulate_json_reports_the_digests(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["simulate", "--size", "3000", "--chunk-size", "1000", "--json", "--store", "memory"]
    )
    result = json.loads(capsys.readouterr().out)
    assert code == 0
    assert result["converged"] is True
    assert result["file_sha256"] == result["source_sha256"]
    assert result["status"] == "FULL_UPLOAD"
    assert len(result["steps"]) == 3


def test_long_runs_show_the_first_and_last_requests(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["simulate", "--size", "100", "--chunk-size", "1", "--order", "reverse"])
    out = capsys.readouterr().out
    assert code == 0
    assert "... 60 more requests ..." in out
    assert "#1 " in out
    assert "#100 " in out


@pytest.mark.parametrize(
    ("options", "option_named"),
    [
        (["--size", "ten"], "--size"),
        (["--chunk-size", "0"], "--chunk-size"),
        (["--seed", "-1"], "--seed"),
        (["--resend", "99"], "--resend"),
        (["--early-close", "99"], "--early-close"),
        (["--order", "sideways"], "--order"),
    ],
)
def test_a_wrong_option_gets_one_line_naming_it(
    options: list[str], option_named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["simulate", *options])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert len(err.strip().splitlines()) == 1
    assert option_named in err


def test_an_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["launch"])
    assert exit_info.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_requirements_lists_the_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["requirements", "--party", "client"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == sum(1 for rid in CATALOGUE if rid.startswith("UT-C"))
    assert lines[0].startswith("UT-C01  MUST")


def test_requirements_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["requirements", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["id"] for row in rows] == list(CATALOGUE)


@pytest.mark.parametrize(
    ("text", "size"), [("4096", 4096), ("64KiB", 65536), ("10 MiB", 10 << 20), ("1GB", 10**9)]
)
def test_byte_sizes(text: str, size: int) -> None:
    assert file_size(text) == size
    assert chunk_size(text) == size


def test_a_file_may_be_empty_a_chunk_may_not(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--size", "0", "--chunk-size", "1", "--json"]) == 0
    with pytest.raises(SystemExit) as exit_info:
        main(["simulate", "--chunk-size", "0"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("kaltura-conformance simulate: error: argument --chunk-size:")
    assert "at least 1 byte" in error


def test_the_console_script_survives_a_closed_pipe() -> None:
    """`kaltura-conformance simulate --json | head -1` must not print a traceback; the
    output (3,000 steps) is far larger than a pipe's buffer, so the write really fails."""
    call = "main(['simulate', '--size', '3000', '--chunk-size', '1', '--json'])"
    command = [sys.executable, "-c", f"from conformance.cli import main; {call}"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None
        process.stdout.readline()
        process.stdout.close()
        _, err = process.communicate(timeout=30)
    assert b"Traceback" not in err


# --- run --require-exercised ----------------------------------------------------------------


def _run_options(*argv: str) -> tuple[Any, Any]:
    """The parsed `run` arguments and the RunOptions made of them (no pytest started)."""
    args = _build_parser().parse_args(["run", *argv])
    return args, run_command._options(args)


@pytest.mark.parametrize(
    ("argv", "required"),
    [((), False), (("--require-exercised",), True), (("--strict",), True)],
    ids=["default", "require-exercised", "strict-implies-it"],
)
def test_run_require_exercised_reaches_the_options_and_pytest(
    argv: tuple[str, ...], required: bool
) -> None:
    args, options = _run_options(*argv)
    assert options.require_exercised is required
    forwarded = run_command._pytest_args(args, options)
    assert ("--kaltura-require-exercised" in forwarded) is required


def test_run_options_strict_implies_require_exercised() -> None:
    assert RunOptions(strict=True).require_exercised is True
    assert RunOptions(require_exercised=True).strict is False
    assert RunOptions().require_exercised is False


def test_run_exit_code_with_an_unexercised_must(tmp_path: Path) -> None:
    verdicts = {"UT-C01": "PASS", "UT-C10": "NOT-EXERCISED"}
    document = build_results(
        [{"test": "t", "verdicts": verdicts, "trace": {"data_requests": 1}}],
        direction="client",
        target="reference client",
        profile="quick",
        seed=None,
        strict=False,
        selected=("UT-C01", "UT-C10"),
        started_at=0.0,
        workers=1,
    )
    report = tmp_path / "results.json"
    report.write_text(json.dumps(document), encoding="utf-8")
    ok = pytest.ExitCode.OK
    assert run_command._exit_code(ok, report, False, False) == 0
    assert run_command._exit_code(ok, report, False, True) == 1
    _, options = _run_options("--strict")
    assert run_command._exit_code(ok, report, options.strict, options.require_exercised) == 1


@pytest.mark.parametrize(
    ("size", "says"),
    [
        ("0", "'0' is not a size: at least 1 byte"),
        ("ten", "'ten' is not a size such as"),
        ("1.5B", "not a whole number of bytes"),
        ("2GiB", "--client-chunk-size=2147483648: at most 1073741824 bytes (1 GiB)"),
    ],
)
def test_a_wrong_client_chunk_size_is_one_line_and_exit_2(
    size: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--client-chunk-size", size]) == 2
    out = capsys.readouterr().out
    assert len(out.strip().splitlines()) == 1
    assert "--client-chunk-size" in out
    assert "--kaltura-" not in out  # named as the command knows it
    assert says in out


def test_the_client_chunk_size_is_forwarded_to_pytest_in_bytes() -> None:
    args = _build_parser().parse_args(["run", "--client-chunk-size", "10MB"])
    options = run_command._options(args)
    assert options.client_chunk_size == 10_000_000
    argv = run_command._pytest_args(args, options)
    at = argv.index("--kaltura-client-chunk-size")
    assert argv[at + 1] == "10000000"
    plain = _build_parser().parse_args(["run"])
    assert "--kaltura-client-chunk-size" not in run_command._pytest_args(
        plain, run_command._options(plain)
    )
