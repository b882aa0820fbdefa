"""Server conformance: the endpoint named by `--kaltura-service-url` (a live account, a
self-hosted server, or `kaltura-conformance serve`) is driven request by request, and every
answer and `uploadToken.get` is compared with the reference model (UT-S*).

Runs only when a service URL is given and no client is (with a client, the live account is
where that client is judged). Without a URL each test is skipped with one line that says
which options to set. The early-close checks wait out the server's close wait (45 s on a
real account) and run in the `thorough` profile or with `--kaltura-slow-closes`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from conformance.budget import BudgetExceeded
from conformance.clients.api import KalturaApi
from conformance.findings import CheckResult
from conformance.ks import redact
from conformance.live import LiveTarget
from conformance.options import RunOptions
from conformance.requirements import Verdict
from conformance.requirements import requirement as catalogue_entry
from conformance.server import CHECKS, ServerUnderTest, run_check
from conformance.server.machine import EXERCISED, LifecycleResult, MachineSettings, run_lifecycle
from conformance.suite.timeline import server_timeline

# Checks whose plan makes a faithful server hold a close for its whole close wait (§7).
SLOW_CLOSE_CHECKS = frozenset({"UT-S05", "UT-S06", "UT-S08"})
# The life-cycle machine per profile: sequences, and steps in each (~2 requests a step).
MACHINE_RUNS = {"quick": (5, 15), "default": (15, 25), "thorough": (60, 40)}


def _slow_closes(options: RunOptions, live: LiveTarget) -> bool:
    return live.slow_closes or options.profile == "thorough"


def _skip_reason(rid: str, options: RunOptions, live: LiveTarget | None) -> str | None:
    if live is None:
        return None  # the live API fixture skips, saying which options to set
    if options.client_cmd or options.client:
        return "a client is under test: server conformance runs without --client/--client-cmd"
    if options.requirements is not None and rid not in options.requirements:
        return f"not among {', '.join(options.requirements)}"
    if rid in SLOW_CLOSE_CHECKS and not _slow_closes(options, live):
        return (
            f"{rid} waits out the server's close wait: run it with --kaltura-slow-closes "
            "or --kaltura-profile thorough"
        )
    return None


def _case(rid: str, result: CheckResult, endpoint: str) -> dict[str, Any]:
    """A server check as a report case (no credentials: the endpoint is described)."""
    broken = result.verdict in (Verdict.FAIL, Verdict.NON_STRICT)
    return {
        "description": f"{rid}: {catalogue_entry(rid).rule}",
        "scenario": {"check": rid},
        "client": None,
        "verdicts": {rid: result.verdict.value},
        "breaches": {rid: [breach.message for breach in result.breaches]} if broken else {},
        "observations": {} if broken else {rid: {"summary": result.observations["summary"]}},
        "trace": {"endpoint": endpoint},
        "replay": f"pytest --pyargs conformance.suite -k {rid.replace('-', '_')} "
        "--kaltura-service-url …",
    }


@contextmanager
def _harness_errors(
    rids: tuple[str, ...],
    live: LiveTarget,
    api: KalturaApi,
    record: Callable[[dict[str, Any]], None],
) -> Iterator[None]:
    """A check that crashed is the suite's fault, not the server's: its requirements are
    reported HARNESS-ERROR (with the error, secrets hidden) and the test still fails."""
    try:
        yield
    except BudgetExceeded:
        raise  # not a crash: the caller skips, naming the option to raise
    except Exception as error:
        secrets = (*live.secrets(), api.ks or "")
        message = redact(f"{type(error).__name__}: {error}", *secrets)
        record(
            {
                "description": f"{', '.join(rids)}: the suite could not run the check",
                "scenario": {"check": rids[0] if len(rids) == 1 else "token life cycle"},
                "client": None,
                "verdicts": dict.fromkeys(rids, Verdict.HARNESS_ERROR.value),
                "breaches": {},
                "observations": {rid: {"summary": message} for rid in rids},
                "trace": {"endpoint": live.describe()},
                "replay": None,
            }
        )
        raise


def _judge(result: CheckResult, strict: bool) -> None:
    broken = (Verdict.FAIL, *((Verdict.NON_STRICT,) if strict else ()))
    if result.verdict in broken:
        pytest.fail(result.message())  # the requirement, its rule, then each breach


@pytest.mark.parametrize("rid", list(CHECKS), ids=[rid.replace("-", "_") for rid in CHECKS])
def test_server_requirement(
    rid: str,
    kaltura_options: RunOptions,
    kaltura_live: LiveTarget | None,
    request: pytest.FixtureRequest,
    kaltura_record_server: Any,
) -> None:
    reason = _skip_reason(rid, kaltura_options, kaltura_live)
    if reason is not None:
        pytest.skip(reason)
    api: KalturaApi = request.getfixturevalue("kaltura_live_api")  # skips without a URL
    assert kaltura_live is not None
    try:
        with _harness_errors((rid,), kaltura_live, api, kaltura_record_server):
            slow = _slow_closes(kaltura_options, kaltura_live)
            target = ServerUnderTest(api, close_waits=slow)
            result = run_check(rid, target)
    except BudgetExceeded as error:
        pytest.skip(f"{rid} not exercised: {error}")
    case = _case(rid, result, kaltura_live.describe())
    case["timeline"] = server_timeline(target.observed, [result])
    kaltura_record_server(case)
    _judge(result, kaltura_options.strict)


def test_server_token_lifecycle(
    kaltura_options: RunOptions,
    kaltura_live: LiveTarget | None,
    kaltura_seed: int,
    request: pytest.FixtureRequest,
    kaltura_record_server: Any,
) -> None:
    """The state machine: generated sequences of every token operation, each answer
    compared with the model; a disagreement is shrunk to the shortest steps."""
    if kaltura_live is not None and (kaltura_options.client_cmd or kaltura_options.client):
        pytest.skip("a client is under test: server conformance runs without --client/--client-cmd")
    api: KalturaApi = request.getfixturevalue("kaltura_live_api")  # skips without a URL
    assert kaltura_live is not None
    examples, steps = MACHINE_RUNS[kaltura_options.profile]
    # Shrinking is bounded by the run's request budget alone: one knob for the user.
    machine = MachineSettings(examples, steps, kaltura_seed)
    wanted = kaltura_options.requirements
    judged = tuple(rid for rid in EXERCISED if wanted is None or rid in wanted) or EXERCISED
    with _harness_errors(judged, kaltura_live, api, kaltura_record_server):
        slow = _slow_closes(kaltura_options, kaltura_live)
        result = run_lifecycle(api, machine, allow_close_waits=slow)
    case = _lifecycle_case(result, kaltura_live.describe(), kaltura_options)
    if result.observed:  # the smallest failing sequence, step by step
        findings = [f for f in result.findings() if f.requirement_id in case["verdicts"]]
        case["timeline"] = server_timeline(result.observed, findings)
    kaltura_record_server(case)
    broken = (Verdict.FAIL, *((Verdict.NON_STRICT,) if kaltura_options.strict else ()))
    failed = [rid for rid, verdict in result.verdicts.items() if verdict in broken]
    if failed:
        details = "\n".join(m for rid in failed for m in result.messages.get(rid, ()))
        pytest.fail(f"{', '.join(failed)} broken by a generated sequence:\n{details}")
    if result.stopped is not None:
        pytest.skip(f"the token life cycle stopped early: {result.summary()}")


def _lifecycle_case(result: LifecycleResult, endpoint: str, options: RunOptions) -> dict[str, Any]:
    wanted = options.requirements
    verdicts = {
        rid: verdict.value
        for rid, verdict in result.verdicts.items()
        if wanted is None or rid in wanted
    }
    run = result.settings
    return {
        "description": f"token life cycle: {run.examples} sequences of up to {run.steps} steps",
        "scenario": {"machine": "token life cycle", "examples": run.examples, "steps": run.steps},
        "client": None,
        "verdicts": verdicts,
        "breaches": {rid: m for rid, m in result.messages.items() if rid in verdicts},
        "observations": {
            finding.requirement_id: {"summary": finding.observations["summary"]}
            for finding in result.findings()
            if finding.requirement_id in verdicts and finding.requirement_id not in result.messages
        },
        "trace": {"endpoint": endpoint},
        "replay": f"pytest --pyargs conformance.suite -k lifecycle --hypothesis-seed={run.seed}"
        " --kaltura-service-url …",
    }
