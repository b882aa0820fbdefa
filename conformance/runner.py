"""One client-conformance case: a fresh partner, a job, the client's run, the evidence,
the verdicts.

    runner = CaseRunner(endpoint, service_url, client, time_limit=60)
    result = runner.run(scenario)          # a CaseResult: verdict per requirement

The endpoint may be served over loopback (any client) or in-process (`in_process=True`: a
respx router sends the client's httpx calls straight to the endpoint while the client
runs). On a live account, `ProxyCaseRunner` runs the same cases through the proxy. The
source file is written to a temporary directory for the client and removed afterwards.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from dataclasses import dataclass, replace
from typing import Any, Protocol

from conformance.budget import BudgetExceeded
from conformance.checks import (
    CaseEvidence,
    CheckResult,
    ClientOutcome,
    FinalToken,
    describe_request,
    run_checks,
)
from conformance.clients.api import KalturaApi, KalturaCallError, KalturaTransportError
from conformance.clients.runners import ClientRun, Job
from conformance.endpoints import KalturaEndpoint
from conformance.endpoints.inprocess import respx_router
from conformance.model import Caller, TokenResult
from conformance.proxy import Disagreement, ProxyEndpoint
from conformance.proxy.shadow import describe_answer
from conformance.requirements import Verdict
from conformance.scenario import UploadScenario
from conformance.trace import Exchange

__all__ = ["CaseResult", "CaseRunner", "ClientRunner", "ProxyCaseRunner", "disagreement_record"]


class ClientRunner(Protocol):
    def describe(self) -> str: ...

    def run(self, job: Job, time_limit: float) -> ClientRun: ...


@dataclass(frozen=True)
class CaseResult:
    """The verdicts of one case, and what is needed to report and replay it."""

    scenario: UploadScenario
    client: ClientRun
    results: tuple[CheckResult, ...]
    evidence: CaseEvidence
    endpoint: str = "unknown"
    disagreements: tuple[dict[str, Any], ...] = ()
    """Through the proxy: the requests the server and the model answered differently."""

    def verdict(self, requirement_id: str) -> Verdict | None:
        found = next((r for r in self.results if r.requirement_id == requirement_id), None)
        return None if found is None else found.verdict

    @property
    def harness_error(self) -> bool:
        return any(r.verdict is Verdict.HARNESS_ERROR for r in self.results)

    @property
    def failed(self) -> tuple[CheckResult, ...]:
        broken = (Verdict.FAIL, Verdict.NON_STRICT)
        return tuple(r for r in self.results if r.verdict in broken)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for results files (no credentials, no payloads)."""
        evidence = self.evidence
        return {
            "scenario": self.scenario.to_dict(),
            "description": self.scenario.describe(),
            "client": {
                "succeeded": self.client.succeeded,
                "timed_out": self.client.timed_out,
                "duration": round(self.client.duration, 3),
                "detail": self.client.detail,
            },
            "verdicts": {r.requirement_id: r.verdict.value for r in self.results},
            "breaches": {
                r.requirement_id: [b.message for b in r.breaches]
                for r in self.results
                if r.breaches
            },
            "observations": {
                r.requirement_id: r.observations for r in self.results if r.observations
            },
            "trace": {
                "requests": len(evidence.exchanges),
                "data_requests": len(evidence.uploads),
                "faults_fired": [f.fault.describe() for f in evidence.firings],
                "token_id": evidence.token_id,
                "endpoint": self.endpoint,
                **(
                    {"disagreements": [dict(d) for d in self.disagreements]}
                    if self.disagreements
                    else {}
                ),
            },
        }


