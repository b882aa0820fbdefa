"""The reference server (or a mutant of it) on a loopback port, in a thread, for a test:
stopped at the end (which re-raises any error a server thread hit) and its files freed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from conformance.endpoints import EndpointConfig, KalturaEndpoint
from conformance.endpoints.server import LoopbackServer


@contextmanager
def loopback_endpoint(
    final_wait: float, endpoint_class: type[KalturaEndpoint] = KalturaEndpoint
) -> Iterator[LoopbackServer]:
    """A started `LoopbackServer` whose close waits `final_wait` seconds for late chunks."""
    endpoint = endpoint_class(EndpointConfig(final_wait=final_wait))
    try:
        with LoopbackServer(endpoint) as served:
            yield served
    finally:
        endpoint.close()
