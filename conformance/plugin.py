"""The pytest plugin (entry point `pytest11`).

It loads in every pytest run of an environment where the suite is installed — the user's
unrelated test suites included — so it imports nothing heavy at import time, adds only
an option group and a marker, and does nothing unless the conformance suite runs
(`pytest --pyargs conformance.suite …` or `kaltura-conformance run`). Then it serves the
fixtures the suite uses, collects every case's verdicts (from xdist workers too: they
travel as plain JSON in the test reports), and the controller alone writes the reports
once at the end.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conformance.options import RunOptions
    from conformance.runner import CaseRunner

__all__ = ["CASE_PROPERTY", "REQUIREMENT_MARKER"]

REQUIREMENT_MARKER = "requirement"
CASE_PROPERTY = "kaltura_case"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kaltura-conformance", "Kaltura upload conformance")
    group.addoption("--client-cmd", help="the client under test: a command with {file}, {ks}…")
    group.addoption("--client", help="the client under test: package.module:function")
    group.addoption("--kaltura-profile", default="default", help="quick, default or thorough")
    group.addoption("--kaltura-requirements", help="only these IDs, e.g. UT-C10,UT-C18")
    group.addoption("--kaltura-report-dir", default="reports", help="where reports go")
    group.addoption("--kaltura-time-limit", type=float, default=60.0, help="seconds per case")
    group.addoption("--kaltura-final-wait", type=float, default=0.2, help="close wait, seconds")
    group.addoption("--kaltura-strict", action="store_true", help="SHOULD failures fail too")
    group.addoption("--kaltura-in-process", action="store_true", help="serve httpx over respx")
    group.addoption("--kaltura-replay", help="run exactly this scenario (JSON) once")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{REQUIREMENT_MARKER}(*ids): the UT-C/UT-S requirement IDs a test checks"
    )
    config.pluginmanager.register(_Collector(config), "kaltura-conformance-collector")
    if _is_conformance_run(config) and config.getoption("hypothesis_seed", None) is None:
        # One seed for the whole run, chosen before Hypothesis reads it and sent to every
        # xdist worker with the options: printed in the header and the reports, replayable.
        config.option.hypothesis_seed = str(random.SystemRandom().randrange(2**32))


def _is_conformance_run(config: pytest.Config) -> bool:
    """Only a run of the conformance suite is touched; any other suite stays as it is."""
    named = any(
        "conformance.suite" in str(arg) or "conformance/suite" in str(arg) for arg in config.args
    )
    given = any(config.getoption(name) for name in ("client_cmd", "client", "kaltura_replay"))
    return named or given


def pytest_report_header(config: pytest.Config) -> str | None:
    if not _is_conformance_run(config):
        return None
    seed = config.getoption("hypothesis_seed", None)
    return f"kaltura-conformance: hypothesis seed {seed} (replay with --hypothesis-seed={seed})"


# --- fixtures (used only by the conformance suite) ------------------------------------


@pytest.fixture(scope="session")
def kaltura_options(pytestconfig: pytest.Config) -> RunOptions:
    from conformance.options import OptionError, RunOptions, requirement_ids

    get = pytestconfig.getoption
    try:
        return RunOptions(
            client_cmd=get("client_cmd"),
            client=get("client"),
            profile=get("kaltura_profile"),
            requirements=requirement_ids(get("kaltura_requirements")),
            report_dir=get("kaltura_report_dir"),
            time_limit=get("kaltura_time_limit"),
            final_wait=get("kaltura_final_wait"),
            strict=get("kaltura_strict"),
            in_process=get("kaltura_in_process"),
            replay=get("kaltura_replay"),
        )
    except OptionError as error:
        raise pytest.UsageError(str(error)) from None


@pytest.fixture(scope="session")
def kaltura_seed(pytestconfig: pytest.Config) -> int:
    """The run's Hypothesis seed: `--hypothesis-seed`, or the one chosen at start-up."""
    given = pytestconfig.getoption("hypothesis_seed", None)
    try:
        return int(given) if given is not None else random.SystemRandom().randrange(2**32)
    except ValueError:
        raise pytest.UsageError(f"--hypothesis-seed={given!r}: an integer, please") from None


@pytest.fixture(scope="session")
def kaltura_case_runner(kaltura_options: RunOptions) -> Iterator[CaseRunner]:
    """A loopback server (or the in-process router) and the client, for the whole session."""
    from conformance.endpoints import EndpointConfig, KalturaEndpoint
    from conformance.endpoints.server import LoopbackServer
    from conformance.runner import CaseRunner

    endpoint = KalturaEndpoint(EndpointConfig(final_wait=kaltura_options.final_wait))
    client = kaltura_options.client_runner()
    ids = list(kaltura_options.requirements) if kaltura_options.requirements else None
    if kaltura_options.in_process:
        yield CaseRunner(
            endpoint,
            "http://kaltura.in-process",
            client,
            time_limit=kaltura_options.time_limit,
            in_process=True,
            requirement_ids=ids,
            endpoint_label="in-process (respx)",
        )
        endpoint.close()
        return
    with LoopbackServer(endpoint) as server:
        yield CaseRunner(
            endpoint,
            server.url,
            client,
            time_limit=kaltura_options.time_limit,
            requirement_ids=ids,
            endpoint_label=f"loopback {server.url}",
        )
    endpoint.close()


@pytest.fixture
def kaltura_record(request: pytest.FixtureRequest) -> Any:
    """Record one case's result with the test, as plain JSON (it crosses xdist)."""

    def record(case: dict[str, Any]) -> None:
        request.node.user_properties.append((CASE_PROPERTY, json.dumps(case)))

    return record


# --- collecting cases and writing reports ----------------------------------------------


class _Collector:
    """Gathers the cases every test recorded; on the controller, writes the reports."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.cases: list[dict[str, Any]] = []
        self.document: dict[str, Any] | None = None
        self.started_at = time.time()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        for name, value in report.user_properties:
            if name == CASE_PROPERTY and isinstance(value, str):
                case = json.loads(value)
                case["test"] = report.nodeid.rsplit("::", 1)[-1]
                self.cases.append(case)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if not self.cases or hasattr(self.config, "workerinput"):
            return  # nothing judged here, or an xdist worker: the controller writes once
        from conformance.options import OptionError, requirement_ids, target_of
        from conformance.reporting import build_results, write_results

        get = self.config.getoption
        try:
            selected = requirement_ids(get("kaltura_requirements"))
        except OptionError:
            return  # already reported as a usage error
        self.document = build_results(
            self.cases,
            direction="client",
            target=target_of(get("client_cmd"), get("client")),
            profile=get("kaltura_profile"),
            seed=get("hypothesis_seed", None),
            strict=bool(get("kaltura_strict")),
            selected=selected,
            started_at=self.started_at,
            workers=_workers(self.config),
        )
        write_results(self.document, get("kaltura_report_dir"))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.document is None:
            return
        from conformance.reporting import summary_lines

        for line in summary_lines(self.document, self.config.getoption("kaltura_report_dir")):
            terminalreporter.write_line(line)


def _workers(config: pytest.Config) -> int:
    count = getattr(config.option, "numprocesses", None)
    return count if isinstance(count, int) and count > 0 else 1
