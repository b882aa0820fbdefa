"""Bad input on the loopback server, over raw sockets where httpx would not send it.

Every case gets the Kaltura error object the real server gives (exact code), or a plain
4xx and a closed connection, or just a closed connection; never a Python traceback. After
each one the server still answers, its connections and threads go back to what they were,
no temporary file stays open, and no server thread hit an unexpected error.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx
import pytest

from conformance.content import SourceFile
from conformance.endpoints import KalturaEndpoint
from conformance.endpoints.bodies import BodyLimits
from conformance.endpoints.core import SPOOL_THRESHOLD
from conformance.endpoints.server import LoopbackServer
from conformance.model import TokenResult

if TYPE_CHECKING:
    from conftest import Kit

PARTIAL_UPLOAD = 1
GET = "/api_v3/service/uploadtoken/action/get"
UPLOAD = "/api_v3/service/uploadtoken/action/upload"
BOUNDARY = "b0undary"
SOCKET_TIMEOUT = 3.0
DISCARDED_CODE = "MISSING_MANDATORY_PARAMETER"  # uploadTokenId, as the model orders errors


def _open_files() -> int:
    """This process's open file descriptors other than sockets (temporary files show here)."""
    count = 0
    for name in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor is gone already
            if not os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
                count += 1
    return count


def multipart(fields: dict[str, str], file: bytes | None = None, name: str = "fileData") -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    if file is not None:
        head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="c.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        )
        parts.append(head.encode() + file + b"\r\n")
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def request_bytes(
    target: str, body: bytes = b"", headers: dict[str, str] | None = None, method: str = "POST"
) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1"]
    all_headers = {
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        "Content-Length": str(len(body)),
    }
    all_headers.update(headers or {})
    lines += [f"{key}: {value}" for key, value in all_headers.items() if value]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class Site:
    """A loopback server with a partner, a KS and a PARTIAL_UPLOAD token (1000 bytes)."""

    kit: Kit
    server: LoopbackServer
    endpoint: KalturaEndpoint
    ks: str
    partner_id: int
    token_id: str
    threads: int
    files: int

    def client(self) -> httpx.Client:
        return self.kit.client(self.server.url)

    def connect(self) -> socket.socket:
        return socket.create_connection((self.server.host, self.server.port), SOCKET_TIMEOUT)

    def response(self, sock: socket.socket) -> tuple[int, str, bytes]:
        """Read one HTTP answer from `sock`: status, content type, body."""
        answer = http.client.HTTPResponse(sock)
        try:
            answer.begin()
            body = answer.read()
        finally:
            answer.close()
        assert b"Traceback" not in body
        return answer.status, answer.getheader("Content-Type") or "", body

    def closed(self, sock: socket.socket) -> bool:
        """Whether the server closed `sock` (EOF or reset) within the socket timeout."""
        try:
            return sock.recv(1) == b""
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False

    def raw(self, data: bytes, *, closes: bool = True) -> tuple[int, str, bytes, bool]:
        """Send `data` on a new connection: the answer, and whether the server closed.
        `closes=False`: the caller does not ask (a kept-alive connection would make it
        wait out the socket timeout to find out), and the last item is False."""
        with self.connect() as sock:
            sock.sendall(data)
            status, content_type, body = self.response(sock)
            return status, content_type, body, closes and self.closed(sock)

    def nothing_but_a_close(self, data: bytes) -> None:
        """Send `data`: the server closes the connection without answering."""
        with self.connect() as sock:
            sock.sendall(data)
            received = b""
            with contextlib.suppress(ConnectionResetError):
                while chunk := sock.recv(65536):
                    received += chunk
            assert received == b""

    def token(self) -> tuple[int, int]:
        result = self.endpoint.token(self.partner_id, self.token_id)
        assert isinstance(result, TokenResult)
        return int(result.token.status), int(result.token.uploaded_file_size or 0)

    def form(self, **fields: str) -> dict[str, str]:
        return {"ks": self.ks, "uploadTokenId": self.token_id, "format": "1"} | fields

    def assert_healthy(self) -> None:
        with self.client() as client:
            answer = client.post(GET, data=self.form()).json()
            assert answer["id"] == self.token_id
        self.kit.wait_until(lambda: self.server.open_connections == 0, "connections to close")
        self.kit.wait_until(
            lambda: threading.active_count() <= self.threads, "handler threads to end"
        )
        self.kit.wait_until(lambda: _open_files() <= self.files, "temporary files to close")
        self.server.check()


