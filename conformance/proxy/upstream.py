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
* The way out: without a budget or a transport, pooled keep-alive sockets (`_Pool`; the
  request head and a small body in one write, the answer framed by a plain HTTP/1.1
  reader): httpx and the email-package header parsing of `http.client` were most of the
  proxy's time on a small request. With either (live mode), an httpx client through
  `BudgetedTransport`, so every forwarded request is counted and capped, a streamed body
  fed to it from a thread of its own (`Threaded`).

The answer is read whole: API answers are small (a token, a list page, an error object),
and the trace needs all of it decoded. `decode_answer` turns it into the trace's
`Answered` the way `KalturaEndpoint` builds one from a model outcome: "ok" with the token's
status, `uploadedFileSize` and id; "error" with the Kaltura error code (an error object in
JSON, JSONP, XML or PHP serialization, or `kRendererDieError`'s `X-Kaltura` header with no
body); "http-error" for any status but 200. A `session.start` answer's KS is handed back
separately (`Decoded.ks`, never in a repr) so the shadow can learn whose session it is.
"""

from __future__ import annotations

import base64
import contextlib
import json
import queue
import re
import select
import socket
import ssl
import threading
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit
from xml.etree import ElementTree

import httpx

from conformance.budget import Budget, BudgetedTransport, BudgetExceeded
from conformance.endpoints.bodies import BodyError
from conformance.endpoints.chunked import ChunkedReader
from conformance.model import Blob
from conformance.trace import Answered

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
_DIE = re.compile(r"error-\s*(\S+)")
_PHP_CODE = re.compile(r's:4:"code";s:\d+:"([^"]*)"')
_PHP_STATUS = re.compile(r's:6:"status";i:(-?\d+)')
_PHP_SIZE = re.compile(r's:16:"uploadedFileSize";(?:s:\d+:"([^"]*)"|i:(\d+)|d:([^;]+))')
_PHP_ID = re.compile(r's:2:"id";s:\d+:"([^"]*)"')
_PHP_ERROR = 's:10:"objectType";s:19:"KalturaAPIException"'
_PHP_STRING = re.compile(r's:\d+:"(.*)";\Z', re.DOTALL)


@dataclass(frozen=True)
class Decoded:
    """An upstream answer as the trace records it; `ks` is a `session.start` result."""

    answered: Answered
    ks: str | None = field(default=None, repr=False)
    understood: bool = True  # False: a 200 whose body none of Kaltura's formats reads


@dataclass(frozen=True)
class UpstreamAnswer:
    """What the upstream answered: status, end-to-end headers, body bytes as sent."""

    status: int
    content_type: str
    headers: tuple[tuple[str, str], ...]
    body: bytes = field(repr=False)
    decoded: Decoded


@dataclass(frozen=True)
class UpstreamFailure:
    """No answer: the upstream was unreachable, timed out, or the budget refused."""

    reason: str
    budget: bool = False


class Upstream:
    """The way to the upstream service; thread-safe.

    Without a budget or a transport (loopback runs, the benchmark) requests go on pooled
    keep-alive `http.client` connections (`_Pool`), and a body can be streamed as it
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
        self._pool: _Pool | None = None
        if budget is None and transport is None:
            self._pool = _Pool(self.service_url, timeout)
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
        length = body.size if body is not None and (body.size or _has_body(headers)) else None
        if self._pool is None:
            content = _pieces(body) if body is not None and body.size else None
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
        sent = _request_headers(headers)
        if length is not None:
            sent.append(("Content-Length", str(length)))
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
        except _Aborted:
            return UpstreamFailure(f"request to {self._host} aborted")
        except (httpx.HTTPError, httpx.InvalidURL, OSError) as error:
            # The type only: a message may quote the URL, and the URL may carry a KS.
            return UpstreamFailure(f"{type(error).__name__} from {self._host}")
        return _answer(response.status_code, tuple(response.headers.multi_items()), data)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._pool is not None:
            self._pool.close()


def _answer(status: int, headers: tuple[tuple[str, str], ...], data: bytes) -> UpstreamAnswer:
    content_type = next((v for n, v in headers if n.lower() == "content-type"), "")
    return UpstreamAnswer(
        status,
        content_type,
        _answer_headers(headers),
        data,
        decode_answer(status, headers, data),
    )


# --- the fast way out: pooled http.client connections -----------------------------------------


