"""Fixtures for the proxy tests: the reference server (`KalturaEndpoint` on a loopback
server, in a thread) as the upstream, a `ProxyEndpoint` on a loopback server in front of
it, a partner and its KS, and clients for both. Everything listens on 127.0.0.1.

Every client has a timeout and every server is stopped (which re-raises any error a server
thread hit), so no test can hang or leave a thread behind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from conformance.clients.api import KalturaApi
from conformance.endpoints import EndpointConfig, KalturaEndpoint, Partner
from conformance.endpoints.server import LoopbackServer
from conformance.model import Caller
from conformance.proxy.endpoint import ProxyConfig, ProxyEndpoint

FINAL_WAIT = 0.3  # seconds the upstream's close waits for missing chunks (Kaltura: 44)
TIMEOUT = 20.0


@dataclass
class Site:
    """The upstream, the proxy in front of it, one partner of the upstream and its KS."""

    upstream: KalturaEndpoint
    upstream_url: str
    proxy: ProxyEndpoint
    url: str
    partner: Partner = field(repr=False)
    ks: str = field(repr=False)
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self, **options: Any) -> httpx.Client:
        client = httpx.Client(timeout=TIMEOUT, trust_env=False, **options)
        self.clients.append(client)
        return client

    def api(self, *, direct: bool = False, ks: str | None = None) -> KalturaApi:
        """The small API client through the proxy (or straight to the upstream)."""
        url = self.upstream_url if direct else self.url
        return KalturaApi(self.client(), url, ks=self.ks if ks is None else ks)

    def upstream_exchanges(self) -> list[Any]:
        return self.upstream.trace.exchanges()

    def proxy_exchanges(self) -> list[Any]:
        return self.proxy.trace.exchanges()


SiteFactory = Callable[..., Site]


@pytest.fixture
def make_site() -> Iterator[SiteFactory]:
    """`make_site(upstream_class=KalturaEndpoint, **proxy_config)`: a started site."""
    stops: list[Callable[[], None]] = []

    def make(upstream_class: type[KalturaEndpoint] = KalturaEndpoint, **options: Any) -> Site:
        upstream = upstream_class(EndpointConfig(final_wait=FINAL_WAIT))
        upstream_server = LoopbackServer(upstream).start()
        stops.append(upstream.close)
        stops.append(upstream_server.stop)
        partner = upstream.add_partner()
        ks = upstream.start_session(partner)
        proxy = ProxyEndpoint(ProxyConfig(upstream_server.url, **options))
        proxy.tell(ks, Caller(partner.partner_id))
        proxy_server = LoopbackServer(proxy).start()
        stops.append(proxy.close)
        stops.append(proxy_server.stop)
        site = Site(upstream, upstream_server.url, proxy, proxy_server.url, partner, ks)
        stops.append(lambda: [client.close() for client in site.clients])
        return site

    yield make
    for stop in reversed(stops):
        stop()


@pytest.fixture
def site(make_site: SiteFactory) -> Site:
    return make_site()
