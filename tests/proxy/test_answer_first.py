"""Issue 14, item 6: the proxy relays the upstream's answer before it follows it (decodes
it into the trace, records the tokens it made, lets the shadow model apply it), and
nothing reads what that following writes before it is done (`proxy/backlog.py`)."""

from __future__ import annotations

import hashlib
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest

from conformance.proxy.backlog import Backlog
from conformance.proxy.settler import Settler
from conformance.proxy.shadow import ShadowModel
from conformance.proxy.shadow_parts import ShadowParts
from conformance.trace import Exchange

if TYPE_CHECKING:
    from conftest import Site

WAIT = 15.0  # seconds a step may take on a loaded machine before the test gives up


class HeldFollow:
    """Patches `ShadowModel.follow` so that following an `uploadToken.add` (or another
    `action`) waits until released (every other call is followed at once)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, action: str = "add") -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        original = ShadowModel.follow

        def follow(shadow: ShadowModel, exchange: Any, *args: Any) -> Any:
            if exchange.action == action:
                self.entered.set()
                self.release.wait(4 * WAIT)
            return original(shadow, exchange, *args)

        monkeypatch.setattr(ShadowModel, "follow", follow)


def _in_thread(call: Any) -> tuple[threading.Thread, list[Any]]:
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(call()), daemon=True)
    thread.start()
    return thread, result


def test_the_client_has_its_answer_before_the_shadow_follows_it(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = HeldFollow(monkeypatch)
    api = site.api()
    # Answered long before the following is let go (it would time out otherwise).
    added = api.call("uploadToken", "add", {"uploadToken:fileName": "first"}, timeout=WAIT)
    assert added["objectType"] == "KalturaUploadToken"
    assert held.entered.wait(WAIT)
    reader, read = _in_thread(site.proxy.trace.exchanges)
    reader.join(0.2)
    assert reader.is_alive()  # a read of the trace waits for the following ...
    held.release.set()
    reader.join(WAIT)
    (exchange,) = read[0]  # ... and then finds the exchange complete
    assert exchange.answer is not None
    assert exchange.answer.token_id == added["id"]
    assert [t.token_id for t in site.proxy.created_tokens()] == [added["id"]]


def test_a_call_sent_after_an_answer_is_followed_after_it(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upload on the token an `add` just made: without waiting for the add's following,
    the shadow would meet a token it never saw made and not follow the upload."""
    held = HeldFollow(monkeypatch)
    token = site.api().call("uploadToken", "add", {"uploadToken:fileName": "held"})["id"]
    assert held.entered.wait(WAIT)
    other = site.api()  # a connection of its own: the add's is busy following it
    upload, answered = _in_thread(
        lambda: other.call(
            "uploadToken",
            "upload",
            {"uploadTokenId": token, "resume": False, "finalChunk": True, "resumeAt": 0},
            files={"fileData": ("f.bin", b"0123456789")},
        )
    )
    upload.join(0.2)
    assert upload.is_alive()  # the upload waits to begin until the add is followed
    held.release.set()
    upload.join(WAIT)
    assert answered[0]["status"] == 2  # FULL_UPLOAD
    assert site.proxy.shadow.unmodelled() == ()
    assert site.proxy.shadow.disagreements() == ()
    assert site.proxy.file_digest(site.partner.partner_id, token) is not None


