"""Item 6 of issue 14, the streaming path: a body goes on to the upstream while it arrives
when no fault can refuse it, byte for byte; a request a fault refuses never reaches the
upstream (checked on the upstream's own trace), also when the refusal comes after the
streaming began; and a client that vanishes mid-body leaves the upstream's request
aborted, not waiting for bytes that will never come."""

from __future__ import annotations

import hashlib
import io
import socket
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest

from conformance.budget import Budget
from conformance.endpoints import EndpointConfig, KalturaEndpoint
from conformance.endpoints.server import LoopbackServer
from conformance.faults import Fault, FaultKind, FaultPlan, NthDataRequest
from conformance.model import Caller
from conformance.proxy.answer_reader import read_answer as _read_answer
from conformance.proxy.endpoint import ProxyConfig, ProxyEndpoint
from conformance.proxy.upstream import (
    HeldBody,
    Outgoing,
    Threaded,
    Upstream,
    UpstreamFailure,
)

if TYPE_CHECKING:
    from conftest import Site, SiteFactory

UPLOAD = "/api_v3/service/uploadtoken/action/upload"
BOUNDARY = "stream-boundary"


# The pooled sockets, or httpx through the budget (live mode's way).
_WAYS: dict[str, dict[str, Any]] = {
    "pooled": {},
    "budgeted": {"budget": Budget(max_rps=1000.0)},
}


def _token(site: Site) -> str:
    return str(site.api().call("uploadToken", "add", {"uploadToken:fileName": "f"})["id"])


def _streams(proxy: ProxyEndpoint) -> list[Outgoing | HeldBody | None]:
    """Record what the proxy answered each time the loopback server asked to stream."""
    seen: list[Outgoing | HeldBody | None] = []
    original = proxy.stream_body

    def spy(*args: Any) -> Outgoing | HeldBody | None:
        outgoing = original(*args)
        seen.append(outgoing)
        return outgoing

    proxy.stream_body = spy  # type: ignore[method-assign]
    return seen


def _multipart(fields: dict[str, str], data: bytes) -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="fileData"; '
        'filename="f.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
    )
    return ("".join(parts) + head).encode() + data + f"\r\n--{BOUNDARY}--\r\n".encode()


def _post(
    site: Site,
    query: dict[str, object],
    body: bytes,
    content_type: str = f"multipart/form-data; boundary={BOUNDARY}",
) -> httpx.Response:
    return site.client().post(
        site.url + UPLOAD, params=query, content=body, headers={"Content-Type": content_type}
    )


