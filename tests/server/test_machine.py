"""The token life-cycle state machine: silent on the reference server, and it finds the
mutant servers' bugs on its own (fixed seed: the same steps every run)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import httpx
import pytest
from mutant_servers import MUTANTS

from conformance.budget import Budget, BudgetedTransport
from conformance.clients.api import KalturaApi
from conformance.endpoints import EndpointConfig, KalturaEndpoint
from conformance.endpoints.inprocess import mock_transport
from conformance.requirements import Verdict
from conformance.server.machine import EXERCISED, MachineSettings, run_lifecycle
from conformance.suite.timeline import server_timeline

SETTINGS = MachineSettings(examples=30, steps=25, seed=3)
IN_PROCESS_URL = "http://kaltura.invalid"


@contextmanager
def _api(endpoint: KalturaEndpoint, max_requests: int | None = None) -> Iterator[KalturaApi]:
    """A session on `endpoint`, in-process (shrinking sends thousands of requests; over
    loopback each costs ~2 ms, and tests/suite/test_live_mode.py runs the machine there);
    `max_requests`: through a request budget."""
    partner = endpoint.add_partner()
    transport: httpx.BaseTransport = mock_transport(endpoint)
    if max_requests is not None:
        transport = BudgetedTransport(transport, Budget(max_requests=max_requests, max_rps=1e6))
    try:
        with httpx.Client(transport=transport, timeout=10) as client:
            api = KalturaApi(client, IN_PROCESS_URL)
            api.start_session(partner.partner_id, partner.admin_secret)
            yield api
    finally:
        endpoint.close()


def test_the_reference_server_agrees_with_the_model_all_along() -> None:
    endpoint = KalturaEndpoint(EndpointConfig(final_wait=0.05))
    with _api(endpoint) as api:
        result = run_lifecycle(api, SETTINGS)
    assert result.failed == [], result.messages
    assert set(result.verdicts) == set(EXERCISED)
    assert set(result.verdicts.values()) == {Verdict.PASS}
    assert result.steps >= SETTINGS.examples  # every sequence ran, each step judged
    findings = result.findings()
    assert [finding.requirement_id for finding in findings] == sorted(EXERCISED)
    assert all(finding.passed for finding in findings)
    summary = str(findings[0].observations["summary"])
    assert f"{result.steps} step(s) in {SETTINGS.examples} sequence(s)" in summary


# The requirement(s) each mutant's shrunk failure may name with this seed. arrival-order
# shows as a chunk placed at the end (UT-S03), a re-sent one appended again (UT-S04),
# counted past a gap (UT-S13), or an empty
# middle on a PENDING token answered CANNOT_RESUME where the model ignores it (UT-S02,
# §5: it has resumeAt > 0), whichever shrinks first; http-500-errors as an unknown token's
# error lost to HTTP 500 (UT-S10).
CAUGHT = {
    "arrival-order": {"UT-S02", "UT-S03", "UT-S04", "UT-S13"},
    "resend-appended": {"UT-S04"},
    "unchecked-close": {"UT-S05"},
    "duplicate-close": {"UT-S09"},
    "http-500-errors": {"UT-S10"},
    "final-chunk-false": {"UT-S12"},
    "resume-on-pending": {"UT-S02"},
    "delete-only-pending": {"UT-S14"},
    "list-ignores-pager": {"UT-S14"},
    # The lost held chunk shows when a later middle should have drained it (UT-S03, or
    # UT-S13 when that middle lies beyond a gap itself), or when the retried close cannot
    # match (UT-S06).
    "refused-close-loses-held": {"UT-S03", "UT-S06", "UT-S13"},
    "list-ignores-status-in": {"UT-S14"},
}
# What the machine cannot be relied on to see, and why (the server checks catch these).
UNSEEN = {
    "list-ignores-order": "a sequence adds its tokens within a second or so: their "
    "createdAt mostly tie, and a tie may come either way (ListQuery)",
}


def test_every_mutant_server_has_an_expected_catch() -> None:
    assert set(CAUGHT) | set(UNSEEN) == set(MUTANTS)
    assert not set(CAUGHT) & set(UNSEEN)


@pytest.mark.parametrize("name", sorted(CAUGHT))
def test_the_machine_catches_a_mutant_server(name: str) -> None:
    endpoint = MUTANTS[name].endpoint(EndpointConfig(final_wait=0.05))
    with _api(endpoint) as api:
        result = run_lifecycle(api, SETTINGS)
    assert len(result.failed) == 1, result.messages
    assert result.failed[0] in CAUGHT[name], result.messages
    message = result.messages[result.failed[0]][0]
    assert "MISMATCH" in message
    assert "state = " in message  # the shrunk steps, to replay by hand
    (broken,) = (f for f in result.findings() if f.requirement_id in result.failed)
    assert broken.verdict in (Verdict.FAIL, Verdict.NON_STRICT)  # UT-S13 is a SHOULD
    assert [breach.message for breach in broken.breaches] == [message]
    assert message.startswith(f"{broken.requirement_id}: ")  # the failure names the requirement
    # The smallest failing sequence, step by step, for the reports' timeline: its
    # disagreements are the evidence of the broken requirement.
    timeline = server_timeline(result.observed, result.findings())
    named = timeline["evidence"][broken.requirement_id]
    assert named
    assert named == [
        n
        for n, seen in enumerate(result.observed, 1)
        if not seen.ok and broken.requirement_id in seen.requirements
    ]
    assert all("disagreed" in timeline["requests"][n - 1] for n in named)


def test_without_close_waits_no_close_the_model_would_hold_is_sent() -> None:
    endpoint = KalturaEndpoint(EndpointConfig(final_wait=30))  # a wait would hang the test
    with _api(endpoint) as api:
        quick = MachineSettings(examples=10, steps=20, seed=3)
        result = run_lifecycle(api, quick, allow_close_waits=False)
    assert result.failed == []
    assert result.verdicts["UT-S05"] is Verdict.NOT_EXERCISED  # early closes: never sent


def test_a_requirement_no_step_reached_is_not_exercised() -> None:
    endpoint = KalturaEndpoint(EndpointConfig(final_wait=0.05))
    with _api(endpoint) as api:
        result = run_lifecycle(api, MachineSettings(examples=1, steps=1, seed=3))
    assert Verdict.NOT_EXERCISED in result.verdicts.values()
    assert result.verdicts["UT-S14"] is Verdict.PASS  # the first token's add
    assert result.steps == 1
    unreached = [f for f in result.findings() if f.verdict is Verdict.NOT_EXERCISED]
    assert unreached
    assert all("no step reached it" in str(f.observations["summary"]) for f in unreached)


def test_a_capped_shrink_reports_the_smallest_failing_sequence_by_its_requests() -> None:
    endpoint = MUTANTS["duplicate-close"].endpoint(EndpointConfig(final_wait=0.05))
    with _api(endpoint) as api:
        result = run_lifecycle(api, replace(SETTINGS, shrink_requests=50))
    assert result.failed == ["UT-S09"]
    assert result.stopped is not None
    assert "shrinking used up its requests" in result.stopped
    message = result.messages["UT-S09"][0]
    assert "MISMATCH" in message
    assert "the sequence's requests:\n  1. add kuc-" in message
    assert "state = " not in message  # not shrunk: no steps to print


@pytest.mark.parametrize("mutant", [None, "duplicate-close"], ids=["reference", "mutant"])
def test_running_out_of_request_budget_ends_the_run_cleanly(mutant: str | None) -> None:
    """Exploring (reference) or shrinking (mutant): the budget ends the run with what it
    saw, never a Hypothesis error, and the teardown still deletes every token."""
    config = EndpointConfig(final_wait=0.05)
    endpoint = MUTANTS[mutant].endpoint(config) if mutant else KalturaEndpoint(config)
    with _api(endpoint, max_requests=400) as api:
        result = run_lifecycle(api, SETTINGS)
        left = _tokens_on(endpoint, api)
    assert result.stopped is not None
    assert "request budget used up" in result.stopped
    assert "raise --max-requests, --kaltura-max-requests in pytest: now 400" in result.stopped
    assert f"stopped early: {result.stopped}" in result.summary()
    assert result.failed == ([] if mutant is None else ["UT-S09"])
    assert Verdict.PASS in result.verdicts.values()
    assert left == 0


def _tokens_on(endpoint: KalturaEndpoint, api: KalturaApi) -> int:
    """How many tokens the session's partner has, asked outside the request budget."""
    with httpx.Client(transport=mock_transport(endpoint), timeout=10) as client:
        outside = KalturaApi(client, api.service_url, api.ks)
        listed = outside.call("uploadToken", "list", {"pager:pageSize": 500})
    return int(listed["totalCount"])
