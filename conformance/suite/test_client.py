"""Client conformance: the client under test uploads generated files to the suite's
endpoint, once per Hypothesis example, and every UT-C requirement is judged on each case.

A MUST broken (or, with --kaltura-strict, a SHOULD) fails the example; Hypothesis then
shrinks it towards the simplest scenario that still breaks the rule, for at most the
shrink budget (`--kaltura-shrink-time`, per profile by default; `shrinking.py`), and prints
it with the command that replays it. Every case's verdicts go to the reports, broken or
not, and the reported failing case says how its shrink went. The lanes of a group run at
once (`lanes.py`): cases mostly wait. With `--kaltura-shard I/N` a group runs only the lanes
dealt to this job (`sharding.py`).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, note, seed, settings
from hypothesis.control import current_build_context

from conformance.checks import Violation
from conformance.interrupts import interrupted
from conformance.options import RunOptions
from conformance.proxycase import ProxyCaseRunner
from conformance.requirements import Verdict
from conformance.runner import CaseResult, CaseRunner
from conformance.scenario import UploadScenario
from conformance.suite import configured
from conformance.suite.groups import GROUPS, Group, Limits, skip_reason
from conformance.suite.lanes import run_all, worst_first
from conformance.suite.records import case_record
from conformance.suite.shrinking import CaseExplorer


class HarnessError(BaseException):
    """The suite could not run the client at all (HARNESS-ERROR): no verdict on it.

    A BaseException on purpose: Hypothesis shrinks `Exception`s, and there is nothing to
    shrink when the client cannot even start."""


def _judge(result: CaseResult, options: RunOptions) -> None:
    if result.harness_error:
        raise HarnessError(f"could not run the client: {result.client.detail}")
    failed = [r for r in result.results if r.verdict in _broken(options)]
    if failed:
        raise Violation(failed[0]) from _others(failed[1:])


def _others(results: list[Any]) -> Exception | None:
    if not results:
        return None
    return AssertionError("also broken: " + "; ".join(r.requirement_id for r in results))


def _run_case(
    runner: CaseRunner | ProxyCaseRunner,
    options: RunOptions,
    record: Any,
    scenario: UploadScenario,
) -> None:
    result = runner.run(scenario)
    case = case_record(result, options)
    record(case)
    _judge(result, options)


def _broken(options: RunOptions) -> tuple[Verdict, ...]:
    """The verdicts that fail a case: FAIL, and with --strict NON-STRICT too."""
    return (Verdict.FAIL, *((Verdict.NON_STRICT,) if options.strict else ()))


def _fails(result: CaseResult, options: RunOptions) -> bool:
    return any(r.verdict in _broken(options) for r in result.results)


# Groups with the most lanes first: xdist's load scheduling hands out the longest pieces
# first and the short ones fill the gaps (longest-processing-time-first).
_ORDERED = sorted(GROUPS, key=lambda g: -g.lanes)


@pytest.mark.parametrize("group", _ORDERED, ids=[g.name for g in _ORDERED])
def test_client_conformance(
    *,
    group: Group,
    kaltura_options: RunOptions,
    kaltura_case_runner: CaseRunner | ProxyCaseRunner,
    kaltura_record: Any,
    kaltura_seed: int,
    kaltura_hung_probe: bool,
    request: pytest.FixtureRequest,
) -> None:
    """One group: its lanes run at once (threads), each a Hypothesis run of its own."""
    options = kaltura_options
    live = isinstance(kaltura_case_runner, ProxyCaseRunner)
    reason = skip_reason(group, requirements=options.requirements, live=live)
    if reason is not None:
        pytest.skip(reason)
    if options.replay is not None:
        pytest.skip("--kaltura-replay runs test_replay only")
    lanes = [
        _Lane(
            group,
            index=n,
            options=options,
            runner=kaltura_case_runner,
            record=kaltura_record,
            base_seed=kaltura_seed,
            hang_known=kaltura_hung_probe,
        )
        for n in _my_lanes(group, options, live=live)
    ]
    if not lanes:
        pytest.skip(f"--kaltura-shard {options.shard}: this job runs none of its lanes")
    try:
        errors = run_all([lane.run for lane in lanes], on_interrupt=lambda: _stop(lanes))
    except KeyboardInterrupt:
        _stop_if_interrupted(request.session)
        raise  # not a signal the run handles
    _stop_if_interrupted(request.session)  # a single lane ran here: the error is in errors
    error = worst_first(errors, fatal=HarnessError)
    if error is not None:
        raise error


def _stop_if_interrupted(session: pytest.Session) -> None:
    """After SIGINT/SIGTERM (`conformance.interrupts`): the group ends as skipped, so that
    the cases it finished travel with its report (from an xdist worker too), and the run
    stops after it."""
    signum = interrupted()
    if signum is None:
        return
    session.shouldstop = f"interrupted by signal {signum}"
    pytest.skip(f"interrupted by signal {signum}: its finished cases are reported")


def _my_lanes(group: Group, options: RunOptions, *, live: bool) -> tuple[int, ...]:
    """The lane numbers of `group` this run runs: all, or this job's deal (`sharding`)."""
    dealt = configured.shard_lanes_of(options, live=live)
    if dealt is None:
        return tuple(range(group.lane_count(options.profile_settings.examples)))
    return dealt.get(group.name, ())