class _Pool:
    """Idle keep-alive connections to one upstream (a socket each), reused newest first.

    A connection the upstream closed while idle is noticed before use (readable with
    nothing to read) and dropped, so a request never goes out on a dead one; a request is
    never retried (a body streamed as it arrived cannot be sent twice)."""

    def __init__(self, service_url: str, timeout: float) -> None:
        parts = urlsplit(service_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the upstream service URL must be http(s)://host[:port][/path]")
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        default = 443 if self.https else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        self.netloc = name if self.port == default else f"{name}:{self.port}"
        self.prefix = parts.path.rstrip("/")
        # Credentials in the URL's userinfo are sent as Basic auth, as httpx did.
        self.authorization: str | None = None
        if parts.username is not None:
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            self.authorization = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
        self.timeout = timeout
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        self._tls = ssl.create_default_context() if self.https else None

    def get(self) -> _Connection:
        """An idle live connection, or a new one (OSError when none can be made)."""
        with self._lock:
            while self._idle:
                connection = self._idle.pop()
                if connection.alive():
                    return connection
                connection.close()
        sock = socket.create_connection((self.host, self.port), timeout=_CONNECT_TIMEOUT)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_hostname=self.host)
            sock.settimeout(self.timeout)
        except BaseException:
            _close(sock)
            raise
        return _Connection(sock)

    def put(self, connection: _Connection) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < _MAX_IDLE:
                self._idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


_CONNECT_TIMEOUT = 15.0
_MAX_IDLE = 64


class _Connection:
    """A socket to the upstream and its buffered reader (kept for the connection's life)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.rfile = sock.makefile("rb")

    def alive(self) -> bool:
        """An idle keep-alive connection has nothing to read: readable means closed (or
        junk), and so does anything left in the reader's buffer."""
        try:
            poller = select.poll()
            poller.register(self.sock, select.POLLIN)
            return not poller.poll(0)
        except (OSError, ValueError):
            return False

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.rfile.close()
        _close(self.sock)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()


class Outgoing:
    """One request on a pooled connection, its body sent a piece at a time (`send`).

    With `hold_last` the body's last byte is kept back until `finish`: the upstream cannot
    act on the request before the proxy has decided to let it (and has marked the flight
    begun), and `abort` instead closes the connection, so the upstream sees a body cut
    short and drops the request unanswered. A failure on the way is kept and answered by
    `finish` as an `UpstreamFailure`; `send` never raises.
    """

    def __init__(
        self,
        pool: _Pool,
        method: str,
        target: str,
        headers: tuple[tuple[str, str], ...],
        length: int | None,
        *,
        hold_last: bool,
    ) -> None:
        self._pool = pool
        self._method = method
        self._length = length or 0
        self._given = 0
        self._held = b""
        self._hold = hold_last
        self._done = False
        self._failure: UpstreamFailure | None = None
        self._sock: _Connection | None = None
        sent = _request_headers(headers)
        if length is not None:
            sent.append(("Content-Length", str(length)))
        if pool.authorization is not None and not any(
            name.lower() == "authorization" for name, _ in sent
        ):
            sent.append(("Authorization", pool.authorization))
        try:
            self._head: bytes | None = _head(method, pool.prefix + target, pool.netloc, sent)
            self._sock = pool.get()
        except (OSError, ValueError) as error:
            self._fail(error, connecting=True)

    def send(self, data: bytes) -> None:
        if self._done or self._failure is not None or not data:
            return
        before = self._given
        self._given += len(data)
        if self._hold and self._given >= self._length:
            last = self._length - before - 1  # the index of the body's last byte in data
            data, self._held = data[:last], data[last : last + 1]
        self._write(data)

    def _write(self, data: bytes) -> None:
        if self._sock is None:
            return
        head, self._head = self._head, None
        try:
            if head is not None:
                self._sock.sock.sendall(head + data if len(data) <= _COALESCE else head)
                if len(data) <= _COALESCE:
                    return
            if data:
                self._sock.sock.sendall(data)
        except OSError as error:  # the upstream stopped reading: it may have answered early
            self._fail(error)

    def abort(self) -> None:
        """Never let the request complete: the connection is closed, the last byte unsent."""
        if self._done:
            return
        self._done = True
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def finish(self) -> UpstreamAnswer | UpstreamFailure:
        """Send the held byte and read the answer; the connection goes back to the pool."""
        if self._done:
            return UpstreamFailure(f"request to {self._pool.host} aborted")
        held, self._held = self._held, b""
        self._write(held)
        if self._head is not None:  # no body at all
            self._write(b"")
        self._done = True
        sock, self._sock = self._sock, None
        if sock is None:
            return self._failure or UpstreamFailure(f"no connection to {self._pool.host}")
        try:
            status, headers, data, will_close = _read_answer(sock.rfile, self._method)
        except (OSError, ValueError, BodyError) as error:
            sock.close()
            self._fail(error)
            assert self._failure is not None
            return self._failure
        if will_close or self._failure is not None:
            sock.close()
        else:
            self._pool.put(sock)
        return _answer(status, headers, data)

    def _fail(self, error: BaseException, *, connecting: bool = False) -> None:
        if self._failure is None:
            # The type only: a message may quote the URL, and the URL may carry a KS.
            kind = "ConnectError" if connecting else type(error).__name__
            self._failure = UpstreamFailure(f"{kind} from {self._pool.host}")


