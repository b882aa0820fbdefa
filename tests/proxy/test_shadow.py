"""Item 3 of issue 14: the shadow model follows the server, and every answer of the server
is compared with the model's prediction; disagreements are data, never a client failure."""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest
from mutant_servers import DuplicateCloseAccepted, Http500Errors, ResumeOnPending

from conformance.clients.api import KalturaCallError, KalturaTransportError
from conformance.clients.reference import UploadOptions, upload_file
from conformance.content import SourceFile
from conformance.endpoints import KalturaEndpoint
from conformance.endpoints.core import ApiResult, HttpError
from conformance.ks import ADMIN, Session, issue_ks
from conformance.model import Caller, TokenResult, TokenStatus
from conformance.model.blobs import MemoryBlob
from conformance.proxy.shadow import Callers, Disagreement
from conformance.trace import Answered
from conformance.wire import ApiCall

if TYPE_CHECKING:
    from conftest import Site, SiteFactory


def _chunk(api: Any, token: str, data: bytes, **flags: Any) -> Any:
    params = {"uploadTokenId": token, **flags}
    return api.call("uploadToken", "upload", params, files={"fileData": ("f", data)})


def test_the_reference_server_never_disagrees_with_the_model(site: Site) -> None:
    api = site.api()
    data = SourceFile(size=300_000, seed=3).read(0, 300_000)
    result = upload_file(api, MemoryBlob(data), options=UploadOptions(chunk_size=50_000))
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


_N = 2049  # a small chunk (the size the loaded e2e run's get was off by)


class _LateAnswerAhead(KalturaEndpoint):
    """The reference server, but the answer to a part at resumeAt 2N leaves 0.6 s late:
    applied first, answered last (what a loaded machine does now and then)."""

    def rewrite_answer(self, answer: ApiResult, call: ApiCall) -> ApiResult | HttpError:
        if call.action == "upload" and str(call.param("resumeAt")) == str(2 * _N):
            time.sleep(0.6)
        return answer


def test_a_chunk_held_by_the_server_but_written_by_the_model_is_not_a_disagreement(
    make_site: SiteFactory,
) -> None:
    """The server applies the part ahead (2N) first and holds it; the part at N then
    reaches EOF and is written, and the held one waits for the next drain. The answers come
    back the other way round, so the model writes both at once. The two requests overlapped:
    neither size is compared; the get alone on the token next reads 2N on the server and
    3N in the model, and must not be compared either (the order nobody saw still decides
    it). The next part drains the held chunk on the server: from there both agree again."""
    site = make_site(_LateAnswerAhead)
    api = site.api()
    data = SourceFile(size=4 * _N, seed=9).read(0, 4 * _N)
    parts = [data[i * _N : (i + 1) * _N] for i in range(4)]
    token = api.call("uploadToken", "add", {"uploadToken:fileName": "h"})["id"]
    _chunk(api, token, parts[0], resume=False, finalChunk=False, resumeAt=0)
    ahead = threading.Thread(
        target=_chunk,
        args=(site.api(), token, parts[2]),
        kwargs={"resume": True, "finalChunk": False, "resumeAt": 2 * _N},
    )
    ahead.start()
    time.sleep(0.2)  # the part ahead is applied (held) upstream, its answer still late
    _chunk(api, token, parts[1], resume=True, finalChunk=False, resumeAt=_N)
    ahead.join(5)
    got = api.call("uploadToken", "get", {"uploadTokenId": token})
    assert int(got["uploadedFileSize"]) == 2 * _N  # the server's: the part ahead still held
    done = _chunk(api, token, parts[3], resume=True, finalChunk=True, resumeAt=3 * _N)
    assert int(done["uploadedFileSize"]) == 4 * _N
    assert site.proxy.shadow.disagreements() == ()
    pid = site.partner.partner_id
    assert site.proxy.file_digest(pid, token) == site.upstream.file_digest(pid, token)