@contextlib.contextmanager
def open_site(
    kit: Kit, endpoint: KalturaEndpoint, limits: BodyLimits | None = None
) -> Iterator[Site]:
    partner = endpoint.add_partner()
    ks = endpoint.start_session(partner)
    threads, files = threading.active_count(), _open_files()
    with LoopbackServer(endpoint, limits=limits) as server:
        with kit.client(server.url) as client:
            token_id = kit.add_token(client, ks)
            opened = kit.send_chunk(client, ks, token_id, SourceFile(1000, 1).read(0, 1000),
                                    resume=False, final=False, resume_at=0)  # fmt: skip
            assert kit.upload_json(opened)["status"] == PARTIAL_UPLOAD
        site = Site(kit, server, endpoint, ks, partner.partner_id, token_id, threads + 1, files)
        site.assert_healthy()
        yield site


@pytest.fixture
def site(kit: Kit, endpoint: KalturaEndpoint) -> Iterator[Site]:
    with open_site(kit, endpoint) as made:
        yield made


def _kaltura_error(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200
    assert "Traceback" not in response.text
    answer: dict[str, Any] = response.json()
    assert answer["objectType"] == "KalturaAPIException", answer
    return answer


# -- bodies PHP would parse, and what Kaltura answers ------------------------------------


def test_a_multipart_body_cut_inside_the_file_part(site: Site) -> None:
    body = multipart(site.form(resume="true", finalChunk="false", resumeAt="1000"), b"x" * 100)
    cut = body[: body.index(b"x" * 100) + 50]  # no closing boundary: PHP's UPLOAD_ERR_PARTIAL
    with site.client() as client:
        response = client.post(
            UPLOAD,
            content=cut,
            headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}"},
        )
    assert _kaltura_error(response)["code"] == "UPLOAD_ERROR"
    assert site.token() == (PARTIAL_UPLOAD, 1000)
    site.assert_healthy()


def test_a_multipart_body_without_its_boundary(site: Site) -> None:
    body = multipart(site.form(), b"x" * 100)
    with site.client() as client:
        response = client.post(
            f"{UPLOAD}?format=1", content=body, headers={"content-type": "multipart/form-data"}
        )
    answer = _kaltura_error(response)  # PHP parses nothing: the first argument is missing
    assert answer["code"] == "MISSING_MANDATORY_PARAMETER"
    assert answer["args"] == {"PARAM_NAME": "uploadTokenId"}
    site.assert_healthy()


def test_a_missing_file_part(site: Site) -> None:
    with site.client() as client:
        response = client.post(UPLOAD, data=site.form(resume="true", resumeAt="1000"))
    answer = _kaltura_error(response)
    assert answer["code"] == "MISSING_MANDATORY_PARAMETER"
    assert answer["args"] == {"PARAM_NAME": "fileData"}
    site.assert_healthy()


def test_a_text_field_named_filedata(site: Site) -> None:
    with site.client() as client:
        response = client.post(UPLOAD, data=site.form(fileData="not a file"))
    assert _kaltura_error(response)["code"] == "UPLOAD_ERROR"
    site.assert_healthy()


@pytest.mark.parametrize("ks", ["not-a-ks", "YWJjfGRlZg==", ""])
def test_a_bad_ks(site: Site, ks: str) -> None:
    with site.client() as client:
        response = client.post(UPLOAD, data=site.form(ks=ks), files={"fileData": ("c", b"x")})
    code = _kaltura_error(response)["code"]
    # No KS: partner 0's no-session role may not upload (KalturaBaseService.php:161).
    assert code == ("SERVICE_FORBIDDEN" if ks == "" else "INVALID_KS")
    assert site.token() == (PARTIAL_UPLOAD, 1000)
    site.assert_healthy()


def test_an_unknown_token(site: Site) -> None:
    with site.client() as client:
        form = site.form(uploadTokenId="0_0123456789abcdef0123456789abcdef")
        response = client.post(UPLOAD, data=form, files={"fileData": ("c", b"x")})
    assert _kaltura_error(response)["code"] == "UPLOAD_TOKEN_NOT_FOUND"
    site.assert_healthy()