Verdict = Callable[[Blob], "Outgoing | Threaded | bool | None"]


class HeldBody:
    """A body kept (in `blob`) until a verdict on it is in: `decide` is asked after each
    piece with the body so far, and answers None (not known yet), False (kept to the end,
    then forwarded whole) or an `Outgoing` (what was kept goes there at once, the rest as
    it arrives). The forwarding proxy's way to decide on the form fields before a file."""

    def __init__(
        self,
        upstream: Upstream,
        head: tuple[str, str, tuple[tuple[str, str], ...]],
        blob: Blob,
        decide: Verdict,
    ) -> None:
        self._upstream = upstream
        self._head = head
        self.blob: Blob | None = blob
        self._decide: Verdict | None = decide
        self.outgoing: Outgoing | Threaded | None = None

    def send(self, data: bytes) -> None:
        if self.outgoing is not None:
            self.outgoing.send(data)
            return
        if self.blob is None:
            return
        self.blob.write_at(self.blob.size, data)
        if self._decide is None:
            return
        verdict = self._decide(self.blob)
        if verdict is None:
            return
        self._decide = None
        if isinstance(verdict, (Outgoing, Threaded)):
            for piece in self.blob.pieces(PIECE):
                verdict.send(piece)
            self.blob.release()
            self.blob = None
            self.outgoing = verdict

    def finish(self) -> UpstreamAnswer | UpstreamFailure:
        """The streamed request's answer, or the kept body forwarded whole."""
        if self.outgoing is not None:
            return self.outgoing.finish()
        answer = self._upstream.forward(*self._head, self.blob)
        self.abort()
        return answer

    def abort(self) -> None:
        """Never let the request complete; the kept body is released (both idempotent)."""
        if self.outgoing is not None:
            self.outgoing.abort()
        blob, self.blob = self.blob, None
        if blob is not None:
            blob.release()


class _Aborted(Exception):  # noqa: N818 - what happened to the request
    """Raised into httpx from a streamed body that must not complete."""


_END = object()
_ABORT = object()
_QUEUED = 4  # pieces between the server thread and the forwarding thread


class Threaded:
    """A body streamed through httpx (live mode, where every request must go through
    `BudgetedTransport`): the request runs on a thread of its own, its body an iterator
    fed from a bounded queue by `send`. Same contract as `Outgoing`: the last byte held
    until `finish`, `abort` never lets the request complete (httpx closes the connection
    when the body raises), `send` never raises (after a failure, it drops what it gets)."""

    def __init__(
        self,
        upstream: Upstream,
        method: str,
        target: str,
        headers: tuple[tuple[str, str], ...],
        length: int,
    ) -> None:
        self._length = length
        self._given = 0
        self._held = b""
        self._done = False
        self._queue: queue.Queue[object] = queue.Queue(_QUEUED)
        self._result: UpstreamAnswer | UpstreamFailure = UpstreamFailure("no answer")
        self._thread = threading.Thread(
            target=self._run, args=(upstream, method, target, headers), daemon=True
        )
        self._thread.start()

    def _run(
        self, upstream: Upstream, method: str, target: str, headers: tuple[tuple[str, str], ...]
    ) -> None:
        self._result = upstream.forward_httpx(method, target, headers, self._length, self._body())

    def _body(self) -> Iterator[bytes]:
        while (item := self._queue.get()) is not _END:
            if not isinstance(item, bytes):  # _ABORT
                raise _Aborted
            yield item

    def _put(self, item: object) -> None:
        while self._thread.is_alive():  # a request refused (the budget) reads no more
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def send(self, data: bytes) -> None:
        if self._done or not data:
            return
        before = self._given
        self._given += len(data)
        if self._given >= self._length:
            last = self._length - before - 1
            data, self._held = data[:last], data[last : last + 1]
        if data:
            self._put(data)

    def finish(self) -> UpstreamAnswer | UpstreamFailure:
        if self._done:
            return UpstreamFailure("request aborted")
        self._done = True
        if self._held:
            self._put(self._held)
        self._put(_END)
        self._thread.join()
        return self._result

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        with contextlib.suppress(queue.Empty):
            while True:  # what was not sent yet never will be
                self._queue.get_nowait()
        self._put(_ABORT)


