"""The proxy's shadow: every forwarded call applied to the reference model too, and the real
server's answer compared with the model's prediction.

Why: the client checks that need the expected content and state of a token (UT-C08's
bytes, UT-C11's end state, UT-C15 …) read them from a model; in front of a real server the
proxy keeps one in step, and on the way finds every place where the server and the model
part (kaltura-server-semantics.md is the model's claim about the server: a disagreement is
news about one or the other, never a client's fault).

* **Order.** A call is applied once its upstream answer has been relayed to the client
  (`ProxyEndpoint`), one at a time (a lock): the order the server answered in, which is
  the order it applied them in for every pair of requests whose answers could not
  overlap. A request the client sent after reading an answer begins its flight only once
  that answer is followed (`backlog`), and a read of the shadow waits alike.
* **The server's ids.** `uploadToken.add` adopts the id the server picked
  (`AddToken.token_id`, the model's one concession to shadowing, pure like the rest), so
  later calls naming it find the row.
* **Tokens it never saw made.** A token the client did not add through the proxy is
  `adopt`ed when the run made it (PENDING under the server's id); a call on any other token
  the server knows (one from before the run) is `Unmodelled`, not a disagreement.
* **Who calls.** The KS is the server's to check (its secret may be unknown here). A KS is
  resolved to a `Caller` by `Callers`: the ones it was told (the KS given to the client),
  the ones it learned from `session.start` answers that went through the proxy, or one it
  can crack with a known admin secret. A call by an unknown KS is not modelled
  (`Unmodelled`), and neither is a multirequest nor an answer no format reads.
* **The close's wait.** The model answers `CloseWaiting` when bytes are missing. If the
  server answered the close with an error, the model gives up at once (`AbandonClose`);
  if the server succeeded, a chunk it appended meanwhile may not have been answered yet:
  the shadow waits up to `close_grace` seconds for the answers still on their way (the
  lock released, like the endpoint's own wait), then gives up.
* **Concurrency.** Requests on one token whose flights overlapped (`begin`/`end`) may
  have been applied by the server in either order, and the proxy cannot see which: each
  one's `uploadedFileSize` then depends on an order nobody observed, and is not compared.
  Nor does the order stop mattering when the flights end: a part ahead of EOF applied
  first is *held* (`.chunk.<r>`, §6.1) and stays held when the part that reaches it is
  written next, until the next drain (§6.2); applied the other way round it is written at
  once. So after an overlap the token is *unsettled*: the sizes of the requests alone on it
  are not compared either, until one of them drains — an upload with resume on, at a
  resumeAt other than -1, that the server accepted (a non-empty part or a close: §5 rows
  2–5, §7), which appends every held chunk at EOF on the server as the model did (the
  drain's limit of 10 aside), so both orders meet again; its own answer is compared.
  (The order-free facts are: kind, code, status, always compared.) A `get` changes
  nothing, so it moves no other request's order, but a `get` whose flight overlapped a
  request on its token may have read the token before or after it: its status and size
  are not compared (kind and code are).
* **Comparison.** kind ("ok"/"error"), error code, token status and `uploadedFileSize`.
  An HTTP error from the server is a disagreement and is not applied (the model cannot
  tell whether the server applied it). A `Disagreement` holds both answers (`Answered`:
  no message, no KS); the checks that depend on its exchange or token read NOT-EXERCISED
  with `Disagreement.describe()` as the reason, and the report lists them in "server and
  model disagreed". After one, the model's view of that token is suspect (`tainted`).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable

from conformance.endpoints.recording import answer_record
from conformance.model import (
    AbandonClose,
    AddToken,
    BlobFactory,
    Caller,
    CloseWaiting,
    ContinueClose,
    Event,
    FilePart,
    GetToken,
    ModelConfig,
    ModelUsageError,
    Outcome,
    Upload,
    UploadTokenModel,
)
from conformance.proxy.backlog import Backlog
from conformance.proxy.callers import UNREADABLE, Callers, Resolved
from conformance.proxy.decoding import Decoded
from conformance.proxy.digests import WINDOW, InexactDigestError
from conformance.proxy.records import (
    Disagreement,
    Unmodelled,
    describe_answer,
    differences,
    unfollowable,
)
from conformance.proxy.settler import Settler
from conformance.proxy.shadow_parts import ShadowPart, ShadowParts
from conformance.trace import Answered, Exchange
from conformance.wire import (
    ApiCall,
    StartSession,
    UploadedPart,
    UploadFlags,
    build_event,
    build_start_session,
    check_route,
)

__all__ = [
    "UNREADABLE",
    "Callers",
    "Disagreement",
    "Resolved",
    "ShadowModel",
    "Unmodelled",
    "describe_answer",
]

DEFAULT_CLOSE_GRACE = 2.0  # seconds a close the server finished may wait for late answers
# ... and a read of the shadow for the answers relayed before it (`backlog`): the close's
# wait is the following's only one; the margin is for a loaded machine.
BACKLOG_MARGIN = 10.0
_PASS = 0.02


class ShadowModel:
    """The reference model kept in step with a real server; thread-safe."""

    def __init__(
        self,
        callers: Callers,
        blobs: BlobFactory,
        *,
        config: ModelConfig | None = None,
        close_grace: float = DEFAULT_CLOSE_GRACE,
        clock: Callable[[], float] = time.time,
        window: int = WINDOW,
        backlog: Backlog | None = None,
    ) -> None:
        self.callers = callers
        # Answers relayed but not yet followed (`backlog`): a read waits for them first.
        self.backlog = Backlog(close_grace + BACKLOG_MARGIN) if backlog is None else backlog
        self.close_grace = close_grace
        self._clock = clock
        self._model = UploadTokenModel(blobs=blobs, config=config)
        # The files as digests and a tail (`digests`): the checks need no more of them.
        self.parts = ShadowParts(window)
        self._activity = threading.Condition(threading.Lock())
        # The flights' own lock: a request begins its flight while a settle hashes.
        self._flying = threading.Lock()
        self.settler = Settler(self.settle)
        self._disagreements: list[Disagreement] = []
        self._unmodelled: list[Unmodelled] = []
        self._flights: dict[str, set[int]] = {}  # token id -> exchanges in flight
        self._reads: dict[str, set[int]] = {}  # token id -> gets in flight (change nothing)
        self._overlapped: set[int] = set()
        self._unsettled: set[str] = set()  # token ids: overlapped since their last drain

    # --- what the report and the checks read ---------------------------------------------

    def disagreements(self) -> tuple[Disagreement, ...]:
        self.backlog.wait()
        with self._activity:
            return tuple(self._disagreements)

    def unmodelled(self) -> tuple[Unmodelled, ...]:
        self.backlog.wait()
        with self._activity:
            return tuple(self._unmodelled)

    def tainted(self) -> frozenset[str]:
        """Tokens with a disagreement: the model's view of them is suspect from there on."""
        self.backlog.wait()
        with self._activity:
            return frozenset(d.token_id for d in self._disagreements if d.token_id)

    def file_digest(self, partner_id: int, token_id: str) -> str | None:
        """SHA-256 of the token's file as the model assembled it (the content oracle);
        None when it has none, or when a write reached bytes the shadow no longer keeps (an
        `Unmodelled` says which request)."""
        self.backlog.wait()
        with self._activity:
            try:
                return self._model.file_digest(partner_id, token_id)
            except InexactDigestError:
                return None

    def settle(self) -> None:
        """Read and hash the bytes the last answers appended to files: left for after the
        answer (`settle_soon`); any read does it first."""
        with self._activity:
            self.parts.settle()

    def settle_soon(self) -> None:
        """`settle`, on the shadow's own thread (`settler`) when it would hash: the caller,
        a connection's thread that just relayed an answer, goes back to reading its next
        request. Taking pieces into a file's tail is done here: cheaper than waking a
        thread (1 MiB chunks cost 0.3 ms more CPU each when every settle was handed over)."""
        with self._activity:
            if not self.parts.folds_on_settle():
                self.parts.settle()
                return
        self.settler.poke()

    def token(self, partner_id: int, token_id: str) -> Outcome:
        """`uploadToken.get` as the partner's admin would see it in the model."""
        self.backlog.wait()
        with self._activity:
            return self._model.apply(GetToken(Caller(partner_id), self._clock(), token_id))

    def close(self) -> None:
        try:
            self.settler.close()
        finally:
            with self._activity:
                self._model.close()

    # --- following the server --------------------------------------------------------------

    def begin(self, exchange: Exchange) -> None:
        """`exchange` is on its way to the server (call before forwarding)."""
        if exchange.token_id is None:
            return
        with self._flying:
            flying = self._flights.setdefault(exchange.token_id, set())
            reading = self._reads.setdefault(exchange.token_id, set())
            if _reads_only(exchange):  # changes nothing: no other request's order moves
                if flying:
                    self._overlapped.add(exchange.id)
                reading.add(exchange.id)
                return
            self._overlapped.update(reading)  # each may see the token before or after
            if flying:
                self._overlapped.update(flying)
                self._overlapped.add(exchange.id)
                self._unsettled.add(exchange.token_id)
            flying.add(exchange.id)

    def end(self, exchange: Exchange) -> None:
        """`exchange` was followed, or will never be (call once after `begin`)."""
        if exchange.token_id is None:
            return
        with self._flying:
            for flights in (self._flights, self._reads):
                flying = flights.get(exchange.token_id, set())
                flying.discard(exchange.id)
                if not flying:
                    flights.pop(exchange.token_id, None)
            self._overlapped.discard(exchange.id)

    def caller_of(self, call: ApiCall) -> Resolved:
        return self.callers.resolve(call.param("ks"))

    def follow(
        self,
        exchange: Exchange,
        call: ApiCall,
        flags: UploadFlags | None,
        caller: Resolved,
        server: Decoded,
    ) -> Event | None:
        """Apply one forwarded call as the server answered it, and compare. Returns the
        model event built (its payload now the model's), or None when none was applied."""
        if call.service == "session" and call.action == "start":
            self._learn_session(call, server)
            return None
        reason = unfollowable(call, caller, server)
        if reason is not None:
            self._note(Unmodelled(exchange.id, reason))
            return None
        assert caller != UNREADABLE
        refused = check_route(call)
        event = refused or build_event(call, caller, self._clock(), flags)
        if not isinstance(event, Event):  # refused before the model: compare the refusal
            self._compare(exchange, answer_record(event), server.answered)
            return None
        if server.answered.kind == "http-error":
            self._compare(exchange, Answered("ok", 200), server.answered)
            return None
        if isinstance(event, AddToken) and server.answered.token_id:
            event = dataclasses.replace(event, token_id=server.answered.token_id)
        if server.answered.acknowledged and self._unseen(event):
            reason = "a token the proxy never saw made (neither added through it nor adopted)"
            self._note(Unmodelled(exchange.id, reason))
            return None
        exact = self._exact_file(event)
        predicted = self._apply(_as_shadow_part(event, call, self.parts), server.answered)
        self._compare(exchange, predicted, server.answered, settles=_drains(event))
        if exact and not self._exact_file(event):
            self._note(Unmodelled(exchange.id, _DIGEST_LOST))
        return event  # its payload is the model's now (inside a `ShadowPart`)

    def adopt(self, caller: Caller, token_id: str, file_name: str, file_size: int) -> None:
        """A token made on the server without the proxy (the run's own `uploadToken.add`
        for the client): the model adds it under the server's id, PENDING as it is there."""
        event = AddToken(caller, self._clock(), file_name, float(file_size), token_id=token_id)
        with self._activity:
            self._model.apply(event)

    def _exact_file(self, event: Event) -> bool:
        """Whether the file of the upload's token still has a known digest."""
        if not isinstance(event, Upload) or event.caller is None or event.token_id is None:
            return True
        with self._activity:
            record = self._model.record(event.caller.partner_id, event.token_id)
            file = None if record is None or record.assembly is None else record.assembly.file
            return not isinstance(file, ShadowPart) or file.exact

    def _unseen(self, event: Event) -> bool:
        """A call on a token the model never saw made: it cannot predict the answer."""
        token_id = getattr(event, "token_id", None)
        caller = getattr(event, "caller", None)
        if isinstance(event, AddToken) or token_id is None or not isinstance(caller, Caller):
            return False
        with self._activity:
            return self._model.record(caller.partner_id, str(token_id)) is None

    def _learn_session(self, call: ApiCall, server: Decoded) -> None:
        """A session started through the proxy: its KS is the caller the request named."""
        request = build_start_session(call)
        if server.ks is None or not isinstance(request, StartSession):
            return
        if request.partner_id is not None:
            caller = Caller(request.partner_id, request.user_id, request.type >= 1)
            self.callers.learn(server.ks, caller)

    def _apply(self, event: Event, server: Answered) -> Answered:
        with self._activity:
            try:
                outcome: Outcome = self._model.apply(event)
            except ModelUsageError as error:
                return Answered("error", 200, code=f"model refused: {error}")
            self._activity.notify_all()
            if isinstance(outcome, CloseWaiting):
                outcome = self._settle_close(outcome, wait=server.acknowledged)
        assert not isinstance(outcome, CloseWaiting)
        return answer_record(outcome)

    def _settle_close(self, waiting: CloseWaiting, *, wait: bool) -> Outcome:
        """Called with the lock held; waits (releasing it) only when the server succeeded."""
        deadline = time.monotonic() + (self.close_grace if wait else 0.0)
        outcome: Outcome = waiting
        while isinstance(outcome, CloseWaiting):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                outcome = self._model.apply(AbandonClose(waiting.ticket, self._clock()))
                break
            self._activity.wait(min(_PASS, remaining))
            outcome = self._model.apply(ContinueClose(waiting.ticket, self._clock()))
        self._activity.notify_all()
        return outcome

    def _compare(
        self, exchange: Exchange, model: Answered, server: Answered, *, settles: bool = False
    ) -> None:
        differing = differences(model, server)
        token_id = exchange.token_id
        with self._flying:
            alone = exchange.id not in self._overlapped
            if alone and settles and server.kind == "ok" and model.kind == "ok":
                self._unsettled.discard(token_id or "")  # drained: both orders met again
            if not alone or token_id in self._unsettled:
                differing = tuple(name for name in differing if name != "uploaded_file_size")
            if not alone and _reads_only(exchange):  # read before or after the other
                differing = tuple(name for name in differing if name != "status")
        if differing:
            self._note(
                Disagreement(
                    exchange.id,
                    exchange.service,
                    exchange.action,
                    server.token_id or exchange.token_id,
                    server,
                    model,
                    differing,
                )
            )

    def _note(self, record: Disagreement | Unmodelled) -> None:
        with self._activity:
            if isinstance(record, Disagreement):
                self._disagreements.append(record)
            else:
                self._unmodelled.append(record)


