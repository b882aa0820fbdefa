"""A client judged through the proxy (`ProxyCaseRunner`, `suite.proxied`), in process: the
upstream is the reference server (or a mutant server) on a loopback server in a thread,
standing in for a live account, and the run's session and budget are the ones live mode
makes (`live.connect`). The code path is the one a real account takes; only the process
boundary is missing (tests/suite/test_live_mode.py has that, marked e2e).

* The reference client passes every UT-C through the proxy, with the same verdicts as
  against the embedded server, faults at the proxy included.
* Each mutant client of tests/clients is caught with the same requirement IDs through the
  proxy as against the embedded server (`MUTANTS` there lists them).
* A mutant server is reported as a disagreement of the server and the model, and the
  correct client is not blamed: the checks that rest on the disagreed answers read
  NOT-EXERCISED with the reason, those on the request shape stay judged
  (test_judged_per_check.py has each kind of dependence).
* Every token the run made, or the client made through the proxy, is gone at the end.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from loopback import loopback_endpoint
from mutant_servers import MUTANTS as MUTANT_SERVERS
from proxied_account import (
    FINAL_WAIT,
    TESTS,
    TIME_LIMIT,
    broken,
    load,
    served_account,
    show,
    table,
    through_proxy,
)

from conformance.clients import FileSource, UploadOptions, upload_file
from conformance.clients.api import KalturaApi
from conformance.clients.runners import CallableClient
from conformance.content import SourceFile
from conformance.faults import CloseAttempt, Fault, FaultKind, FaultPlan, NthMiddleRequest
from conformance.requirements import Verdict
from conformance.runner import CaseResult, CaseRunner, ClientRunner
from conformance.scenario import ClientParams, UploadScenario
from conformance.suite.groups import GROUPS, skip_reason

mutants = load(TESTS / "clients" / "mutants.py", "tests_clients_mutants.py")
client_cases = load(TESTS / "clients" / "test_mutants.py", "tests_clients_test_mutants.py")


def _embedded(client: ClientRunner, scenario: UploadScenario, time_limit: float) -> CaseResult:
    with loopback_endpoint(FINAL_WAIT) as server:
        runner = CaseRunner(server.endpoint, server.url, client, time_limit=time_limit)
        return runner.run(scenario)


# The checks that read only what the client sent (`Reads.REQUESTS`) and that every case of
# SCENARIOS exercises.
REQUEST_SHAPE = ("UT-C02", "UT-C03", "UT-C06", "UT-C07", "UT-C08", "UT-C09", "UT-C12")
CHUNK = 8192
SOURCE = SourceFile(4 * CHUNK + 3000, 20261203)
SCENARIOS = {
    "plain": UploadScenario(SOURCE, ClientParams(CHUNK, 1)),
    "concurrent": UploadScenario(SOURCE, ClientParams(CHUNK, 3)),
    "lost-middle": UploadScenario(
        SOURCE,
        ClientParams(CHUNK, 1),
        FaultPlan((Fault(NthMiddleRequest(1), FaultKind.DROP_AFTER_APPLY),)),
    ),
    "refused-close": UploadScenario(
        SOURCE,
        ClientParams(CHUNK, 1),
        FaultPlan((Fault(CloseAttempt(1), FaultKind.CLOSE_CANNOT_MATCH),)),
    ),
    "error-object": UploadScenario(
        SOURCE,
        ClientParams(CHUNK, 2),
        FaultPlan((Fault(NthMiddleRequest(2), FaultKind.KALTURA_ERROR),)),
    ),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_reference_client_gets_the_embedded_verdicts_through_the_proxy(name: str) -> None:
    scenario = SCENARIOS[name]
    client = CallableClient(mutants.reference_client)
    with served_account() as account:
        with through_proxy(account, client) as runner:
            proxied = runner.run(scenario)
            assert not runner.proxy.shadow.disagreements(), runner.proxy.shadow.disagreements()
        left = account.token_ids()
    embedded = _embedded(client, scenario, TIME_LIMIT)
    assert table(proxied) == table(embedded)
    assert not broken(proxied)
    assert Verdict.PASS.value in table(proxied).values()
    assert proxied.evidence.final is not None
    assert proxied.evidence.final.full
    assert proxied.evidence.final.file_digest == SOURCE.digest()
    assert left == set(), "the case's token is deleted"


@pytest.mark.parametrize("case", client_cases.MUTANTS, ids=[c.id for c in client_cases.MUTANTS])
def test_each_mutant_client_is_caught_with_the_same_ids_through_the_proxy(
    case: Any, release_hung: None
) -> None:
    with served_account() as account:
        client = CallableClient(mutants.mutant(case.bug))
        with through_proxy(account, client) as runner:
            result = runner.run(case.scenario, time_limit=case.time_limit)
            disagreed = runner.proxy.shadow.disagreements()
    assert not disagreed, [d.describe() for d in disagreed]
    assert broken(result) == {case.target, *case.extras}, show(result)


@pytest.fixture
def release_hung() -> Iterator[None]:
    yield
    mutants.release_hung_clients()


def test_a_mutant_server_is_a_disagreement_and_the_client_is_not_blamed() -> None:
    scenario = SCENARIOS["lost-middle"]  # the client re-sends the middle; it is appended again
    client = CallableClient(mutants.reference_client)
    with served_account(MUTANT_SERVERS["resend-appended"].endpoint) as account:
        with through_proxy(account, client) as runner:
            result = runner.run(scenario)
        left = account.token_ids()
    assert result.disagreements, table(result)
    first = result.disagreements[0]
    assert first["request"].startswith("uploadtoken.upload request #")
    assert first["server"] != first["model"]
    assert "uploaded_file_size" in first["fields"]
    assert not broken(result)
    # The request shape is the client's whatever the server answered: still judged.
    shaped = {rid: result.verdict(rid) for rid in REQUEST_SHAPE}
    assert shaped == dict.fromkeys(REQUEST_SHAPE, Verdict.PASS), table(result)
    # What rests on the server's answers (here the end state and content) is set aside.
    for rid in ("UT-C14", "UT-C15"):
        found = next(r for r in result.results if r.requirement_id == rid)
        assert found.verdict is Verdict.NOT_EXERCISED, table(result)
        reasons = found.observations["not judged"]
        assert isinstance(reasons, list)
        assert first["described"] in reasons
    record = result.to_dict()["trace"]["disagreements"]
    assert record[0]["exchange_id"] == first["exchange_id"]
    assert left == set()


def test_tokens_the_client_made_through_the_proxy_are_deleted_at_the_end() -> None:
    def adds_its_own(job: Any) -> None:
        mutants.reference_client(job)
        with httpx.Client(timeout=10, trust_env=False) as http:
            api = KalturaApi(http, job.service_url, ks=job.ks)
            api.call("uploadToken", "add", {"uploadToken:fileName": "not-ours.bin"})

    with served_account() as account:
        with through_proxy(account, CallableClient(adds_its_own)) as runner:
            runner.run(SCENARIOS["plain"])
            made = [t.token_id for t in runner.proxy.created_tokens()]
            assert made
            assert set(made) <= account.token_ids()
        assert account.token_ids() == set()


def _own_token(job: Any) -> None:
    """The reference client on a token it adds itself (the job's is left alone)."""
    options = UploadOptions(chunk_size=job.chunk_size, concurrency=job.concurrency)
    with httpx.Client(timeout=10, trust_env=False) as http:
        api = KalturaApi(http, job.service_url, job.ks)
        upload_file(api, FileSource(job.file), options=options)


@pytest.mark.parametrize("name", ["concurrent", "lost-middle"])
def test_a_client_that_adds_its_own_token_is_judged_on_it(name: str) -> None:
    scenario = SCENARIOS[name]
    with served_account() as account:
        with through_proxy(account, CallableClient(_own_token)) as runner:
            # Two cases at once share the account: each is judged on its own token.
            with ThreadPoolExecutor(2) as pool:
                results = list(pool.map(runner.run, [scenario, scenario]))
            made = {t.token_id for t in runner.proxy.created_tokens()}
        left = account.token_ids()
    assert len(made) == 2
    assert {r.evidence.token_id for r in results} == made
    for result in results:
        assert result.evidence.token_id != result.evidence.given_token
        assert not broken(result), show(result)
        assert result.verdict("UT-C08") is Verdict.PASS
        assert len(result.evidence.fired()) == len(scenario.faults.faults)
    assert left == set()


def test_the_run_budget_counts_forwarded_requests_and_a_refusal_blames_no_client() -> None:
    # session.start, the case's token and session, then 3 of the client's 5 requests.
    with served_account(max_requests=6) as account:
        with through_proxy(account, CallableClient(mutants.reference_client)) as runner:
            result = runner.run(SCENARIOS["plain"])
            notes = runner.proxy.notes()
        left = account.token_ids()
        forwarded = [e for e in account.endpoint.trace.exchanges() if e.is_data_request]
    assert len(forwarded) == 3
    assert any("request budget used up" in note for note in notes.values())
    assert not broken(result)
    reasons = next(r.observations["not judged"] for r in result.results if r.observations)
    assert isinstance(reasons, list)
    assert any("was not forwarded: request budget used up" in reason for reason in reasons)
    assert left == set()  # deletes are never refused


@pytest.mark.parametrize("name", ["lost-middle", "refused-close", "error-object"])
def test_with_a_ks_instead_of_the_admin_secret_the_cases_share_it(name: str) -> None:
    scenario = SCENARIOS[name]
    with served_account() as account:
        ks = account.endpoint.start_session(account.partner)
        account.target = dataclasses.replace(account.target, admin_secret=None, ks=ks)
        with through_proxy(account, CallableClient(mutants.reference_client)) as runner:
            result = runner.run(scenario)
        left = account.token_ids()
    assert not broken(result), show(result)
    assert result.verdict("UT-C08") is Verdict.PASS
    # The case's fault applies by its token (the KS is every case's): refusals included.
    assert len(result.evidence.fired()) == len(scenario.faults.faults)
    assert ks not in json.dumps(result.to_dict())
    assert left == set()


def test_groups_needing_the_server_are_left_out_through_the_proxy() -> None:
    reasons = {g.name: skip_reason(g, requirements=None, live=True) for g in GROUPS}
    assert {name for name, why in reasons.items() if why} == {"slow-close"}
    assert "hold_chunk" in str(reasons["slow-close"])
    assert "embedded-only" in str(reasons["slow-close"])
