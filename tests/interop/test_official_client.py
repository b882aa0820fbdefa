"""Kaltura's official Python client (`KalturaApiClient`) against our loopback server.

The client is what real integrations run: it speaks XML only (`format=2`), sends its
parameters as one JSON multipart field, opens a fresh `requests` connection per call and
parses every answer with lxml. These tests drive it through the documented three-stage
parallel upload and the error paths a client must be able to tell apart, straight to the
server and through the recording proxy (issue 14), where the shadow model must follow
every call it sends (its XML, its JSON field, the KSs it signs) without a disagreement.

No transport faults here: the client's `doHttpRequest` is wrapped in a retry decorator
with 5-20 s sleeps, so a reset or a dropped answer could stall a test for a minute. Every
test uses a short close wait (`FINAL_WAIT`) and stays well under ten seconds.
"""

from __future__ import annotations

import dataclasses
import io
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from loopback import loopback_endpoint

from conformance.content import SourceFile
from conformance.endpoints import KalturaEndpoint, Partner
from conformance.endpoints.server import LoopbackServer
from conformance.proxy.callers import Callers
from conformance.proxy.endpoint import ProxyConfig, ProxyEndpoint

kaltura_client = pytest.importorskip("KalturaClient")
pytest.importorskip("lxml")
kaltura_core = pytest.importorskip("KalturaClient.Plugins.Core")
kaltura_exceptions = pytest.importorskip("KalturaClient.exceptions")

KalturaException = kaltura_exceptions.KalturaException

FINAL_WAIT = 0.3  # seconds a close waits for late chunks before CANNOT_MATCH_EXPECTED_SIZE
TEST_BUDGET = 10.0  # seconds any one test may take
FULL_UPLOAD = 2
PARTIAL_UPLOAD = 1
FORMAT_XML = "2"
SOURCE = SourceFile(300_000, seed=20231)
# opening [0, 70k), two middles [70k, 150k) and [150k, 240k), close [240k, 300k)
CUTS = (0, 70_000, 150_000, 240_000, SOURCE.size)


@dataclass
class Service:
    """A running loopback server, its endpoint and one partner on it; the URL the client
    is given is the server's, or that of the recording proxy in front of it (`proxy`)."""

    endpoint: KalturaEndpoint
    server: LoopbackServer
    partner: Partner
    url: str
    proxy: ProxyEndpoint | None = None

    def client(self, ks: str | None = None) -> Any:
        """A fresh official client for the partner, with `ks` set when given."""
        config = kaltura_client.KalturaConfiguration(self.partner.partner_id)
        config.serviceUrl = self.url
        config.requestTimeout = 5  # calls without files; uploads use the client's fixed 10 s
        client = kaltura_client.KalturaClient(config)
        if ks is not None:
            client.setKs(ks)
        return client

    def admin_client(self) -> Any:
        """A client with an ADMIN session started through `session.start`."""
        client = self.client()
        ks = client.session.start(
            self.partner.admin_secret,
            "interop-user",
            kaltura_core.KalturaSessionType.ADMIN,
            self.partner.partner_id,
        )
        client.setKs(ks)
        return client


@pytest.fixture(params=["direct", "proxied"])
def service(request: pytest.FixtureRequest) -> Iterator[Service]:
    """The server alone, or behind the proxy (issue 14): there the client must get the
    same answers, and the shadow model must follow it without a disagreement."""
    started = time.monotonic()
    with loopback_endpoint(FINAL_WAIT) as server:
        endpoint = server.endpoint
        partner = endpoint.add_partner()
        if request.param == "direct":
            yield Service(endpoint, server, partner, server.url)
        else:
            yield from _proxied(Service(endpoint, server, partner, server.url))
    elapsed = time.monotonic() - started
    assert elapsed < TEST_BUDGET, f"interop test took {elapsed:.1f} s (budget {TEST_BUDGET} s)"


def _proxied(service: Service) -> Iterator[Service]:
    """`service` behind a proxy that can read the KSs the client signs (it knows the
    partner's admin secret, as a live run given `--admin-secret` does)."""
    secrets = {service.partner.partner_id: service.partner.admin_secret}
    proxy = ProxyEndpoint(ProxyConfig(service.server.url), callers=Callers(secrets=secrets))
    try:
        with LoopbackServer(proxy) as front:
            yield dataclasses.replace(service, url=front.url, proxy=proxy)
            assert proxy.shadow.disagreements() == ()
            unfollowed = [u.reason for u in proxy.shadow.unmodelled()]
            assert all("multirequest" in reason for reason in unfollowed), unfollowed
    finally:
        proxy.close()


