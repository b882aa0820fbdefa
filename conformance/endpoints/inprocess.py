"""The endpoint in-process, for httpx clients: an `httpx.MockTransport` handler and a
respx router, both the same plain function `request -> response` over `KalturaEndpoint`.

Measured here (transport-measurements.md §1): a bare MockTransport is the fastest path.
With `using="httpx"` respx serves the request object itself (no httpcore round trip) and
costs little over `mock_transport`: per 1 KiB upload request respx 400-430 us, mock
380-395, against 220-230 for a bare handler that only parses the body (benchmarks/endpoints.py
figure 1, full run). respx keeps every request and response it sees — a property run would
grow by the size of every chunk — so `respx_router` records nothing (`count` says how many
calls it served). Faults that cut the connection surface as the httpx errors a real socket gives:
a reset before the server applied the request is `httpx.ReadError`, an answer dropped after
applying it is `httpx.RemoteProtocolError`.
"""

from __future__ import annotations

import inspect
import io
import itertools
import threading
import time
from typing import Any

import httpx
import respx

from conformance.endpoints.bodies import read_post
from conformance.endpoints.core import IncomingRequest, KalturaEndpoint

__all__ = ["ForgetfulRouter", "InProcessHandler", "mock_transport", "respx_router"]


class InProcessHandler:
    """`httpx.Request -> httpx.Response` over an endpoint (thread-safe, like the endpoint)."""

    def __init__(self, endpoint: KalturaEndpoint) -> None:
        self.endpoint = endpoint
        self._connections = itertools.count(1)
        self._local = threading.local()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        arrival = time.monotonic()
        content = request.read()
        content_type = request.headers.get("content-type")
        # The body is in memory already: parsed as one piece, a file part is one slice
        # of it (one copy, one digest update) instead of a copy per 1 MiB piece.
        body = read_post(
            io.BytesIO(content).read,
            content_type=content_type,
            content_length=len(content),
            blobs=self.endpoint.blobs,
            piece_size=max(1, len(content)),
        )
        incoming = IncomingRequest(
            method=request.method,
            target=request.url.raw_path.decode("ascii", errors="replace"),
            content_type=content_type,
            body=body,
            connection=self._connection(),
            arrival=arrival,
            body_complete=time.monotonic(),
        )
        reply = self.endpoint.handle(incoming)
        reply.sent()
        if reply.disconnect == "reset":
            raise httpx.ReadError("[Errno 104] Connection reset by peer", request=request)
        if reply.disconnect == "dropped":
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        headers = [("content-type", reply.content_type), *reply.headers]
        return httpx.Response(reply.status, headers=headers, content=reply.body, request=request)

    def _connection(self) -> str:
        """One pseudo-connection per client thread: what a keep-alive pool would give."""
        name: str | None = getattr(self._local, "name", None)
        if name is None:
            name = self._local.name = f"inprocess-{next(self._connections)}"
        return name


def mock_transport(endpoint: KalturaEndpoint) -> httpx.MockTransport:
    """A transport for `httpx.Client(transport=...)`: the fastest in-process path."""
    return httpx.MockTransport(InProcessHandler(endpoint))


class ForgetfulRouter(respx.MockRouter):
    """A respx router that serves calls without keeping them (flat memory)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.count = 0
        self._count_lock = threading.Lock()

    def record(
        self,
        request: httpx.Request,
        *,
        response: httpx.Response | None = None,
        route: respx.Route | None = None,
    ) -> None:
        with self._count_lock:
            self.count += 1


def respx_router(endpoint: KalturaEndpoint, base_url: str) -> ForgetfulRouter:
    """A respx router that sends every request under `base_url` to the endpoint.

    Use it as a context manager (`with respx_router(endpoint, url): ...`) to serve httpx
    clients that build their own transport.
    """
    router = ForgetfulRouter(assert_all_called=False, base_url=base_url, using="httpx")
    handler = InProcessHandler(endpoint)

    # A plain function with its signature computed once: respx inspects a side effect's
    # signature on every call (`inspect.getfullargspec`, ~7 us for a function, more for a
    # callable object), and `inspect` takes a `__signature__` as given (~1.5 us).
    def side_effect(request: httpx.Request) -> httpx.Response:
        return handler(request)

    side_effect.__signature__ = inspect.signature(side_effect)  # type: ignore[attr-defined]
    router.route().mock(side_effect=side_effect)
    return router
