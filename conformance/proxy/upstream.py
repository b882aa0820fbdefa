"""The proxy's way out: one request forwarded to the upstream service, its answer read back.

Forwarding (`Upstream.forward`, a stored body; `Upstream.open`, a body streamed on as it
arrives, its last byte held back until `finish`: `Outgoing` on the pooled sockets,
`Threaded` through httpx; `HeldBody`, kept until a verdict):

* Same method, path and query (appended to the upstream service URL, whose own path, if
  any, is kept as a prefix) and the same body bytes, a piece at a time (`PIECE`), never
  whole in memory, with a `Content-Length` (the client's chunked framing is hop-by-hop
  and was undone on the way in).
* Headers: end-to-end ones as the client sent them; the hop-by-hop ones (RFC 9110 §7.6.1:
  `Connection` and every name it lists, `Keep-Alive`, `Proxy-Connection`, `TE`, `Trailer`,
  `Transfer-Encoding`, `Upgrade`, `Proxy-Authorization`, `Proxy-Authenticate`), `Host`,
  `Content-Length` and `Expect` are the proxy's own. A client that sent no `Accept-Encoding` gets
  `identity` (else an HTTP client would ask for gzip on its behalf, and the client would
  get bytes it cannot read).
* No redirects followed, no retries, no proxy from the environment.
* The way out: without a budget or a transport, pooled keep-alive sockets (`Pool`; the
  request head and a small body in one write, the answer framed by a plain HTTP/1.1
  reader): httpx and the email-package header parsing of `http.client` were most of the
  proxy's time on a small request. With either (live mode), an httpx client through
  `BudgetedTransport`, so every forwarded request is counted and capped, a streamed body
  fed to it from a thread of its own (`Threaded`).

The answer is decoded by `decoding`; `messages` holds the header rules and what comes
back; `pool` the sockets; `streams` the held and threaded bodies.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx

from conformance.budget import Budget, BudgetedTransport, BudgetExceeded
from conformance.model import Blob
from conformance.proxy.decoding import Decoded, decode_answer, decode_items
from conformance.proxy.messages import (
    HOP_BY_HOP,
    PIECE,
    UpstreamAnswer,
    UpstreamFailure,
    answer_of,
    has_body,
    pieces,
    request_headers,
)
from conformance.proxy.pool import Outgoing, Pool
from conformance.proxy.streams import Aborted, HeldBody, Threaded

__all__ = [
    "HOP_BY_HOP",
    "Decoded",
    "HeldBody",
    "Outgoing",
    "Threaded",
    "Upstream",
    "UpstreamAnswer",
    "UpstreamFailure",
    "decode_answer",
    "decode_items",
]


class Upstream:
    """The way to the upstream service; thread-safe.

    Without a budget or a transport (loopback runs, the benchmark) requests go on pooled
    keep-alive `http.client` connections (`Pool`), and a body can be streamed as it
    arrives (`open`). With either, through an httpx client (`BudgetedTransport` counts and
    caps every request there), store-and-forward only (`open` answers None).
    """

    def __init__(
        self,
        service_url: str,
        *,
        budget: Budget | None = None,
        timeout: float = 120.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.service_url = service_url.rstrip("/")
        self.budgeted: BudgetedTransport | None = None
        self._client: httpx.Client | None = None
        self._pool: Pool | None = None
        if budget is None and transport is None:
            self._pool = Pool(self.service_url, timeout)
            self._host = self._pool.host
            return
        inner = transport or httpx.HTTPTransport(retries=0)
        self.budgeted = BudgetedTransport(inner, budget) if budget is not None else None
        self._host = httpx.URL(self.service_url).host
        self._client = httpx.Client(
            transport=self.budgeted or inner,
            timeout=httpx.Timeout(timeout, connect=15.0),
            follow_redirects=False,
            trust_env=False,
        )

    def open(
        self, method: str, target: str, headers: tuple[tuple[str, str], ...], length: int
    ) -> Outgoing | Threaded | None:
        """A request whose `length` body bytes will be `send`-ed as they arrive. Its last
        byte is held back until `finish`; `abort` instead never lets it complete."""
        if length < 1:
            return None
        if self._pool is None:
            return Threaded(self, method, target, headers, length)
        return Outgoing(self._pool, method, target, headers, length, hold_last=True)

    def forward(
        self, method: str, target: str, headers: tuple[tuple[str, str], ...], body: Blob | None
    ) -> UpstreamAnswer | UpstreamFailure:
        """Send one request on; never raises for a failure of the upstream."""
        length = body.size if body is not None and (body.size or has_body(headers)) else None
        if self._pool is None:
            content = pieces(body) if body is not None and body.size else None
            return self.forward_httpx(method, target, headers, length, content)
        outgoing = Outgoing(self._pool, method, target, headers, length, hold_last=False)
        if body is not None and body.size:
            for piece in body.pieces(PIECE):
                outgoing.send(piece)
        return outgoing.finish()

    def forward_httpx(
        self,
        method: str,
        target: str,
        headers: tuple[tuple[str, str], ...],
        length: int | None,
        content: Iterator[bytes] | None,
    ) -> UpstreamAnswer | UpstreamFailure:
        """Through the httpx client (and the budget); `content` may be fed as it arrives."""
        assert self._client is not None
        sent = request_headers(headers, length)
        try:
            request = self._client.build_request(
                method, self.service_url + target, headers=sent, content=content
            )
            response = self._client.send(request, stream=True)
            try:
                data = b"".join(response.iter_raw())
            finally:
                response.close()
        except BudgetExceeded as error:
            return UpstreamFailure(str(error), budget=True)
        except Aborted:
            return UpstreamFailure(f"request to {self._host} aborted")
        except (httpx.HTTPError, httpx.InvalidURL, OSError) as error:
            # The type only: a message may quote the URL, and the URL may carry a KS.
            return UpstreamFailure(f"{type(error).__name__} from {self._host}")
        return answer_of(response.status_code, tuple(response.headers.multi_items()), data)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._pool is not None:
            self._pool.close()
