"""What goes out to the upstream and comes back: the headers a proxy forwards each way
(RFC 9110 §7.6.1's hop-by-hop ones and the proxy's own are dropped), and the answer or the
failure `Upstream` hands back."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field

from conformance.model import Blob
from conformance.proxy.decoding import Decoded, decode_answer

__all__ = [
    "HOP_BY_HOP",
    "PIECE",
    "UpstreamAnswer",
    "UpstreamFailure",
    "answer_of",
    "has_body",
    "pieces",
    "request_headers",
]

PIECE = 1 << 20  # bytes of body sent at a time
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "proxy-authorization",
        "proxy-authenticate",
    }
)
# Set by the proxy itself on each side (the loopback server writes Content-Type and
# Content-Length from the reply; httpx writes Host and Content-Length upstream). `Expect:
# 100-continue` (curl sends it for bodies over 1 MiB) was answered by the proxy already, and
# the body is all here: asking the upstream again would only cost a round trip.
_OWN_REQUEST = frozenset({"host", "content-length", "expect"})
_OWN_ANSWER = frozenset({"content-length", "content-type"})


@dataclass(frozen=True)
class UpstreamAnswer:
    """What the upstream answered: status, end-to-end headers, body bytes as sent."""

    status: int
    content_type: str
    headers: tuple[tuple[str, str], ...]  # end-to-end: as relayed to the client
    body: bytes = field(repr=False)
    received: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # all, as read

    @functools.cached_property
    def decoded(self) -> Decoded:
        """The answer as the trace and the shadow read it: decoded when first asked, which
        the proxy does once the client has the bytes."""
        return decode_answer(self.status, self.received, self.body)


@dataclass(frozen=True)
class UpstreamFailure:
    """No answer: the upstream was unreachable, timed out, or the budget refused."""

    reason: str
    budget: bool = False


def answer_of(status: int, headers: tuple[tuple[str, str], ...], data: bytes) -> UpstreamAnswer:
    content_type = next((v for n, v in headers if n.lower() == "content-type"), "")
    return UpstreamAnswer(status, content_type, _answer_headers(headers), data, headers)


def pieces(blob: Blob) -> Iterator[bytes]:
    yield from blob.pieces(PIECE)


def has_body(headers: tuple[tuple[str, str], ...]) -> bool:
    return any(name.lower() in ("content-length", "transfer-encoding") for name, _ in headers)


def _hop_by_hop(headers: tuple[tuple[str, str], ...]) -> frozenset[str]:
    """The standard hop-by-hop names and every name a `Connection` header lists."""
    listed = {
        token.strip().lower()
        for name, value in headers
        if name.lower() == "connection"
        for token in value.split(",")
    }
    return HOP_BY_HOP | listed


def request_headers(
    headers: tuple[tuple[str, str], ...], length: int | None
) -> list[tuple[str, str]]:
    """The client's headers as forwarded: hop-by-hop ones and the proxy's own dropped,
    identity encoding asked for unless the client asked otherwise, and the body's length
    (`length`; None: no body)."""
    dropped = _hop_by_hop(headers) | _OWN_REQUEST
    kept = [(name, value) for name, value in headers if name.lower() not in dropped]
    if not any(name.lower() == "accept-encoding" for name, _ in kept):
        kept.append(("Accept-Encoding", "identity"))
    if length is not None:
        kept.append(("Content-Length", str(length)))
    return kept


def _answer_headers(headers: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    dropped = _hop_by_hop(headers) | _OWN_ANSWER
    return tuple((name, value) for name, value in headers if name.lower() not in dropped)
