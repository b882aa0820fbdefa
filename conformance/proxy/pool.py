"""The fast way out: idle keep-alive sockets to one upstream (`Pool`) and one request on
one of them with its body sent a piece at a time (`Outgoing`). The request head and a small
body go in one write; the answer is framed by `answer_reader`: httpx and the email-package
header parsing of `http.client` were most of the proxy's time on a small request."""

from __future__ import annotations

import base64
import contextlib
import re
import select
import socket
import ssl
import threading
from urllib.parse import unquote, urlsplit

from conformance.endpoints.bodies import BodyError
from conformance.proxy.answer_reader import read_answer
from conformance.proxy.messages import (
    UpstreamAnswer,
    UpstreamFailure,
    answer_of,
    request_headers,
)

__all__ = ["Outgoing", "Pool"]


class Pool:
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
        self._idle: list[Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        self._tls = ssl.create_default_context() if self.https else None

    def get(self) -> Connection:
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
        return Connection(sock)

    def put(self, connection: Connection) -> None:
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


class Connection:
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
        pool: Pool,
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
        self._sock: Connection | None = None
        sent = request_headers(headers, length)
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
            self._held = data[last : last + 1]
            with memoryview(data) as view:  # all but the last byte, not copied
                self._write(view[:last])
            return
        self._write(data)

    def _write(self, data: bytes | memoryview) -> None:
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
            status, headers, data, will_close = read_answer(sock.rfile, self._method)
        except (OSError, ValueError, BodyError) as error:
            sock.close()
            self._fail(error)
            assert self._failure is not None
            return self._failure
        if will_close or self._failure is not None:
            sock.close()
        else:
            self._pool.put(sock)
        return answer_of(status, headers, data)

    def _fail(self, error: BaseException, *, connecting: bool = False) -> None:
        if self._failure is None:
            # The type only: a message may quote the URL, and the URL may carry a KS.
            kind = "ConnectError" if connecting else type(error).__name__
            self._failure = UpstreamFailure(f"{kind} from {self._pool.host}")


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