class CaseRunner:
    """Runs cases for one client against one endpoint."""

    def __init__(
        self,
        endpoint: KalturaEndpoint,
        service_url: str,
        client: ClientRunner,
        *,
        time_limit: float = 60.0,
        in_process: bool = False,
        requirement_ids: list[str] | None = None,
        workdir: str | None = None,
        endpoint_label: str | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.service_url = service_url
        self.client = client
        self.time_limit = time_limit
        self.in_process = in_process
        self.requirement_ids = requirement_ids
        self.workdir = workdir
        self.endpoint_label = endpoint_label or service_url

    def run(self, scenario: UploadScenario, *, time_limit: float | None = None) -> CaseResult:
        """One case; `time_limit` (seconds) overrides the runner's for this case only."""
        partner = self.endpoint.add_partner(faults=scenario.faults)
        source = scenario.source
        token = self.endpoint.add_token(partner.partner_id, "source.bin", source.size)
        with _written(scenario, self.workdir) as path:
            job = Job(
                file=path,
                service_url=self.service_url,
                partner_id=partner.partner_id,
                token_id=token,
                chunk_size=scenario.params.chunk_size,
                concurrency=scenario.params.concurrency,
                ks=self.endpoint.start_session(partner),
                admin_secret=partner.admin_secret,
            )
            with self._serving():
                run = self.client.run(job, self.time_limit if time_limit is None else time_limit)
        evidence = self._evidence(scenario, partner.partner_id, token, run)
        self.endpoint.forget_partner(partner.partner_id)  # memory stays flat over a run
        results = tuple(run_checks(evidence, self.requirement_ids))
        if run.harness_error and not evidence.data:
            results = tuple(replace(r, verdict=Verdict.HARNESS_ERROR) for r in results)
        return CaseResult(scenario, run, results, evidence, self.endpoint_label)

    def _serving(self) -> AbstractContextManager[object]:
        """In-process: route the client's httpx calls to the endpoint while it runs."""
        if not self.in_process:
            return nullcontext()
        return respx_router(self.endpoint, self.service_url)

    def _evidence(
        self, scenario: UploadScenario, partner_id: int, token: str, run: ClientRun
    ) -> CaseEvidence:
        evidence = CaseEvidence(
            source=scenario.source,
            exchanges=tuple(self.endpoint.trace.exchanges(partner_id)),
            outcome=ClientOutcome(run.succeeded, run.timed_out, run.duration, run.detail),
            given_token=token,
            plan=scenario.faults,
            firings=self.endpoint.faults.firings(partner_id),
        )
        return replace(evidence, final=self._final(partner_id, evidence.token_id))

    def _final(self, partner_id: int, token_id: str | None) -> FinalToken | None:
        if token_id is None:
            return None
        state = self.endpoint.token(partner_id, token_id)
        digest = self.endpoint.file_digest(partner_id, token_id)
        if not isinstance(state, TokenResult):
            return FinalToken(token_id, None, None, digest)
        token = state.token
        return FinalToken(token_id, int(token.status), token.uploaded_file_size, digest)


class ProxyCaseRunner:
    """Runs cases for one client against a live account, through the proxy
    (`conformance.proxy`) in front of it: each case runs like an embedded one (the same
    groups, checks and evidence), with the account's server answering.

    Cases share the account's one partner: each gets a token of its own, made with the
    run's session (named with the run's prefix, so the sweep finds it) and adopted by the
    proxy's shadow model, and (given the admin secret) a session of its own; its fault
    plan is attached to both, and its trace is their exchanges (`case_exchanges`). The
    token's end state is read from the account (`uploadToken.get`, through the run's
    budget); the bytes it should hold come from the shadow model
    (`ProxyEndpoint.file_digest`), the account giving none back. Every judged check of a
    case in which the server and the model disagreed, a request the proxy could not
    forward, or one on a token the model did not follow, is NOT-EXERCISED with the reason
    (each check reads the case's whole trace): that is news about the server or the
    model, never the client's fault (the disagreements go to the reports)."""

    def __init__(
        self,
        proxy: ProxyEndpoint,
        proxy_url: str,
        api: KalturaApi,
        client: ClientRunner,
        *,
        partner_id: int,
        admin_secret: str,
        prefix: str,
        time_limit: float = 60.0,
        requirement_ids: list[str] | None = None,
        workdir: str | None = None,
        endpoint_label: str = "live account through the proxy",
    ) -> None:
        self.proxy = proxy
        self.proxy_url = proxy_url
        self.api = api
        self.partner_id = partner_id
        self.admin_secret = admin_secret
        self.client = client
        self.prefix = prefix
        self.time_limit = time_limit
        self.requirement_ids = requirement_ids
        self.workdir = workdir
        self.endpoint_label = endpoint_label
        self._serials = itertools.count(1)  # cases run at once: next() is atomic

    def run(self, scenario: UploadScenario, *, time_limit: float | None = None) -> CaseResult:
        """One case; `time_limit` (seconds) overrides the runner's for this case only."""
        size = scenario.source.size
        name = f"{self.prefix}-client-{next(self._serials)}.bin"
        added = self.api.call(
            "uploadToken", "add", {"uploadToken:fileName": name, "uploadToken:fileSize": size}
        )
        token = str(added["id"])
        self.proxy.adopt_token(Caller(self.partner_id), token, name, size)
        user, ks = self._session(name)
        key = self.proxy.attach_case(token, scenario.faults, user_id=user)
        start = self.proxy.last_exchange()
        try:
            with _written(scenario, self.workdir) as path:
                job = Job(
                    file=path,
                    service_url=self.proxy_url,
                    partner_id=self.partner_id,
                    token_id=token,
                    chunk_size=scenario.params.chunk_size,
                    concurrency=scenario.params.concurrency,
                    ks=ks,
                    admin_secret=self.admin_secret,
                )
                run = self.client.run(job, self.time_limit if time_limit is None else time_limit)
            exchanges = self.proxy.case_exchanges(token, after=start, user_id=user)
            evidence = CaseEvidence(
                source=scenario.source,
                exchanges=tuple(exchanges),
                outcome=ClientOutcome(run.succeeded, run.timed_out, run.duration, run.detail),
                given_token=token,
                plan=scenario.faults,
                firings=self.proxy.faults.firings(key),
            )
            evidence = replace(evidence, final=self._final(evidence.token_id))
        finally:
            self.proxy.forget_case(key, token)
            self._delete(token)
        results = tuple(run_checks(evidence, self.requirement_ids))
        if run.harness_error and not evidence.data:
            results = tuple(replace(r, verdict=Verdict.HARNESS_ERROR) for r in results)
        disagreed = self._disagreements(evidence)
        reasons = [d["described"] for d in disagreed]
        reasons += self._not_forwarded(evidence) + self._not_followed(evidence)
        if reasons:
            results = tuple(_unjudged(r, reasons) for r in results)
        return CaseResult(scenario, run, results, evidence, self.endpoint_label, disagreed)

    def _session(self, name: str) -> tuple[str | None, str]:
        """A session of the case's own (an admin KS whose user id names the case), so that
        its exchanges, and the tokens its client makes, are told from those of the cases
        running at once; the run's KS when only a KS was given (then a token the client
        makes is its case's only when the case's given token is not the one it uploads to
        — see `ProxyEndpoint.case_exchanges`)."""
        if not self.admin_secret:
            return None, self.api.ks or ""
        user = name.removesuffix(".bin")
        session = KalturaApi(self.api.client, self.api.service_url)
        ks = session.start_session(self.partner_id, self.admin_secret, user_id=user)
        self.proxy.tell(ks, Caller(self.partner_id, user))
        return user, ks

    def _final(self, token_id: str | None) -> FinalToken | None:
        if token_id is None:
            return None
        digest = self.proxy.file_digest(self.partner_id, token_id)
        try:
            got = self.api.call("uploadToken", "get", {"uploadTokenId": token_id})
        except (KalturaCallError, KalturaTransportError, BudgetExceeded):
            return FinalToken(token_id, None, None, digest)
        status, size = got.get("status"), got.get("uploadedFileSize")
        return FinalToken(
            token_id,
            None if status is None else int(status),
            None if size in (None, "") else int(float(size)),
            digest,
        )

    def _disagreements(self, evidence: CaseEvidence) -> tuple[dict[str, Any], ...]:
        ids = {e.id: e for e in evidence.exchanges}
        return tuple(
            disagreement_record(d, ids[d.exchange_id])
            for d in self.proxy.shadow.disagreements()
            if d.exchange_id in ids
        )

    def _not_forwarded(self, evidence: CaseEvidence) -> list[str]:
        notes = self.proxy.notes()
        return [
            f"exchange {e.id} was not forwarded: {notes[e.id]}"
            for e in evidence.exchanges
            if e.id in notes
        ]

    def _not_followed(self, evidence: CaseEvidence) -> list[str]:
        """Requests on a token the model did not follow: what it predicts of that token
        (its bytes, its state) has no ground."""
        ids = {e.id for e in evidence.exchanges if e.token_id is not None}
        return [
            f"exchange {u.exchange_id} was not followed by the model: {u.reason}"
            for u in self.proxy.shadow.unmodelled()
            if u.exchange_id in ids
        ]

    def _delete(self, token: str) -> None:
        with suppress(KalturaCallError, KalturaTransportError, BudgetExceeded):
            self.api.call("uploadToken", "delete", {"uploadTokenId": token})


_JUDGED = (Verdict.PASS, Verdict.FAIL, Verdict.NON_STRICT)


def _unjudged(result: CheckResult, reasons: list[str]) -> CheckResult:
    """A verdict the trace cannot carry: the server and the model disagreed within it."""
    if result.verdict not in _JUDGED:
        return result
    observations = {**result.observations, "not judged": reasons[:5]}
    return CheckResult(result.requirement_id, Verdict.NOT_EXERCISED, (), observations)


def disagreement_record(disagreement: Disagreement, exchange: Exchange) -> dict[str, Any]:
    """Plain data for the reports: what was asked, what the server said and the model
    predicted (answers only: no message, no KS)."""
    return {
        "exchange_id": disagreement.exchange_id,
        "request": _request_summary(exchange),
        "server": describe_answer(disagreement.server),
        "model": describe_answer(disagreement.model),
        "fields": list(disagreement.fields),
        "described": disagreement.describe(),
    }


def _request_summary(exchange: Exchange) -> str:
    call = f"{exchange.service}.{exchange.action}"
    if exchange.is_data_request:
        return f"{call} {describe_request(exchange)} on {exchange.token_id}"
    return f"{call} on {exchange.token_id}" if exchange.token_id else call


@contextmanager
def _written(scenario: UploadScenario, workdir: str | None) -> Iterator[str]:
    """The scenario's source written to a temporary file, removed afterwards."""
    handle, path = tempfile.mkstemp(prefix="kaltura-source-", suffix=".bin", dir=workdir)
    os.close(handle)
    try:
        scenario.source.write_to(path)
        yield path
    finally:
        os.remove(path)
