"""The loopback server under bursts: its listen backlog and its cap on connections served
at once. Raw sockets on 127.0.0.1, bounded loops, no timing in any assertion."""

from __future__ import annotations

import contextlib
import http.client
import select
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from conformance.endpoints import KalturaEndpoint
from conformance.endpoints.server import LoopbackServer

if TYPE_CHECKING:
    from conftest import Kit

GET = "/api_v3/service/uploadtoken/action/get?format=1"
BURST = 100  # connects queued while nobody accepts: socketserver's backlog of 5 held 6
WAIT = 5.0  # generous: each connect completes at once, or only after SYN retransmits


def _connected(sockets: list[socket.socket]) -> int:
    """How many non-blocking connects complete (wait for all, or for WAIT seconds)."""
    pending = set(sockets)
    done = 0
    for _ in range(len(sockets) + 1):  # each pass completes at least one, or ends it
        if not pending:
            break
        _, writable, _ = select.select([], list(pending), [], WAIT)
        if not writable:
            break
        for sock in writable:
            pending.discard(sock)
            done += sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
    return done


def test_a_burst_of_connects_is_queued_not_dropped(endpoint: KalturaEndpoint) -> None:
    """Not started: nothing accepts, so only the listen queue holds the connects."""
    server = LoopbackServer(endpoint)
    assert server.backlog >= 128
    with contextlib.ExitStack() as stack:
        stack.callback(server.stop)
        sockets = [stack.enter_context(socket.socket()) for _ in range(BURST)]
        for sock in sockets:
            sock.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                sock.connect((server.host, server.port))
        assert _connected(sockets) == BURST


def _answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    response = http.client.HTTPResponse(sock)
    try:
        response.begin()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        response.close()


def _get(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    sock.sendall(f"GET {GET} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    return _answer(sock)


@pytest.fixture
def capped(endpoint: KalturaEndpoint) -> Iterator[LoopbackServer]:
    with LoopbackServer(endpoint, max_connections=2) as server:
        yield server


def test_connections_over_the_cap_get_a_quick_503_and_a_close(
    kit: Kit, capped: LoopbackServer
) -> None:
    address = (capped.host, capped.port)
    with socket.create_connection(address, 5) as one, socket.create_connection(address, 5) as two:
        for sock in (one, two):  # both served, and held open by keep-alive
            assert _get(sock)[0] == 200
        with socket.create_connection(address, 5) as third:
            status, headers, body = _get(third)
            assert status == 503
            assert headers["Connection"] == "close"
            assert b"503 Service Unavailable" in body
            assert third.recv(1) == b""  # closed, not left waiting
        assert capped.open_connections == 2
        assert _get(one)[0] == 200  # the served ones go on
    kit.wait_until(lambda: capped.open_connections == 0, "served connections to close")
    with socket.create_connection(address, 5) as later:  # room again
        assert _get(later)[0] == 200
    capped.check()


def test_a_refused_request_with_a_body_still_reads_its_503(capped: LoopbackServer) -> None:
    """The body is read and dropped after the answer: closing with unread bytes would
    reset the connection and lose the 503."""
    address = (capped.host, capped.port)
    body = b"x" * 300_000
    head = f"POST {GET} HTTP/1.1\r\nHost: a\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    with socket.create_connection(address, 5) as one, socket.create_connection(address, 5) as two:
        for sock in (one, two):
            assert _get(sock)[0] == 200
        with socket.create_connection(address, 5) as third:
            third.sendall(head + body)
            assert _answer(third)[0] == 503


@pytest.mark.parametrize("field", ["backlog", "max_connections"])
@pytest.mark.parametrize("value", [0, -1, True])
def test_limits_must_be_positive(endpoint: KalturaEndpoint, field: str, value: int) -> None:
    with pytest.raises(ValueError, match=field):
        LoopbackServer(endpoint, **{field: value})  # type: ignore[arg-type]
