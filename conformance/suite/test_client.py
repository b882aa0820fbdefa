"""Client conformance: the client under test uploads generated files to the suite's
endpoint, once per Hypothesis example, and every UT-C requirement is judged on each case.

A MUST broken (or, with --kaltura-strict, a SHOULD) fails the example; Hypothesis then
shrinks it to the simplest scenario that still breaks the rule and prints it with the
command that replays it. Every case's verdicts go to the reports, broken or not.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, note, seed, settings
from hypothesis.control import current_build_context

from conformance.checks import Violation
from conformance.options import RunOptions
from conformance.requirements import Verdict
from conformance.runner import CaseResult, CaseRunner, LiveCaseRunner
from conformance.scenario import UploadScenario
from conformance.suite.groups import GROUPS, Group, Limits

_BROKEN_STRICT = (Verdict.FAIL, Verdict.NON_STRICT)


def _selected(group: Group, options: RunOptions) -> bool:
    wanted = options.requirements
    return wanted is None or any(rid in group.aims_at for rid in wanted)


class HarnessError(BaseException):
    """The suite could not run the client at all (HARNESS-ERROR): no verdict on it.

    A BaseException on purpose: Hypothesis shrinks `Exception`s, and there is nothing to
    shrink when the client cannot even start."""


def _judge(result: CaseResult, options: RunOptions) -> None:
    if result.harness_error:
        raise HarnessError(f"could not run the client: {result.client.detail}")
    broken = (Verdict.FAIL, *((Verdict.NON_STRICT,) if options.strict else ()))
    failed = [r for r in result.results if r.verdict in broken]
    if failed:
        raise Violation(failed[0]) from _others(failed[1:])


def _others(results: list[Any]) -> Exception | None:
    if not results:
        return None
    return AssertionError("also broken: " + "; ".join(r.requirement_id for r in results))


def _replay_command(options: RunOptions, scenario: UploadScenario) -> str:
    target = (
        f"--client-cmd {shlex.quote(options.client_cmd)}"
        if options.client_cmd
        else f"--client {options.client}"
        if options.client
        else ""
    )
    scenario_json = shlex.quote(json.dumps(scenario.to_dict(), separators=(",", ":")))
    return f"kaltura-conformance run {target} --replay {scenario_json}".replace("  ", " ")


def _run_case(
    runner: CaseRunner | LiveCaseRunner,
    options: RunOptions,
    record: Any,
    scenario: UploadScenario,
    *,
    in_hypothesis: bool = True,
) -> None:
    result = runner.run(scenario)
    case = result.to_dict()
    case["replay"] = _replay_command(options, scenario)
    record(case)
    if in_hypothesis:
        note(f"replay: {case['replay']}")  # printed with the shrunk falsifying example
    _judge(result, options)


# Each group runs as `group.shards` shards (own seeds, a share of the examples each), the
# groups with the most shards first: xdist's load scheduling then hands out the longest
# pieces first and the short ones fill the gaps (longest-processing-time-first).
_ITEMS = [
    (group, shard)
    for group in sorted(GROUPS, key=lambda g: -g.shards)
    for shard in range(group.shards)
]
# Fewer than this many examples per shard is not worth a shard of its own.
_MIN_EXAMPLES_PER_SHARD = 3


@pytest.mark.parametrize(("group", "shard"), _ITEMS, ids=[f"{g.name}-{n + 1}" for g, n in _ITEMS])
def test_client_conformance(
    *,
    group: Group,
    shard: int,
    kaltura_options: RunOptions,
    kaltura_case_runner: CaseRunner | LiveCaseRunner,
    kaltura_record: Any,
    kaltura_seed: int,
) -> None:
    options = kaltura_options
    if isinstance(kaltura_case_runner, LiveCaseRunner) and group.faults:
        pytest.skip(f"{group.name}: faults are injected only by the suite's own endpoint")
    if options.replay is not None:
        pytest.skip("--kaltura-replay runs test_replay only")
    if not _selected(group, options):
        pytest.skip(f"exercises none of {', '.join(options.requirements or ())}")
    profile = options.profile_settings
    shards = max(1, min(group.shards, profile.examples // _MIN_EXAMPLES_PER_SHARD))
    if shard >= shards:
        pytest.skip(f"the {profile.name} profile runs {shards} shard(s) per group")
    limits = Limits.for_profile(
        profile, final_wait=options.final_wait, client_chunk=options.client_chunk_size
    )

    recorder = _ShrinkAwareRecorder(kaltura_record)

    @seed(kaltura_seed + shard)
    @settings(
        max_examples=max(1, -(-profile.examples // shards)),
        deadline=None,
        database=None,
        phases=(Phase.generate, Phase.target, Phase.shrink, Phase.explain),
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )
    @given(group.scenarios(limits))
    def case(scenario: UploadScenario) -> None:
        _run_case(kaltura_case_runner, options, recorder, scenario)

    case()


class _ShrinkAwareRecorder:
    """Reports count the cases Hypothesis generated, and the one it shrank a failure to:
    the many attempts made while shrinking are not cases of their own."""

    def __init__(self, record: Any) -> None:
        self.record = record
        self.failed = False

    def __call__(self, case: dict[str, Any]) -> None:
        final = bool(getattr(current_build_context(), "is_final", False))
        broken = any(v in ("FAIL", "NON-STRICT") for v in case["verdicts"].values())
        if final or not self.failed:
            self.record(case)
        self.failed = self.failed or broken


def test_replay(
    kaltura_options: RunOptions,
    kaltura_case_runner: CaseRunner | LiveCaseRunner,
    kaltura_record: Any,
) -> None:
    """`--kaltura-replay SCENARIO_JSON`: run that one case, exactly."""
    if kaltura_options.replay is None:
        pytest.skip("no --kaltura-replay given")
    scenario = kaltura_options.replay_scenario()
    _run_case(kaltura_case_runner, kaltura_options, kaltura_record, scenario, in_hypothesis=False)
