"""The request head on the wire: raw sockets against a `LoopbackServer` whose handler echoes
the headers the connection handler gave it (a forwarding handler gets them as received,
`endpoints/raw.py`), so what is checked is what a handler acts on: fields, the interim
100 Continue, keep-alive and close, and the refusals (status, and a closed connection)."""

from __future__ import annotations

import http.client
import io
import json
import socket
from collections.abc import Iterator
from typing import TypedDict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.endpoints.core import IncomingRequest, Reply
from conformance.endpoints.raw import ForwardableRequest
from conformance.endpoints.request_head import MAX_LINE, MAX_LINES
from conformance.endpoints.server import LoopbackServer
from conformance.model import MemoryBlobFactory

SOCKET_TIMEOUT = 3.0


class Echo(TypedDict):
    method: str
    target: str
    headers: list[list[str]]
    body: str


class EchoHandler:
    """Answers every request with JSON: method, target, headers as received, body."""

    forwards_raw_body = True

    def __init__(self) -> None:
        self.blobs = MemoryBlobFactory()
        self.requests = 0

    def handle(self, request: IncomingRequest) -> Reply:
        self.requests += 1
        assert isinstance(request, ForwardableRequest)
        body = b""
        if request.raw is not None:
            body = request.raw.read(0, request.raw.size)
            request.raw.release()
        echo = {
            "method": request.method,
            "target": request.target,
            "headers": [list(field) for field in request.headers],
            "body": body.decode("latin-1"),
        }
        return Reply(200, "application/json", json.dumps(echo).encode())


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[LoopbackServer[EchoHandler], EchoHandler]]:
    handler = EchoHandler()
    with LoopbackServer(handler) as server:
        yield server, handler
        server.check()


@pytest.fixture
def server(
    served: tuple[LoopbackServer[EchoHandler], EchoHandler],
) -> LoopbackServer[EchoHandler]:
    return served[0]


def connect(server: LoopbackServer[EchoHandler]) -> socket.socket:
    return socket.create_connection((server.host, server.port), SOCKET_TIMEOUT)


def answer(sock: socket.socket) -> tuple[int, bytes]:
    response = http.client.HTTPResponse(sock)
    try:
        response.begin()
        return response.status, response.read()
    finally:
        response.close()


def echoed(sock: socket.socket) -> Echo:
    status, body = answer(sock)
    assert status == 200
    result: Echo = json.loads(body)
    return result