def _piece(index: int) -> io.BytesIO:
    """Chunk `index` of `CUTS` as a named in-memory file (the client sends its name)."""
    data = io.BytesIO(SOURCE.read(CUTS[index], CUTS[index + 1]))
    data.name = f"piece_{index}.bin"
    return data


def _upload(client: Any, token_id: str, index: int, *, resume: bool, final: bool) -> Any:
    with _piece(index) as piece:
        return client.uploadToken.upload(token_id, piece, resume, final, CUTS[index])


def _add_token(client: Any, file_name: str = "interop.bin") -> Any:
    token = client.uploadToken.add(
        kaltura_core.KalturaUploadToken(fileName=file_name, fileSize=SOURCE.size)
    )
    assert token.status.getValue() == 0  # PENDING
    return token


def _answered_xml(client: Any) -> bool:
    headers = client.responseHeaders
    return headers is not None and headers.get("Content-Type", "").startswith("text/xml")


def _error_code(raised: pytest.ExceptionInfo[Any]) -> str:
    return str(raised.value.code)


def test_three_stage_upload_with_concurrent_middles(service: Service) -> None:
    client = service.admin_client()
    token = _add_token(client)
    opened = _upload(client, token.id, 0, resume=False, final=False)
    assert opened.status.getValue() == PARTIAL_UPLOAD
    assert opened.uploadedFileSize == CUTS[1]

    ks = client.getKs()
    both_ready = threading.Barrier(2, timeout=5)

    def middle(index: int) -> tuple[int, bool]:
        own = service.client(ks)  # each thread its own client, as the docs suggest
        both_ready.wait()
        answer = _upload(own, token.id, index, resume=True, final=False)
        return answer.status.getValue(), _answered_xml(own)

    with ThreadPoolExecutor(max_workers=2) as pool:
        middles = list(pool.map(middle, (1, 2)))
    assert middles == [(PARTIAL_UPLOAD, True), (PARTIAL_UPLOAD, True)]

    closed = _upload(client, token.id, 3, resume=True, final=True)
    assert closed.status.getValue() == FULL_UPLOAD
    got = client.uploadToken.get(token.id)
    assert got.status.getValue() == FULL_UPLOAD
    assert got.uploadedFileSize == SOURCE.size
    assert service.endpoint.file_digest(service.partner.partner_id, token.id) == SOURCE.digest()
    assert _answered_xml(client)

    exchanges = service.endpoint.trace.exchanges(service.partner.partner_id)
    assert [(e.service, e.action) for e in exchanges[:2]] == [
        ("session", "start"),
        ("uploadtoken", "add"),
    ]
    assert all(e.params.get("format") == FORMAT_XML for e in exchanges)
    assert all(e.answer is not None and e.answer.kind == "ok" for e in exchanges)
    uploads = sorted(
        (e.resume_at, e.resume, e.final_chunk, e.payload.size if e.payload else None)
        for e in exchanges
        if e.is_data_request
    )
    assert uploads == [
        (CUTS[0], False, False, CUTS[1] - CUTS[0]),
        (CUTS[1], True, False, CUTS[2] - CUTS[1]),
        (CUTS[2], True, False, CUTS[3] - CUTS[2]),
        (CUTS[3], True, True, CUTS[4] - CUTS[3]),
    ]


def test_early_close_fails_and_its_retry_succeeds(service: Service) -> None:
    client = service.admin_client()
    token = _add_token(client)
    _upload(client, token.id, 0, resume=False, final=False)
    _upload(client, token.id, 1, resume=True, final=False)
    # [150k, 240k) is missing: the close waits FINAL_WAIT, then gives up.
    with pytest.raises(KalturaException) as raised:
        _upload(client, token.id, 3, resume=True, final=True)
    assert _error_code(raised) == "UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE"
    assert client.uploadToken.get(token.id).status.getValue() == PARTIAL_UPLOAD

    _upload(client, token.id, 2, resume=True, final=False)
    retried = _upload(client, token.id, 3, resume=True, final=True)
    assert retried.status.getValue() == FULL_UPLOAD
    assert retried.uploadedFileSize == SOURCE.size
    assert service.endpoint.file_digest(service.partner.partner_id, token.id) == SOURCE.digest()


