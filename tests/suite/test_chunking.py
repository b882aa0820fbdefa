"""Learning the client's chunk size (`conformance.suite.chunking`) with real uploads to a
loopback server: a client that follows `{chunk_size}`, one with a fixed chunk, one that
never cuts a file, one that sends nothing, and one that hangs; on a live account (a served
reference server), the same probe through the proxy."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
from hypothesis import Phase, given, settings
from loopback import loopback_endpoint
from proxied_account import served_account

from conformance.clients.reference import run_job
from conformance.clients.runners import CallableClient, Job
from conformance.endpoints.server import LoopbackServer
from conformance.options import PROFILES, RunOptions
from conformance.runner import CaseRunner, ClientRunner
from conformance.scenario import UploadScenario
from conformance.suite.chunking import (
    LARGE_PROBE,
    choose_chunk,
    hung_probe_time_limit,
    learn_chunk,
)
from conformance.suite.groups import GROUPS, Group, Limits

ASKED = 16 * 1024
FIXED = 1_000_000


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackServer]:
    with loopback_endpoint(0.2) as served:
        yield served


def fixed_chunk(chunk: int) -> CallableClient:
    def upload(job: Job) -> None:
        run_job(replace(job, chunk_size=chunk))  # ignores the chunk size it is asked

    return CallableClient(upload, f"fixed {chunk}-byte chunks")


def learn(server: LoopbackServer, client: ClientRunner, time_limit: float = 30.0) -> tuple:
    runner = CaseRunner(server.endpoint, server.url, client, time_limit=time_limit)
    return learn_chunk(
        lambda scenario, limit: runner.run(scenario, time_limit=limit),
        asked=ASKED,
        time_limit=time_limit,
    )


def test_a_client_that_follows_the_asked_chunk_keeps_the_suites_sizes(
    server: LoopbackServer,
) -> None:
    choice, cases = learn(server, CallableClient(run_job, "reference"))
    assert choice.size is None
    assert "follows {chunk_size}" in choice.how
    assert len(cases) == 1  # one small probe was enough
    assert cases[0].evidence.uploads[0].payload.size == ASKED


def test_a_fixed_chunk_is_learned_from_the_large_probe(server: LoopbackServer) -> None:
    choice, cases = learn(server, fixed_chunk(FIXED))
    assert choice.size == FIXED
    assert f"up to {FIXED} bytes while {ASKED} were asked" in choice.how
    assert [case.scenario.source.size for case in cases] == [3 * ASKED + 1, LARGE_PROBE]
    assert not [r for case in cases for r in case.failed]  # the probes are real, passing cases


def test_a_chunk_between_the_probes_is_learned_from_the_first(server: LoopbackServer) -> None:
    choice, cases = learn(server, fixed_chunk(2 * ASKED))
    assert choice.size == 2 * ASKED
    assert len(cases) == 1


def test_a_client_that_never_cuts_a_file_is_not_learned(server: LoopbackServer) -> None:
    choice, cases = learn(server, fixed_chunk(2 * LARGE_PROBE))
    assert choice.size is None
    assert "in one request" in choice.how
    assert len(cases) == 2


def test_a_client_that_sends_nothing_is_not_learned(server: LoopbackServer) -> None:
    choice, cases = learn(server, CallableClient(lambda job: None, "does nothing"))
    assert choice.size is None
    assert "sent no data" in choice.how
    assert len(cases) == 1


def test_a_hung_probe_is_not_reported_and_teaches_nothing(server: LoopbackServer) -> None:
    choice, cases = learn(server, CallableClient(lambda job: time.sleep(5), "hangs"), 0.3)
    assert choice.size is None
    assert "did not finish the probe upload within 0.3 s" in choice.how
    assert cases == []


def test_a_hung_small_probe_shortens_the_cases_time_limit(server: LoopbackServer) -> None:
    """The probe waited min(time limit, 10 s); the cases get the time limit less twice
    that, so that a hung client's verdict comes within about one time limit."""
    choice, cases = learn(server, CallableClient(lambda job: time.sleep(5), "hangs"), 1.5)
    assert choice.hung_after == 1.5
    assert cases == []
    assert hung_probe_time_limit(60.0, 10.0) == 40.0  # the default profile
    assert hung_probe_time_limit(30.0, 10.0) == 10.0  # quick: never below the probe's wait
    assert hung_probe_time_limit(120.0, 10.0) == 100.0  # thorough
    assert hung_probe_time_limit(1.0, 1.0) == 1.0


def test_a_client_that_answers_the_small_probe_keeps_its_time_limit(
    server: LoopbackServer,
) -> None:
    """Slow but working: a client that finished the small probe is never cut short."""
    choice, _ = learn(server, CallableClient(run_job, "reference"))
    assert choice.hung_after is None


@pytest.mark.parametrize("group", GROUPS, ids=[g.name for g in GROUPS])
def test_with_a_client_chunk_every_groups_first_case_is_cut_by_the_client(group: Group) -> None:
    """Hypothesis's first example is its simplest: with the client's own chunk, that is a
    file the client must cut (quick runs draw only three cases a group)."""
    limits = Limits.for_profile(PROFILES["quick"], final_wait=0.2, client_chunk=FIXED)
    drawn: list[UploadScenario] = []

    @settings(max_examples=1, database=None, phases=(Phase.generate,), deadline=None)
    @given(group.scenarios(limits))
    def first(scenario: UploadScenario) -> None:
        drawn.append(scenario)

    first()
    assert drawn[0].params.chunk_size == FIXED
    assert drawn[0].source.size > FIXED


def test_on_a_live_account_the_probe_runs_through_the_proxy() -> None:
    recorded: list[dict[str, object]] = []
    options = RunOptions(requirements=("UT-C07", "UT-C08"))
    with served_account() as account:
        choice = choose_chunk(options, live=account.target, record=recorded.append)
        left = account.token_ids()
    assert choice is not None
    assert "follows {chunk_size}" in choice.how
    assert len(recorded) == 1
    trace = recorded[0]["trace"]
    assert isinstance(trace, dict)
    assert str(trace["endpoint"]).startswith("proxy http://127.0.0.1:")
    assert trace["data_requests"] == 4  # three asked chunks and a byte
    assert recorded[0]["verdicts"] == {"UT-C07": "PASS", "UT-C08": "PASS"}  # the run's only
    assert left == set()  # the probe's token is swept


def test_a_live_account_that_refuses_the_session_leaves_the_suites_sizes() -> None:
    with served_account() as account:
        target = replace(account.target, admin_secret="not-the-secret")
        choice = choose_chunk(RunOptions(), live=target, record=lambda case: None)
    assert choice is not None
    assert choice.size is None
    assert choice.how.startswith("not learned: session.start on ")
    assert "not-the-secret" not in choice.how


def test_a_selection_of_both_parties_judges_the_clients_own() -> None:
    """`--requirements UT-C07,UT-S01` on a client run: the probe (and every case) judges
    UT-C07 alone; the server's ID once reached the client checks and stopped the run
    (KeyError, an INTERNALERROR before any case)."""
    recorded: list[dict[str, object]] = []
    options = RunOptions(requirements=("UT-C07", "UT-S01"))
    choice = choose_chunk(options, live=None, record=recorded.append)
    assert choice is not None
    assert recorded
    assert all(case["verdicts"] == {"UT-C07": "PASS"} for case in recorded)
