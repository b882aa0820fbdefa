"""The run's cases gathered and its reports written, once: a pytest plugin object that
`conformance.plugin` registers in every run (it does nothing unless the conformance suite
runs). Each test records its cases as plain JSON in its report's user properties (they
cross pytest-xdist that way); the controller collects them, probes the client's chunk
size before the cases (while xdist's workers start: `handoff`), and at the end writes the
results document and its reports (`conformance.reporting`), and sets pytest's exit status
as the run judges it (a MUST no case exercised, the baseline, a signal)."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import pytest

from conformance.suite import configured, handoff

if TYPE_CHECKING:
    from conformance.options import RunOptions
    from conformance.suite.handoff import ProbeOutcome

__all__ = ["CASE_PROPERTY", "SERVER_CASE_PROPERTY", "Collector"]

CASE_PROPERTY = "kaltura_case"
SERVER_CASE_PROPERTY = "kaltura_server_case"
_DIRECTIONS = {CASE_PROPERTY: "client", SERVER_CASE_PROPERTY: "server"}


class Collector:
    """Gathers the cases every test recorded; on the controller, writes the reports.

    A run judges one direction: a client (the default) or, given a live service URL and no
    client, a server. Should both ever be recorded, the server's reports go to `server/`
    under the report directory."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.cases: dict[str, list[dict[str, Any]]] = {"client": [], "server": []}
        self.documents: list[tuple[dict[str, Any], str]] = []
        self.started_at = time.time()
        self.client_chunk: dict[str, Any] | None = None
        self.handoff: handoff.Handoff | None = None

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodeready(self, node: Any) -> None:
        """xdist: a worker is up; after a signal meanwhile the session ends (`interrupts`)."""
        if self.handoff is not None:
            from conformance.interrupts import worker_ready

            io = getattr(getattr(node, "gateway", None), "_io", None)  # execnet's popen IO
            pid = getattr(getattr(io, "popen", None), "pid", None)
            signum = worker_ready(pid if isinstance(pid, int) else None)
            dsession = self.config.pluginmanager.get_plugin("dsession")
            if signum is not None and dsession is not None:  # xdist shuts the workers down
                dsession.shouldstop = f"interrupted by signal {signum}"

    def probe_while_workers_start(self) -> None:
        """xdist: probe in a thread, the outcome for this process and for the workers; a
        signal meanwhile is held back from the workers until they are up (`interrupts`)."""
        from conformance.interrupts import workers_starting

        workers_starting()  # each worker is sent a signal once it is up
        self.handoff = handoff.Handoff()

        def probe() -> ProbeOutcome:
            outcome = self.choose_client_chunk()
            handoff.apply(self.config, outcome)
            return outcome

        self.handoff.start(probe)

    def choose_client_chunk(self) -> ProbeOutcome:
        """Given, or learned from probe cases (recorded like any case); a learned size
        becomes the run's --kaltura-client-chunk-size, for every worker too."""
        from conformance.suite.chunking import choose_chunk, probe_outcome

        if configured.direction(self.config) == "server":
            return handoff.ProbeOutcome()
        options = configured.options_of(self.config)
        live = configured.live_of(self.config)

        # Every CI job probes (the chunk decides its cases); the first reports the probes,
        # so that merged jobs hold them once, as the unsharded run does.
        reports_probes = options.shard is None or options.shard.index == 1

        def record(case: dict[str, Any]) -> None:
            from conformance.interrupts import interrupted

            # After a signal the probe's client was stopped, not judged (as any case's).
            if reports_probes and interrupted() is None:
                self.cases["client"].append({**case, "test": "chunk-probe"})

        choice = choose_chunk(options, live=live, record=record)
        self.client_chunk = None if choice is None else choice.to_dict()
        return probe_outcome(choice, options)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        for name, value in report.user_properties:
            if name in _DIRECTIONS and isinstance(value, str):
                case = json.loads(value)
                case["test"] = report.nodeid.rsplit("::", 1)[-1]
                self.cases[_DIRECTIONS[name]].append(case)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if hasattr(self.config, "workerinput"):
            return  # an xdist worker: the controller writes once
        if self.handoff is not None:
            self.handoff.finish()  # the probe's cases and chunk belong to the reports
        from conformance.interrupts import exit_status
        from conformance.reporting import write_results

        try:
            options = configured.options_of(self.config)
        except pytest.UsageError:
            return  # already reported as a usage error
        directory = options.report_dir
        both = all(self.cases.values())
        # An interrupted run leaves its reports even when no finished case reached this
        # process (a worker still starting when the signal came takes its cases with it).
        # A CI job's share may hold no case: its (empty) results still join the merge.
        wanted = exit_status() is not None or options.shard is not None
        always = configured.direction(self.config) if wanted else None
        for direction, cases in self.cases.items():
            if not cases and direction != always:
                continue
            where = f"{directory}/server" if both and direction == "server" else directory
            document = self._document(direction, cases, options)
            write_results(document, where)
            self.documents.append((document, where))
        if session.exitstatus == pytest.ExitCode.OK and any(
            _unexercised_fails(document) for document, _ in self.documents
        ):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED  # no test failed: the run did
        if options.baseline and self.documents:
            session.exitstatus = _baseline_status(session.exitstatus, self.documents)
        signalled = exit_status()
        if signalled is not None:
            session.exitstatus = signalled  # 130 (SIGINT), 143 (SIGTERM)

    def _document(
        self, direction: str, cases: list[dict[str, Any]], options: RunOptions
    ) -> dict[str, Any]:
        from conformance.interrupts import exit_status
        from conformance.reporting import build_results
        from conformance.requirements import Party
        from conformance.suite.records import case_options

        selected = options.selected(Party.CLIENT if direction == "client" else Party.SERVER)
        mine = None if selected is None else tuple(selected)
        live = configured.live_of(self.config)
        target = options.target()
        if direction == "server":
            target = live.describe() if live is not None else "unknown"
        return build_results(
            cases,
            direction=direction,
            target=target,
            profile=options.profile,
            seed=self.config.getoption("hypothesis_seed", None),
            strict=options.strict,
            require_exercised=options.require_exercised,
            selected=mine,
            started_at=self.started_at,
            workers=_workers(self.config),
            client_chunk=self.client_chunk if direction == "client" else None,
            interrupted=exit_status() is not None,
            baseline=options.baseline_record(),
            options=case_options(options) if direction == "client" else None,
            shard=options.shard.to_dict() if options.shard and direction == "client" else None,
        )

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        from conformance.reporting import summary_lines

        for document, where in self.documents:
            if document["run"]["direction"] == "client":
                for line in _groups_left_out(self.config):
                    terminalreporter.write_line(line)
            for line in summary_lines(document, where):
                terminalreporter.write_line(line)