def _stop(lanes: list[_Lane]) -> None:
    for lane in lanes:
        lane.explorer.stop()


class _Lane:
    """One Hypothesis run over a share of a group's examples, with its own seed.

    Reports count the cases Hypothesis generated and the one it shrank a failure to, with
    how the shrink went: the attempts made while shrinking are not cases of their own."""

    def __init__(
        self,
        group: Group,
        *,
        index: int,
        options: RunOptions,
        runner: CaseRunner | ProxyCaseRunner,
        record: Any,
        base_seed: int,
        hang_known: bool = False,
    ) -> None:
        self.group, self.index = group, index
        self.options, self.record, self.seed = options, record, base_seed + index
        self.explorer: CaseExplorer[CaseResult] = CaseExplorer(
            lambda scenario, limit: runner.run(scenario, time_limit=limit),
            fails=lambda result: _fails(result, options),
            hung=lambda result: result.client.timed_out,
            time_limit=options.case_time_limit,
            shrink_seconds=options.shrink_seconds,
            hang_known=hang_known,
        )
        self.first_failure: CaseResult | None = None

    def run(self) -> None:
        try:
            self._hypothesis()()
        finally:
            if self.first_failure is not None:  # never reached the final replay
                self.record(case_record(self.first_failure, self.options))

    def _hypothesis(self) -> Any:
        profile = self.options.profile_settings
        shrinking = self.options.shrink_seconds is not None
        # --no-shrink: the first failing case is reported as found, at once.
        phases = (Phase.generate, Phase.shrink, Phase.explain) if shrinking else (Phase.generate,)

        @seed(self.seed)
        @settings(
            max_examples=self.group.lane_examples(profile.examples),
            deadline=None,
            database=None,
            phases=phases,
            report_multiple_bugs=False,  # one failure per lane, shrunk at once
            suppress_health_check=list(HealthCheck),
            print_blob=True,
        )
        @given(self.group.scenarios(self._limits()))
        def case(scenario: UploadScenario) -> None:
            self._case(scenario)

        return case

    def _limits(self) -> Limits:
        return Limits.for_profile(
            self.options.profile_settings,
            final_wait=self.options.final_wait,
            client_chunk=self.options.client_chunk_size,
        )

    def _case(self, scenario: UploadScenario) -> None:
        shrinking = self.explorer.failed
        explored = self.explorer.explore(scenario)
        if explored is None:
            return  # not run: the budget is spent, or the run is stopping
        result = explored.result
        if getattr(current_build_context(), "is_final", False):
            self._record_final(result)
        elif explored.fresh and not shrinking:
            if _fails(result, self.options):
                self.first_failure = result  # recorded with the final one
            else:
                self.record(case_record(result, self.options))
        _judge(result, self.options)

    def _record_final(self, result: CaseResult) -> None:
        shrink = self.explorer.shrink_report()
        case = case_record(result, self.options, shrink)
        first, self.first_failure = self.first_failure, None
        if first is not None and first.scenario != result.scenario:
            self.record(case_record(first, self.options))
        self.record(case)
        note(f"replay: {case['replay']}")  # printed with the falsifying example
        note(f"shrink: {shrink.status}, {shrink.steps} step(s), {shrink.reason}")


def test_replay(
    kaltura_options: RunOptions,
    kaltura_case_runner: CaseRunner | ProxyCaseRunner,
    kaltura_record: Any,
) -> None:
    """`--kaltura-replay SCENARIO_JSON`: run that case (or each of a JSON array of them,
    in turn), exactly; every case is recorded, the first broken one fails the test."""
    if kaltura_options.replay is None:
        pytest.skip("no --kaltura-replay given")
    first: BaseException | None = None
    for scenario in kaltura_options.replay_scenarios():
        try:
            _run_case(kaltura_case_runner, kaltura_options, kaltura_record, scenario)
        except (AssertionError, HarnessError) as error:
            first = first or error
        if interrupted() is not None:
            break
    if first is not None:
        raise first
