"""What a transport hands a handler that forwards requests: the request as received.

`KalturaEndpoint` needs only the parsed body (`IncomingRequest`). A handler that passes a
request on (`conformance.proxy.ProxyEndpoint`) also needs the request's headers and its body
bytes exactly as the client sent them (de-chunked: `Transfer-Encoding` is hop-by-hop). A
handler says so with `forwards_raw_body = True`; the loopback server then copies the body
into a blob while it parses it (`Tee`), so the body is read off the socket once, parsed as
always, and kept whole only in a spooled temporary file, never in memory.

Ownership: the raw blob belongs to the handler from `handle` on; it releases it before
`handle` returns (the server releases it when the body could not be read to its end).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from conformance.endpoints.core import IncomingRequest, Reply
from conformance.model import Blob, BlobFactory

__all__ = ["ForwardableRequest", "RequestHandler", "Tee", "wants_raw_body"]


class RequestHandler(Protocol):
    """What the loopback server serves: `KalturaEndpoint`, `ProxyEndpoint`, or any other."""

    @property
    def blobs(self) -> BlobFactory:
        """Where request bodies are spooled."""
        ...

    def handle(self, request: IncomingRequest) -> Reply: ...


def wants_raw_body(handler: object) -> bool:
    """Whether `handler` asked for the raw request (`forwards_raw_body = True`)."""
    return getattr(handler, "forwards_raw_body", False) is True


@dataclass(frozen=True)
class ForwardableRequest(IncomingRequest):
    """An `IncomingRequest` with its headers as received (in order, repeated names kept)
    and its body bytes, de-chunked, in `raw`."""

    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    raw: Blob | None = field(default=None, repr=False)


class Tee:
    """A body reader that also appends every byte it reads to `blob`."""

    def __init__(self, read: Callable[[int], bytes], blob: Blob) -> None:
        self._read = read
        self.blob = blob

    def __call__(self, size: int = -1) -> bytes:
        data = self._read(size)
        if data:
            self.blob.write_at(self.blob.size, data)
        return data
