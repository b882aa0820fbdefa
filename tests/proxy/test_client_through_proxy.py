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
  correct client is not blamed: the case's checks read NOT-EXERCISED with the reason.
* Every token the run made, or the client made through the proxy, is gone at the end.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from mutant_servers import MUTANTS as MUTANT_SERVERS

from conformance.budget import Budget
from conformance.clients import FileSource, UploadOptions, upload_file
from conformance.clients.api import KalturaApi
from conformance.clients.runners import CallableClient
from conformance.content import SourceFile
from conformance.endpoints import EndpointConfig, KalturaEndpoint
from conformance.endpoints.server import LoopbackServer
from conformance.faults import CloseAttempt, Fault, FaultKind, FaultPlan, NthMiddleRequest
from conformance.live import LiveTarget, connect
from conformance.requirements import Verdict
from conformance.runner import CaseResult, CaseRunner, ClientRunner, ProxyCaseRunner
from conformance.scenario import ClientParams, UploadScenario
from conformance.suite.groups import GROUPS, skip_reason
from conformance.suite.proxied import proxy_runner

TESTS = Path(__file__).resolve().parent.parent
FINAL_WAIT = 0.2
TIME_LIMIT = 30.0
PREFIX = "kuc-proxytest"


def _load(path: Path, name: str) -> ModuleType:
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


mutants = _load(TESTS / "clients" / "mutants.py", "tests_clients_mutants.py")
client_cases = _load(TESTS / "clients" / "test_mutants.py", "tests_clients_test_mutants.py")


class Account:
    """An upstream server with one partner, as a live account looks from outside."""

    def __init__(self, endpoint: KalturaEndpoint, url: str, max_requests: int = 5000) -> None:
        self.endpoint = endpoint
        self.partner = endpoint.add_partner()
        self.target = LiveTarget(
            url,
            self.partner.partner_id,
            admin_secret=self.partner.admin_secret,
            budget=Budget(max_requests=max_requests, max_rps=1000.0),
            close_wait=FINAL_WAIT,
        )

    def token_ids(self) -> set[str]:
        """Every token on the account (read with its own API, as a user would)."""
        with httpx.Client(timeout=10, trust_env=False) as http:
            api = KalturaApi(http, self.target.service_url)
            api.start_session(self.partner.partner_id, self.partner.admin_secret)
            listed = api.call("uploadToken", "list", {"pager:pageSize": 500})
        return {str(token.get("id")) for token in listed.get("objects") or ()}


@contextmanager
def _account(
    upstream: type[KalturaEndpoint] = KalturaEndpoint, max_requests: int = 5000
) -> Iterator[Account]:
    endpoint = upstream(EndpointConfig(final_wait=FINAL_WAIT))
    try:
        with LoopbackServer(endpoint) as server:
            yield Account(endpoint, server.url, max_requests)
    finally:
        endpoint.close()


@contextmanager
def _through_proxy(account: Account, client: ClientRunner) -> Iterator[ProxyCaseRunner]:
    with ExitStack() as stack:
        api, transport = stack.enter_context(connect(account.target))
        runner = stack.enter_context(
            proxy_runner(
                account.target, api, transport, client, prefix=PREFIX, time_limit=TIME_LIMIT
            )
        )
        yield runner


def _embedded(client: ClientRunner, scenario: UploadScenario, time_limit: float) -> CaseResult:
    endpoint = KalturaEndpoint(EndpointConfig(final_wait=FINAL_WAIT))
    try:
        with LoopbackServer(endpoint) as server:
            return CaseRunner(endpoint, server.url, client, time_limit=time_limit).run(scenario)
    finally:
        endpoint.close()


def _table(result: CaseResult) -> dict[str, str]:
    return {r.requirement_id: r.verdict.value for r in result.results}


def _broken(result: CaseResult) -> set[str]:
    return {r.requirement_id for r in result.failed}


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
    with _account() as account:
        with _through_proxy(account, client) as runner:
            proxied = runner.run(scenario)
            assert not runner.proxy.shadow.disagreements(), runner.proxy.shadow.disagreements()
        left = account.token_ids()
    embedded = _embedded(client, scenario, TIME_LIMIT)
    assert _table(proxied) == _table(embedded)
    assert not _broken(proxied)
    assert Verdict.PASS.value in _table(proxied).values()
    assert proxied.evidence.final is not None
    assert proxied.evidence.final.full
    assert proxied.evidence.final.file_digest == SOURCE.digest()
    assert left == set(), "the case's token is deleted"


