"""What a transport hands the one handler (`IncomingRequest`) and what it gets back
(`Reply`: an HTTP answer, or an instruction to reset or drop the connection), with the
replies made outside the API's encoders (an HTML error page, `kRendererDieError`, the web
server's plain errors, a lost answer)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from conformance.endpoints.front import PHP_DEFAULT_TYPE
from conformance.trace import Answered, Disconnect, Exchange
from conformance.wire import (
    ApiCall,
    ApiResult,
    FormatRefused,
    ParsedBody,
    ResponseFormat,
    die_headers,
)

__all__ = [
    "HttpError",
    "IncomingRequest",
    "Reply",
    "die_reply",
    "disconnect_reply",
    "http_error_reply",
    "plain_error_reply",
    "serializer",
]

_HTML_ERROR = "<html><body><h1>{status} Service Unavailable</h1></body></html>"


@dataclass(frozen=True)
class IncomingRequest:
    """A request as a transport received it. Times are `time.monotonic()` readings."""

    method: str
    target: str
    content_type: str | None
    body: ParsedBody
    connection: str
    arrival: float
    body_complete: float


@dataclass(frozen=True)
class Reply:
    """An HTTP answer, or `disconnect`: "reset" (RST; the request was not applied) or
    "dropped" (applied, then closed without an answer)."""

    status: int
    content_type: str
    body: bytes
    disconnect: Disconnect | None = None
    exchange: Exchange | None = None
    headers: tuple[tuple[str, str], ...] = ()
    answer: ApiResult | None = field(default=None, compare=False)
    # The other calls of a multirequest, answered by the same bytes.
    batch: tuple[Exchange, ...] = field(default=(), compare=False)
    # Work the answer does not depend on, for the transport to run once it is sent.
    after: Callable[[], None] | None = field(default=None, compare=False)

    def sent(self, at: float | None = None) -> None:
        """The transport is writing the answer (or closing the connection) now, or at `at`.

        Called before the bytes leave, so that the exchange is complete in the trace by the
        time the client holds its answer."""
        stamp = time.monotonic() if at is None else at
        for exchange in (self.exchange, *self.batch):
            if exchange is not None:
                exchange.answered_at = stamp


@dataclass(frozen=True)
class HttpError:
    """An HTTP error page in place of an API answer (what `rewrite_answer` may return)."""

    status: int


def die_reply(refused: FormatRefused, exchange: Exchange) -> Reply:
    """`kRendererDieError`: HTTP 200, no body, the error in headers only."""
    exchange.answer = Answered("error", http_status=200, code=refused.error.code)
    headers = die_headers(refused.error)
    return Reply(200, PHP_DEFAULT_TYPE, b"", exchange=exchange, headers=headers)


def serializer(call: ApiCall) -> ResponseFormat | int:
    """What the answer to `call` is written as: `responseFormat`'s serializer, else `format`."""
    return call.response if isinstance(call.response, ResponseFormat) else call.format


def http_error_reply(status: int, exchange: Exchange) -> Reply:
    exchange.answer = Answered("http-error", http_status=status)
    body = _HTML_ERROR.format(status=status).encode()
    return Reply(status, "text/html", body, exchange=exchange)


def plain_error_reply(status: int, text: str, exchange: Exchange) -> Reply:
    """What the web server in front of Kaltura answers outside the API (no error object)."""
    exchange.answer = Answered("http-error", http_status=status)
    return Reply(status, "text/plain; charset=utf-8", text.encode(), exchange=exchange)


def disconnect_reply(how: Disconnect, exchange: Exchange, would_have_been: Answered) -> Reply:
    exchange.answer = Answered(
        how, status=would_have_been.status, token_id=would_have_been.token_id
    )
    return Reply(0, "", b"", disconnect=how, exchange=exchange)
