"""One connection of the loopback server: the request head checked as RFC 9112 frames it,
the body read (streamed into spooled files, or teed on to a forwarding handler as it
arrives), the handler asked, the `Reply` written or the connection reset or dropped. A
connection over the server's cap gets a quick 503."""

from __future__ import annotations

import contextlib
import socket
import struct
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from conformance.endpoints.bodies import BodyError, read_post
from conformance.endpoints.chunked import ChunkedReader
from conformance.endpoints.core import IncomingRequest, Reply
from conformance.endpoints.raw import (
    BodySink,
    ForwardableRequest,
    Tee,
    open_stream,
    wants_raw_body,
)
from conformance.endpoints.request_head import HeadError, RequestHeaders, read_headers, request_line
from conformance.model import Blob

if TYPE_CHECKING:
    from conformance.endpoints.server import _Server

__all__ = ["ConnectionHandler"]

_PIECE = 1 << 20  # bytes of body read off the socket at a time
# ... when the body is streamed on as read: smaller, so the next hop starts sooner (a 1 MiB
# chunk read whole before its first byte goes on would be stored and forwarded), but over
# bodies.py's 256 KiB, below which a file part's digest is taken in GIL-holding slices.
_STREAM_PIECE = 512 << 10
_COALESCE = 64 << 10  # an answer body this small goes out in one write with its head
_IDLE_TIMEOUT = 120.0  # seconds a keep-alive connection may sit idle
_REFUSAL_TIMEOUT = 2.0  # seconds a refused connection may take to send its request head
_REFUSAL_DRAIN = 1 << 20  # bytes of a refused request read (and dropped) before closing
_UNAVAILABLE = b"<html><body><h1>503 Service Unavailable</h1></body></html>"


class ConnectionHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = _IDLE_TIMEOUT
    server: _Server  # has `owner`, the LoopbackServer
    headers: RequestHeaders  # type: ignore[assignment]  # not the email package's Message
    raw_requestline: bytes  # set by handle_one_request; typeshed leaves it out
    _headers_buffer: list[bytes]  # send_header's buffer; typeshed leaves it out

    def setup(self) -> None:
        super().setup()
        name = self.server.owner.register(self.connection)
        self.refused = name is None  # over max_connections: this connection gets a 503
        self.connection_id = name or ""

    def handle(self) -> None:
        if self.refused:
            self._refuse()
        else:
            super().handle()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner.unregister(self.connection)

    def _refuse(self) -> None:
        """A 503 after the request head, then a lingering close: the client reads the
        answer instead of a reset (unread bytes at close() would send an RST)."""
        self.connection.settimeout(_REFUSAL_TIMEOUT)
        with contextlib.suppress(OSError):
            self.raw_requestline = self.rfile.readline(65537)
            if not self.raw_requestline or not self.parse_request():
                return
            self.close_connection = True
            self._write(
                503, "text/html", _UNAVAILABLE, (("Connection", "close"), ("Retry-After", "1"))
            )
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            left = _REFUSAL_DRAIN
            while left > 0 and (data := self.connection.recv(min(left, 65536))):
                left -= len(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: a request line can carry a KS, which must never reach a log."""

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_OPTIONS(self) -> None:
        """A CORS preflight: answered by the endpoint without reading the API."""
        self._serve()

    def _serve(self) -> None:
        arrival = time.monotonic()
        owner = self.server.owner
        problem = self._framing_problem()
        if problem is not None:
            self._plain(*problem)
            return
        # A forwarding handler (endpoints/raw.py) gets the body bytes too, copied as read,
        # or streamed on as read when it can decide that from the head.
        raw: Blob | None = None
        sink: BodySink | None = None
        piece_size = _PIECE
        try:
            reader, length = self._body_reader()
            if wants_raw_body(owner.endpoint):
                head = tuple(self.headers.items())
                if length:
                    sink = open_stream(owner.endpoint, self.command, self.path, head, length)
                if sink is None:
                    raw = owner.endpoint.blobs.new()
                else:
                    piece_size = _STREAM_PIECE
            body = read_post(
                reader if raw is None and sink is None else Tee(reader, raw, sink),
                content_type=self.headers.get("Content-Type"),
                content_length=length,
                blobs=owner.endpoint.blobs,
                limits=owner.limits,
                piece_size=piece_size,
            )
        except (BodyError, ValueError):
            if raw is not None:
                raw.release()
            if sink is not None:
                sink.abort()
            self.close_connection = True  # a client that vanished mid-body, or bad framing
            return
        request = IncomingRequest(
            method=self.command,
            target=self.path,
            content_type=self.headers.get("Content-Type"),
            body=body,
            connection=self.connection_id,
            arrival=arrival,
            body_complete=time.monotonic(),
        )
        if raw is not None or sink is not None:
            headers = tuple(self.headers.items())
            request = ForwardableRequest(**vars(request), headers=headers, raw=raw, stream=sink)
        self._send(owner.endpoint.handle(request))

    def _body_reader(self) -> tuple[Any, int | None]:
        if self.headers.get_all("Transfer-Encoding"):
            return ChunkedReader(self.rfile.read).read, None
        return self.rfile.read, _content_length(self.headers.get_all("Content-Length") or [])

    def _framing_problem(self) -> tuple[int, str] | None:
        """RFC 9112 §6: a body whose length is ambiguous is refused, never guessed (the
        request-smuggling cases). Both headers: refused like nginx does (§6.3 lets a server
        reject it, and then it must close the connection)."""
        codings = self.headers.get_all("Transfer-Encoding") or []
        lengths = self.headers.get_all("Content-Length") or []
        if codings:
            if lengths:
                return 400, "Bad Request: both Content-Length and Transfer-Encoding"
            names = [c.strip().lower() for v in codings for c in v.split(",") if c.strip()]
            if names != ["chunked"]:
                # §6.1: chunked must come last; any other coding is one we do not know.
                status = 400 if not names or names[-1] != "chunked" else 501
                return status, f"Transfer-Encoding {', '.join(names)!r} not supported"
            return None
        try:
            _content_length(lengths)
        except ValueError as error:
            return 400, f"Bad Request: {error}"
        return None

    def _send(self, reply: Reply) -> None:
        # Stamped as the answer leaves, not after: a client that has its answer (or saw the
        # connection go) must find the exchange complete in the trace.
        reply.sent()
        try:
            if reply.disconnect == "reset":
                self._reset()
            elif reply.disconnect == "dropped":
                self.close_connection = True
            else:
                self._write(reply.status, reply.content_type, reply.body, reply.headers)
        finally:  # also when the client is gone: the handler's work must still end
            if reply.after is not None:
                reply.after()

    def _write(
        self,
        status: int,
        content_type: str,
        body: bytes,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.send_response_only(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        if len(body) > _COALESCE:
            self.end_headers()
            self.wfile.write(body)
            return
        # Head and body in one write: one syscall and one segment, and the client wakes
        # once (an API answer is small). `end_headers` would flush the head alone.
        self._headers_buffer.append(b"\r\n" + body)
        self.flush_headers()

    def _plain(self, status: int, text: str) -> None:
        self.close_connection = True
        self.send_response_only(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        body = text.encode()
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _reset(self) -> None:
        """Close with an RST (SO_LINGER 0): the client sees 'connection reset by peer'."""
        self.close_connection = True
        linger = struct.pack("ii", 1, 0)
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        self.connection.close()  # now, before socketserver's shutdown() could send a FIN

    def parse_request(self) -> bool:
        """`http.server`'s parse (request line, then Connection and Expect as it reads
        them) with the head read by `request_head` rather than the email parser, and
        stricter where that would serve a malformed request, as Apache and nginx are: a
        request line without a version, a header line without a colon (which the email
        parser took for the end of the head, losing the headers after it, Content-Length
        included) and the other malformed lines `request_head` names get a 400 and a
        closed connection."""
        self.command, self.request_version = "", self.default_request_version
        self.close_connection = True
        self.requestline = self.raw_requestline.decode("latin-1").rstrip("\r\n")
        words = self.requestline.split()
        if not words:
            return False
        try:
            line = request_line(words)
            self.command, self.path, self.request_version = line.command, line.path, line.version
            self.headers = read_headers(self.rfile)
        except HeadError as error:
            self.send_error(error.status, error.reason)
            return False
        self.close_connection = not line.persistent
        connection = self.headers.get("Connection", "").lower()
        if connection in ("close", "keep-alive"):
            self.close_connection = connection == "close"
        expect = self.headers.get("Expect", "").lower()
        if expect == "100-continue" and self.request_version >= "HTTP/1.1":
            return self.handle_expect_100()
        return True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Garbage on the socket: a short plain answer and a closed connection, no HTML."""
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            self.request_version = self.protocol_version  # always a status line
        try:
            self._plain(code, message or "Bad Request")
        except OSError:
            self.close_connection = True


def _content_length(values: list[str]) -> int:
    """The one length of every Content-Length value (§6.3: identical duplicates, also as a
    comma list, are one length; differing ones make the message invalid). 0 when absent."""
    items = {item.strip() for value in values for item in value.split(",")}
    if not items:
        return 0
    if len(items) > 1:
        raise ValueError(f"differing Content-Length values {sorted(items)}")
    (item,) = items
    if not item.isdigit():
        raise ValueError(f"Content-Length {item[:40]!r} is not a number")
    return int(item)
