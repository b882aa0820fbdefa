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
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import pytest

from conformance.suite import configured, handoff
from conformance.suite.collector import CASE_PROPERTY, SERVER_CASE_PROPERTY, Collector

if TYPE_CHECKING:
    from conformance.budget import BudgetedTransport
    from conformance.clients.api import KalturaApi
    from conformance.live import LiveTarget
    from conformance.options import RunOptions
    from conformance.proxycase import ProxyCaseRunner
    from conformance.runner import CaseRunner

__all__ = ["CASE_PROPERTY", "REQUIREMENT_MARKER", "SERVER_CASE_PROPERTY"]

REQUIREMENT_MARKER = "requirement"
_COLLECTOR = "kaltura-conformance-collector"


def pytest_addoption(parser: pytest.Parser) -> None:
    """The options of `conformance.optiontable`, as pytest spells them."""
    from conformance.optiontable import PYTEST

    group = parser.getgroup("kaltura-conformance", "Kaltura upload conformance")
    live = parser.getgroup("kaltura-live", "Kaltura live account (server conformance)")
    PYTEST.declare(group.addoption, live.addoption)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{REQUIREMENT_MARKER}(*ids): the UT-C/UT-S requirement IDs a test checks"
    )
    config.pluginmanager.register(Collector(config), _COLLECTOR)
    if configured.is_conformance_run(config):
        configured.check(config)  # every wrong option, in one line, before any case runs
        _cleanup_on_sigterm()
    shared = getattr(config, "workerinput", {}).get(_SHARED)
    if shared is not None:  # an xdist worker: the controller's seed and probe, not its own
        config.option.hypothesis_seed = shared["seed"]
        setattr(config.option, handoff.PROBE_FILE, shared["probe"])
    elif (
        configured.is_conformance_run(config) and config.getoption("hypothesis_seed", None) is None
    ):
        # One seed for the whole run, chosen before Hypothesis reads it and sent to every
        # xdist worker (pytest_configure_node): printed in the header and the reports.
        config.option.hypothesis_seed = str(random.SystemRandom().randrange(2**32))


_SHARED = "kaltura_conformance"


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist, on the controller: what every worker must draw its cases from (workers parse
    the command line anew, so a seed chosen here would be lost): the seed, and the file
    the probe's outcome will be in (`suite.handoff`: the probe runs while workers start)."""
    collector = node.config.pluginmanager.get_plugin(_COLLECTOR)
    given = collector.handoff if isinstance(collector, Collector) else None
    node.workerinput[_SHARED] = {
        "seed": getattr(node.config.option, "hypothesis_seed", None),
        "probe": None if given is None else str(given.path),
    }


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Before any case: the client chunk size the cases are drawn around, given or learned
    by probing the client (`suite.chunking`); with xdist, while its workers start."""
    config = session.config
    probing = not (hasattr(config, "workerinput") or config.getoption("collectonly", False))
    if configured.is_conformance_run(config) and probing:
        collector = config.pluginmanager.get_plugin(_COLLECTOR)
        if not isinstance(collector, Collector):
            return
        if config.pluginmanager.has_plugin("dsession"):  # xdist's controller
            collector.probe_while_workers_start()
        else:
            handoff.apply(config, collector.choose_client_chunk())


def _cleanup_on_sigterm() -> None:
    """SIGTERM (a CI job cancelled, `kill`) and SIGINT stop every client first, then the
    run like Ctrl-C does: the session's teardown still deletes the tokens the run created
    on a live account, and the reports of the finished cases are written (`interrupts`)."""
    from conformance.interrupts import install

    install()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out what this run cannot run, so that pytest-xdist hands out only real work
    (one worker per group at once, not a worker per pair of items, one of them skipped)."""
    if not configured.is_conformance_run(config):
        return
    from conformance.suite.groups import skip_reason

    options = configured.options_of(config)
    live = configured.live_of(config) is not None
    server_run = configured.direction(config) == "server"
    dealt = configured.shard_lanes_of(options, live=live)

    def wanted(item: pytest.Item) -> bool:
        module = getattr(getattr(item, "module", None), "__name__", "")
        if module.endswith("suite.test_server"):
            return server_run
        if not module.endswith("suite.test_client"):
            return True
        if server_run:
            return False
        if getattr(item, "originalname", item.name) == "test_replay":
            return options.replay is not None
        group = item.callspec.params["group"] if hasattr(item, "callspec") else None
        if options.replay is not None or group is None:
            return False
        if dealt is not None and not dealt.get(group.name):
            return False  # its lanes are other CI jobs' (--kaltura-shard)
        return skip_reason(group, requirements=options.requirements, live=live) is None

    kept = [item for item in items if wanted(item)]
    if len(kept) < len(items):
        kept_ids = {id(item) for item in kept}
        config.hook.pytest_deselected(items=[item for item in items if id(item) not in kept_ids])
        items[:] = kept