_COALESCE = 64 << 10  # a body piece this small goes out in one write with the head


def _head(method: str, target: str, netloc: str, headers: list[tuple[str, str]]) -> bytes:
    """The request line and headers (header text is latin-1, as the server decoded it)."""
    if any(c in target for c in " \r\n\0") or not method.isalpha():
        raise ValueError("request line not forwardable")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {netloc}"]
    for name, value in headers:
        lines.append(f"{name}: {_CONTROL.sub(' ', value)}")
    lines.append("\r\n")
    return "\r\n".join(lines).encode("latin-1", "replace")


_CONTROL = re.compile(r"[\r\n\0]+")
_MAX_LINE = 65536
_MAX_HEADERS = 100


class RemoteProtocolError(ValueError):
    """The upstream's answer is not HTTP/1.x as RFC 9112 frames it."""


def _read_answer(
    rfile: BinaryIO, method: str
) -> tuple[int, tuple[tuple[str, str], ...], bytes, bool]:
    """Status, headers (names as sent), body (de-chunked, not decoded) and whether the
    connection ends with it. A plain reader: the email parser http.client uses cost a
    third of the proxy's time on a small request."""
    while True:
        version, status = _status_line(rfile)
        headers = _header_lines(rfile)
        if not 100 <= status < 200 or status == 101:
            break  # an interim answer (100 Continue) is skipped, as http.client does
    named: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        named[key] = f"{named[key]}, {value}" if key in named else value
    tokens = {t.strip().lower() for t in named.get("connection", "").split(",")}
    will_close = "close" in tokens or (version == "HTTP/1.0" and "keep-alive" not in tokens)
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return status, headers, b"", will_close
    if "chunked" in named.get("transfer-encoding", "").lower():
        reader = ChunkedReader(rfile.read)
        pieces = []
        while piece := reader.read(PIECE):
            pieces.append(piece)
        return status, headers, b"".join(pieces), will_close
    length = named.get("content-length")
    if length is None:
        return status, headers, rfile.read(), True  # to the end of the connection
    if not length.strip().isdigit():
        raise RemoteProtocolError("bad Content-Length")
    size = int(length)
    data = rfile.read(size)
    if len(data) < size:
        raise RemoteProtocolError("answer body cut short")
    return status, headers, data, will_close


def _status_line(rfile: BinaryIO) -> tuple[str, int]:
    line = rfile.readline(_MAX_LINE + 1)
    if not line:
        raise RemoteProtocolError("connection closed without an answer")
    version, _, rest = line.decode("latin-1").partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise RemoteProtocolError("not an HTTP/1.x status line")
    return version, int(code)


def _header_lines(rfile: BinaryIO) -> tuple[tuple[str, str], ...]:
    headers: list[tuple[str, str]] = []
    while True:
        line = rfile.readline(_MAX_LINE + 1)
        if len(line) > _MAX_LINE:
            raise RemoteProtocolError("header line too long")
        if line in (b"\r\n", b"\n", b""):
            return tuple(headers)
        text = line.decode("latin-1").rstrip("\r\n")
        if text[:1] in (" ", "\t") and headers:  # obsolete line folding
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {text.strip()}")
            continue
        name, colon, value = text.partition(":")
        if not colon:
            raise RemoteProtocolError("header line without a colon")
        headers.append((name, value.strip(" \t")))
        if len(headers) > _MAX_HEADERS:
            raise RemoteProtocolError("too many headers")


def _pieces(blob: Blob) -> Iterator[bytes]:
    yield from blob.pieces(PIECE)


def _has_body(headers: tuple[tuple[str, str], ...]) -> bool:
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