@pytest.mark.parametrize("case", client_cases.MUTANTS, ids=[c.id for c in client_cases.MUTANTS])
def test_each_mutant_client_is_caught_with_the_same_ids_through_the_proxy(
    case: Any, release_hung: None
) -> None:
    with _account() as account:
        client = CallableClient(mutants.mutant(case.bug))
        with _through_proxy(account, client) as runner:
            result = runner.run(case.scenario, time_limit=case.time_limit)
            disagreed = runner.proxy.shadow.disagreements()
    assert not disagreed, [d.describe() for d in disagreed]
    assert _broken(result) == {case.target, *case.extras}, _show(result)


@pytest.fixture
def release_hung() -> Iterator[None]:
    yield
    mutants.release_hung_clients()


def _show(result: CaseResult) -> str:
    lines = [result.scenario.describe(), f"client: {result.client.detail}"]
    return "\n".join(lines + [r.message() for r in result.failed])


def test_a_mutant_server_is_a_disagreement_and_the_client_is_not_blamed() -> None:
    scenario = SCENARIOS["lost-middle"]  # the client re-sends the middle; it is appended again
    client = CallableClient(mutants.reference_client)
    with _account(MUTANT_SERVERS["resend-appended"].endpoint) as account:
        with _through_proxy(account, client) as runner:
            result = runner.run(scenario)
        left = account.token_ids()
    assert result.disagreements, _table(result)
    first = result.disagreements[0]
    assert first["request"].startswith("uploadtoken.upload request #")
    assert first["server"] != first["model"]
    assert "uploaded_file_size" in first["fields"]
    assert not _broken(result)
    judged = {r.verdict for r in result.results} - {Verdict.INFORMATIONAL}
    assert judged == {Verdict.NOT_EXERCISED}
    reasons = result.results[0].observations["not judged"]
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

    with _account() as account:
        with _through_proxy(account, CallableClient(adds_its_own)) as runner:
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
    with _account() as account:
        with _through_proxy(account, CallableClient(_own_token)) as runner:
            # Two cases at once share the account: each is judged on its own token.
            with ThreadPoolExecutor(2) as pool:
                results = list(pool.map(runner.run, [scenario, scenario]))
            made = {t.token_id for t in runner.proxy.created_tokens()}
        left = account.token_ids()
    assert len(made) == 2
    assert {r.evidence.token_id for r in results} == made
    for result in results:
        assert result.evidence.token_id != result.evidence.given_token
        assert not _broken(result), _show(result)
        assert result.verdict("UT-C08") is Verdict.PASS
        assert len(result.evidence.fired()) == len(scenario.faults.faults)
    assert left == set()


def test_the_run_budget_counts_forwarded_requests_and_a_refusal_blames_no_client() -> None:
    # session.start, the case's token and session, then 3 of the client's 5 requests.
    with _account(max_requests=6) as account:
        with _through_proxy(account, CallableClient(mutants.reference_client)) as runner:
            result = runner.run(SCENARIOS["plain"])
            notes = runner.proxy.notes()
        left = account.token_ids()
        forwarded = [e for e in account.endpoint.trace.exchanges() if e.is_data_request]
    assert len(forwarded) == 3
    assert any("request budget used up" in note for note in notes.values())
    assert not _broken(result)
    reasons = next(r.observations["not judged"] for r in result.results if r.observations)
    assert isinstance(reasons, list)
    assert any("was not forwarded: request budget used up" in reason for reason in reasons)
    assert left == set()  # deletes are never refused


@pytest.mark.parametrize("name", ["lost-middle", "refused-close", "error-object"])
def test_with_a_ks_instead_of_the_admin_secret_the_cases_share_it(name: str) -> None:
    scenario = SCENARIOS[name]
    with _account() as account:
        ks = account.endpoint.start_session(account.partner)
        account.target = dataclasses.replace(account.target, admin_secret=None, ks=ks)
        with _through_proxy(account, CallableClient(mutants.reference_client)) as runner:
            result = runner.run(scenario)
        left = account.token_ids()
    assert not _broken(result), _show(result)
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