def test_second_close_is_refused(service: Service) -> None:
    client = service.admin_client()
    token = _add_token(client)
    for index in range(3):
        _upload(client, token.id, index, resume=index > 0, final=False)
    assert _upload(client, token.id, 3, resume=True, final=True).status.getValue() == FULL_UPLOAD
    with pytest.raises(KalturaException) as raised:
        _upload(client, token.id, 3, resume=True, final=True)
    assert _error_code(raised) == "UPLOAD_TOKEN_INVALID_STATUS_FOR_UPLOAD"
    assert service.endpoint.file_digest(service.partner.partner_id, token.id) == SOURCE.digest()


def test_wrong_secret_cannot_start_a_session(service: Service) -> None:
    client = service.client()
    with pytest.raises(KalturaException) as raised:
        client.session.start(
            service.partner.admin_secret + "x",
            "interop-user",
            kaltura_core.KalturaSessionType.ADMIN,
            service.partner.partner_id,
        )
    assert _error_code(raised) == "START_SESSION_ERROR"
    assert service.partner.admin_secret not in str(raised.value)


def test_list_finds_the_token_by_file_name(service: Service) -> None:
    client = service.admin_client()
    name = f"interop-{uuid.uuid4().hex}.bin"
    token = _add_token(client, name)
    _add_token(client, "someone-else.bin")
    listed = client.uploadToken.list(kaltura_core.KalturaUploadTokenFilter(fileNameEqual=name))
    assert listed.totalCount == 1
    assert [found.id for found in listed.objects] == [token.id]
    assert listed.objects[0].fileName == name


def test_deleted_token_is_not_found(service: Service) -> None:
    client = service.admin_client()
    token = _add_token(client)
    client.uploadToken.delete(token.id)
    with pytest.raises(KalturaException) as raised:
        client.uploadToken.get(token.id)
    assert _error_code(raised) == "UPLOAD_TOKEN_NOT_FOUND"


# --- KSs the client signs itself, and multirequests ----------------------------------------


@pytest.mark.parametrize("generate", ["generateSession", "generateSessionV2"])
def test_a_locally_signed_ks_uploads_in_three_stages(service: Service, generate: str) -> None:
    """KS v1 of seven fields and KS v2 (AES) as the official client signs them
    (kSessionBase.class.php:224-285, 596-658): a correct client is judged, not refused."""
    if generate == "generateSessionV2":
        pytest.importorskip("Crypto.Cipher.AES")
    sign = getattr(kaltura_client.KalturaClient, generate)
    ks = sign(service.partner.admin_secret, "signer", 2, service.partner.partner_id, 3600, "")
    client = service.client(ks.decode() if isinstance(ks, bytes) else ks)
    token = _add_token(client)
    _upload(client, token.id, 0, resume=False, final=False)
    _upload(client, token.id, 1, resume=True, final=False)
    _upload(client, token.id, 2, resume=True, final=False)
    assert _upload(client, token.id, 3, resume=True, final=True).status.getValue() == FULL_UPLOAD
    assert service.endpoint.file_digest(service.partner.partner_id, token.id) == SOURCE.digest()


def test_a_multirequest_of_add_and_get(service: Service) -> None:
    """The client's XML multirequest with `{1:result:id}` (KalturaFrontController.php:211-378)."""
    client = service.admin_client()
    client.startMultiRequest()
    added = client.uploadToken.add(kaltura_core.KalturaUploadToken(fileName="multi.bin"))
    client.uploadToken.get(added.id)
    client.uploadToken.get("no-such-token")
    first, second, third = client.doMultiRequest()
    assert _answered_xml(client)
    assert first.fileName == "multi.bin"
    assert second.id == first.id
    assert isinstance(third, KalturaException)
    assert third.code == "UPLOAD_TOKEN_NOT_FOUND"
    traced = service.endpoint.trace.exchanges(service.partner.partner_id)
    assert [e.action for e in traced][-3:] == ["add", "get", "get"]