@pytest.mark.parametrize("resume_at", ["abc", "1e30", "1e400", "-1e400"])
def test_odd_resume_at_values_are_cast_like_php(site: Site, resume_at: str) -> None:
    """§3.4: "abc" is 0 (the part lies inside the file: a no-op), 1e30 and 1e400 (INF) are
    far ahead (stored, never appended), -INF is an orphan. Nothing fails, nothing grows."""
    with site.client() as client:
        form = site.form(resume="true", finalChunk="false", resumeAt=resume_at)
        response = client.post(UPLOAD, data=form, files={"fileData": ("c", b"x" * 10)})
    assert response.status_code == 200
    answer = response.json()
    assert (answer["status"], answer["uploadedFileSize"]) == (PARTIAL_UPLOAD, "1000")
    (exchange,) = [e for e in site.endpoint.trace if e.params.get("resumeAt") == resume_at]
    assert exchange.resume_at == {"abc": 0.0, "1e30": 1e30, "1e400": float("inf")}.get(
        resume_at, float("-inf")
    )
    site.assert_healthy()


def test_a_close_at_an_infinite_offset_cannot_match(site: Site) -> None:
    with site.client() as client:
        form = site.form(resume="true", finalChunk="true", resumeAt="1e400")
        response = client.post(UPLOAD, data=form, files={"fileData": ("c", b"x" * 10)})
    assert _kaltura_error(response)["code"] == "UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE"
    site.assert_healthy()


# -- the wire ----------------------------------------------------------------------------


def test_a_client_that_disconnects_mid_body(site: Site) -> None:
    size = SPOOL_THRESHOLD + (2 << 20)
    payload = SourceFile(size, 2).read(1000, 1000 + size)
    body = multipart(site.form(resume="true", finalChunk="false", resumeAt="1000"), payload)
    head = request_bytes(f"{UPLOAD}?format=1", body)[: -len(body)]
    with site.connect() as sock:
        sock.sendall(head + body[: SPOOL_THRESHOLD + (1 << 20)])  # past it: a temp file
        site.kit.wait_until(lambda: _open_files() > site.files, "the part to reach a temp file")
    site.kit.wait_until(lambda: site.server.open_connections == 0, "the server to notice")
    assert site.token() == (PARTIAL_UPLOAD, 1000)
    assert not [e for e in site.endpoint.trace if e.resume]  # never reached the endpoint
    site.assert_healthy()


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x00\xff GARBAGE\r\n\r\n",
        b"GET /api_v3/service/uploadtoken/action/get\r\n\r\n",
        b"POST " + GET.encode() + b" HTTP/1.1\r\nHost: x\r\nno colon here\r\n"
        b"Content-Length: 0\r\n\r\n",
        b"POST " + GET.encode() + b" HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n",
        b"POST " + GET.encode() + b" HTTP/1.1 extra\r\n\r\n",
        b"POST " + GET.encode() + b" HTTP/2.0\r\n\r\n",
        b"POST /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n",
    ],
    ids=["binary", "no-version", "no-colon", "huge-header", "four-words", "http2", "long-target"],
)
def test_garbage_on_the_socket_gets_a_plain_4xx_and_a_close(site: Site, garbage: bytes) -> None:
    status, content_type, _, closed = site.raw(garbage)
    assert 400 <= status < 500 or status == 505
    assert content_type.startswith("text/plain")
    assert closed
    assert len(site.endpoint.trace) == 3  # add, opening, the health check's get: nothing new
    site.assert_healthy()


@pytest.mark.parametrize("length", ["abc", "-5", "1_0", "5, 6"])
def test_a_bad_content_length_gets_a_plain_400_and_a_close(site: Site, length: str) -> None:
    status, content_type, _, closed = site.raw(request_bytes(GET, b"", {"Content-Length": length}))
    assert (status, closed) == (400, True)
    assert content_type.startswith("text/plain")
    assert len(site.endpoint.trace) == 3  # never reached the endpoint
    site.assert_healthy()


