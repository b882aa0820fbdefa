"""Run options: one table (`conformance.optiontable`) makes pytest's options and the `run`
command's alike; both read, check and refuse them the same way, each in its own words."""

from __future__ import annotations

import argparse
import ast
import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from _pytest.config.argparsing import Parser

from conformance import optiontable, plugin
from conformance.budget import Budget
from conformance.cli import _build_parser, main
from conformance.commands import run as run_command
from conformance.content import SourceFile
from conformance.live import KALTURA_CLOSE_WAIT, LiveTarget, live_target
from conformance.options import (
    MAX_CLIENT_CHUNK_SIZE,
    PROFILES,
    OptionError,
    RunOptions,
    run_options,
)
from conformance.optiontable import CLI, DEFAULTS, OPTIONS, PYTEST
from conformance.requirements import Party
from conformance.scenario import ClientParams, UploadScenario
from conformance.suite import configured

# The command's own options: how pytest runs, not what the suite judges.
COMMAND_OWN = {"-h", "--help", "--seed", "-n", "--workers"}
# What argparse keeps of an option, besides its flag and dest.
DECLARED = ("nargs", "const", "default", "type", "choices", "required", "help", "metavar")


def pytest_actions() -> dict[str, argparse.Action]:
    """pytest's options as the plugin declares them, by flag, and which are live."""
    parser = Parser(_ispytest=True)
    plugin.pytest_addoption(parser)
    return {
        name: argument._action
        for group in ("kaltura-conformance", "kaltura-live")
        for argument in parser.getgroup(group).options
        for name in argument.names()
    }


def cli_actions() -> dict[str, argparse.Action]:
    parser = argparse.ArgumentParser()
    run_command.add_arguments(parser)
    return {name: action for action in parser._actions for name in action.option_strings}


def test_pytest_and_the_command_declare_the_same_options() -> None:
    in_pytest, in_command = pytest_actions(), cli_actions()
    assert set(in_pytest) == {option.pytest for option in OPTIONS}
    assert set(in_command) - COMMAND_OWN == {option.cli for option in OPTIONS}
    for option in OPTIONS:
        there, here = in_pytest[option.pytest], in_command[option.cli]
        assert type(there) is type(here), option.name
        assert {k: getattr(there, k) for k in DECLARED} == {k: getattr(here, k) for k in DECLARED}
        assert (there.dest, here.dest) == (PYTEST.dest(option.name), CLI.dest(option.name))
        assert here.dest == option.name  # the command's namespace reads like RunOptions


def test_the_live_options_are_a_group_of_their_own_in_both() -> None:
    parser = Parser(_ispytest=True)
    plugin.pytest_addoption(parser)
    live = {
        name for argument in parser.getgroup("kaltura-live").options for name in argument.names()
    }
    assert live == {option.pytest for option in OPTIONS if option.live}
    command = argparse.ArgumentParser()
    run_command.add_arguments(command)
    (group,) = [g for g in command._action_groups if g.title and g.title.startswith("live")]
    assert {a.option_strings[0] for a in group._group_actions} == {
        option.cli for option in OPTIONS if option.live
    }


def test_every_option_is_read_by_a_field_and_its_default_is_the_tables() -> None:
    run = {option.name for option in OPTIONS if not option.live}
    fields = {field.name: field.default for field in dataclasses.fields(RunOptions)}
    assert set(fields) - {"front"} == run
    assert {name: fields[name] for name in run} == {name: DEFAULTS[name] for name in run}
    live = {option.name for option in OPTIONS if option.live}
    budget = dataclasses.asdict(Budget())
    assert live == ({field.name for field in dataclasses.fields(LiveTarget)} | set(budget)) - {
        "budget"
    }
    assert budget == {name: DEFAULTS[name] for name in budget}
    assert DEFAULTS["close_wait"] == KALTURA_CLOSE_WAIT


def _scenario() -> str:
    """A case to replay, as a report prints it."""
    scenario = UploadScenario(
        SourceFile(size=10, seed=1), ClientParams(chunk_size=4, concurrency=1)
    )
    return json.dumps(scenario.to_dict())