def closed(sock: socket.socket) -> bool:
    """Whether the server closed `sock` (EOF or reset) within the socket timeout."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def head(*lines: bytes, version: bytes = b"HTTP/1.1", target: bytes = b"/echo") -> bytes:
    return b"POST " + target + b" " + version + b"\r\n" + b"".join(lines) + b"\r\n"


def test_fields_reach_the_handler_as_sent(server: LoopbackServer[EchoHandler]) -> None:
    with connect(server) as sock:
        sock.sendall(
            head(
                b"Host: h\r\n",
                b"X-Tag: one\r\n",
                b"x-tag:two  \r\n",
                b"X-Empty:\r\n",
                b"X-Latin: caf\xe9\r\n",
                b"X-Fold: a\r\n  b\r\n",
                b"Content-Length: 0\r\n",
            )
        )
        assert echoed(sock)["headers"] == [
            ["Host", "h"],
            ["X-Tag", "one"],
            ["x-tag", "two  "],
            ["X-Empty", ""],
            ["X-Latin", "caf\xe9"],
            ["X-Fold", "a\r\n  b"],
            ["Content-Length", "0"],
        ]


def test_content_length_is_read_from_any_case(server: LoopbackServer[EchoHandler]) -> None:
    with connect(server) as sock:
        sock.sendall(head(b"content-LENGTH: 5\r\n") + b"hello")
        assert echoed(sock)["body"] == "hello"


def test_a_path_starting_with_two_slashes(server: LoopbackServer[EchoHandler]) -> None:
    with connect(server) as sock:
        sock.sendall(head(b"Content-Length: 0\r\n", target=b"//other.example/x"))
        assert echoed(sock)["target"] == "/other.example/x"


def test_expect_100_continue_gets_its_interim_answer_before_the_body(
    server: LoopbackServer[EchoHandler],
) -> None:
    with connect(server) as sock:
        sock.sendall(head(b"Expect: 100-Continue\r\n", b"Content-Length: 5\r\n"))
        interim = b""
        while not interim.endswith(b"\r\n\r\n"):
            piece = sock.recv(1)
            assert piece, "closed before the interim answer"
            interim += piece
        assert interim.startswith(b"HTTP/1.1 100 ")
        sock.sendall(b"hello")
        assert echoed(sock)["body"] == "hello"


def test_no_interim_answer_to_http_1_0(server: LoopbackServer[EchoHandler]) -> None:
    with connect(server) as sock:
        sock.sendall(
            head(b"Expect: 100-continue\r\n", b"Content-Length: 5\r\n", version=b"HTTP/1.0")
        )
        sock.sendall(b"hello")
        data = b""
        while piece := sock.recv(65536):
            data += piece
        assert data.startswith(b"HTTP/1.1 200 ")  # no 100 before it
        assert data.endswith(b'"body": "hello"}')


@pytest.mark.parametrize(
    ("version", "connection", "closes"),
    [
        (b"HTTP/1.1", b"", False),
        (b"HTTP/1.1", b"Connection: close\r\n", True),
        (b"HTTP/1.1", b"Connection: Keep-Alive\r\n", False),
        (b"HTTP/1.0", b"", True),
        (b"HTTP/1.0", b"Connection: keep-alive\r\n", False),
        (b"HTTP/1.0", b"Connection: CLOSE\r\n", True),
    ],
)
def test_keep_alive_and_close(
    server: LoopbackServer[EchoHandler], version: bytes, connection: bytes, closes: bool
) -> None:
    request = head(connection, b"Content-Length: 0\r\n", version=version)
    with connect(server) as sock:
        sock.sendall(request)
        echoed(sock)
        if closes:
            assert closed(sock)
        else:  # a second request on the same connection is answered
            sock.sendall(request)
            echoed(sock)


_FIELDS = b"".join(b"X-%d: v\r\n" % i for i in range(MAX_LINES))


@pytest.mark.parametrize(
    ("lines", "status"),
    [
        (b"Host: h\r\nno colon\r\nContent-Length: 5\r\n", 400),
        (b" X: a\r\nContent-Length: 0\r\n", 400),  # a continuation first
        (b"X : a\r\n", 400),
        (b": a\r\n", 400),
        (b"X: a\r\r\nContent-Length: 5\r\n", 400),  # a bare CR
        (_FIELDS, 431),  # 100 fields and the empty line: 101 lines
        (b"X: " + b"a" * MAX_LINE + b"\r\n", 431),
    ],
    ids=[
        "no-colon",
        "continuation",
        "blank-before-colon",
        "empty-name",
        "bare-cr",
        "too-many",
        "too-long",
    ],
)
def test_a_bad_head_gets_a_plain_answer_and_a_close(
    served: tuple[LoopbackServer[EchoHandler], EchoHandler], lines: bytes, status: int
) -> None:
    server, handler = served
    before = handler.requests
    with connect(server) as sock:
        sock.sendall(head(lines) + b"hello")
        assert answer(sock)[0] == status
        assert closed(sock)
    assert handler.requests == before  # never reached the handler


def test_ninety_nine_fields_are_served(server: LoopbackServer[EchoHandler]) -> None:
    fields = b"".join(b"X-%d: v\r\n" % i for i in range(MAX_LINES - 1))
    with connect(server) as sock:
        sock.sendall(head(fields))
        assert len(echoed(sock)["headers"]) == MAX_LINES - 1


_TOKENS = st.text(st.sampled_from("ABCXYZabcxyz-_!#~"), min_size=1, max_size=6)
_VALUES = st.text(st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"))


@settings(max_examples=25)
@given(st.lists(st.tuples(_TOKENS.map(lambda name: "X-" + name), _VALUES), max_size=8))
def test_what_the_email_parser_would_have_given(
    served: tuple[LoopbackServer[EchoHandler], EchoHandler], fields: list[tuple[str, str]]
) -> None:
    lines = b"".join(f"{name}: {value}\r\n".encode("latin-1") for name, value in fields)
    expected = http.client.parse_headers(io.BytesIO(lines + b"\r\n")).items()
    with connect(served[0]) as sock:
        sock.sendall(head(lines))
        assert [tuple(field) for field in echoed(sock)["headers"]] == expected