def _with_headers(target: str, body: bytes, *headers: str) -> bytes:
    """A request whose headers are given line by line (duplicates kept)."""
    lines = [f"POST {target} HTTP/1.1", "Host: 127.0.0.1", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def test_differing_duplicate_content_lengths_are_refused(site: Site) -> None:
    """RFC 9112 §6.3: two different lengths make the framing ambiguous (smuggling)."""
    body = urlencoded_get(site)
    sent = _with_headers(GET, body, FORM, "Content-Length: 3", f"Content-Length: {len(body)}")
    status, content_type, _, closed = site.raw(sent)
    assert (status, closed) == (400, True)
    assert content_type.startswith("text/plain")
    assert len(site.endpoint.trace) == 3
    site.assert_healthy()


@pytest.mark.parametrize("form", ["twice", "list"])
def test_identical_duplicate_content_lengths_are_one_length(site: Site, form: str) -> None:
    body = urlencoded_get(site)
    lengths = (
        [f"Content-Length: {len(body)}"] * 2
        if form == "twice"
        else [f"Content-Length: {len(body)}, {len(body)}"]
    )
    status, _, answer, _ = site.raw(_with_headers(GET, body, FORM, *lengths), closes=False)
    assert status == 200
    assert site.token_id.encode() in answer
    site.assert_healthy()


@pytest.mark.parametrize(
    "coding", ["chunked", "gzip, chunked", "chunked, gzip", "identity"], ids=str
)
def test_content_length_with_transfer_encoding_is_refused(site: Site, coding: str) -> None:
    """RFC 9112 §6.3 lets a server reject both headers together (nginx does) and then it
    must close the connection; codings other than a lone `chunked` are refused too (§6.1)."""
    body = _chunked(urlencoded_get(site), 7)
    sent = _with_headers(GET, body, FORM, f"Transfer-Encoding: {coding}", "Content-Length: 5")
    status, content_type, _, closed = site.raw(sent)
    assert (status, closed) == (400, True)
    assert content_type.startswith("text/plain")
    assert len(site.endpoint.trace) == 3
    site.assert_healthy()


@pytest.mark.parametrize(("coding", "expected"), [("gzip, chunked", 501), ("chunked, gzip", 400)])
def test_a_transfer_coding_other_than_chunked_is_refused(
    site: Site, coding: str, expected: int
) -> None:
    sent = _with_headers(
        GET, _chunked(urlencoded_get(site), 7), FORM, f"Transfer-Encoding: {coding}"
    )
    status, _, _, closed = site.raw(sent)
    assert (status, closed) == (expected, True)
    assert len(site.endpoint.trace) == 3
    site.assert_healthy()


FORM = "Content-Type: application/x-www-form-urlencoded"


def urlencoded_get(site: Site) -> bytes:
    return urlencode(site.form()).encode()


def test_a_body_over_post_max_size_is_discarded_like_php(
    kit: Kit, endpoint: KalturaEndpoint
) -> None:
    """post_max_size: PHP empties `$_POST` and `$_FILES` and the request goes on, so Kaltura
    answers for the arguments it misses; the body is read off the wire, keep-alive goes on."""
    with open_site(kit, endpoint, BodyLimits(max_body_size=4000)) as site:
        form = site.form(resume="true", finalChunk="false", resumeAt="1000")
        with site.client() as client:
            upload = client.post(
                UPLOAD + "?format=1", data=form, files={"fileData": ("c", b"x" * 5000)}
            )
            small = client.post(GET, data=site.form())  # the same connection goes on
        assert _kaltura_error(upload)["code"] == DISCARDED_CODE
        assert small.json()["id"] == site.token_id
        body = multipart(form, b"x" * 5000)
        chunked = request_bytes(
            UPLOAD + "?format=1",
            _chunked(body, 1000),
            {"Content-Length": "", "Transfer-Encoding": "chunked"},
        )
        status, _, answer, _ = site.raw(chunked, closes=False)
        assert status == 200
        assert DISCARDED_CODE.encode() in answer
        assert site.token() == (PARTIAL_UPLOAD, 1000)
        site.assert_healthy()


def _chunked(body: bytes, size: int) -> bytes:
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"


def test_a_chunked_upload_keeps_the_connection_in_step(site: Site) -> None:
    source = SourceFile(2000, 1)
    body = multipart(
        site.form(resume="true", finalChunk="false", resumeAt="1000"), source.read(1000, 2000)
    )
    head = request_bytes(UPLOAD, b"", {"Transfer-Encoding": "chunked", "Content-Length": ""})
    with site.connect() as sock:
        sock.sendall(head + _chunked(body, 333))
        status, content_type, answer = site.response(sock)
        assert (status, content_type) == (200, "application/json")
        assert b'"uploadedFileSize":"2000"' in answer
        sock.sendall(request_bytes(GET, multipart(site.form())))  # the same connection
        status, _, answer = site.response(sock)
        assert status == 200
        assert site.token_id.encode() in answer
    assert site.endpoint.file_digest(site.partner_id, site.token_id) == source.digest()
    site.assert_healthy()


def test_a_chunked_upload_from_httpx(site: Site) -> None:
    source = SourceFile(3000, 1)
    body = multipart(
        site.form(resume="true", finalChunk="true", resumeAt="1000"), source.read(1000, 3000)
    )
    with site.client() as client:
        response = client.post(
            UPLOAD,
            content=iter([body[:100], body[100:2000], body[2000:]]),
            headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}"},
        )
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.json()["status"] == 2
    assert site.endpoint.file_digest(site.partner_id, site.token_id) == source.digest()
    site.assert_healthy()


