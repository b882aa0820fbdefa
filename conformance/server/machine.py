"""Run the token life-cycle state machine (`lifecycle`) against an endpoint and judge it.

Every requirement a step exercises is judged like a registered check's (`Findings`,
`conformance.findings.judge`): the requirements the shrunk disagreement names FAIL
(NON-STRICT for a SHOULD), every other one some step compared PASSes, and one no step
reached is NOT-EXERCISED.

Requests are metered: on a live account the run's request budget (and the machine's own
allowance for shrinking, `MachineSettings.shrink_requests`) ends the run cleanly. Hypothesis
would take a refused request for a new failure and go on shrinking it, so running out stops
Hypothesis at once; the smallest failing sequence seen so far is then the verdict, with its
requests listed, and a run that found nothing reports what it compared before it stopped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.stateful import run_state_machine_as_test

from conformance.clients.api import KalturaApi
from conformance.findings import Breach, CheckResult, Findings, judge
from conformance.requirements import Verdict
from conformance.server.answers import Observation
from conformance.server.lifecycle import EXERCISED, Disagreement, Exploration, machine_factory
from conformance.server.metering import MeteredApi, OutOfRequests

__all__ = ["EXERCISED", "LifecycleResult", "MachineSettings", "run_lifecycle"]


@dataclass(frozen=True)
class MachineSettings:
    """How long the machine runs: examples (each a fresh sequence) and steps in each."""

    examples: int = 15
    steps: int = 25
    seed: int = 0
    shrink_requests: int | None = None  # a cap on shrinking's requests; None: no cap


@dataclass(frozen=True)
class LifecycleResult:
    """A verdict per requirement the machine exercises, with the failing steps if any."""

    verdicts: dict[str, Verdict]
    messages: dict[str, list[str]]
    settings: MachineSettings
    tally: Counter[str] = field(default_factory=Counter[str])
    stopped: str | None = None  # why the run ended early (a budget), if it did
    observed: tuple[Observation, ...] = ()
    """The comparisons of the smallest failing sequence found (none without a failure)."""

    @property
    def failed(self) -> list[str]:
        broken = (Verdict.FAIL, Verdict.NON_STRICT)
        return [rid for rid, verdict in self.verdicts.items() if verdict in broken]

    @property
    def steps(self) -> int:
        """Steps run over every sequence (shrinking included)."""
        return self.tally["steps"]

    def summary(self) -> str:
        sequences, answers = self.tally["sequences"], self.tally["answers"]
        done = f"{self.steps} step(s) in {sequences} sequence(s), {answers} answer(s) compared"
        return done if self.stopped is None else f"{done}; stopped early: {self.stopped}"

    def findings(self) -> list[CheckResult]:
        """One result per requirement, for reports: a breach with the shrunk steps, a pass
        with how much was compared, or not exercised (each with a `summary` observation)."""
        return [self._result(rid, verdict) for rid, verdict in self.verdicts.items()]

    def _result(self, rid: str, verdict: Verdict) -> CheckResult:
        if rid in self.messages:
            breaches = tuple(Breach(message) for message in self.messages[rid])
            return CheckResult(rid, verdict, breaches)
        if verdict is Verdict.NOT_EXERCISED:
            summary = f"no step reached it; {self.summary()}"
        else:
            summary = f"as the model predicted: {self.summary()}"
        return CheckResult(rid, verdict, observations={"summary": summary})


def run_lifecycle(
    api: KalturaApi,
    machine_settings: MachineSettings,
    *,
    allow_close_waits: bool = True,
    run: Callable[..., Any] = run_state_machine_as_test,
) -> LifecycleResult:
    """Run the machine against `api`; the requirements its shrunk failure names FAIL (or
    NON-STRICT for a SHOULD), every other one it exercises PASSes."""
    exploration = Exploration(
        MeteredApi.over(api),
        allow_close_waits=allow_close_waits,
        shrink_requests=machine_settings.shrink_requests,
    )
    factory = hypothesis_seed(machine_settings.seed)(machine_factory(exploration))
    config = settings(
        max_examples=machine_settings.examples,
        stateful_step_count=machine_settings.steps,
        deadline=None,
        database=None,
        phases=(Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
        print_blob=False,
        report_multiple_bugs=False,  # one shrunk disagreement is the verdict
    )
    try:
        run(factory, settings=config)
    except Disagreement as failure:
        steps = [note for note in getattr(failure, "__notes__", []) if note.strip()]
        return _failed(failure, steps, exploration, machine_settings)
    except OutOfRequests as stop:
        return _stopped(str(stop), exploration, machine_settings)
    verdicts = _verdicts(exploration.exercised)
    return LifecycleResult(verdicts, {}, machine_settings, exploration.tally)


def _verdicts(
    exercised: set[str], messages: dict[str, list[str]] | None = None
) -> dict[str, Verdict]:
    """Each requirement judged as a check's findings would be (`judge`): FAIL or NON-STRICT
    where the disagreement is, PASS where some step compared an answer, NOT-EXERCISED where
    none did."""
    return {rid: judge(rid, _findings(rid, exercised, messages or {})).verdict for rid in EXERCISED}


def _findings(rid: str, exercised: set[str], messages: dict[str, list[str]]) -> Findings:
    breaches = tuple(Breach(message) for message in messages.get(rid, ()))
    return Findings(breaches, exercised=rid in exercised or bool(breaches))


def _stopped(reason: str, exploration: Exploration, settings: MachineSettings) -> LifecycleResult:
    """Out of requests: the smallest failure so far with its requests (not shrunk to
    steps), or what the sequences before the stop compared."""
    smallest = exploration.smallest
    if smallest is None:
        verdicts = _verdicts(exploration.exercised)
        return LifecycleResult(verdicts, {}, settings, exploration.tally, stopped=reason)
    requests = [f"not shrunk to steps: {reason}; the sequence's requests:"]
    requests += [f"  {number}. {line}" for number, line in enumerate(smallest.requests, 1)]
    return _failed(smallest.disagreement, requests, exploration, settings, stopped=reason)


def _failed(
    failure: Disagreement,
    steps: list[str],
    exploration: Exploration,
    machine_settings: MachineSettings,
    stopped: str | None = None,
) -> LifecycleResult:
    message = "\n".join([str(failure), *steps])
    messages = {rid: [message] for rid in failure.observation.requirements}
    verdicts = _verdicts(exploration.exercised, messages)
    smallest = exploration.smallest
    observed = () if smallest is None else smallest.observed
    tally = exploration.tally
    return LifecycleResult(verdicts, messages, machine_settings, tally, stopped, observed)
