"""Through the proxy, a disagreement of the server and the model sets aside only the checks
whose verdict rests on the disagreed answer (`Reads`, declared where each check registers);
the others stay judged.

Each kind of dependence has a server that disagrees where it matters, so that a wrong
declaration shows: the mutant servers here answer one kind of request with an
`uploadedFileSize` (or status) the model does not predict and change nothing else (their
only hook is `rewrite_answer`, as for tests/server's mutants). A correct client is never
blamed; a client breaking a request-shape rule is still caught.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from proxied_account import (
    TESTS,
    Account,
    broken,
    job_uploads,
    load,
    served_account,
    show,
    table,
    through_proxy,
)

from conformance.checks import CHECKS
from conformance.clients import FileSource, UploadOptions, upload_file
from conformance.clients.api import KalturaApi
from conformance.clients.runners import CallableClient
from conformance.content import SourceFile
from conformance.endpoints import KalturaEndpoint
from conformance.endpoints.core import HttpError
from conformance.faults import CloseAttempt, Fault, FaultKind, FaultPlan, NthMiddleRequest
from conformance.findings import Reads
from conformance.model import TokenResult, TokenStatus
from conformance.proxy.endpoint import CreatedToken
from conformance.proxycase import CaseWindows
from conformance.requirements import Verdict
from conformance.runner import CaseResult
from conformance.scenario import ClientParams, UploadScenario
from conformance.wire import ApiCall, ApiResult

mutants = load(TESTS / "clients" / "mutants.py", "tests_clients_mutants.py")
client_cases = load(TESTS / "clients" / "test_mutants.py", "tests_clients_test_mutants.py")

CHUNK = 8192
SOURCE = SourceFile(4 * CHUNK + 3000, 20261204)
PLAIN = UploadScenario(SOURCE, ClientParams(CHUNK, 1))
# The first close refused at the proxy (never forwarded): UT-C18 is exercised.
REFUSED_CLOSE = UploadScenario(
    SOURCE,
    ClientParams(CHUNK, 1),
    FaultPlan((Fault(CloseAttempt(1), FaultKind.CLOSE_CANNOT_MATCH),)),
)

# Exercised by a correct client in REFUSED_CLOSE, by what each reads.
REQUESTS = ("UT-C02", "UT-C03", "UT-C06", "UT-C07", "UT-C08", "UT-C09", "UT-C12", "UT-C21")
CLOSE_ANSWERS = ("UT-C16", "UT-C18")
DATA_ANSWERS = ("UT-C04", "UT-C05", "UT-C10", "UT-C11")
END_STATE = ("UT-C14",)
CONTENT = ("UT-C15",)


def _on(call: ApiCall, flag: str) -> bool | None:
    value = call.param(flag)
    return None if value is None else str(value).lower() in ("1", "true")


def _misstated(answer: ApiResult) -> ApiResult:
    """A token answer one byte larger than the token is."""
    if not isinstance(answer, TokenResult):
        return answer
    size = (answer.token.uploaded_file_size or 0) + 1
    return TokenResult(dataclasses.replace(answer.token, uploaded_file_size=size))


def _upload(call: ApiCall) -> bool:
    return call.service == "uploadtoken" and call.action == "upload"


class MiddlesMisstated(KalturaEndpoint):
    """Answers every middle (resume on, finalChunk off) one byte too large."""

    def rewrite_answer(self, answer: ApiResult, call: ApiCall) -> ApiResult | HttpError:
        middle = _upload(call) and _on(call, "resume") and _on(call, "finalChunk") is False
        return _misstated(answer) if middle else answer


class ClosesMisstated(KalturaEndpoint):
    """Answers every close (resume on, finalChunk on) one byte too large."""

    def rewrite_answer(self, answer: ApiResult, call: ApiCall) -> ApiResult | HttpError:
        close = _upload(call) and _on(call, "resume") and _on(call, "finalChunk")
        return _misstated(answer) if close else answer


class AddsMisstated(KalturaEndpoint):
    """Answers `uploadToken.add` with the token PARTIAL_UPLOAD instead of PENDING."""

    def rewrite_answer(self, answer: ApiResult, call: ApiCall) -> ApiResult | HttpError:
        added = call.service == "uploadtoken" and call.action == "add"
        if not added or not isinstance(answer, TokenResult):
            return answer
        status = TokenStatus.PARTIAL_UPLOAD
        return TokenResult(dataclasses.replace(answer.token, status=status))


def _run(
    upstream: type[KalturaEndpoint], client: Any, scenario: UploadScenario
) -> tuple[CaseResult, set[str]]:
    with served_account(upstream) as account:
        with through_proxy(account, CallableClient(client)) as runner:
            result = runner.run(scenario)
        left = account.token_ids()
    return result, left


def _verdicts(result: CaseResult, ids: tuple[str, ...]) -> dict[str, Verdict | None]:
    return {rid: result.verdict(rid) for rid in ids}


def _set_aside_for(result: CaseResult, ids: tuple[str, ...], described: str) -> None:
    """Each of `ids` reads NOT-EXERCISED, and names the disagreement among its reasons."""
    for rid in ids:
        found = next(r for r in result.results if r.requirement_id == rid)
        assert found.verdict is Verdict.NOT_EXERCISED, (rid, table(result))
        reasons = found.observations["not judged"]
        assert isinstance(reasons, list)
        assert described in reasons, (rid, reasons)


def _only_disagreement(result: CaseResult, action: str) -> str:
    """The disagreements are all on `action` requests; the first one, described."""
    assert result.disagreements, table(result)
    assert {d["request"].split(" ")[0] for d in result.disagreements} == {action}
    first = result.disagreements[0]
    described = str(first["described"])
    assert f"exchange {first['exchange_id']} ({action})" in described
    assert f"the server answered {first['server']}" in described
    assert f"the model predicted {first['model']}" in described
    return described


def test_each_check_declares_what_it_reads_and_the_groups_here_agree() -> None:
    declared = {rid: CHECKS.reads(rid) for rid in CHECKS}
    for ids, reads in (
        (REQUESTS, Reads.REQUESTS),
        (CLOSE_ANSWERS, Reads.CLOSE_ANSWERS),
        (DATA_ANSWERS, Reads.DATA_ANSWERS),
        (END_STATE, Reads.END_STATE),
        (CONTENT, Reads.CONTENT),
    ):
        assert {declared[rid] for rid in ids} == {reads}
    assert declared["UT-C01"] is Reads.EVERYTHING  # reads the add's answers: the default


def test_a_middle_disagreement_sets_aside_what_reads_data_answers_only() -> None:
    result, left = _run(MiddlesMisstated, mutants.reference_client, REFUSED_CLOSE)
    described = _only_disagreement(result, "uploadtoken.upload")
    assert not broken(result), show(result)
    # The request shape, and the closes' answers (which agreed), stay judged.
    expected = dict.fromkeys(REQUESTS + CLOSE_ANSWERS, Verdict.PASS)
    assert _verdicts(result, REQUESTS + CLOSE_ANSWERS) == expected, table(result)
    _set_aside_for(result, DATA_ANSWERS + END_STATE + CONTENT, described)
    assert left == set()


def test_a_close_disagreement_sets_aside_what_reads_close_answers() -> None:
    result, left = _run(ClosesMisstated, mutants.reference_client, REFUSED_CLOSE)
    described = _only_disagreement(result, "uploadtoken.upload")
    assert not broken(result), show(result)
    assert _verdicts(result, REQUESTS) == dict.fromkeys(REQUESTS, Verdict.PASS), table(result)
    _set_aside_for(result, CLOSE_ANSWERS + DATA_ANSWERS + END_STATE + CONTENT, described)
    assert left == set()


def _own_token(job: Any) -> None:
    """The reference client on a token it adds itself."""
    options = UploadOptions(chunk_size=job.chunk_size, concurrency=job.concurrency)
    with httpx.Client(timeout=10, trust_env=False) as http:
        api = KalturaApi(http, job.service_url, job.ks)
        upload_file(api, FileSource(job.file), options=options)


def test_an_add_disagreement_sets_aside_the_end_state_not_the_data_answers() -> None:
    result, left = _run(AddsMisstated, _own_token, PLAIN)
    described = _only_disagreement(result, "uploadtoken.add")
    assert result.evidence.token_id != result.evidence.given_token
    assert not broken(result), show(result)
    judged = (*REQUESTS[:-1], "UT-C16", *DATA_ANSWERS)  # one request at a time: no UT-C21
    assert _verdicts(result, judged) == dict.fromkeys(judged, Verdict.PASS), table(result)
    _set_aside_for(result, (*END_STATE, *CONTENT, "UT-C01"), described)
    assert left == set()


@pytest.mark.parametrize(
    "case",
    [c for c in client_cases.MUTANTS if c.bug.value in ("corrupt_byte", "middles_off_by_one")],
    ids=lambda c: c.id,
)
def test_a_request_shape_bug_is_caught_while_the_server_disagrees_elsewhere(case: Any) -> None:
    result, left = _run(MiddlesMisstated, mutants.mutant(case.bug), case.scenario)
    assert result.disagreements, table(result)
    assert result.verdict(case.target) is Verdict.FAIL, table(result)
    assert CHECKS.reads(case.target) is Reads.REQUESTS
    # The middles' answers disagreed, the closes' did not: what follows from the bug through
    # the middles' answers is not judged here, the rest is as against the embedded server.
    kept = (Reads.REQUESTS, Reads.CLOSE_ANSWERS)
    expected = {case.target, *(rid for rid in case.extras if CHECKS.reads(rid) in kept)}
    assert broken(result) == expected, show(result)
    assert left == set()


def _racing_overwrite(job: Any) -> None:
    """Sends the second chunk twice at once, once as the source's bytes and once as zeros:
    which the server keeps depends on which it writes last (§9)."""
    size = job.chunk_size
    with job_uploads(job) as (data, send):
        send(0, data[:size], resume=False, final=False)
        with ThreadPoolExecutor(2) as pool:
            bodies = [data[size : 2 * size], bytes(size)]
            list(pool.map(lambda body: send(size, body, resume=True, final=False), bodies))
        send(2 * size, data[2 * size :], resume=True, final=True)


def test_overlapping_parts_in_flight_together_leave_the_content_unjudged() -> None:
    # The first middle's answer is held, so that the second arrives while it is in flight.
    held = Fault(NthMiddleRequest(1), FaultKind.DELAY, delay_seconds=0.5)
    scenario = dataclasses.replace(PLAIN, faults=FaultPlan((held,)))
    result, left = _run(KalturaEndpoint, _racing_overwrite, scenario)
    assert not result.disagreements, result.disagreements
    assert result.verdict("UT-C08") is Verdict.FAIL  # the zeros are not the source's bytes
    assert result.verdict("UT-C14") is Verdict.PASS  # the end state is the server's own
    content = next(r for r in result.results if r.requirement_id == "UT-C15")
    assert content.verdict is Verdict.NOT_EXERCISED, table(result)
    reasons = content.observations["not judged"]
    assert isinstance(reasons, list)
    assert "were in flight together" in reasons[0]
    assert "which the server wrote last" in reasons[0]
    assert left == set()


def test_a_case_the_budget_cannot_pay_for_is_not_exercised_with_the_reason() -> None:
    # The run's session.start spends the one request: the case's uploadToken.add is refused.
    with served_account(max_requests=1) as account:
        with through_proxy(account, CallableClient(mutants.reference_client)) as runner:
            result = runner.run(PLAIN)
        left = account.token_ids()
    assert not result.client.succeeded
    assert result.client.detail.startswith("not run: the case's uploadToken.add was not sent")
    assert not result.evidence.exchanges
    for found in result.results:
        if found.verdict is Verdict.INFORMATIONAL:
            continue
        assert found.verdict is Verdict.NOT_EXERCISED, table(result)
        reasons = found.observations["not judged"]
        assert isinstance(reasons, list)
        assert "uploadToken.add was not sent" in reasons[0]
        assert "budget" in reasons[0]
    assert result.to_dict()["client"]["succeeded"] is False
    assert left == set()


def _ks_only(account: Account) -> None:
    ks = account.endpoint.start_session(account.partner)
    account.target = dataclasses.replace(account.target, admin_secret=None, ks=ks)


def test_with_a_ks_only_a_token_the_client_made_alone_is_its_case() -> None:
    with served_account() as account:
        _ks_only(account)
        with through_proxy(account, CallableClient(_own_token)) as runner:
            result = runner.run(PLAIN)
            made = {t.token_id for t in runner.proxy.created_tokens()}
        left = account.token_ids()
    assert result.evidence.token_id in made
    assert not broken(result), show(result)
    assert result.verdict("UT-C08") is Verdict.PASS
    assert result.verdict("UT-C14") is Verdict.PASS
    assert left == set()


def test_with_a_ks_only_tokens_made_by_cases_at_once_blame_no_client() -> None:
    with served_account() as account:
        _ks_only(account)
        with (
            through_proxy(account, CallableClient(_own_token)) as runner,
            ThreadPoolExecutor(2) as pool,
        ):
            results = list(pool.map(runner.run, [PLAIN, PLAIN]))
            made = {t.token_id for t in runner.proxy.created_tokens()}
        left = account.token_ids()
    assert len(made) == 2
    for result in results:
        assert not broken(result), show(result)
        unsure = [r for r in result.results if "without the admin secret" in str(r.observations)]
        if unsure:  # a token was made in its window while the other case ran too
            assert result.verdict("UT-C14") is Verdict.NOT_EXERCISED, table(result)
        else:  # its own token, made while it ran alone
            assert result.evidence.token_id in made
            assert result.verdict("UT-C14") is Verdict.PASS, table(result)
    assert left == set()


def test_case_windows_give_a_token_to_the_one_case_running_when_it_was_made() -> None:
    windows = CaseWindows()
    first = windows.open(10)  # exchanges 11.. belong to it
    second = windows.open(15)
    windows.close(first, 20)
    windows.close(second, 30)
    windows.close(second, 99)  # a second close keeps the first end
    made = (
        CreatedToken(1, "alone-first", 12),
        CreatedToken(1, "both", 18),
        CreatedToken(1, "alone-second", 25),
        CreatedToken(1, "before", 10),
    )
    mine, unsure = windows.attribute(first, made)
    assert mine == ["alone-first"]
    assert [t.token_id for t in unsure] == ["both"]
    mine, unsure = windows.attribute(second, made)
    assert mine == ["alone-second"]
    assert [t.token_id for t in unsure] == ["both"]
    assert windows.start(second) == 15