@pytest.mark.parametrize(
    "framing",
    [b"zz\r\nabc\r\n0\r\n\r\n", b"3\r\nabcdef\r\n0\r\n\r\n", b"3\r\nab", b"5;" + b"x" * 5000],
    ids=["bad-size", "no-crlf-after-data", "cut-off", "endless-size-line"],
)
def test_broken_chunked_framing_drops_the_connection(site: Site, framing: bytes) -> None:
    head = request_bytes(UPLOAD, b"", {"Transfer-Encoding": "chunked", "Content-Length": ""})
    with site.connect() as sock:
        sock.sendall(head + framing)
        sock.shutdown(socket.SHUT_WR)
        received = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                received += chunk
        assert received == b""
    site.assert_healthy()


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_get_and_put_read_the_query_string(site: Site, method: str) -> None:
    with site.client() as client:
        response = client.request(method, GET, params=site.form())
    assert response.status_code == 200
    assert response.json()["id"] == site.token_id
    site.assert_healthy()


def test_another_http_method_is_a_plain_error(site: Site) -> None:
    status, content_type, _, closed = site.raw(request_bytes(GET, method="DELETE"))
    assert status == 501
    assert content_type.startswith("text/plain")
    assert closed
    site.assert_healthy()


@pytest.mark.parametrize(
    "path", ["/", "/favicon.ico", "/index.php", "/service/uploadtoken/action/get", "/api_v33/"]
)
def test_a_path_outside_the_api_is_not_found(site: Site, path: str) -> None:
    """Outside /api_v3 there is no API: the web server's 404, not an error object, so a
    client with a wrong service URL fails here as it would on Kaltura."""
    with site.client() as client:
        response = client.post(path, params={"format": "1"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/plain")
    site.assert_healthy()


@pytest.mark.parametrize("path", ["/api_v3/", "/api_v3//index.php", "/api_v3/index.php"])
def test_the_api_root_names_no_service(site: Site, path: str) -> None:
    with site.client() as client:
        response = client.post(path, params={"format": "1"})
    assert _kaltura_error(response)["code"] == "SERVICE_NOT_SPECIFIED"
    site.assert_healthy()


def test_many_bad_clients_at_once(site: Site) -> None:
    """Garbage, vanishing clients and good requests at the same time: the good ones are
    answered and everything is cleaned up."""
    bad = [
        b"\x00\xff GARBAGE\r\n\r\n",
        request_bytes(UPLOAD, b"x" * 10, {"Content-Length": "100"}),
        request_bytes(UPLOAD, b"", {"Transfer-Encoding": "chunked", "Content-Length": ""}) + b"zz",
    ]
    errors: list[BaseException] = []

    def misbehave(data: bytes) -> None:
        try:
            with site.connect() as sock:
                sock.sendall(data)
                time.sleep(0.05)
        except OSError as error:  # pragma: no cover - reported below
            errors.append(error)

    workers = [threading.Thread(target=misbehave, args=(data,)) for data in bad * 3]
    for worker in workers:
        worker.start()
    with site.client() as client:
        for _ in range(5):
            assert client.post(GET, data=site.form()).json()["id"] == site.token_id
    for worker in workers:
        worker.join(timeout=10)
    assert not errors
    site.assert_healthy()