def test_a_call_with_a_session_started_through_the_proxy_waits_for_its_following(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The KS a `session.start` answered is learned when that answer is followed: a call
    with it, on another connection, is judged (whose call, which faults) only after."""
    held = HeldFollow(monkeypatch, action="start")
    params = {"secret": site.partner.admin_secret, "partnerId": site.partner.partner_id}
    ks = site.api(ks="").call("session", "start", {**params, "type": 2})
    assert isinstance(ks, str)
    assert held.entered.wait(WAIT)
    other = site.api(ks=ks)  # a connection of its own: the start's is busy following it
    add, answered = _in_thread(
        lambda: other.call("uploadToken", "add", {"uploadToken:fileName": "late"})
    )
    add.join(0.2)
    assert add.is_alive()  # the add waits to be judged until the KS is learned
    held.release.set()
    add.join(WAIT)
    assert answered[0]["objectType"] == "KalturaUploadToken"
    assert site.proxy.shadow.unmodelled() == ()
    (made,) = [e for e in site.proxy.trace.exchanges() if e.action == "add"]
    assert made.partner_id == site.partner.partner_id


def _exchange(number: int, token_id: str | None = None) -> Exchange:
    exchange = Exchange(number, "c1", 0.0, 0.0)
    exchange.token_id = token_id
    return exchange


def test_a_read_waits_only_for_the_answers_relayed_before_it() -> None:
    backlog = Backlog(limit=WAIT)
    first = _exchange(1)
    backlog.add(first)
    reader, done = _in_thread(backlog.wait)
    reader.join(0.05)
    assert reader.is_alive()
    backlog.add(_exchange(2))  # relayed after the read began: not waited for
    backlog.done(first)
    reader.join(WAIT)
    assert done == [True]


def test_a_request_waits_for_its_token_and_for_tokenless_answers_only() -> None:
    backlog = Backlog(limit=WAIT)
    backlog.add(_exchange(1, "0_other"))  # e.g. a close on another token, waiting
    assert backlog.wait(token_id="0_mine", every=False) is True
    made = _exchange(2)  # e.g. an add: its token may be the one the request names
    backlog.add(made)
    request, done = _in_thread(lambda: backlog.wait(token_id="0_mine", every=False))
    request.join(0.05)
    assert request.is_alive()
    backlog.done(made)
    request.join(WAIT)
    assert done == [True]


def test_a_read_gives_up_after_the_limit() -> None:
    backlog = Backlog(limit=0.05)
    backlog.add(_exchange(1))
    started = time.monotonic()
    assert backlog.wait() is False
    assert time.monotonic() - started >= 0.05


def test_hashing_what_a_chunk_appended_does_not_hold_up_the_next_request(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shadow hashes appended bytes on its own thread (`settle_soon`, when the settle
    folds bytes into a digest): a client that sends its chunks one after another on one
    keep-alive connection is not kept waiting by the hashing of the last one."""
    hashing = threading.Event()
    release = threading.Event()
    hashed = threading.Event()
    original = ShadowParts.settle

    def settle(parts: ShadowParts) -> None:
        if parts.unsettled:
            hashing.set()
            release.wait(4 * WAIT)
            original(parts)
            hashed.set()
        else:
            original(parts)

    monkeypatch.setattr(ShadowParts, "settle", settle)
    # As if every settle hashed (a 4 MiB window's fold): small parts stay small here.
    monkeypatch.setattr(ShadowParts, "folds_on_settle", lambda parts: bool(parts.unsettled))
    api = site.api()  # one keep-alive connection for every call
    token = api.call("uploadToken", "add", {"uploadToken:fileName": "seq"})["id"]
    chunks = [(b"a" * 1000, False, 0), (b"b" * 1000, True, 1000)]  # the second appends
    for data, resume, at in chunks:
        params = {"uploadTokenId": token, "resume": resume, "finalChunk": False, "resumeAt": at}
        api.call("uploadToken", "upload", params, files={"fileData": ("f", data)})
    assert hashing.wait(WAIT)
    params = {"uploadTokenId": token, "resume": True, "finalChunk": True, "resumeAt": 2000}
    done = api.call(
        "uploadToken", "upload", params, files={"fileData": ("f", b"c" * 24)}, timeout=WAIT
    )
    assert not hashed.is_set()  # answered while the second chunk's bytes wait unhashed
    assert int(done["uploadedFileSize"]) == 2024
    release.set()
    expected = hashlib.sha256(b"a" * 1000 + b"b" * 1000 + b"c" * 24).hexdigest()
    assert site.proxy.file_digest(site.partner.partner_id, token) == expected
    assert site.proxy.shadow.disagreements() == ()


def test_the_settler_coalesces_pokes_and_keeps_an_error_for_close() -> None:
    runs: list[int] = []
    running = threading.Event()
    go_on = threading.Event()
    second = threading.Event()

    def work() -> None:
        runs.append(1)
        running.set()
        go_on.wait(WAIT)
        if len(runs) == 2:
            second.set()
            raise OSError("disk gone")

    settler = Settler(work)
    settler.poke()
    assert running.wait(WAIT)
    for _ in range(5):  # while a run is under way: one more run, not five
        settler.poke()
    go_on.set()
    assert second.wait(WAIT)
    with pytest.raises(OSError, match="disk gone"):
        settler.close()
    assert len(runs) == 2
    settler.poke()  # closed: nothing runs
    assert len(runs) == 2


def test_a_settle_that_only_takes_pieces_is_done_at_once(site: Site) -> None:
    """Below a fold, `settle_soon` settles on the caller's thread (no thread woken)."""
    api = site.api()
    token = api.call("uploadToken", "add", {"uploadToken:fileName": "small"})["id"]
    for data, resume, at in [(b"a" * 100, False, 0), (b"b" * 100, True, 100)]:
        params = {"uploadTokenId": token, "resume": resume, "finalChunk": False, "resumeAt": at}
        api.call("uploadToken", "upload", params, files={"fileData": ("f", data)})
    assert site.proxy.settle(WAIT)  # every request handled, the work after it done
    assert site.proxy.shadow.parts.unsettled == set()
    assert not site.proxy.shadow.settler.started
