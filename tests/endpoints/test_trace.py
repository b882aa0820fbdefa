"""The trace: every exchange recorded as the checks need it (decoded parameters, whether
`finalChunk` was sent at all, the coerced flags, the payload's size and digest, the answer,
the times, the data index), and never a credential in it, in a log or in an exception."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING
from urllib.parse import quote, quote_plus

import httpx
import pytest

from conformance.content import SourceFile
from conformance.endpoints import KalturaEndpoint, Partner
from conformance.faults import Fault, FaultKind, NthDataRequest
from conformance.ks import ADMIN, KsError, Session, issue_ks, parse_ks
from conformance.trace import Exchange

if TYPE_CHECKING:
    from conftest import Kit, Transport

PARTIAL_UPLOAD, FULL_UPLOAD = 1, 2
SOURCE = SourceFile(30_000, 8)


def _data(endpoint: KalturaEndpoint, token_id: str) -> list[Exchange]:
    return [e for e in endpoint.trace if e.is_data_request and e.token_id == token_id]


def test_every_exchange_is_recorded_as_sent_and_answered(
    transport: Transport, partner: Partner, ks: str
) -> None:
    endpoint = transport.endpoint
    token_id = transport.add_token(ks)
    first, middle, last = (
        SOURCE.read(0, 10_000),
        SOURCE.read(10_000, 20_000),
        SOURCE.read(20_000, 30_000),
    )
    transport.upload(ks, token_id, first, resume=False, final=False, resume_at=0, shape="json")
    transport.upload(
        ks, token_id, middle, resume=True, final=False, resume_at="1e4", shape="form",
        filename="part 2.bin",
    )  # fmt: skip
    closed = transport.upload(ks, token_id, last, resume=True, final=None, resume_at=20_000)
    assert closed["status"] == FULL_UPLOAD
    transport.api("uploadtoken", "get", ks=ks, uploadTokenId=token_id)
    missing = transport.upload(ks, "0_unknown", b"x", resume=True, final=False, resume_at=0)
    assert missing["code"] == "UPLOAD_TOKEN_NOT_FOUND"

    exchanges = endpoint.trace.exchanges()
    assert [(e.service, e.action) for e in exchanges] == [
        ("uploadtoken", "add"),
        *[("uploadtoken", "upload")] * 3,
        ("uploadtoken", "get"),
        ("uploadtoken", "upload"),
    ]
    assert [e.id for e in exchanges] == sorted(e.id for e in exchanges)
    assert {e.partner_id for e in exchanges} == {partner.partner_id}
    for exchange in exchanges:
        assert exchange.answered_at is not None
        assert exchange.arrival <= exchange.body_complete <= exchange.answered_at
        assert exchange.params["ks"] == "<redacted>"
        assert exchange.params["format"] == "1"

    opening, second, close = _data(endpoint, token_id)
    # What was sent, decoded: the official shape's strings, the form's words, the defaults.
    assert opening.params["resume"] == "False"
    assert opening.params["fileData"] == "<file 'chunk.bin', 10000 bytes>"
    assert second.params["resumeAt"] == "1e4"
    assert second.params["fileData"] == "<file 'part 2.bin', 10000 bytes>"
    assert opening.present("finalChunk")
    assert second.present("finalChunk")
    assert not close.present("finalChunk")
    # ...and as the server read it (§3.4).
    assert (opening.resume, opening.final_chunk, opening.resume_at) == (False, False, 0.0)
    assert (second.resume, second.final_chunk, second.resume_at) == (True, False, 10_000.0)
    assert (close.resume, close.final_chunk, close.resume_at) == (True, True, 20_000.0)
    for exchange, payload in ((opening, first), (second, middle), (close, last)):
        assert exchange.payload is not None
        assert exchange.payload.is_file
        assert exchange.payload.size == len(payload)
        assert exchange.payload.sha256 == hashlib.sha256(payload).hexdigest()
        assert exchange.token_id == token_id
        assert exchange.applied
        assert exchange.fault is None
    assert [e.data_index for e in (opening, second, close)] == [1, 2, 3]
    answers = [e.answer for e in (opening, second, close)]
    assert [(a.kind, a.http_status, a.status) for a in answers if a] == [
        ("ok", 200, PARTIAL_UPLOAD),
        ("ok", 200, PARTIAL_UPLOAD),
        ("ok", 200, FULL_UPLOAD),
    ]
    assert [a.uploaded_file_size for a in answers if a] == [10_000, 20_000, 30_000]
    assert all(a.token_id == token_id for a in answers if a)

    get, unknown = exchanges[4], exchanges[5]
    assert (get.data_index, get.payload, get.resume, get.final_chunk) == (None, None, None, None)
    assert get.answer is not None
    assert (get.answer.kind, get.answer.status) == ("ok", FULL_UPLOAD)
    assert unknown.answer is not None
    assert (unknown.answer.kind, unknown.answer.code) == ("error", "UPLOAD_TOKEN_NOT_FOUND")
    assert unknown.answer.http_status == 200
    assert not unknown.answer.acknowledged
    assert endpoint.file_digest(partner.partner_id, token_id) == SOURCE.digest()


def test_a_text_field_named_filedata_is_recorded_as_not_a_file(
    transport: Transport, ks: str
) -> None:
    token_id = transport.add_token(ks)
    response = transport.call(
        "uploadtoken", "upload", {"ks": ks, "uploadTokenId": token_id, "fileData": "abc"}
    )
    assert response.json()["code"] == "UPLOAD_ERROR"
    (exchange,) = _data(transport.endpoint, token_id)
    assert exchange.payload is not None
    assert (exchange.payload.is_file, exchange.payload.size) == (False, 3)
    assert exchange.payload.sha256 is None
    assert (exchange.resume, exchange.final_chunk, exchange.resume_at) == (False, True, -1.0)
    assert not exchange.present("finalChunk")
    assert exchange.answer is not None
    assert exchange.answer.code == "UPLOAD_ERROR"


def test_data_requests_are_counted_per_token(transport: Transport, ks: str) -> None:
    tokens = [transport.add_token(ks) for _ in range(2)]
    for round_ in range(3):
        for token_id in tokens:
            transport.upload(ks, token_id, b"x" * 10, resume=round_ > 0, final=False,
                             resume_at=10 * round_)  # fmt: skip
    for token_id in tokens:
        assert [e.data_index for e in _data(transport.endpoint, token_id)] == [1, 2, 3]


# -- credentials -------------------------------------------------------------------------


def _spellings(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), quote_plus(secret, safe="")}


def _assert_nowhere(secrets: list[str], texts: list[str]) -> None:
    for secret in secrets:
        for spelling in _spellings(secret):
            for text in texts:
                assert spelling not in text, f"a credential leaked into {text[:200]!r}"


def test_credentials_never_reach_the_trace_or_stderr(
    kit: Kit, capfd: pytest.CaptureFixture[str]
) -> None:
    with kit.new_endpoint() as endpoint, kit.open_transport("loopback", endpoint) as wire:
        partner = endpoint.add_partner(admin_secret="TOP-SECRET-admin-secret-1234")
        client = wire.client
        start = {"secret": partner.admin_secret, "partnerId": partner.partner_id, "format": 1}
        ks = client.post("/api_v3/service/session/action/start", data=start).json()
        assert isinstance(ks, str)
        json_ks = client.post(
            "/api_v3/service/session/action/start",
            content=json.dumps(start),
            headers={"content-type": "application/json"},
        ).json()
        refused = client.post(
            "/api_v3/service/session/action/start", data=start | {"secret": "wrong"}
        ).json()
        assert refused["code"] == "START_SESSION_ERROR"
        forged = issue_ks(Session(partner.partner_id, "", ADMIN, 2**40), "not-the-secret", 7)
        expired = issue_ks(Session(partner.partner_id, "", ADMIN, 1), partner.admin_secret, 8)
        token_id = wire.add_token(ks)
        get = "/api_v3/service/uploadtoken/action/get"
        client.get(get, params={"ks": json_ks, "uploadTokenId": token_id, "format": 1})
        client.post(f"{get}/ks/{quote(ks, safe='')}", data={"uploadTokenId": token_id})
        wire.upload(ks, token_id, b"abc", resume=False, final=False, resume_at=0, shape="json")
        wire.upload(ks, token_id, b"def", resume=True, final=False, resume_at=3, shape="form")
        for bad in (forged, expired, "garbage-ks"):
            answer = wire.api("uploadtoken", "get", ks=bad, uploadTokenId=token_id)
            assert answer["code"] == "INVALID_KS"
        secrets = [partner.admin_secret, ks, json_ks, forged, expired]
        assert len(endpoint.trace) == 11
        texts = [repr(e) for e in endpoint.trace] + [str(e.to_dict()) for e in endpoint.trace]
        texts.append(repr(partner))
        captured = capfd.readouterr()
        _assert_nowhere(secrets, [*texts, captured.out, captured.err])


def test_credentials_never_reach_exception_messages(kit: Kit, endpoint: KalturaEndpoint) -> None:
    cut = Fault(NthDataRequest(1), FaultKind.RESET_BEFORE_APPLY, times=None)
    partner, ks = kit.with_faults(endpoint, cut)
    messages: list[str] = []
    with pytest.raises(ValueError, match="already registered") as duplicate:
        endpoint.add_partner(partner.partner_id, partner.admin_secret)
    messages.append(str(duplicate.value))
    with pytest.raises(KsError) as refused:
        parse_ks(ks, {partner.partner_id: "another-secret"}, 0)
    messages.append(repr(refused.value))
    for name in ("inprocess", "loopback"):
        with kit.open_transport(name, endpoint) as wire:
            token_id = wire.add_token(ks)
            with pytest.raises(httpx.TransportError) as cut_off:
                wire.send_chunk(ks, token_id, b"abc", resume=False, final=True, resume_at=0,
                                query={"ks": ks})  # fmt: skip
            messages += [str(cut_off.value), repr(cut_off.value)]
    _assert_nowhere([partner.admin_secret, ks], messages)


def test_the_assembled_file_has_the_source_digest(loopback: Transport, ks: str) -> None:
    source = SourceFile(2_500_000, 4)  # past the 1 MiB spool threshold: temporary files
    token_id = loopback.add_token(ks)
    for start, end in ((0, 1_000_000), (2_000_000, 2_500_000), (1_000_000, 2_000_000)):
        loopback.upload(ks, token_id, source.read(start, end), resume=start > 0, final=False,
                        resume_at=start)  # fmt: skip
    closed = loopback.upload(ks, token_id, b"", resume=True, final=True, resume_at=source.size)
    assert closed["status"] == FULL_UPLOAD
    assert closed["uploadedFileSize"] == str(source.size)
    partner_id = loopback.endpoint.trace.exchanges()[-1].partner_id
    assert partner_id is not None
    assert loopback.endpoint.file_digest(partner_id, token_id) == source.digest()
