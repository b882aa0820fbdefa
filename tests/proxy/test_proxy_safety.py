"""Item 5 of issue 14, the forwarding part: budgets on forwarded traffic, the proxy on
127.0.0.1, and no KS or admin secret in any record the proxy keeps."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from mutant_servers import ResumeOnPending

from conformance.budget import Budget
from conformance.clients.api import KalturaCallError, KalturaTransportError
from conformance.endpoints.server import LoopbackServer
from conformance.proxy.endpoint import ProxyConfig, ProxyEndpoint

if TYPE_CHECKING:
    from conftest import Site, SiteFactory


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