def _request_headers(headers: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    dropped = _hop_by_hop(headers) | _OWN_REQUEST
    kept = [(name, value) for name, value in headers if name.lower() not in dropped]
    if not any(name.lower() == "accept-encoding" for name, _ in kept):
        kept.append(("Accept-Encoding", "identity"))
    return kept


def _answer_headers(headers: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    dropped = _hop_by_hop(headers) | _OWN_ANSWER
    return tuple((name, value) for name, value in headers if name.lower() not in dropped)


# --- reading an answer -------------------------------------------------------------------


def decode_answer(status: int, headers: tuple[tuple[str, str], ...], body: bytes) -> Decoded:
    """The trace's `Answered` for one upstream answer (see the module docstring)."""
    if status != 200:
        return Decoded(Answered("http-error", http_status=status))
    named = {name.lower(): value for name, value in headers}
    die = _DIE.match(named.get("x-kaltura", ""))
    if die is not None and not body:
        return Decoded(Answered("error", http_status=200, code=die.group(1)))
    text = _decompressed(body, named.get("content-encoding", "")).decode("utf-8", "replace")
    result = _parse(text.strip())
    if result is _UNREAD:
        return Decoded(Answered("ok", 200), understood=False)
    return _from_result(result)


_UNREAD = object()


def decode_items(headers: tuple[tuple[str, str], ...], body: bytes) -> list[Decoded] | None:
    """A multirequest's answers one by one (JSON or XML), or None when unreadable."""
    named = {name.lower(): value for name, value in headers}
    text = _decompressed(body, named.get("content-encoding", "")).decode("utf-8", "replace")
    text = text.strip()
    try:
        if text.startswith("<"):
            result = ElementTree.fromstring(text).find("result")
            items = [] if result is None else [_xml_value(item) for item in result]
        else:
            parsed = json.loads(text)
            items = parsed if isinstance(parsed, list) else []
    except (ValueError, ElementTree.ParseError):
        return None
    return [_from_result(item) for item in items]


def _decompressed(body: bytes, encoding: str) -> bytes:
    if encoding.strip().lower() in ("gzip", "x-gzip", "deflate"):
        try:
            return zlib.decompress(body, wbits=47)  # gzip or zlib, by the header
        except zlib.error:
            return b""
    return body


def _parse(text: str) -> object:
    """A result in any of Kaltura's serializations, as plain values (or `_UNREAD`)."""
    try:
        if text.startswith("<"):
            return _xml_result(text)
        if re.match(r"[A-Za-z_$][\w$.]*\(", text) and text.endswith(");"):
            text = text[text.index("(") + 1 : -2]  # JSONP
        elif text[:2] in ("O:", "a:", "N;", "s:", "i:", "b:", "d:"):
            return _php_result(text)
        return json.loads(text) if text else None
    except (ValueError, ElementTree.ParseError):
        return _UNREAD


def _from_result(result: object) -> Decoded:
    if isinstance(result, str):
        return Decoded(Answered("ok", 200), ks=result)
    if not isinstance(result, Mapping):
        return Decoded(Answered("ok", 200))  # null (delete), a multirequest's list
    kind = result.get("objectType")
    if kind == "KalturaAPIException":
        return Decoded(Answered("error", http_status=200, code=_text(result.get("code"))))
    if kind != "KalturaUploadToken":
        return Decoded(Answered("ok", 200))
    return Decoded(
        Answered(
            "ok",
            200,
            status=_int(result.get("status")),
            uploaded_file_size=_int(result.get("uploadedFileSize")),
            token_id=_text(result.get("id")),
        )
    )


def _xml_result(text: str) -> object:
    root = ElementTree.fromstring(text)
    result = root.find("result")
    if result is None:
        raise ValueError("no <result>")
    return _xml_value(result)


def _xml_value(result: ElementTree.Element) -> object:
    error = result.find("error")
    if error is not None:
        return {"objectType": "KalturaAPIException", "code": error.findtext("code")}
    if len(result) == 0:
        return result.text or None  # a KS, or the empty result of a delete
    return {child.tag: child.text for child in result if len(child) == 0}


def _php_result(text: str) -> object:
    if text.startswith("N;"):
        return None
    if text.startswith("a:4:") and _PHP_ERROR in text:  # phpserial's error: an array
        code = _PHP_CODE.search(text)
        return {"objectType": "KalturaAPIException", "code": code and code.group(1)}
    if text.startswith('O:18:"KalturaUploadToken"'):
        size = _PHP_SIZE.search(text)
        return {
            "objectType": "KalturaUploadToken",
            "status": (found := _PHP_STATUS.search(text)) and found.group(1),
            "uploadedFileSize": size and next(g for g in size.groups() if g is not None),
            "id": (found_id := _PHP_ID.search(text)) and found_id.group(1),
        }
    string = _PHP_STRING.match(text)
    return string.group(1) if string is not None else {}


def _int(value: Any) -> int | None:
    try:
        return None if value in (None, "") else int(float(value))
    except (TypeError, ValueError):
        return None


def _text(value: object) -> str | None:
    return None if value is None else str(value)