def _groups_left_out(config: pytest.Config) -> list[str]:
    """Say which case groups this run left out and why (they are deselected, not skipped,
    so that pytest-xdist hands out only real work)."""
    from conformance.suite.groups import GROUPS, skip_reason

    options = configured.options_of(config)
    if options.replay is not None:
        return ["kaltura-conformance: --kaltura-replay runs that one case, no case groups"]
    live = configured.live_of(config) is not None
    return [
        f"kaltura-conformance: group {group.name} not run: {reason}"
        for group in GROUPS
        if (reason := skip_reason(group, requirements=options.requirements, live=live))
    ]


def _baseline_status(
    status: int | pytest.ExitCode, documents: list[tuple[dict[str, Any], str]]
) -> int | pytest.ExitCode:
    """pytest's exit status as the baseline judges the run: the failed tests of accepted
    failures pass it; an expired entry (or a fixed one, when strict) fails it."""
    codes = {document["summary"]["exit_code"] for document, _ in documents}
    if status == pytest.ExitCode.TESTS_FAILED and codes == {0}:
        return pytest.ExitCode.OK
    if status == pytest.ExitCode.OK and 1 in codes:
        return pytest.ExitCode.TESTS_FAILED
    return status


def _unexercised_fails(document: dict[str, Any]) -> bool:
    """Whether a MUST no case exercised fails the run (--kaltura-require-exercised)."""
    return bool(document["run"]["require_exercised"] and document["summary"]["must_not_exercised"])


def _workers(config: pytest.Config) -> int:
    count = getattr(config.option, "numprocesses", None)
    return count if isinstance(count, int) and count > 0 else 1
