"""Item 1 of issue 14: what the client sends reaches the upstream unchanged, what the
upstream answers reaches the client unchanged, and the proxy's trace is the record the
upstream's own endpoint made of the same requests."""

from __future__ import annotations

import gzip
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from conformance.clients.api import KalturaCallError
from conformance.clients.reference import UploadOptions, upload_file
from conformance.content import SourceFile
from conformance.endpoints.raw import ForwardableRequest
from conformance.endpoints.server import LoopbackServer
from conformance.model import Caller
from conformance.model.blobs import MemoryBlob
from conformance.proxy.endpoint import ProxyConfig, ProxyEndpoint
from conformance.proxy.upstream import Upstream

if TYPE_CHECKING:
    from conftest import Site

UPLOAD = "/api_v3/service/uploadtoken/action/upload"
# What a trace record says about the request and its answer (not when, nor on which
# connection: those are each server's own).
SAME = (
    "partner_id",
    "service",
    "action",
    "params",
    "token_id",
    "resume",
    "final_chunk",
    "resume_at",
    "payload",
    "data_index",
    "applied",
    "answer",
)


def _record(exchange: Any) -> dict[str, Any]:
    return {name: getattr(exchange, name) for name in SAME}


def test_a_reference_upload_through_the_proxy_is_traced_as_the_upstream_traced_it(
    site: Site,
) -> None:
    data = SourceFile(size=200_000, seed=7).read(0, 200_000)
    options = UploadOptions(chunk_size=64 << 10, concurrency=1)
    result = upload_file(site.api(), MemoryBlob(data), options=options)
    assert site.upstream.file_digest(site.partner.partner_id, result.token_id) is not None
    proxied = [_record(e) for e in site.proxy_exchanges()]
    upstream = [_record(e) for e in site.upstream_exchanges()]
    assert proxied == upstream
    assert [e["action"] for e in proxied] == ["add", *["upload"] * 4, "get"]
    assert all(e.answered_at is not None for e in site.proxy_exchanges())


def test_concurrent_chunks_are_traced_alike(site: Site) -> None:
    data = SourceFile(size=600_000, seed=8).read(0, 600_000)
    options = UploadOptions(chunk_size=64 << 10, concurrency=4)
    upload_file(site.api(), MemoryBlob(data), options=options)

    def key(record: dict[str, Any]) -> tuple[str, float]:
        return (str(record["action"]), float(record["resume_at"] or 0))

    def records(exchanges: list[Any]) -> list[dict[str, Any]]:
        # Arrival order, and so the data index, may differ between the two ends.
        return sorted(({**_record(e), "data_index": None} for e in exchanges), key=key)

    assert records(site.proxy_exchanges()) == records(site.upstream_exchanges())
    assert not site.proxy.shadow.disagreements()


def test_the_client_gets_the_upstream_bytes_status_and_headers(site: Site) -> None:
    token = site.api().call("uploadToken", "add", {"uploadToken:fileName": "a"})["id"]
    params = {"uploadTokenId": token, "ks": site.ks}
    for fmt in ("1", "2", "3", "9"):
        query = {**params, "format": fmt, "callback": "cb"}
        path = "/api_v3/service/uploadtoken/action/get"
        direct = site.client().get(site.upstream_url + path, params=query)
        proxied = site.client().get(site.url + path, params=query)
        assert proxied.status_code == direct.status_code == 200
        assert proxied.content == direct.content
        assert proxied.headers.multi_items() == direct.headers.multi_items()
    refused = site.client().post(site.url + "/api_v3/service/nope/action/x", data={"format": 1})
    assert refused.json()["code"] == "SERVICE_DOES_NOT_EXISTS"
    outside = site.client().get(site.url + "/elsewhere")
    assert outside.status_code == 404
    assert site.proxy_exchanges()[-1].answer.kind == "http-error"


def test_a_session_started_through_the_proxy_is_followed(site: Site) -> None:
    api = site.api(ks="")
    api.ks = None
    api.start_session(site.partner.partner_id, site.partner.admin_secret, user_id="u1")
    token = api.call("uploadToken", "add", {"uploadToken:fileName": "mine"})["id"]
    api.call("uploadToken", "get", {"uploadTokenId": token})
    assert not site.proxy.shadow.unmodelled()
    assert not site.proxy.shadow.disagreements()
    assert site.proxy_exchanges()[-1].partner_id == site.partner.partner_id
    assert [(t.token_id, t.partner_id) for t in site.proxy.created_tokens()] == [
        (token, site.partner.partner_id)
    ]