def test_concurrent_parts_under_load_never_disagree_with_the_reference_server(
    site: Site,
) -> None:
    """The stress form of the test above, with no help from the server: four parts at a
    time in scrambled order, a busy thread competing for the CPU, then a get alone on the
    token and the close. Whatever order the server applied them in, no disagreement."""
    stop = threading.Event()

    def busy() -> None:
        while not stop.is_set():
            sum(range(2000))

    burners = [threading.Thread(target=busy, daemon=True) for _ in range(2)]
    for burner in burners:
        burner.start()
    try:
        apis = [site.api() for _ in range(4)]
        data = SourceFile(size=13 * _N, seed=11).read(0, 13 * _N)
        for _ in range(8):
            token = apis[0].call("uploadToken", "add", {"uploadToken:fileName": "s"})["id"]
            _chunk(apis[0], token, data[:_N], resume=False, finalChunk=False, resumeAt=0)
            for group in ([3, 1, 4, 2], [8, 6, 7, 5], [12, 10, 9, 11]):
                threads = [
                    threading.Thread(
                        target=_chunk,
                        args=(api, token, data[i * _N : (i + 1) * _N]),
                        kwargs={"resume": True, "finalChunk": False, "resumeAt": i * _N},
                    )
                    for api, i in zip(apis, group, strict=True)
                ]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(10)
                apis[0].call("uploadToken", "get", {"uploadTokenId": token})
            _chunk(apis[0], token, b"", resume=True, finalChunk=True, resumeAt=13 * _N)
            apis[0].call("uploadToken", "get", {"uploadTokenId": token})
    finally:
        stop.set()
        for burner in burners:
            burner.join()
    assert site.proxy.shadow.disagreements() == ()


class _LateOpeningAnswer(KalturaEndpoint):
    """The reference server, but the opening's answer leaves 0.6 s late: a get sent
    meanwhile reads the opened token while the proxy has not yet followed the opening."""

    def rewrite_answer(self, answer: ApiResult, call: ApiCall) -> ApiResult | HttpError:
        if call.action == "upload" and str(call.param("resume")) in ("0", "False", "false"):
            time.sleep(0.6)
        return answer


class _GetMisstatesStatus(KalturaEndpoint):
    """Every get answers FULL_UPLOAD, whatever the token holds."""

    def rewrite_answer(self, answer: ApiResult, call: ApiCall) -> ApiResult | HttpError:
        if call.action == "get" and isinstance(answer, TokenResult):
            token = dataclasses.replace(answer.token, status=TokenStatus.FULL_UPLOAD)
            return dataclasses.replace(answer, token=token)
        return answer


def test_a_get_during_a_request_on_its_token_may_see_either_side(
    make_site: SiteFactory,
) -> None:
    """The server applied the opening (PARTIAL_UPLOAD) and answered the get before the
    opening's answer reached the proxy; the model, following in answer order, still has the
    token PENDING. Either state is right for a get whose flight overlapped: no disagreement
    (the mutant client that gets before the opening's answer flaked on this)."""
    site = make_site(_LateOpeningAnswer)
    api = site.api()
    data = SourceFile(size=2 * _N, seed=5).read(0, 2 * _N)
    token = api.call("uploadToken", "add", {"uploadToken:fileName": "g"})["id"]
    opening = threading.Thread(
        target=_chunk,
        args=(site.api(), token, data[:_N]),
        kwargs={"resume": False, "finalChunk": False, "resumeAt": 0},
    )
    opening.start()
    time.sleep(0.2)  # the opening is applied upstream, its answer still late
    got = site.api().call("uploadToken", "get", {"uploadTokenId": token})
    opening.join(5)
    assert int(got["status"]) == TokenStatus.PARTIAL_UPLOAD.value  # the server's side
    _chunk(api, token, data[_N:], resume=True, finalChunk=True, resumeAt=_N)
    assert site.proxy.shadow.disagreements() == ()


def test_a_get_alone_on_its_token_is_compared_status_and_all(make_site: SiteFactory) -> None:
    site = make_site(_GetMisstatesStatus)
    api = site.api()
    token = api.call("uploadToken", "add", {"uploadToken:fileName": "m"})["id"]
    _chunk(api, token, b"abc", resume=False, finalChunk=False, resumeAt=0)
    api.call("uploadToken", "get", {"uploadTokenId": token})
    (disagreement,) = site.proxy.shadow.disagreements()
    assert disagreement.action == "get"
    assert disagreement.fields == ("status",)
