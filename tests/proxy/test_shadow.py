"""Item 3 of issue 14: the shadow model follows the server, and every answer of the server
is compared with the model's prediction; disagreements are data, never a client failure."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from mutant_servers import DuplicateCloseAccepted, Http500Errors, ResumeOnPending

from conformance.clients.api import KalturaCallError, KalturaTransportError
from conformance.clients.reference import UploadOptions, upload_file
from conformance.content import SourceFile
from conformance.ks import ADMIN, Session, issue_ks
from conformance.model import Caller, TokenResult
from conformance.proxy.shadow import Callers, Disagreement
from conformance.trace import Answered

if TYPE_CHECKING:
    from conftest import Site, SiteFactory


class _Bytes:
    def __init__(self, data: bytes) -> None:
        self.data = data

    @property
    def size(self) -> int:
        return len(self.data)

    def read(self, start: int, end: int) -> bytes:
        return self.data[start:end]


def _chunk(api: Any, token: str, data: bytes, **flags: Any) -> Any:
    params = {"uploadTokenId": token, **flags}
    return api.call("uploadToken", "upload", params, files={"fileData": ("f", data)})


def test_the_reference_server_never_disagrees_with_the_model(site: Site) -> None:
    api = site.api()
    data = SourceFile(size=300_000, seed=3).read(0, 300_000)
    result = upload_file(api, _Bytes(data), options=UploadOptions(chunk_size=50_000))
    pending = api.call("uploadToken", "add", {"uploadToken:fileName": "p"})["id"]
    refusals = [
        lambda: _chunk(api, pending, b"x", resume=True, resumeAt=0),  # CANNOT_RESUME
        lambda: api.call("uploadToken", "get", {"uploadTokenId": "0_nope"}),
        lambda: _chunk(api, result.token_id, b"y", resume=True, finalChunk=True, resumeAt=1),
        lambda: api.call("uploadToken", "add", {"uploadToken:autoFinalize": 1}),
    ]
    for refused in refusals:
        with pytest.raises(KalturaCallError):
            refused()
    api.call("uploadToken", "list", {"pager:pageSize": 2})
    api.call("uploadToken", "delete", {"uploadTokenId": pending})
    shadow = site.proxy.shadow
    assert shadow.disagreements() == ()
    assert shadow.unmodelled() == ()
    pid = site.partner.partner_id
    # The content oracle: the model holds the file the server assembled.
    assert shadow.file_digest(pid, result.token_id) == site.upstream.file_digest(
        pid, result.token_id
    )
    assert site.proxy.file_digest(pid, result.token_id) == shadow.file_digest(pid, result.token_id)
    state = site.proxy.token(pid, result.token_id)
    assert isinstance(state, TokenResult)
    assert state.token.uploaded_file_size == len(data)


def test_a_server_that_resumes_a_pending_token_disagrees(make_site: SiteFactory) -> None:
    site = make_site(ResumeOnPending)
    api = site.api()
    token = api.call("uploadToken", "add", {"uploadToken:fileName": "r"})["id"]
    answer = _chunk(api, token, b"abc", resume=True, finalChunk=False, resumeAt=0)
    assert answer["id"] == token  # the client got the server's answer, whatever the model says
    (disagreement,) = site.proxy.shadow.disagreements()
    assert disagreement.exchange_id == site.proxy_exchanges()[-1].id
    assert disagreement.token_id == token
    assert disagreement.server.kind == "ok"
    assert disagreement.model.code == "UPLOAD_TOKEN_CANNOT_RESUME"
    assert disagreement.fields == ("kind",)
    assert "UPLOAD_TOKEN_CANNOT_RESUME" in disagreement.describe()
    assert site.proxy.shadow.tainted() == {token}


def test_a_server_that_accepts_a_second_close_disagrees(make_site: SiteFactory) -> None:
    site = make_site(DuplicateCloseAccepted)
    api = site.api()
    token = api.call("uploadToken", "add", {"uploadToken:fileName": "d"})["id"]
    _chunk(api, token, b"whole", resume=False, finalChunk=True, resumeAt=0)
    _chunk(api, token, b"again", resume=True, finalChunk=True, resumeAt=5)
    (disagreement,) = site.proxy.shadow.disagreements()
    assert (disagreement.server.kind, disagreement.model.code) == (
        "ok",
        "UPLOAD_TOKEN_INVALID_STATUS_FOR_UPLOAD",
    )


def test_an_http_error_for_an_api_error_disagrees_and_is_not_applied(
    make_site: SiteFactory,
) -> None:
    site = make_site(Http500Errors)
    api = site.api()
    with pytest.raises(KalturaTransportError):
        api.call("uploadToken", "get", {"uploadTokenId": "0_missing"})
    (disagreement,) = site.proxy.shadow.disagreements()
    assert disagreement.server.http_status == 500
    assert disagreement.fields == ("kind",)


def test_calls_by_a_ks_nobody_can_read_are_not_modelled(site: Site) -> None:
    other = site.upstream.add_partner()
    foreign = site.upstream.start_session(other)  # never told to the proxy
    api = site.api(ks=foreign)
    api.call("uploadToken", "add", {"uploadToken:fileName": "x"})
    (unmodelled,) = site.proxy.shadow.unmodelled()
    assert "cannot read" in unmodelled.reason
    assert site.proxy.shadow.disagreements() == ()
    assert site.proxy.created_tokens()[0].partner_id is None


def test_a_known_admin_secret_lets_the_shadow_read_a_ks() -> None:
    ks = issue_ks(Session(42, "u", ADMIN, 2_000_000_000), "s3cret", 1)
    callers = Callers(secrets={42: "s3cret"})
    assert callers.resolve(ks) == callers.resolve(ks) != "unreadable"
    assert Callers().resolve(ks) == "unreadable"
    assert Callers().resolve(None) is None
    assert "s3cret" not in repr(callers)


def test_a_disagreement_is_plain_data() -> None:
    record = Disagreement(
        3,
        "uploadtoken",
        "upload",
        "0_t",
        Answered("ok", 200, status=1),
        Answered("error", 200, code="X"),
        ("kind",),
    )
    assert record.describe() == (
        "exchange 3 (uploadtoken.upload): the server answered ok (status 1, "
        "uploadedFileSize None), the model predicted error X (kind differ)"
    )


def test_a_token_made_without_the_proxy_is_followed_once_adopted(site: Site) -> None:
    pid = site.partner.partner_id
    before = site.upstream.add_token(pid, "made-before.bin", 3)  # the shadow never saw it
    site.api().call("uploadToken", "get", {"uploadTokenId": before})
    (unmodelled,) = site.proxy.shadow.unmodelled()
    assert "never saw made" in unmodelled.reason
    given = site.upstream.add_token(pid, "given.bin", 3)  # the run's own, for the client
    site.proxy.adopt_token(Caller(pid), given, "given.bin", 3)
    _chunk(site.api(), given, b"abc", resume=False, finalChunk=True, resumeAt=0)
    site.api().call("uploadToken", "get", {"uploadTokenId": given})
    assert len(site.proxy.shadow.unmodelled()) == 1
    assert site.proxy.shadow.disagreements() == ()
    assert site.proxy.file_digest(pid, given) == site.upstream.file_digest(pid, given)
