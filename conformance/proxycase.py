"""One client-conformance case on a live account, through the proxy in front of it
(`conformance.proxy`): the same cases, checks and evidence as `conformance.runner`, the
account's server answering, and every verdict the server's answers cannot carry set aside
(`conformance.checks.doubts`).

    runner = ProxyCaseRunner(proxy, proxy_url, api, client, partner_id=…, …)
    result = runner.run(scenario)          # a CaseResult, disagreements included
"""

from __future__ import annotations

import itertools
import threading
from contextlib import suppress
from dataclasses import replace
from typing import Any

from conformance.budget import BudgetExceeded
from conformance.checks import (
    CaseEvidence,
    CheckResult,
    ClientOutcome,
    FinalToken,
    describe_request,
    run_checks,
)
from conformance.checks.doubts import (
    Doubt,
    answer_doubt,
    case_doubt,
    content_order_doubt,
    set_aside,
    unfollowed_doubt,
)
from conformance.clients.api import KalturaApi, KalturaCallError, KalturaTransportError
from conformance.clients.runners import ClientRun, Job
from conformance.model import Caller
from conformance.proxy import Disagreement, ProxyEndpoint
from conformance.proxy.endpoint import CreatedToken
from conformance.proxy.shadow import describe_answer
from conformance.requirements import Verdict
from conformance.runner import CaseResult, ClientRunner, written
from conformance.scenario import UploadScenario
from conformance.trace import Exchange

__all__ = ["CaseWindows", "ProxyCaseRunner", "disagreement_record"]


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
    (`ProxyEndpoint.file_digest`), the account giving none back.

    Where the server and the model disagreed on a request, or the proxy answered one in
    the server's place (it could not forward it), the checks that read that answer (as
    each declared, `Reads`) read NOT-EXERCISED with the reason, and the others stay
    judged; a request the model did not follow sets aside the checks that read the
    model's oracle for its token from then on (later answers, end state, content), and the
    request-shape checks too only when it hides the client's own requests (a multirequest
    carrying an upload), and parts written in an order
    the proxy cannot see set aside the content (`conformance.checks.doubts`). That is news
    about the server or the model, never the client's fault (the disagreements go to the
    reports). Without the admin secret (one KS for every case), a token the client makes
    is its case's when made while no other case ran (`CaseWindows`)."""

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
        self._windows = CaseWindows()

    def run(self, scenario: UploadScenario, *, time_limit: float | None = None) -> CaseResult:
        """One case; `time_limit` (seconds) overrides the runner's for this case only. A
        case the live budget cannot pay for (its token, its session) is not run: every
        check reads NOT-EXERCISED with the reason, and the run goes on to its reports."""
        name = f"{self.prefix}-client-{next(self._serials)}.bin"
        try:
            token = self._add_token(name, scenario.source.size)
        except BudgetExceeded as spent:
            return self._unpaid(scenario, f"the case's uploadToken.add was not sent: {spent}")
        try:
            user, ks = self._session(name)
        except BudgetExceeded as spent:
            self._delete(token)
            return self._unpaid(scenario, f"the case's session.start was not sent: {spent}")
        key = self.proxy.attach_case(token, scenario.faults, user_id=user)
        window = self._windows.open(self.proxy.last_exchange())
        try:
            try:
                with written(scenario, self.workdir) as path:
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
                    limit = self.time_limit if time_limit is None else time_limit
                    run = self.client.run(job, limit)
            finally:  # the client is done, also when running it failed
                self._windows.close(window, self.proxy.last_exchange())
            exchanges, doubts = self._case_trace(token, window, user)
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
        mine = self._case_disagreements(evidence)
        disagreed = tuple(disagreement_record(d, exchange) for d, exchange in mine)
        doubts += self._doubts(evidence, mine)
        return CaseResult(
            scenario, run, set_aside(results, doubts), evidence, self.endpoint_label, disagreed
        )

    def _add_token(self, name: str, size: int) -> str:
        """The case's token, made with the run's session and adopted by the shadow."""
        added = self.api.call(
            "uploadToken", "add", {"uploadToken:fileName": name, "uploadToken:fileSize": size}
        )
        token = str(added["id"])
        self.proxy.adopt_token(Caller(self.partner_id), token, name, size)
        return token

    def _unpaid(self, scenario: UploadScenario, reason: str) -> CaseResult:
        """A case the budget could not pay for: the client never ran, nothing is judged."""
        run = ClientRun(False, False, 0.0, f"not run: {reason}")
        outcome = ClientOutcome(False, detail=run.detail)
        evidence = CaseEvidence(scenario.source, (), outcome, plan=scenario.faults)
        results = run_checks(evidence, self.requirement_ids)
        unrun = tuple(_not_run(r, reason) for r in results)
        return CaseResult(scenario, run, unrun, evidence, self.endpoint_label)

    def _case_trace(
        self, token: str, window: int, user: str | None
    ) -> tuple[list[Exchange], list[Doubt]]:
        """The case's exchanges: by its session (given the admin secret), or else by its
        token and the tokens its client made while no other case ran (`CaseWindows`); a
        token made while others ran too belongs to no case for sure, which is a doubt."""
        start = self._windows.start(window)
        if user is not None:
            return self.proxy.case_exchanges(token, after=start, user_id=user), []
        mine, unsure = self._windows.attribute(window, self.proxy.created_tokens())
        found: dict[int, Exchange] = {}
        for each in (token, *mine):
            found.update((e.id, e) for e in self.proxy.case_exchanges(each, after=start))
        doubts = [
            case_doubt(
                f"token {made.token_id} was made (exchange {made.exchange_id}) while other "
                "cases ran with the same KS: whose it is cannot be told without the admin "
                "secret"
            )
            for made in unsure
        ]
        return [found[i] for i in sorted(found)], doubts

    def _session(self, name: str) -> tuple[str | None, str]:
        """A session of the case's own (an admin KS whose user id names the case), so that
        its exchanges, and the tokens its client makes, are told from those of the cases
        running at once; the run's KS when only a KS was given (then the case's window
        tells the tokens its client makes, `CaseWindows`)."""
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

    def _case_disagreements(self, evidence: CaseEvidence) -> list[tuple[Disagreement, Exchange]]:
        """The run's disagreements on this case's exchanges, each with its exchange."""
        ids = {e.id: e for e in evidence.exchanges}
        return [
            (d, ids[d.exchange_id])
            for d in self.proxy.shadow.disagreements()
            if d.exchange_id in ids
        ]

    def _doubts(
        self, evidence: CaseEvidence, disagreed: list[tuple[Disagreement, Exchange]]
    ) -> list[Doubt]:
        """What the case's verdicts cannot rest on (`conformance.checks.doubts`): each
        disagreement and each request the proxy answered in the server's place put that
        request's answer in doubt; a request the model did not follow, the model's oracle
        for the tokens it touched from then on (`unfollowed_doubt`); a
        file that depends on an order of writes the proxy cannot see, the content."""
        doubts = [answer_doubt(exchange, d.describe()) for d, exchange in disagreed]
        notes = self.proxy.notes()
        doubts += [
            answer_doubt(
                e, f"exchange {e.id} ({e.service}.{e.action}) was not forwarded: {notes[e.id]}"
            )
            for e in evidence.exchanges
            if e.id in notes
        ]
        by_id = {e.id: e for e in evidence.exchanges}
        doubts += [
            unfollowed_doubt(evidence, by_id[u.exchange_id], u.reason)
            for u in self.proxy.shadow.unmodelled()
            if u.exchange_id in by_id
        ]
        content = content_order_doubt(evidence)
        return doubts if content is None else [*doubts, content]

    def _delete(self, token: str) -> None:
        with suppress(KalturaCallError, KalturaTransportError, BudgetExceeded):
            self.api.call("uploadToken", "delete", {"uploadTokenId": token})


