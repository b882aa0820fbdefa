"""The suite's own endpoint for client cases: a loopback server any client can reach, or
(`--kaltura-in-process`) a respx router for httpx clients in this process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from conformance.endpoints import EndpointConfig, KalturaEndpoint
from conformance.endpoints.inprocess import respx_router
from conformance.endpoints.server import LoopbackServer
from conformance.options import RunOptions
from conformance.requirements import Party
from conformance.runner import CaseRunner

__all__ = ["IN_PROCESS_URL", "embedded_runner"]

IN_PROCESS_URL = "http://kaltura.in-process"


@contextmanager
def embedded_runner(options: RunOptions) -> Iterator[CaseRunner]:
    """A case runner for the client under test against a fresh endpoint, served while the
    `with` block lasts (any server thread's error is raised at its end)."""
    endpoint = KalturaEndpoint(EndpointConfig(final_wait=options.final_wait))
    client = options.client_runner()
    ids = options.selected(Party.CLIENT)
    try:
        if options.in_process:
            # One router for the whole block: respx patches httpx process-wide, and cases
            # run at once, so none should enter or leave it while another case runs.
            with respx_router(endpoint, IN_PROCESS_URL):
                yield CaseRunner(
                    endpoint,
                    IN_PROCESS_URL,
                    client,
                    time_limit=options.case_time_limit,
                    requirement_ids=ids,
                    endpoint_label="in-process (respx)",
                )
            return
        with LoopbackServer(endpoint) as server:
            yield CaseRunner(
                endpoint,
                server.url,
                client,
                time_limit=options.case_time_limit,
                requirement_ids=ids,
                endpoint_label=f"loopback {server.url}",
            )
    finally:
        endpoint.close()