_DIGEST_LOST = (
    "a write into bytes the proxy keeps only as a digest (see proxy/digests.py): "
    "the assembled file's digest is unknown"
)


def _as_shadow_part(event: Event, call: ApiCall, parts: ShadowParts) -> Event:
    """The upload with its payload wrapped, so that a file it becomes keeps digests, from
    the parser's hash states of the payload when it starts one (not hashed again)."""
    if not isinstance(event, Upload) or not isinstance(event.file, FilePart):
        return event
    blob = event.file.blob
    uploaded = call.param("fileData")
    known = isinstance(uploaded, UploadedPart) and uploaded.blob is blob
    checkpoints = uploaded.checkpoints if known else ()
    return dataclasses.replace(
        event, file=dataclasses.replace(event.file, blob=parts.wrap(blob, checkpoints))
    )


def _drains(event: Event) -> bool:
    """Does `event`, accepted, drain the held chunks at EOF before it answers? An upload
    with resume on at r >= 0 or r < -1 (§5: the drain before the part; a close's pass, §7),
    except an empty non-final part at r > 0 (Q-EMPTY-PART: swallowed before the drain).
    Not r = -1 (appended at EOF, no drain) nor resume off (the file replaced, held chunks
    kept: §6.5)."""
    if not isinstance(event, Upload) or not event.resume or event.resume_at == -1:
        return False
    empty = isinstance(event.file, FilePart) and event.file.size == 0
    return not (empty and not event.final_chunk and event.resume_at > 0)


def _reads_only(exchange: Exchange) -> bool:
    """`uploadToken.get`: its answer is the token as the server saw it at one moment."""
    return exchange.service == "uploadtoken" and exchange.action == "get"
