"""Through the proxy, a request the model did not follow (here: uploads to a token the client
made behind the proxy's back, which the shadow never saw made, or a multirequest on the
token) sets aside only the checks
that read the model's oracle for that token from then on (the answers it predicts, the end
state, the content), each with a reason naming the exchange and why; the request-shape
checks stay judged, and a client breaking one is still caught.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from proxied_account import (
    PREFIX,
    TESTS,
    Account,
    broken,
    load,
    served_account,
    show,
    table,
    through_proxy,
)

from conformance.checks import CHECKS
from conformance.clients.api import KalturaApi
from conformance.clients.runners import CallableClient, Job
from conformance.content import SourceFile
from conformance.findings import Reads
from conformance.requirements import Verdict
from conformance.runner import CaseResult
from conformance.scenario import ClientParams, UploadScenario

mutants = load(TESTS / "clients" / "mutants.py", "tests_clients_mutants.py")
client_cases = load(TESTS / "clients" / "test_mutants.py", "tests_clients_test_mutants.py")

CHUNK = 8192
PLAIN = UploadScenario(SourceFile(4 * CHUNK + 3000, 20261205), ClientParams(CHUNK, 1))
UNSEEN = "was not followed by the model: a token the proxy never saw made"

# Exercised by a correct client in PLAIN (one request at a time), by what each reads.
REQUEST_SHAPES = ("UT-C02", "UT-C03", "UT-C06", "UT-C07", "UT-C08", "UT-C09", "UT-C12")
ORACLE = ("UT-C01", "UT-C16", "UT-C04", "UT-C05", "UT-C10", "UT-C11", "UT-C14")


def _behind_the_proxy(account: Account, client: Callable[[Job], None]) -> Callable[[Job], None]:
    """`client` on a token it adds straight on the account (its KS, not through the proxy)."""

    def run(job: Job) -> None:
        with httpx.Client(timeout=10, trust_env=False) as http:
            api = KalturaApi(http, account.target.service_url, job.ks)
            params = {"uploadToken:fileName": f"{PREFIX}-behind.bin"}
            added = api.call("uploadToken", "add", params)
        client(dataclasses.replace(job, token_id=str(added["id"])))

    return run


def _run(client: Callable[[Job], None], scenario: UploadScenario) -> tuple[CaseResult, set[str]]:
    with served_account() as account:
        with through_proxy(account, CallableClient(_behind_the_proxy(account, client))) as runner:
            result = runner.run(scenario)
        left = account.token_ids()
    return result, left


def _reasons(result: CaseResult, rid: str) -> list[str]:
    found = next(r for r in result.results if r.requirement_id == rid)
    reasons = found.observations.get("not judged", [])
    assert isinstance(reasons, list)
    return [str(reason) for reason in reasons]


def test_a_token_never_seen_made_sets_aside_the_oracle_not_the_request_shapes() -> None:
    result, left = _run(mutants.reference_client, PLAIN)
    assert result.evidence.token_id != result.evidence.given_token
    assert not broken(result), show(result)
    assert not result.disagreements, result.disagreements
    shapes = {rid: result.verdict(rid) for rid in REQUEST_SHAPES}
    assert shapes == dict.fromkeys(REQUEST_SHAPES, Verdict.PASS), table(result)
    first_upload = result.evidence.uploads[0].id
    for rid in ORACLE:
        assert result.verdict(rid) is Verdict.NOT_EXERCISED, (rid, table(result))
        reasons = _reasons(result, rid)
        expected = f"exchange {first_upload} (uploadtoken.upload) {UNSEEN}"
        assert any(reason.startswith(expected) for reason in reasons), (rid, reasons)
    assert result.verdict("UT-C15") is Verdict.NOT_EXERCISED  # the model has no file
    assert left == set()


@pytest.mark.parametrize(
    "case",
    [c for c in client_cases.MUTANTS if c.bug.value in ("corrupt_byte", "middles_off_by_one")],
    ids=lambda c: c.id,
)
def test_a_request_shape_bug_is_caught_on_a_token_the_model_never_saw(case: Any) -> None:
    result, left = _run(mutants.mutant(case.bug), case.scenario)
    assert CHECKS.reads(case.target) is Reads.REQUESTS
    assert result.verdict(case.target) is Verdict.FAIL, table(result)
    # What follows from the bug through the server's answers is not judged here.
    shapes = {rid for rid in case.extras if CHECKS.reads(rid) is Reads.REQUESTS}
    assert broken(result) == {case.target, *shapes}, show(result)
    assert any(UNSEEN in reason for reason in _reasons(result, "UT-C14")), table(result)
    assert left == set()


def _asks_in_a_multirequest_first(job: Job) -> None:
    """`uploadToken.get` on the job's token in a multirequest, then the reference upload."""
    calls = {"1:service": "uploadToken", "1:action": "get", "1:uploadTokenId": job.token_id}
    with httpx.Client(timeout=10, trust_env=False) as http:
        url = f"{job.service_url}/api_v3/service/multirequest"
        http.post(url, data={**calls, "ks": job.ks, "format": "1"}).raise_for_status()
    mutants.reference_client(job)


def test_a_multirequest_on_the_token_sets_aside_what_the_model_predicts_after_it() -> None:
    client = CallableClient(_asks_in_a_multirequest_first)
    with served_account() as account:
        with through_proxy(account, client) as runner:
            result = runner.run(PLAIN)
        left = account.token_ids()
    multi = next(e for e in result.evidence.exchanges if e.service == "multirequest")
    assert not broken(result), show(result)
    shapes = {rid: result.verdict(rid) for rid in REQUEST_SHAPES}
    assert shapes == dict.fromkeys(REQUEST_SHAPES, Verdict.PASS), table(result)
    expected = f"exchange {multi.id} (multirequest) was not followed by the model: a multirequest"
    for rid in (*ORACLE, "UT-C15"):
        assert result.verdict(rid) is Verdict.NOT_EXERCISED, (rid, table(result))
        assert any(r.startswith(expected) for r in _reasons(result, rid)), (rid, table(result))
    assert left == set()
