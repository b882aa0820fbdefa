"""Client conformance on a live account: the proxy (`conformance.proxy`) in front of it.

The client under test uploads to a `LoopbackServer(ProxyEndpoint)` listening on the run's
proxy host (127.0.0.1 unless `--kaltura-proxy-host` says otherwise); the proxy forwards
every request to the account through the run's `BudgetedTransport` (the same requests,
bytes, concurrency and rate the run's own calls count against), traces it, injects the
case's faults and keeps the reference model in step. At the end (after a failure, Ctrl-C
and SIGTERM too: the fixture's teardown), every token the client created through the
proxy is deleted with the run's own (`live.sweep`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

import httpx

from conformance.budget import BudgetedTransport
from conformance.clients.api import KalturaApi
from conformance.endpoints.server import LoopbackServer
from conformance.live import LiveTarget, sweep
from conformance.model import Caller
from conformance.options import RunOptions
from conformance.proxy import Callers, ProxyConfig, ProxyEndpoint, Upstream
from conformance.proxycase import ProxyCaseRunner
from conformance.requirements import Party
from conformance.runner import ClientRunner
from conformance.server.driver import RUN_PREFIX

# Seconds the end of a run waits for requests the proxy was still forwarding before it
# sweeps: bounded, so that a hung upstream cannot hold a stopped run for long.
SETTLE_SECONDS = 10.0

__all__ = ["options_proxy_runner", "proxy_runner"]


class _Shared(httpx.BaseTransport):
    """The run's budgeted transport lent to the proxy: closing the proxy leaves it open
    for the run's own session (the final sweep goes through it)."""

    def __init__(self, inner: BudgetedTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._inner.handle_request(request)

    def close(self) -> None:
        """The run's session closes it."""


@contextmanager
def proxy_runner(
    live: LiveTarget,
    api: KalturaApi,
    transport: BudgetedTransport,
    client: ClientRunner,
    *,
    prefix: str,
    time_limit: float,
    requirement_ids: list[str] | None = None,
) -> Iterator[ProxyCaseRunner]:
    """A case runner for the client under test through a proxy in front of `live`,
    served while the `with` block lasts; the tokens made through it deleted at its end."""
    assert live.partner_id is not None
    timeout = live.close_wait + 30.0  # a faithful server may hold a close that long (§7)
    config = ProxyConfig(live.service_url, timeout=timeout)
    callers = Callers({api.ks: Caller(live.partner_id)} if api.ks else None)
    upstream = Upstream(live.service_url, timeout=timeout, transport=_Shared(transport))
    proxy = ProxyEndpoint(config, callers=callers, upstream=upstream)
    try:
        with LoopbackServer(proxy, host=live.proxy_host) as server:
            yield ProxyCaseRunner(
                proxy,
                server.url,
                api,
                client,
                partner_id=live.partner_id,
                admin_secret=live.admin_secret or "",
                prefix=prefix,
                time_limit=time_limit,
                requirement_ids=requirement_ids,
                endpoint_label=f"proxy {server.url} in front of {live.describe()}",
            )
    finally:
        # The server has stopped taking requests; those it was handling may still record
        # a token the client made (Ctrl-C right after an `add` was applied upstream).
        proxy.settle(SETTLE_SECONDS)
        created = [token.token_id for token in proxy.created_tokens()]
        with transport.exempt():
            sweep(api, f"{prefix}-", also=created)
        proxy.close()


def options_proxy_runner(
    options: RunOptions, live: LiveTarget, api: KalturaApi, transport: BudgetedTransport
) -> AbstractContextManager[ProxyCaseRunner]:
    """`proxy_runner` for the run's client, time limit and requirements: what
    `suite.embedded.embedded_runner` is for the suite's own endpoint (the probe's cases and
    the run's use the same)."""
    return proxy_runner(
        live,
        api,
        transport,
        options.client_runner(),
        prefix=RUN_PREFIX,
        time_limit=options.case_time_limit,
        requirement_ids=options.selected(Party.CLIENT),
    )