def _data(size: int) -> bytes:
    return bytes(range(256)) * (size // 256) + bytes(range(size % 256))


@pytest.mark.parametrize("ks_in", ["query", "body"])
@pytest.mark.parametrize("way", ["pooled", "budgeted"])
def test_a_body_is_streamed_on_byte_exact(make_site: SiteFactory, ks_in: str, way: str) -> None:
    site = make_site(**_WAYS[way])
    seen = _streams(site.proxy)
    token = _token(site)
    data = _data(3 << 20)
    params = {"uploadTokenId": token, "format": "1", "resume": "0", "finalChunk": "1"}
    query: dict[str, object] = {"ks": site.ks} if ks_in == "query" else {}
    fields = {**params, "ks": site.ks} if ks_in == "body" else params
    response = _post(site, query, _multipart(fields, data))
    assert response.json()["uploadedFileSize"] == str(len(data))
    assert isinstance(seen[-1], Outgoing if way == "pooled" else Threaded)  # no plan: streamed
    pid = site.partner.partner_id
    expected = hashlib.sha256(data).hexdigest()
    assert site.upstream.file_digest(pid, token) == expected
    assert site.proxy.shadow.file_digest(pid, token) == expected
    assert site.proxy.shadow.disagreements() == ()
    (proxied,) = [e for e in site.proxy_exchanges() if e.is_data_request]
    (upstream,) = [e for e in site.upstream_exchanges() if e.is_data_request]
    assert proxied.payload == upstream.payload  # same size, digest and head
    assert (proxied.answer, proxied.applied) == (upstream.answer, True)
    if way == "budgeted":
        assert site.proxy.upstream.budgeted is not None
        assert site.proxy.upstream.budgeted.used.bytes_sent > len(data)  # counted, streamed too


def test_a_plan_that_cannot_refuse_lets_bodies_stream(site: Site) -> None:
    site.proxy.attach(
        site.partner.partner_id, FaultPlan((Fault(NthDataRequest(1), FaultKind.DELAY),))
    )
    seen = _streams(site.proxy)
    token = _token(site)
    query = {"ks": site.ks, "uploadTokenId": token, "format": 1, "resume": 0, "finalChunk": 1}
    response = _post(site, query, _multipart({}, b"abc"))
    assert response.json()["uploadedFileSize"] == "3"
    assert seen[-1] is not None


@pytest.mark.parametrize("ks_in", ["query", "body"])
def test_a_refused_request_is_never_forwarded(site: Site, ks_in: str) -> None:
    site.proxy.attach(
        site.partner.partner_id, FaultPlan((Fault(NthDataRequest(1), FaultKind.KALTURA_ERROR),))
    )
    seen = _streams(site.proxy)
    token = _token(site)
    params = {"uploadTokenId": token, "format": "1", "resume": "0", "finalChunk": "1"}
    query: dict[str, object] = {"ks": site.ks} if ks_in == "query" else {}
    fields = {**params, "ks": site.ks} if ks_in == "body" else params
    response = _post(site, query, _multipart(fields, _data(1 << 20)))
    assert response.json()["code"] == "INTERNAL_SERVERL_ERROR"
    held = seen[-1]  # a refusing plan: not streamed from the head
    assert held is None or (isinstance(held, HeldBody) and held.outgoing is None)
    assert [e for e in site.upstream_exchanges() if e.is_data_request] == []


@pytest.mark.parametrize(
    "content_type",
    [
        f"multipart/form-data; boundary={BOUNDARY}",
        # PHP (rfc1867.c) takes the first `boundary` as written, then any case: the head is
        # searched for the delimiter the body will be parsed by, not another one.
        f"multipart/form-data; BOUNDARY=not-this-one; boundary={BOUNDARY}",
    ],
)
def test_the_fields_before_the_file_decide_when_the_query_cannot(
    site: Site, content_type: str
) -> None:
    """Another partner's plan could refuse: the query has no KS, the fields before the
    file part do, and it is not that partner's: streamed from there on."""
    other = site.upstream.add_partner()
    site.proxy.attach(
        other.partner_id, FaultPlan((Fault(NthDataRequest(1), FaultKind.KALTURA_ERROR),))
    )
    seen = _streams(site.proxy)
    token = _token(site)
    fields = {"ks": site.ks, "uploadTokenId": token, "format": "1", "resume": "0"}
    fields["finalChunk"] = "1"
    data = _data(3 << 20)
    response = _post(site, {}, _multipart(fields, data), content_type)
    assert response.json()["uploadedFileSize"] == str(len(data))
    held = seen[-1]
    assert isinstance(held, HeldBody)
    assert held.outgoing is not None  # decided on the fields, then streamed
    expected = hashlib.sha256(data).hexdigest()
    assert site.upstream.file_digest(site.partner.partner_id, token) == expected
    assert site.proxy.shadow.disagreements() == ()


def test_a_file_before_the_fields_is_stored_and_forwarded(site: Site) -> None:
    other = site.upstream.add_partner()
    site.proxy.attach(
        other.partner_id, FaultPlan((Fault(NthDataRequest(1), FaultKind.KALTURA_ERROR),))
    )
    seen = _streams(site.proxy)
    token = _token(site)
    data = _data(1 << 20)
    file_first = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="fileData"; filename="f.bin"\r\n\r\n'
    ).encode() + data
    fields = {"ks": site.ks, "uploadTokenId": token, "format": "1", "finalChunk": "1"}
    rest = "".join(
        f'\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}'
        for name, value in fields.items()
    )
    response = _post(site, {}, file_first + f"{rest}\r\n--{BOUNDARY}--\r\n".encode())
    assert response.json()["uploadedFileSize"] == str(len(data))
    held = seen[-1]
    assert isinstance(held, HeldBody)
    assert held.outgoing is None  # no KS before the file: kept whole, then forwarded
    expected = hashlib.sha256(data).hexdigest()
    assert site.upstream.file_digest(site.partner.partner_id, token) == expected


@pytest.mark.parametrize("way", ["pooled", "budgeted"])
def test_a_refusal_after_streaming_began_never_completes_upstream(
    make_site: SiteFactory, way: str
) -> None:
    """A plan attached while the body was on its way (or a decision that could not see
    it): the last byte was held back, the upstream connection is closed instead."""
    site = make_site(**_WAYS[way])
    token = _token(site)
    original = site.proxy.stream_body

    def attach_meanwhile(*args: Any) -> Outgoing | HeldBody | None:
        outgoing = original(*args)
        site.proxy.attach(
            site.partner.partner_id,
            FaultPlan((Fault(NthDataRequest(1), FaultKind.HTTP_ERROR, status=503),)),
        )
        return outgoing

    site.proxy.stream_body = attach_meanwhile  # type: ignore[method-assign]
    query = {"ks": site.ks, "uploadTokenId": token, "format": 1, "resume": 0, "finalChunk": 1}
    response = _post(site, query, _multipart({}, _data(2 << 20)))
    assert response.status_code == 503
    site.proxy.stream_body = original  # type: ignore[method-assign]
    assert [e for e in site.upstream_exchanges() if e.is_data_request] == []
    get = site.api(direct=True).call("uploadToken", "get", {"uploadTokenId": token})
    assert get.get("uploadedFileSize") in (None, "0", 0)  # nothing applied upstream
    assert get["status"] == 0  # PENDING


