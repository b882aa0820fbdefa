"""What a transport hands a handler that forwards requests: the request as received.

`KalturaEndpoint` needs only the parsed body (`IncomingRequest`). A handler that passes a
request on (`conformance.proxy.ProxyEndpoint`) also needs the request's headers and its body
bytes exactly as the client sent them (de-chunked: `Transfer-Encoding` is hop-by-hop). A
handler says so with `forwards_raw_body = True`; the loopback server then copies the body
into a blob while it parses it (`Tee`), so the body is read off the socket once, parsed as
always, and kept whole only in a spooled temporary file, never in memory.

Streaming: a handler may also offer `stream_body(method, target, headers, length)`, asked
once the request head is read and before any body byte. A `BodySink` it returns gets every
body byte as it is read (`Tee`) instead of a spooled copy (`raw` is None then, `stream` the
sink), so the request goes on while it arrives instead of after; None keeps the spooled
copy. Only for bodies with a Content-Length.

Ownership: the raw blob and the sink belong to the handler from `handle` on; it releases
the blob and finishes or aborts the sink before `handle` returns (the server releases the
blob, and aborts the sink, when the body could not be read to its end).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from conformance.endpoints.core import IncomingRequest, Reply
from conformance.model import Blob, BlobFactory

__all__ = [
    "BodySink",
    "ForwardableRequest",
    "RequestHandler",
    "Tee",
    "open_stream",
    "wants_raw_body",
]


class RequestHandler(Protocol):
    """What the loopback server serves: `KalturaEndpoint`, `ProxyEndpoint`, or any other."""

    @property
    def blobs(self) -> BlobFactory:
        """Where request bodies are spooled."""
        ...

    def handle(self, request: IncomingRequest) -> Reply: ...


class BodySink(Protocol):
    """Where a streamed body goes as it is read."""

    def send(self, data: bytes) -> None:
        """The next body bytes; never raises (a failure is the sink's to report)."""
        ...

    def abort(self) -> None:
        """The request must not complete (the body broke off, or it was refused)."""
        ...


def open_stream(
    handler: object,
    method: str,
    target: str,
    headers: tuple[tuple[str, str], ...],
    length: int,
) -> BodySink | None:
    """The handler's sink for this request's body, or None (kept whole in `raw`)."""
    stream_body = getattr(handler, "stream_body", None)
    if stream_body is None or length < 1:
        return None
    sink: BodySink | None = stream_body(method, target, headers, length)
    return sink


def wants_raw_body(handler: object) -> bool:
    """Whether `handler` asked for the raw request (`forwards_raw_body = True`)."""
    return getattr(handler, "forwards_raw_body", False) is True


@dataclass(frozen=True)
class ForwardableRequest(IncomingRequest):
    """An `IncomingRequest` with its headers as received (in order, repeated names kept)
    and its body bytes, de-chunked, in `raw`, or, sent on as they were read, in `stream`."""

    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    raw: Blob | None = field(default=None, repr=False)
    stream: BodySink | None = field(default=None, repr=False)


class Tee:
    """A body reader that also appends every byte it reads to `blob`, or hands it to
    `sink` (first: the way on works while the body is parsed here)."""

    def __init__(
        self, read: Callable[[int], bytes], blob: Blob | None, sink: BodySink | None = None
    ) -> None:
        self._read = read
        self.blob = blob
        self.sink = sink

    def __call__(self, size: int = -1) -> bytes:
        data = self._read(size)
        if data:
            if self.sink is not None:
                self.sink.send(data)
            if self.blob is not None:
                self.blob.write_at(self.blob.size, data)
        return data
