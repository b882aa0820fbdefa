"""One client-conformance case: a fresh partner, a job, the client's run, the evidence,
the verdicts.

    runner = CaseRunner(endpoint, service_url, client, time_limit=60)
    result = runner.run(scenario)          # a CaseResult: verdict per requirement

The endpoint may be served over loopback (any client) or in-process (`in_process=True`: a
respx router sends the client's httpx calls straight to the endpoint while the client
runs). On a live account, `conformance.proxycase.ProxyCaseRunner` runs the same cases
through the proxy. The source file is written to a temporary directory for the client
and removed afterwards (`written`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, replace
from typing import Any, Protocol

from conformance.checks import (
    CaseEvidence,
    CheckResult,
    ClientOutcome,
    FinalToken,
    run_checks,
)
from conformance.clients.runners import ClientRun, Job
from conformance.endpoints import KalturaEndpoint
from conformance.endpoints.inprocess import respx_router
from conformance.model import TokenResult
from conformance.requirements import Verdict
from conformance.scenario import UploadScenario

__all__ = ["CaseResult", "CaseRunner", "ClientRunner", "written"]


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
        with written(scenario, self.workdir) as path:
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


@contextmanager
def written(scenario: UploadScenario, workdir: str | None) -> Iterator[str]:
    """The scenario's source written to a temporary file, removed afterwards."""
    handle, path = tempfile.mkstemp(prefix="kaltura-source-", suffix=".bin", dir=workdir)
    os.close(handle)
    try:
        scenario.source.write_to(path)
        yield path
    finally:
        os.remove(path)