@pytest.fixture(params=["pooled", "budgeted"])
def servers(
    request: pytest.FixtureRequest,
) -> Iterator[tuple[LoopbackServer[KalturaEndpoint], str, str, str]]:
    """An upstream on a loopback server we can watch, and the proxy in front of it."""
    upstream = KalturaEndpoint(EndpointConfig(final_wait=0.3))
    partner = upstream.add_partner()
    ks = upstream.start_session(partner)
    with LoopbackServer(upstream) as upstream_server:
        proxy = ProxyEndpoint(ProxyConfig(upstream_server.url, **_WAYS[request.param]))
        proxy.tell(ks, Caller(partner.partner_id))
        with LoopbackServer(proxy) as proxy_server:
            with httpx.Client(timeout=10, trust_env=False) as client:
                token = client.post(
                    proxy_server.url + "/api_v3/service/uploadtoken/action/add",
                    data={"ks": ks, "format": 1, "uploadToken:fileName": "f"},
                ).json()["id"]
            yield upstream_server, proxy_server.url, ks, str(token)
        proxy.close()
    upstream.close()


def test_a_client_gone_mid_body_aborts_the_upstream_request(
    servers: tuple[LoopbackServer[KalturaEndpoint], str, str, str],
) -> None:
    upstream_server, url, ks, token = servers
    body = _multipart({}, _data(4 << 20))
    query = urlencode({"ks": ks, "uploadTokenId": token, "format": 1, "resume": 0})
    address = urlsplit(url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(
            f"POST {UPLOAD}?{query} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n\r\n".encode()
        )
        sock.sendall(body[: len(body) // 2])
        deadline = time.monotonic() + 10
        while upstream_server.open_connections < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert upstream_server.open_connections == 1  # the body is on its way upstream
    # The client is gone: the proxy closes its upstream connection, and the upstream's
    # request ends at once (not after its 120 s idle timeout).
    deadline = time.monotonic() + 5
    while upstream_server.open_connections and time.monotonic() < deadline:
        time.sleep(0.01)
    assert upstream_server.open_connections == 0
    endpoint = upstream_server.endpoint
    assert [e for e in endpoint.trace.exchanges() if e.is_data_request] == []


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        (
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
            b"X-A: 1\r\nX-A: 2\r\n\r\nhiNEXT",
            (200, (("Content-Length", "2"), ("X-A", "1"), ("X-A", "2")), b"hi", False),
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-F: a\r\n b\r\n\r\n"
            b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
            (200, (("Transfer-Encoding", "chunked"), ("X-F", "a b")), b"abcde", False),
        ),
        (b"HTTP/1.0 503 No\r\n\r\nall of it", (503, (), b"all of it", True)),
        (
            b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
            (204, (("Connection", "close"),), b"", True),
        ),
    ],
)
def test_upstream_answers_are_read_as_framed(wire: bytes, expected: tuple[Any, ...]) -> None:
    assert _read_answer(io.BufferedReader(io.BytesIO(wire)), "POST") == expected


@pytest.mark.parametrize(
    "wire",
    [
        b"",
        b"SSH-2.0-x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
    ],
)
def test_a_malformed_upstream_answer_is_refused(wire: bytes) -> None:
    with pytest.raises(ValueError, match=r"."):
        _read_answer(io.BufferedReader(io.BytesIO(wire)), "POST")


def test_credentials_in_the_upstream_url_go_as_basic_auth() -> None:
    seen: list[bytes] = []
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def answer() -> None:
        connection, _ = listener.accept()
        with connection:
            data = b""
            while b"\r\n\r\n" not in data:
                data += connection.recv(65536)
            seen.append(data)
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnull")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    upstream = Upstream(f"http://us%40er:p%3Ass@127.0.0.1:{port}/base/")
    try:
        answer_ = upstream.forward("GET", "/api_v3/x?a=1", (("X-Y", "z"),), None)
    finally:
        upstream.close()
        thread.join(5)
        listener.close()
    assert not isinstance(answer_, UpstreamFailure)
    assert answer_.body == b"null"
    head = seen[0].decode("latin-1")
    assert head.startswith("GET /base/api_v3/x?a=1 HTTP/1.1\r\n")
    assert f"Host: 127.0.0.1:{port}\r\n" in head
    assert "Authorization: Basic dXNAZXI6cDpzcw==\r\n" in head  # us@er:p:ss
    assert "X-Y: z\r\n" in head
    assert "Accept-Encoding: identity\r\n" in head