def pytest_report_header(config: pytest.Config) -> str | None:
    if not configured.is_conformance_run(config):
        return None
    seed = config.getoption("hypothesis_seed", None)
    lines = [f"kaltura-conformance: hypothesis seed {seed} (replay with --hypothesis-seed={seed})"]
    live = configured.live_of(config)
    if live is not None:  # say so: KALTURA_SERVICE_URL in the environment is enough
        lines.append(
            f"kaltura-conformance: live endpoint {live.describe()}; {live.budget.describe()}"
        )
    return "\n".join(lines)


# --- fixtures (used only by the conformance suite) ------------------------------------


@pytest.fixture(scope="session")
def kaltura_options(pytestconfig: pytest.Config) -> RunOptions:
    handoff.await_outcome(pytestconfig)
    return configured.options_of(pytestconfig)


@pytest.fixture(scope="session")
def kaltura_hung_probe(pytestconfig: pytest.Config, kaltura_options: RunOptions) -> bool:
    """Whether the small chunk-size probe hung (`suite.chunking`): the cases then have a
    shorter time limit, and a hang is known without shrinking one."""
    return bool(getattr(pytestconfig.option, handoff.HUNG_PROBE, False))


@pytest.fixture(scope="session")
def kaltura_seed(pytestconfig: pytest.Config) -> int:
    """The run's Hypothesis seed: `--hypothesis-seed`, or the one chosen at start-up."""
    given = pytestconfig.getoption("hypothesis_seed", None)
    try:
        return int(given) if given is not None else random.SystemRandom().randrange(2**32)
    except ValueError:
        raise pytest.UsageError(f"--hypothesis-seed={given!r}: an integer, please") from None


@pytest.fixture(scope="session")
def kaltura_live(pytestconfig: pytest.Config) -> LiveTarget | None:
    """The live endpoint under test, or None when no service URL was given."""
    return configured.live_of(pytestconfig)


@pytest.fixture(scope="session")
def kaltura_live_session(
    kaltura_live: LiveTarget | None,
) -> Iterator[tuple[KalturaApi, BudgetedTransport]]:
    """A budgeted API session on the live endpoint and its transport (the budget the
    proxy forwards through too); at the end (also after a failure or Ctrl-C), every token
    named with this run's prefix is deleted."""
    from conformance.live import LiveError, connect, sweep
    from conformance.server.driver import RUN_PREFIX

    if kaltura_live is None:
        pytest.skip(
            "server conformance needs --kaltura-service-url (or KALTURA_SERVICE_URL) "
            "and --kaltura-partner-id with --kaltura-admin-secret, or --kaltura-ks"
        )
    problem = None
    try:
        with connect(kaltura_live) as (api, transport):
            try:
                yield api, transport
            finally:
                with transport.exempt():
                    sweep(api, f"{RUN_PREFIX}-")
    except LiveError as error:
        problem = str(error)
    if problem is not None:  # no session: nothing else can run; one line, no traceback
        pytest.exit(f"kaltura-conformance: {problem}", returncode=pytest.ExitCode.INTERNAL_ERROR)


@pytest.fixture(scope="session")
def kaltura_live_api(kaltura_live_session: tuple[KalturaApi, BudgetedTransport]) -> KalturaApi:
    """The budgeted API session on the live endpoint (`kaltura_live_session`)."""
    return kaltura_live_session[0]


@pytest.fixture(scope="session")
def kaltura_case_runner(
    kaltura_options: RunOptions, kaltura_live: LiveTarget | None, request: pytest.FixtureRequest
) -> Iterator[CaseRunner | ProxyCaseRunner]:
    """A loopback server (or the in-process router) and the client, for the whole session;
    with a live service URL, the client through the proxy in front of that account."""
    if kaltura_live is not None:
        with _proxy_case_runner(kaltura_options, kaltura_live, request) as runner:
            yield runner
        return
    from conformance.suite.embedded import embedded_runner

    with embedded_runner(kaltura_options) as runner:
        yield runner


def _proxy_case_runner(
    options: RunOptions, live: LiveTarget, request: pytest.FixtureRequest
) -> AbstractContextManager[ProxyCaseRunner]:
    from conformance.suite.proxied import options_proxy_runner

    if not (options.client_cmd or options.client):
        pytest.skip(
            "client conformance on --kaltura-service-url needs the client under test: "
            "--client-cmd or --client"
        )
    if live.partner_id is None:
        pytest.skip("client conformance on a live account needs --kaltura-partner-id")
    api, transport = request.getfixturevalue("kaltura_live_session")
    return options_proxy_runner(options, live, api, transport)


@pytest.fixture
def kaltura_record(request: pytest.FixtureRequest) -> Any:
    """Record one case's result with the test, as plain JSON (it crosses xdist)."""

    from conformance.interrupts import interrupted

    def record(case: dict[str, Any]) -> None:
        if interrupted() is None:  # after a signal, a case's client was stopped, not judged
            request.node.user_properties.append((CASE_PROPERTY, json.dumps(case)))

    return record


@pytest.fixture
def kaltura_record_server(request: pytest.FixtureRequest) -> Any:
    """Like `kaltura_record`, for a server-conformance case."""

    def record(case: dict[str, Any]) -> None:
        request.node.user_properties.append((SERVER_CASE_PROPERTY, json.dumps(case)))

    return record
