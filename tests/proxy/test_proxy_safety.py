"""Item 5 of issue 14, the forwarding part: budgets on forwarded traffic, the proxy on
127.0.0.1, and no KS or admin secret in any record the proxy keeps."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from mutant_servers import ResumeOnPending

from conformance.budget import Budget
from conformance.clients.api import KalturaCallError, KalturaTransportError
from conformance.endpoints import KalturaEndpoint
from conformance.endpoints.server import LoopbackServer
from conformance.model import AddToken, Event
from conformance.proxy.endpoint import ProxyConfig, ProxyEndpoint
from conformance.wire import ApiCall, ApiResult

if TYPE_CHECKING:
    from conftest import Site, SiteFactory

TIMEOUT = 20.0


def test_forwarded_requests_count_against_the_budget(make_site: SiteFactory) -> None:
    site = make_site(budget=Budget(max_requests=2, max_rps=1000.0))
    api = site.api()
    token = api.call("uploadToken", "add", {"uploadToken:fileName": "b"})["id"]
    api.call("uploadToken", "get", {"uploadTokenId": token})
    with pytest.raises(KalturaTransportError, match="HTTP 502"):
        api.call("uploadToken", "get", {"uploadTokenId": token})
    assert len(site.upstream_exchanges()) == 2  # the third never left
    refused = site.proxy_exchanges()[-1]
    assert "request budget used up" in site.proxy.notes()[refused.id]
    assert site.proxy.upstream.budgeted is not None
    assert site.proxy.upstream.budgeted.used.requests == 2


def test_the_byte_budget_covers_forwarded_bodies(make_site: SiteFactory) -> None:
    site = make_site(budget=Budget(max_bytes=20_000, max_rps=1000.0))
    api = site.api()
    token = api.call("uploadToken", "add", {"uploadToken:fileName": "b"})["id"]
    with pytest.raises(KalturaTransportError, match="HTTP 502"):
        api.call(
            "uploadToken",
            "upload",
            {"uploadTokenId": token, "resume": False, "finalChunk": True},
            files={"fileData": ("f", b"z" * 30_000)},
        )
    assert not [e for e in site.upstream_exchanges() if e.is_data_request]
    assert "byte budget used up" in next(iter(site.proxy.notes().values()))


def test_the_proxy_listens_on_loopback_by_default() -> None:
    proxy = ProxyEndpoint(ProxyConfig("http://127.0.0.1:9"))
    server = LoopbackServer(proxy)
    try:
        assert server.host == "127.0.0.1"
    finally:
        server.stop()
        proxy.close()


def test_no_ks_and_no_secret_in_anything_the_proxy_keeps(make_site: SiteFactory) -> None:
    site: Site = make_site(ResumeOnPending)
    secret = site.partner.admin_secret
    api = site.api(ks="")
    api.ks = None
    started = api.start_session(site.partner.partner_id, secret)
    token = api.call("uploadToken", "add", {"uploadToken:fileName": "s"})["id"]
    api.call(
        "uploadToken",
        "upload",
        {"uploadTokenId": token, "resume": True, "resumeAt": 0},  # a disagreement here
        files={"fileData": ("f", b"abc")},
    )
    with pytest.raises(KalturaCallError):
        site.api(ks=started + "x").call("uploadToken", "get", {"uploadTokenId": token})
    proxy = site.proxy
    assert proxy.shadow.disagreements()
    kept = repr(
        (
            [e.to_dict() for e in proxy.trace.exchanges()],
            proxy.shadow.disagreements(),
            [d.describe() for d in proxy.shadow.disagreements()],
            proxy.shadow.unmodelled(),
            proxy.notes(),
            proxy.created_tokens(),
            proxy,
            proxy.config,
            proxy.shadow.callers,
        )
    )
    for credential in (secret, started, site.ks):
        assert credential not in kept
    assert "<redacted>" in kept


class _SlowToAnswerAdd(KalturaEndpoint):
    """Applies `uploadToken.add` at once and answers it only when let go: the moment a run
    is stopped between the upstream making a client's token and the proxy reading so."""

    applied = threading.Event()
    let_go = threading.Event()

    def apply_event(
        self, event: Event, call: ApiCall, apply: Callable[[Event], ApiResult]
    ) -> ApiResult:
        answer = apply(event)
        if isinstance(event, AddToken):
            self.applied.set()
            self.let_go.wait(TIMEOUT)
        return answer


def test_a_token_whose_add_answer_is_on_its_way_is_recorded_before_the_sweep(
    make_site: SiteFactory,
) -> None:
    _SlowToAnswerAdd.applied.clear()
    _SlowToAnswerAdd.let_go.clear()
    site = make_site(_SlowToAnswerAdd)
    adding = threading.Thread(
        target=lambda: _ignore_errors(
            lambda: site.api().call("uploadToken", "add", {"uploadToken:fileName": "late"})
        )
    )
    adding.start()
    assert _SlowToAnswerAdd.applied.wait(TIMEOUT), "the upstream never applied the add"
    assert site.proxy.created_tokens() == ()  # applied upstream, its answer not read yet
    assert not site.proxy.settle(0.05)  # still handling it
    _SlowToAnswerAdd.let_go.set()
    assert site.proxy.settle(TIMEOUT)
    adding.join(TIMEOUT)
    [made] = site.proxy.created_tokens()
    assert site.upstream.holds(site.partner.partner_id, made.token_id)


def _ignore_errors(call: Callable[[], object]) -> None:
    with contextlib.suppress(Exception):  # only the proxy's record matters here
        call()