def test_tokens_created_through_the_proxy_are_recorded_from_the_upstream_answers(
    site: Site,
) -> None:
    api = site.api()
    made = [api.call("uploadToken", "add", {"uploadToken:fileName": f"f{i}"}) for i in range(3)]
    with pytest.raises(KalturaCallError, match="UPLOAD_TOKEN_MISSING_FILE_SIZE"):
        api.call("uploadToken", "add", {"uploadToken:autoFinalize": 1})  # no token made
    recorded = site.proxy.created_tokens()
    assert [t.token_id for t in recorded] == [token["id"] for token in made]
    assert {t.partner_id for t in recorded} == {site.partner.partner_id}


def test_a_chunked_request_body_is_forwarded_de_chunked(site: Site) -> None:
    token = site.api().call("uploadToken", "add", {"uploadToken:fileName": "c"})["id"]
    boundary = "b0undary"
    payload = b"x" * 70_000
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="fileData"; '
            'filename="c.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        + payload
        + f"\r\n--{boundary}--\r\n".encode()
    )

    def pieces() -> Any:
        for start in range(0, len(body), 10_000):
            yield body[start : start + 10_000]

    query = {"ks": site.ks, "uploadTokenId": token, "format": 1, "resume": 0, "finalChunk": 1}
    response = site.client().post(
        site.url + UPLOAD,
        params=query,
        content=pieces(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.json()["uploadedFileSize"] == str(len(payload))
    last = site.upstream_exchanges()[-1]
    assert last.payload is not None
    assert last.payload.size == len(payload)
    assert _record(site.proxy_exchanges()[-1]) == _record(last)


# --- the forwarding itself, against a scripted upstream ------------------------------------


class _Scripted:
    """An upstream that records what it was sent and answers what it is told."""

    def __init__(self, answer: httpx.Response) -> None:
        self.answer = answer
        self.seen: list[tuple[httpx.Request, bytes]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request, request.read()))
        # A body given as an iterator is streamed, as a real server's is (bytes would be
        # read at once, and the proxy reads the raw stream).
        answer = self.answer
        raw = getattr(answer, "raw_body", answer.content)
        return httpx.Response(
            answer.status_code, headers=answer.headers.multi_items(), content=iter([raw])
        )


@pytest.fixture
def scripted() -> Any:
    servers: list[LoopbackServer[ProxyEndpoint]] = []

    def make(answer: httpx.Response) -> tuple[str, _Scripted, ProxyEndpoint]:
        script = _Scripted(answer)
        config = ProxyConfig("http://upstream.invalid/prefix/")
        upstream = Upstream(config.service_url, transport=httpx.MockTransport(script))
        proxy = ProxyEndpoint(config, upstream=upstream)
        proxy.tell("the-ks", Caller(5))
        server = LoopbackServer(proxy).start()
        servers.append(server)
        return server.url, script, proxy

    yield make
    for server in servers:
        server.stop()
        server.endpoint.close()


def test_end_to_end_headers_go_through_and_hop_by_hop_ones_do_not(scripted: Any) -> None:
    answer = httpx.Response(
        200,
        headers=[
            ("Content-Type", "application/json"),
            ("X-Me", "1"),
            ("X-Me", "2"),
            ("Connection", "X-Private"),
            ("X-Private", "hop"),
            ("Keep-Alive", "timeout=5"),
        ],
        content=b'{"objectType":"KalturaUploadToken","id":"0_x","status":0}',
    )
    url, script, _ = scripted(answer)
    with httpx.Client(timeout=10, trust_env=False) as client:
        request = client.build_request(
            "POST",
            url + "/api_v3/service/uploadtoken/action/get?format=1",
            data={"uploadTokenId": "0_x", "ks": "the-ks"},
            headers={
                "Connection": "keep-alive, X-Hop",
                "X-Hop": "no",
                "X-End": "yes",
                "Expect": "100-continue",
            },
        )
        del request.headers["Accept-Encoding"]
        response = client.send(request)
    assert response.content == answer.content
    assert response.headers.get_list("X-Me") == ["1", "2"]
    assert "X-Private" not in response.headers
    assert "Keep-Alive" not in response.headers
    ((sent, body),) = script.seen
    assert (
        str(sent.url)
        == "http://upstream.invalid/prefix/api_v3/service/uploadtoken/action/get?format=1"
    )
    assert sent.headers["X-End"] == "yes"
    assert "X-Hop" not in sent.headers
    assert "Expect" not in sent.headers  # the proxy has the body already
    assert sent.headers["Accept-Encoding"] == "identity"
    assert sent.headers["Content-Length"] == str(len(body))
    assert b"the-ks" in body  # the body is the client's, byte for byte


def test_a_compressed_answer_reaches_the_client_as_sent_and_is_still_decoded(
    scripted: Any,
) -> None:
    text = (
        b'{"code":"UPLOAD_TOKEN_NOT_FOUND","message":"m",'
        b'"objectType":"KalturaAPIException","args":[]}'
    )
    packed = gzip.compress(text)
    answer = httpx.Response(
        200,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        content=packed,
    )
    answer.raw_body = packed  # type: ignore[attr-defined]
    url, script, proxy = scripted(answer)
    with httpx.Client(timeout=10, trust_env=False) as client:
        response = client.post(
            url + "/api_v3/service/uploadtoken/action/get",
            data={"uploadTokenId": "0_x", "ks": "the-ks", "format": 1},
            headers={"Accept-Encoding": "gzip"},
        )
    assert response.json()["code"] == "UPLOAD_TOKEN_NOT_FOUND"
    assert response.headers["Content-Encoding"] == "gzip"  # passed on, not unpacked
    assert script.seen[0][0].headers["Accept-Encoding"] == "gzip"
    assert proxy.trace.exchanges()[-1].answer.code == "UPLOAD_TOKEN_NOT_FOUND"


def test_no_upstream_is_a_502_with_a_note(make_site: Any) -> None:
    site = make_site()
    proxy = ProxyEndpoint(ProxyConfig("http://127.0.0.1:9"))  # discard port: refused
    with LoopbackServer(proxy) as server, httpx.Client(timeout=10, trust_env=False) as client:
        response = client.post(
            server.url + "/api_v3/service/uploadtoken/action/list", data={"ks": site.ks}
        )
        proxy.close()
    assert response.status_code == 502
    (exchange,) = proxy.trace.exchanges()
    assert exchange.answer is not None
    assert exchange.answer.http_status == 502
    assert "ConnectError" in proxy.notes()[exchange.id]
    assert site.ks not in response.text


def test_the_proxy_needs_the_raw_request() -> None:
    assert ForwardableRequest.__mro__[1].__name__ == "IncomingRequest"
    with pytest.raises(ValueError, match="lost_answer"):
        ProxyConfig("http://127.0.0.1:1", lost_answer="later")
    with pytest.raises(ValueError, match="http"):
        ProxyConfig("ftp://127.0.0.1:1")


@pytest.mark.parametrize("fmt", [1, 2])
def test_a_multirequest_is_forwarded_whole_and_its_tokens_recorded(site: Site, fmt: int) -> None:
    data = {
        "ks": site.ks,
        "format": fmt,
        "1:service": "uploadtoken",
        "1:action": "add",
        "1:uploadToken:fileName": "m1",
        "2:service": "uploadtoken",
        "2:action": "get",
        "2:uploadTokenId": "{1:result:id}",
        "3:service": "uploadToken",
        "3:action": "add",
    }
    response = site.client().post(site.url + "/api_v3/service/multirequest", data=data)
    assert response.status_code == 200
    (exchange,) = site.proxy_exchanges()
    assert exchange.service == "multirequest"
    assert len(site.upstream_exchanges()) == 3  # the upstream split it
    made = [e.answer.token_id for e in site.upstream_exchanges() if e.action == "add"]
    assert [t.token_id for t in site.proxy.created_tokens()] == made
    (unmodelled,) = site.proxy.shadow.unmodelled()
    assert "multirequest" in unmodelled.reason
