"""Item 4 of issue 14: faults at the proxy. The kinds that refuse a request never reach the
upstream; the ones that lose or delay an answer reach it and are applied there. Each is
checked on the upstream's own trace."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from conformance.clients.reference import UploadOptions, upload_file
from conformance.content import SourceFile
from conformance.faults import (
    CloseAttempt,
    Fault,
    FaultKind,
    FaultPlan,
    NthDataRequest,
    NthMiddleRequest,
)
from conformance.model.blobs import MemoryBlob
from conformance.proxy.endpoint import EMBEDDED_ONLY, PROXY_KINDS

if TYPE_CHECKING:
    from conftest import Site, SiteFactory

UPLOAD = "/api_v3/service/uploadtoken/action/upload"


def _plan(site: Site, *faults: Fault) -> None:
    site.proxy.attach(site.partner.partner_id, FaultPlan(faults))


def _token(site: Site) -> str:
    return str(site.api().call("uploadToken", "add", {"uploadToken:fileName": "f"})["id"])


def _send(site: Site, token: str, data: bytes = b"data") -> httpx.Response:
    """One whole-file upload (opening and close at once) through the proxy."""
    params = {"ks": site.ks, "uploadTokenId": token, "format": 1, "resume": 0, "finalChunk": 1}
    return site.client().post(site.url + UPLOAD, params=params, files={"fileData": ("f.bin", data)})


def _upstream_uploads(site: Site) -> list[Any]:
    return [e for e in site.upstream_exchanges() if e.is_data_request]


def _proxied_upload(site: Site) -> Any:
    (exchange,) = [e for e in site.proxy_exchanges() if e.is_data_request]
    return exchange


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        (Fault(NthDataRequest(1), FaultKind.KALTURA_ERROR), "INTERNAL_SERVERL_ERROR"),
        (
            Fault(NthDataRequest(1), FaultKind.KALTURA_ERROR, code="X_Y", message="m"),
            "X_Y",
        ),
        (
            Fault(CloseAttempt(1), FaultKind.CLOSE_CANNOT_MATCH),
            "UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE",
        ),
    ],
)
def test_an_error_object_is_answered_without_forwarding(
    site: Site, fault: Fault, code: str
) -> None:
    _plan(site, fault)
    token = _token(site)
    response = _send(site, token)
    assert response.status_code == 200
    assert response.json()["code"] == code
    assert response.json()["objectType"] == "KalturaAPIException"
    assert _upstream_uploads(site) == []  # never forwarded
    exchange = _proxied_upload(site)
    assert (exchange.answer.kind, exchange.answer.code, exchange.applied) == ("error", code, False)
    assert exchange.fault == fault.describe()
    assert exchange.data_index == 1
    assert site.proxy.faults.firings(site.partner.partner_id)[0].exchange_id == exchange.id
    assert site.proxy.shadow.disagreements() == ()


def test_an_http_error_is_answered_without_forwarding(site: Site) -> None:
    _plan(site, Fault(NthDataRequest(1), FaultKind.HTTP_ERROR, status=502))
    response = _send(site, _token(site))
    assert response.status_code == 502
    assert _upstream_uploads(site) == []
    assert _proxied_upload(site).answer.http_status == 502


def test_a_reset_is_done_without_forwarding(site: Site) -> None:
    _plan(site, Fault(NthDataRequest(1), FaultKind.RESET_BEFORE_APPLY))
    with pytest.raises(httpx.TransportError):
        _send(site, _token(site))
    assert _upstream_uploads(site) == []
    exchange = _proxied_upload(site)
    assert (exchange.answer.kind, exchange.applied) == ("reset", False)


@pytest.mark.parametrize("lost_answer", ["dropped", "reset"])
def test_an_answer_lost_after_forwarding_was_applied_upstream(
    make_site: SiteFactory, lost_answer: str
) -> None:
    site = make_site(lost_answer=lost_answer)
    _plan(site, Fault(NthDataRequest(1), FaultKind.DROP_AFTER_APPLY))
    token = _token(site)
    with pytest.raises(httpx.TransportError):
        _send(site, token, b"12345")
    (upstream,) = _upstream_uploads(site)
    assert upstream.acknowledged  # the server applied it and answered
    assert upstream.answer.uploaded_file_size == 5
    exchange = _proxied_upload(site)
    assert exchange.answer.kind == "dropped"
    assert exchange.answer.status == upstream.answer.status
    assert exchange.applied
    # The shadow followed the server: the token is FULL_UPLOAD there and in the model.
    get = site.api().call("uploadToken", "get", {"uploadTokenId": token})
    assert get["uploadedFileSize"] == "5"
    assert site.proxy.shadow.disagreements() == ()


def test_a_delay_answers_late_after_forwarding(site: Site) -> None:
    _plan(site, Fault(NthDataRequest(1), FaultKind.DELAY, delay_seconds=0.3))
    token = _token(site)
    started = time.monotonic()
    response = _send(site, token)
    assert time.monotonic() - started >= 0.3
    assert response.json()["id"] == token
    (upstream,) = _upstream_uploads(site)
    assert upstream.answered_at is not None
    exchange = _proxied_upload(site)
    assert exchange.answered_at is not None
    assert exchange.answered_at - upstream.answered_at >= 0.29


def test_holding_a_chunk_back_is_embedded_only(site: Site) -> None:
    assert FaultKind.HOLD_CHUNK in EMBEDDED_ONLY
    assert FaultKind.HOLD_CHUNK not in PROXY_KINDS
    assert PROXY_KINDS | EMBEDDED_ONLY.keys() == set(FaultKind)
    with pytest.raises(ValueError, match="embedded-only"):
        _plan(site, Fault(NthMiddleRequest(1), FaultKind.HOLD_CHUNK))


def test_the_reference_client_gets_through_every_proxy_fault(site: Site) -> None:
    _plan(
        site,
        Fault(NthMiddleRequest(1), FaultKind.KALTURA_ERROR),
        Fault(NthMiddleRequest(2), FaultKind.DROP_AFTER_APPLY),
        Fault(NthMiddleRequest(3), FaultKind.RESET_BEFORE_APPLY),
        Fault(NthMiddleRequest(4), FaultKind.HTTP_ERROR),
        Fault(NthMiddleRequest(5), FaultKind.DELAY),
        Fault(CloseAttempt(1), FaultKind.CLOSE_CANNOT_MATCH, times=2),
    )
    data = SourceFile(size=400_000, seed=11).read(0, 400_000)
    options = UploadOptions(chunk_size=40_000, concurrency=1, backoff=0.01)
    result = upload_file(site.api(), MemoryBlob(data), options=options)
    pid = site.partner.partner_id
    assert len(site.proxy.faults.firings(pid)) == 7
    assert site.proxy.shadow.disagreements() == ()
    assert site.proxy.shadow.file_digest(pid, result.token_id) == site.upstream.file_digest(
        pid, result.token_id
    )
    forwarded = {e.id for e in site.proxy_exchanges() if e.applied}
    assert len(_upstream_uploads(site)) == len(forwarded)


def test_concurrent_chunks_with_faults_never_make_the_reference_server_disagree(
    site: Site,
) -> None:
    _plan(
        site,
        Fault(NthMiddleRequest(2), FaultKind.DROP_AFTER_APPLY),
        Fault(NthMiddleRequest(5), FaultKind.RESET_BEFORE_APPLY),
        Fault(NthMiddleRequest(7), FaultKind.KALTURA_ERROR, times=2),
        Fault(CloseAttempt(1), FaultKind.CLOSE_CANNOT_MATCH),
    )
    data = SourceFile(size=500_000, seed=12).read(0, 500_000)
    options = UploadOptions(chunk_size=25_000, concurrency=4, backoff=0.01)
    result = upload_file(site.api(), MemoryBlob(data), options=options)
    pid = site.partner.partner_id
    assert site.proxy.shadow.disagreements() == ()
    assert site.proxy.shadow.file_digest(pid, result.token_id) == site.upstream.file_digest(
        pid, result.token_id
    )
