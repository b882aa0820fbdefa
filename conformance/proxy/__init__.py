"""Proxy mode (issue 14): the suite's loopback server in front of a real Kaltura server,
recording every exchange, injecting the faults that need no help from the server, and
keeping the reference model in step with the server's answers.

* `endpoint.ProxyEndpoint`: the handler `LoopbackServer` serves (decode, trace, fault,
  forward, relay); `config.ProxyConfig`; `EMBEDDED_ONLY`, the fault kinds it cannot apply;
  `stream_choice`: which bodies go on while they arrive; `backlog`: answers relayed and
  not yet followed.
* `upstream.Upstream`: forwarding (streamed bodies, hop-by-hop headers, the run's budget)
  and answer decoding into the trace's `Answered`.
* `shadow.ShadowModel`: the model following the server, `Disagreement`s as data
  (`records`); its files kept as digests (`shadow_parts`, `digests`, `pieces`), hashed
  on a thread of their own (`settler`).

A layer above the endpoints and the budget (it uses both, and httpx); below the runner and
live mode, which will serve it (see `.importlinter`).
"""

from __future__ import annotations

from conformance.proxy.endpoint import (
    EMBEDDED_ONLY,
    PROXY_KINDS,
    CreatedToken,
    ProxyConfig,
    ProxyEndpoint,
)
from conformance.proxy.shadow import Callers, Disagreement, ShadowModel, Unmodelled
from conformance.proxy.upstream import Upstream

__all__ = [
    "EMBEDDED_ONLY",
    "PROXY_KINDS",
    "Callers",
    "CreatedToken",
    "Disagreement",
    "ProxyConfig",
    "ProxyEndpoint",
    "ShadowModel",
    "Unmodelled",
    "Upstream",
]