# Every option the command forwards to pytest, with a value that is not its default.
GIVEN = {
    "client": "conformance.clients.reference:run_job",
    "profile": "quick",
    "requirements": "UT-C10,UT-C18",
    "report_dir": "out",
    "time_limit": "5",
    "final_wait": "0.5",
    "strict": True,
    "in_process": True,
    "replay": _scenario(),
    "shrink_time": "2.5",
    "client_chunk_size": "10MB",
    "baseline": str(Path(__file__).parent / "support" / "example-baseline.toml"),
    "strict_baseline": True,
    "service_url": "http://127.0.0.1:9/",
    "partner_id": "5",
    "admin_secret": "secret",
    "max_requests": "10",
    "max_bytes": "1MiB",
    "max_concurrency": "2",
    "max_rps": "5",
    "close_wait": "1",
    "slow_closes": True,
    "proxy_host": "0.0.0.0",
}
LEFT_OUT = {
    "client_cmd": "one client: --client",
    "require_exercised": "--strict implies it",
    "no_shrink": "--shrink-time is given",
    "ks": "the admin secret is given",
    "shard": "a replay is not shared out: --replay is given",
}


def _argv(spelling: dict[str, str], given: dict[str, Any]) -> list[str]:
    argv: list[str] = []
    for name, value in given.items():
        argv += [spelling[name]] if value is True else [spelling[name], value]
    return argv


def _pytest_config(argv: list[str]) -> Any:
    """What the plugin reads: pytest's own parser, with the plugin's options."""
    parser = Parser(_ispytest=True)
    plugin.pytest_addoption(parser)
    namespace = parser.parse_known_args(argv)
    return SimpleNamespace(getoption=lambda dest, default=None: getattr(namespace, dest, default))


