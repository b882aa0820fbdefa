"""The endpoint on a real loopback HTTP server, for clients in any language.

Why the standard library's `ThreadingHTTPServer` (transport-measurements.md §3, §6): it beat
Starlette/uvicorn, aiohttp and pytest-httpserver in every measured cell (~600 req/s at 1 KiB
in-process, 540–620 MiB/s for a 2 GiB upload), starts in milliseconds, needs no dependency,
and gives full control of the wire — resetting or dropping a connection, reading a body
piece by piece — which fault injection needs. HTTP/1.1 keep-alive, Content-Length on every
answer and Nagle off, as measured. Bodies stream through `bodies.read_post` into spooled
temporary files: a multi-GiB upload never sits in memory.

Each connection gets a thread, so concurrent chunks really run concurrently, and a close
waiting for late chunks (§7) blocks only its own connection. Errors raised on a server
thread are collected and re-raised by `check()` / `stop()` on the caller's thread (after
pytest-httpserver). The request log is silent: request lines carry the KS.
"""

from __future__ import annotations

import contextlib
import email.errors
import itertools
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Generic, TypeVar

from conformance.endpoints.bodies import BodyError, BodyLimits, read_post
from conformance.endpoints.chunked import ChunkedReader
from conformance.endpoints.core import IncomingRequest, Reply
from conformance.endpoints.raw import (
    BodySink,
    ForwardableRequest,
    RequestHandler,
    Tee,
    open_stream,
    wants_raw_body,
)
from conformance.model import Blob

__all__ = ["LoopbackServer"]

Handler = TypeVar("Handler", bound=RequestHandler)

_PIECE = 1 << 20  # bytes of body read off the socket at a time
# ... when the body is streamed on as read: smaller, so the next hop starts sooner (a 1 MiB
# chunk read whole before its first byte goes on would be stored and forwarded), but over
# bodies.py's 256 KiB, below which a file part's digest is taken in GIL-holding slices.
_STREAM_PIECE = 512 << 10
_IDLE_TIMEOUT = 120.0  # seconds a keep-alive connection may sit idle
# The listen backlog. socketserver's 5 made bursts of connects wait for SYN retransmits
# (8 uploaders x 4 connections: p90 1,027 ms, max 1,241 ms; with 128: max 13 ms).
DEFAULT_BACKLOG = 128
# Connections served at once (one thread each); the next ones get a quick 503.
DEFAULT_MAX_CONNECTIONS = 256
_REFUSAL_TIMEOUT = 2.0  # seconds a refused connection may take to send its request head
_REFUSAL_DRAIN = 1 << 20  # bytes of a refused request read (and dropped) before closing
_UNAVAILABLE = b"<html><body><h1>503 Service Unavailable</h1></body></html>"
# A header line without a colon, or a first header line that looks like a continuation.
# (Not every defect: a multipart Content-Type alone gives "no boundary in the body" ones.)
_BAD_HEADER_LINES = (
    email.errors.MissingHeaderBodySeparatorDefect,
    email.errors.FirstHeaderLineIsContinuationDefect,
)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], owner: LoopbackServer[Any], backlog: int) -> None:
        self.owner = owner
        self.request_queue_size = backlog  # read by server_activate's listen()
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A handler thread died on something we did not expect: keep it for check().
        error = sys.exc_info()[1]
        if error is not None and not isinstance(error, (ConnectionError, TimeoutError)):
            self.owner.record_error(error)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = _IDLE_TIMEOUT
    server: _Server
    raw_requestline: bytes  # set by handle_one_request; typeshed leaves it out

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
        if reply.disconnect == "reset":
            self._reset()
        elif reply.disconnect == "dropped":
            self.close_connection = True
        else:
            self._write(reply.status, reply.content_type, reply.body, reply.headers)

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
        self.end_headers()
        self.wfile.write(body)

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
        """The standard parse, but stricter where it would serve a malformed request, as
        Apache and nginx are: a request line without a version (HTTP/0.9, which would be
        answered without a status line) and a header line without a colon (which the
        standard parser takes for the end of the headers, silently losing the ones after
        it, Content-Length included) get a 400 and a closed connection."""
        if len(self.raw_requestline.split()) == 2:
            self.close_connection = True
            self.send_error(400, "Bad request line: no HTTP version")
            return False
        if not super().parse_request():
            return False
        if any(isinstance(defect, _BAD_HEADER_LINES) for defect in self.headers.defects):
            self.send_error(400, "Bad request header")
            return False
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


class LoopbackServer(Generic[Handler]):
    """`KalturaEndpoint` on `http://127.0.0.1:<port>` (port 0: any free one); or any other
    `RequestHandler` (`endpoints/raw.py`), such as the recording proxy.

    Use as a context manager, or `start()` / `stop()`. `url` is the service URL to give a
    client (append `/api_v3/...`). `backlog` is the listen queue; at most
    `max_connections` connections are served at once, the next ones get a 503.
    """

    def __init__(
        self,
        endpoint: Handler,
        host: str = "127.0.0.1",
        port: int = 0,
        limits: BodyLimits | None = None,
        *,
        backlog: int = DEFAULT_BACKLOG,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        for name, value in (("backlog", backlog), ("max_connections", max_connections)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} must be a positive int")
        self.endpoint = endpoint
        self.limits = limits or BodyLimits()
        self.backlog = backlog
        self.max_connections = max_connections
        self._server = _Server((host, port), self, backlog)
        self._thread: threading.Thread | None = None
        self._errors: list[BaseException] = []
        self._connections: dict[socket.socket, str] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> LoopbackServer[Handler]:
        thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        self._thread = thread
        return self

    def stop(self) -> None:
        """Stop serving, close every open connection, and re-raise a server-side error."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()
        with self._lock:
            open_sockets = list(self._connections)
        for sock in open_sockets:
            _shut(sock)
        self.check()

    def check(self) -> None:
        """Re-raise the first unexpected error a server thread hit."""
        with self._lock:
            errors, self._errors = self._errors, []
        if errors:
            raise errors[0]

    def record_error(self, error: BaseException) -> None:
        with self._lock:
            self._errors.append(error)

    def register(self, sock: socket.socket) -> str | None:
        """A name for a new connection, or None when `max_connections` are being served."""
        with self._lock:
            if len(self._connections) >= self.max_connections:
                return None
            name = f"conn-{next(self._ids)}"
            self._connections[sock] = name
            return name

    def unregister(self, sock: socket.socket) -> None:
        with self._lock:
            self._connections.pop(sock, None)

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._connections)

    def __enter__(self) -> LoopbackServer[Handler]:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
