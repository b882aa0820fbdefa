"""A live account as the proxy tests see it, in process: an upstream server (the reference
or a mutant server) on a loopback server in a thread, one partner on it, the run's session
and budget made as live mode makes them (`live.connect`), and the proxy's case runner in
front of it (`suite.proxied.proxy_runner`). Shared by the tests of tests/proxy that judge a
client through the proxy.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import ModuleType

import httpx
from loopback import loopback_endpoint

from conformance.budget import Budget
from conformance.clients.api import KalturaApi
from conformance.clients.runners import Job
from conformance.endpoints import KalturaEndpoint
from conformance.live import LiveTarget, connect
from conformance.proxycase import ProxyCaseRunner
from conformance.runner import CaseResult, ClientRunner
from conformance.suite.proxied import proxy_runner

TESTS = Path(__file__).resolve().parent.parent
FINAL_WAIT = 0.2
TIME_LIMIT = 30.0
PREFIX = "kuc-proxytest"


def load(path: Path, name: str) -> ModuleType:
    """A test module by path, once (the test folders are not packages)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


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
def served_account(
    upstream: type[KalturaEndpoint] = KalturaEndpoint, max_requests: int = 5000
) -> Iterator[Account]:
    with loopback_endpoint(FINAL_WAIT, upstream) as server:
        yield Account(server.endpoint, server.url, max_requests)


@contextmanager
def through_proxy(account: Account, client: ClientRunner) -> Iterator[ProxyCaseRunner]:
    with ExitStack() as stack:
        api, transport = stack.enter_context(connect(account.target))
        runner = stack.enter_context(
            proxy_runner(
                account.target, api, transport, client, prefix=PREFIX, time_limit=TIME_LIMIT
            )
        )
        yield runner


@contextmanager
def job_uploads(job: Job) -> Iterator[tuple[bytes, Callable[..., None]]]:
    """For a hand-written client: the job's file, and a `chunk_sender` on its token over
    one HTTP client (closed at the end)."""
    with httpx.Client(timeout=10, trust_env=False) as http:
        api = KalturaApi(http, job.service_url, job.ks)
        yield Path(job.file).read_bytes(), chunk_sender(api, job.token_id)


def chunk_sender(api: KalturaApi, token_id: str) -> Callable[..., None]:
    """`send(at, body, resume=…, final=…)`: one `uploadToken.upload` of `body` at `at`
    on `token_id`, for the hand-written clients of these tests."""

    def send(at: int, body: bytes, *, resume: bool, final: bool) -> None:
        params = {"uploadTokenId": token_id, "resume": resume, "finalChunk": final}
        files = {"fileData": (f"chunk_{at}", body)}
        api.call("uploadtoken", "upload", {**params, "resumeAt": at}, files=files)

    return send


def table(result: CaseResult) -> dict[str, str]:
    return {r.requirement_id: r.verdict.value for r in result.results}


def broken(result: CaseResult) -> set[str]:
    return {r.requirement_id for r in result.failed}


def show(result: CaseResult) -> str:
    lines = [result.scenario.describe(), f"client: {result.client.detail}"]
    return "\n".join(lines + [r.message() for r in result.failed])