@pytest.fixture
def no_live_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for option in OPTIONS:
        if option.env:
            monkeypatch.delenv(option.env, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.mark.usefixtures("no_live_environment")
def test_what_the_command_forwards_pytest_reads_as_the_same_options() -> None:
    assert set(GIVEN) | set(LEFT_OUT) == {option.name for option in OPTIONS}
    args = _build_parser().parse_args(["run", *_argv(dict(CLI.flags), GIVEN)])
    options = run_command._options(args)
    config = _pytest_config(run_command._pytest_args(args, options))
    assert configured.options_of(config) == options
    run = [option.name for option in OPTIONS if not option.live and option.name in GIVEN]
    assert all(getattr(options, name) != DEFAULTS[name] for name in run)
    assert options.client_chunk_size == 10_000_000
    assert options.require_exercised  # --strict's implication, forwarded too
    live = configured.live_of(config)
    assert live is not None
    assert live == live_target(run_command._given(args), front=CLI)
    assert live.budget == Budget(10, 1 << 20, 2, 5.0)
    assert (live.service_url, live.partner_id, live.close_wait) == ("http://127.0.0.1:9", 5, 1.0)
    assert live.proxy_host == "0.0.0.0"


# One value each option refuses (the live account's with a URL and a KS beside them).
BAD = {
    "client_cmd": "",
    "client": "",
    "profile": "fast",
    "requirements": "UT-C99",
    "report_dir": "",
    "time_limit": "0",
    "final_wait": "-1",
    "replay": "{not json",
    "shrink_time": "nan",
    "client_chunk_size": "0.5B",
    "baseline": "no-such-baseline.toml",
    "shard": "3/2",
    "service_url": "ftp://x",
    "partner_id": "x1",
    "max_requests": "many",
    "max_bytes": "0",
    "max_concurrency": "0",
    "max_rps": "-1",
    "close_wait": "700",
    "proxy_host": "http://x",
}
TAKE_ANYTHING = {"admin_secret", "ks"}  # any text is a secret or a KS until the account says


def test_every_option_that_takes_a_value_has_a_bad_one_here() -> None:
    valued = {option.name for option in OPTIONS if option.parse is not None}
    assert valued - TAKE_ANYTHING == set(BAD)


def _with_a_live_account(name: str) -> dict[str, Any]:
    live = {"service_url": "http://127.0.0.1:9", "ks": "k"}
    context = live if name in live or any(o.name == name and o.live for o in OPTIONS) else {}
    return {key: value for key, value in context.items() if key != name} | {name: BAD[name]}


@pytest.mark.usefixtures("no_live_environment")
@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_value_is_one_line_naming_the_option_as_typed_there(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    given = _with_a_live_account(name)
    config = _pytest_config(_argv(dict(PYTEST.flags), given))
    with pytest.raises(pytest.UsageError) as raised:
        configured.check(config)
    in_pytest = str(raised.value)
    assert "\n" not in in_pytest
    assert in_pytest.startswith((PYTEST.flag(name) + "=", PYTEST.flag(name) + ":"))

    assert main(["run", *_argv(dict(CLI.flags), given)]) == 2
    out = capsys.readouterr().out.strip()
    assert len(out.splitlines()) == 1
    said = out.removeprefix("kaltura-conformance run: error: ")
    assert said.startswith((CLI.flag(name) + "=", CLI.flag(name) + ":"))
    assert "--kaltura-" not in said
    assert said.split(CLI.flag(name), 1)[1] == in_pytest.split(PYTEST.flag(name), 1)[1]


def test_two_options_that_exclude_each_other_are_named_as_typed() -> None:
    both = {"client_cmd": "true", "client": "m:f"}
    with pytest.raises(OptionError, match=r"^--client-cmd and --client: give one client"):
        run_options(both, CLI)
    no_shrink = {"no_shrink": True, "shrink_time": "1"}
    with pytest.raises(OptionError, match=r"^--kaltura-no-shrink and --kaltura-shrink-time"):
        run_options(no_shrink, PYTEST)
    with pytest.raises(OptionError, match=r"^--no-shrink and --shrink-time: give one$"):
        run_options(no_shrink, CLI)


def test_the_client_chunk_size_is_optional_and_parsed() -> None:
    assert RunOptions().client_chunk_size is None
    assert run_options({}).client_chunk_size is None
    assert run_options({"client_chunk_size": "2MiB"}).client_chunk_size == 2 << 20
    assert RunOptions(client_chunk_size=MAX_CLIENT_CHUNK_SIZE).client_chunk_size == 1 << 30


@pytest.mark.parametrize("text", ["0", "-1", "1.5B", "5XB", ""])
def test_a_wrong_size_names_the_option(text: str) -> None:
    with pytest.raises(OptionError) as raised:
        run_options({"client_chunk_size": text})
    assert str(raised.value).startswith("--kaltura-client-chunk-size: ")
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (0, "=0: must be a positive number of bytes"),
        (-5, "=-5: must be a positive number of bytes"),
        (True, "=True: must be a positive number of bytes"),
        (MAX_CLIENT_CHUNK_SIZE + 1, f"={MAX_CLIENT_CHUNK_SIZE + 1}: at most"),
    ],
)
def test_run_options_refuse_a_chunk_size_out_of_bounds(value: int, says: str) -> None:
    with pytest.raises(OptionError) as raised:
        RunOptions(client_chunk_size=value)
    assert str(raised.value).startswith(f"--kaltura-client-chunk-size{says}")


def test_every_profile_leaves_room_for_an_opening_middles_and_a_close() -> None:
    # Fault groups draw files of at least three client chunks.
    chunks = [PROFILES[name].max_client_chunks for name in ("quick", "default", "thorough")]
    assert chunks == sorted(chunks)
    assert min(chunks) >= 3


def test_the_table_stays_light() -> None:
    """The plugin declares pytest's options from the table in every pytest run."""
    source = Path(optiontable.__file__).read_text(encoding="utf-8")
    ours = {
        node.module
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("conf")
    }
    assert ours == {"conformance.requirements", "conformance.sizes"}


def test_each_party_judges_its_own_selected_requirements() -> None:
    both = RunOptions(requirements=("UT-C07", "UT-S01", "UT-C10"))
    assert both.selected(Party.CLIENT) == ["UT-C07", "UT-C10"]
    assert both.selected(Party.SERVER) == ["UT-S01"]
    assert RunOptions(requirements=("UT-S01",)).selected(Party.CLIENT) is None  # all
    assert RunOptions().selected(Party.SERVER) is None