class CaseWindows:
    """When each proxied case ran, in the proxy's exchange ids ((start, end]; an open one
    has no end yet): with one KS for every case (no admin secret), a token a client made
    through the proxy is its case's when the `add` that made it came while that case and
    no other ran. Thread-safe; two ints per case of a run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[int, tuple[int, int | None]] = {}
        self._keys = itertools.count(1)

    def open(self, start: int) -> int:
        with self._lock:
            key = next(self._keys)
            self._windows[key] = (start, None)
        return key

    def close(self, key: int, end: int) -> None:
        """The case's client is done (a second close keeps the first end)."""
        with self._lock:
            start, ended = self._windows[key]
            self._windows[key] = (start, end if ended is None else ended)

    def start(self, key: int) -> int:
        with self._lock:
            return self._windows[key][0]

    def attribute(
        self, key: int, created: tuple[CreatedToken, ...]
    ) -> tuple[list[str], list[CreatedToken]]:
        """The tokens made within the case's window: those made while no other case ran
        (the case's), and those made while others ran too (nobody's for sure)."""
        with self._lock:
            windows = dict(self._windows)
        mine: list[str] = []
        unsure: list[CreatedToken] = []
        for made in created:
            running = [k for k, span in windows.items() if _within(made.exchange_id, span)]
            if running == [key]:
                mine.append(made.token_id)
            elif key in running:
                unsure.append(made)
        return mine, unsure


def _within(exchange_id: int, span: tuple[int, int | None]) -> bool:
    start, end = span
    return start < exchange_id and (end is None or exchange_id <= end)


def _not_run(result: CheckResult, reason: str) -> CheckResult:
    """No verdict on a case that never ran (its informational rows stay as they are)."""
    if result.verdict is Verdict.INFORMATIONAL:
        return result
    observations = {**result.observations, "not judged": [reason]}
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
