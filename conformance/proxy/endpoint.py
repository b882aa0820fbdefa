"""A recording, fault-injecting proxy in front of a real Kaltura server (issue 14).

`ProxyEndpoint` is served by `LoopbackServer` in place of `KalturaEndpoint`: the client
under test gets the proxy's URL as `{service_url}` and a real KS of the upstream account
as `{ks}`. For each request:

1. **Decoded and traced exactly as the endpoint does**: the same wire codec
   (`decode_call`) and the same record-making (`recording.record_call`: service, action, params
   with credentials redacted, token id, flags, payload size, digest and head), so a check
   cannot tell a proxied trace from an embedded one by its shape.
2. **Faulted** by the same `FaultRuntime` and `FaultPlan` (per partner or per case,
   `cases`; counted per token), the kinds that need no help from the server (`refusals`):
   those that answer without forwarding leave `applied` False and the upstream never sees
   the request; DROP_AFTER_APPLY and DELAY forward, then lose or delay the answer.
3. **Forwarded** (`proxy.upstream`): same method, path, query and body bytes. A body is
   streamed on while it arrives when no fault can refuse it (`proxy.stream_choice`). Its
   last byte is held back until the request is decoded, traced and found unfaulted and
   its flight begun, so the upstream applies it no earlier than a stored one; should a
   refusing fault match after all (a plan attached meanwhile), the upstream connection is
   closed instead and the request never completes there. Otherwise it is stored and
   forwarded from the spooled raw copy the loopback server kept (`endpoints.raw`). With a
   budget, every request goes through the run's `BudgetedTransport`, a streamed one too.
4. **The answer** is returned to the client byte for byte, with its status and
   end-to-end headers, and then decoded into the same `Answered`. When there is no answer
   (the upstream unreachable, the budget spent) the client gets a 502 and `notes()` says why.
5. **Shadowed** (`proxy.shadow`): applied to the reference model in the order the
   answers came, compared, disagreements recorded; like the decoding, once the client has
   its answer (`Reply.after`: the round trip does not wait for it). Every read of the
   trace, the shadow or the tokens made, and every request before its flight begins,
   first waits for the answers relayed until then to be followed (`proxy.backlog`), so
   neither a reader nor the model ever sees an answer the client had as missing. A lost
   or delayed answer (a fault) is followed before it is decided.

Safety: tokens created through the proxy are recorded from the upstream's answers
(`created_tokens`, for the end-of-run sweep); the loopback server listens on 127.0.0.1
unless told otherwise; the KS and the admin secret never enter a trace record, a
disagreement, a note or a repr.

Not followed call by call: a multirequest is forwarded whole (traced as one exchange, not
faulted, not shadowed: `Unmodelled`); the tokens its `uploadToken.add` calls made are still
recorded, from its JSON or XML answer.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from conformance.endpoints.core import IncomingRequest, Reply
from conformance.endpoints.fault_runtime import FaultRuntime
from conformance.endpoints.raw import ForwardableRequest
from conformance.endpoints.recording import record_call
from conformance.faults import Fault, FaultKind, FaultPlan
from conformance.model import (
    Blob,
    BlobFactory,
    Caller,
    FilePart,
    Outcome,
    Upload,
)
from conformance.proxy.backlog import Backlog, FollowedTrace
from conformance.proxy.cases import CasePlans
from conformance.proxy.config import ProxyConfig
from conformance.proxy.created import CreatedToken, tokens_made
from conformance.proxy.refusals import (
    EMBEDDED_ONLY,
    NOT_FORWARDED,
    PROXY_KINDS,
    check_plan,
    refusal,
)
from conformance.proxy.shadow import (
    BACKLOG_MARGIN,
    Callers,
    Resolved,
    ShadowModel,
)
from conformance.proxy.stream_choice import StreamChoice
from conformance.proxy.upstream import (
    HeldBody,
    Outgoing,
    Threaded,
    Upstream,
    UpstreamAnswer,
    UpstreamFailure,
)
from conformance.stores import TempFileBlobFactory
from conformance.trace import Answered, Exchange
from conformance.wire import (
    ApiCall,
    UploadFlags,
    decode_call,
)

__all__ = [
    "EMBEDDED_ONLY",
    "PROXY_KINDS",
    "CreatedToken",
    "ProxyConfig",
    "ProxyEndpoint",
]

SPOOL_THRESHOLD = 4 << 20  # as the endpoint's: small bodies never touch the disk


@dataclass(frozen=True)
class _Forwarded:
    """A request the upstream was sent, with what following its answer needs."""

    call: ApiCall
    exchange: Exchange
    flags: UploadFlags | None
    caller: Resolved
    answer: UpstreamAnswer | UpstreamFailure
    handed: list[Blob]  # the request's files the model took: not released with it


class ProxyEndpoint:
    """The handler behind the loopback server in proxy mode; thread-safe."""

    forwards_raw_body = True  # the loopback server keeps the body bytes (endpoints/raw.py)

    def __init__(
        self,
        config: ProxyConfig,
        *,
        callers: Callers | None = None,
        blobs: BlobFactory | None = None,
        upstream: Upstream | None = None,
    ) -> None:
        self.config = config
        self.blobs: BlobFactory = blobs or TempFileBlobFactory(spool_threshold=SPOOL_THRESHOLD)
        # Answers the client holds whose following (trace record, shadow) is still to run:
        # every read of those waits for them (`backlog`).
        self.backlog = Backlog(config.close_grace + BACKLOG_MARGIN)
        self.trace = FollowedTrace(self.backlog, config.trace_window)
        self.faults = FaultRuntime(config.trace_window)
        self.upstream = upstream or Upstream(
            config.service_url, budget=config.budget, timeout=config.timeout
        )
        self.shadow = ShadowModel(
            callers or Callers(), self.blobs, close_grace=config.close_grace, backlog=self.backlog
        )
        self._lock = threading.Lock()
        self._created: list[CreatedToken] = []
        self._notes: dict[int, str] = {}
        self.plans = CasePlans(self.faults)
        self._streams = StreamChoice(self.plans, self.shadow.callers, self.upstream, self.blobs)
        # Requests being handled: the loopback server does not wait for its handler threads,
        # and an `uploadToken.add` the upstream applied is recorded only when its answer is
        # read, so the end-of-run sweep first waits for these (`settle`).
        self._handling = 0
        self._settled = threading.Condition(self._lock)

    def __repr__(self) -> str:
        return f"ProxyEndpoint({self.config!r})"

    # --- set-up and inspection -------------------------------------------------------------

    def attach(self, partner_id: int, plan: FaultPlan) -> None:
        """Give the partner (of the upstream account) its fault plan; ValueError when the
        plan has a kind only the embedded server can apply (`EMBEDDED_ONLY`)."""
        check_plan(plan)
        self.plans.attach(partner_id, plan)

    def attach_case(self, token_id: str, plan: FaultPlan, *, user_id: str | None = None) -> int:
        """One case of a run whose cases share one live partner: `plan` applies to the data
        requests on `token_id`, counted as if the case had a partner of its own, and (given
        the `user_id` of a session of the case's own, `tell`) to those its session sends on
        any token. Returns the case's key, for `firings` and `forget_case`. ValueError as
        `attach`."""
        check_plan(plan)
        return self.plans.attach_case(token_id, plan, user_id)

    def case_exchanges(
        self, token_id: str, *, after: int = 0, user_id: str | None = None
    ) -> list[Exchange]:
        """A case's trace when cases share a partner, in arrival order: every exchange of
        the case's own session (`user_id`: the tokens it made included), the exchanges on
        `token_id` (named in the request, or made by it), and those after exchange `after`
        on a token no case was given and no call made through the proxy (a client's
        invented id: with cases at once, each case running then sees it)."""
        created = {t.token_id for t in self.created_tokens()}
        return self.plans.case_exchanges(
            self.trace.exchanges(), created, token_id, after=after, user_id=user_id
        )

    def last_exchange(self) -> int:
        """The id of the latest exchange so far (0: none), to mark where a case starts."""
        exchanges = self.trace.exchanges()
        return exchanges[-1].id if exchanges else 0

    def forget_case(self, key: int, token_id: str) -> None:
        """A finished case: its plan and counters go (its trace stays until the window)."""
        self.plans.forget_case(key, token_id)

    def tell(self, ks: str, caller: Caller) -> None:
        """Whose session `ks` is (the KS given to the client): its calls are shadowed and
        faulted as that caller's."""
        self.shadow.callers.learn(ks, caller)

    def adopt_token(self, caller: Caller, token_id: str, file_name: str, file_size: int) -> None:
        """A token the run made on the server for the client (not through the proxy): the
        shadow model holds it too, so the client's calls on it are followed."""
        self.shadow.adopt(caller, token_id, file_name, file_size)

    def token(self, partner_id: int, token_id: str) -> Outcome:
        """The token as the shadow model holds it (what the server should report), under
        the same name as `KalturaEndpoint.token`, so a case runner reads either alike."""
        return self.shadow.token(partner_id, token_id)

    def file_digest(self, partner_id: int, token_id: str) -> str | None:
        """SHA-256 of the file the server should have assembled, as the model did: the
        content oracle a real server's API cannot give (its bytes are not readable)."""
        return self.shadow.file_digest(partner_id, token_id)

    def created_tokens(self) -> tuple[CreatedToken, ...]:
        self.backlog.wait()
        with self._lock:
            return tuple(self._created)

    def settle(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the requests being handled to end (call once the
        loopback server has stopped taking new ones); whether none is left. A run stopped by
        Ctrl-C may have a client's `add` applied upstream and its answer still on the way:
        without this wait the sweep would not know the token."""
        with self._settled:
            return self._settled.wait_for(lambda: self._handling == 0, timeout)

    def notes(self) -> Mapping[int, str]:
        """Exchange id -> why the client got the proxy's 502 instead of an answer."""
        self.backlog.wait()
        with self._lock:
            return dict(self._notes)

    def close(self) -> None:
        self.upstream.close()
        self.shadow.close()

    # --- the handler -------------------------------------------------------------------

    def stream_body(
        self, method: str, target: str, headers: tuple[tuple[str, str], ...], length: int
    ) -> Outgoing | Threaded | HeldBody | None:
        """The loopback server's question once a request's head is read (`StreamChoice`)."""
        return self._streams.stream_body(method, target, headers, length)

    def handle(self, request: IncomingRequest) -> Reply:
        """Answer one request; never raises for anything a client or the upstream sends.
        What the answer does not depend on (following it, releasing the request's files)
        runs once the client has it (`Reply.after`)."""
        if not isinstance(request, ForwardableRequest):
            raise TypeError("ProxyEndpoint needs the raw request: serve it with LoopbackServer")
        handed: list[Blob] = []
        later: Callable[[], None] | None = None
        with self._lock:
            self._handling += 1
        try:
            if request.method == "OPTIONS":  # a preflight: not an API call, not traced
                return self._relay(request, self.upstream.forward(*_out(request)), None)
            reply, later = self._proxy(request, handed)
            if later is None:
                return reply
            return dataclasses.replace(reply, after=self._then_release(later, request, handed))
        finally:
            if later is None:
                self._release(request, handed)

    def _then_release(
        self, later: Callable[[], None], request: ForwardableRequest, handed: list[Blob]
    ) -> Callable[[], None]:
        def after() -> None:
            try:
                later()
            finally:
                self._release(request, handed)

        return after

    def _release(self, request: ForwardableRequest, handed: list[Blob]) -> None:
        """The request's files, but those the model took (`handed`), and its count."""
        for part in request.body.files:
            if not any(part.blob is blob for blob in handed):
                part.blob.release()
        if request.raw is not None:
            request.raw.release()
        if request.stream is not None:
            request.stream.abort()  # a no-op once finished
        with self._settled:
            self._handling -= 1
            self._settled.notify_all()

    def _proxy(
        self, request: ForwardableRequest, handed: list[Blob]
    ) -> tuple[Reply, Callable[[], None] | None]:
        """The reply, and what is left to do once the client has it (None: nothing)."""
        call = decode_call(request.target, request.content_type, request.body)
        exchange = self.trace.open(request.connection, request.arrival, request.body_complete)
        flags = record_call(exchange, call)
        # What the client saw before sending this is followed before this is judged or goes:
        # on its token or on none (an add's token may be this one); on any, for a call on
        # none. Before the caller too: its KS may come from a session.start still followed.
        # Given up after the limit, nothing is misjudged: a call on a token still in flight
        # is followed as overlapping it (`ShadowModel.begin`), one on a token or KS not yet
        # known is recorded unmodelled.
        self.backlog.wait(token_id=exchange.token_id, every=exchange.token_id is None)
        caller = self.shadow.caller_of(call)
        if isinstance(caller, Caller):
            exchange.partner_id = caller.partner_id
            self.plans.note_caller(exchange.id, caller)
        fault = self._fault_for(exchange, flags, caller)
        if fault is not None:
            exchange.fault = fault.describe()
            if fault.kind in NOT_FORWARDED:
                if request.stream is not None:
                    request.stream.abort()  # its last byte unsent: never applied upstream
                return refusal(fault, call, exchange), None
        self.shadow.begin(exchange)
        try:
            answer = self._forward(request)
        except BaseException:
            self.shadow.end(exchange)
            raise
        forwarded = _Forwarded(call, exchange, flags, caller, answer, handed)
        return self._answer(request, forwarded, fault)

    def _answer(
        self, request: ForwardableRequest, forwarded: _Forwarded, fault: Fault | None
    ) -> tuple[Reply, Callable[[], None]]:
        """The upstream's answer relayed first and followed once the client has it; a
        lost or delayed one (a fault) or a failure is followed first, as it is decided."""
        exchange, answer = forwarded.exchange, forwarded.answer
        if fault is None and isinstance(answer, UpstreamAnswer):
            self.backlog.add(exchange)
            return self._relay(request, answer, exchange), functools.partial(
                self._follow_later, forwarded
            )
        self._follow(forwarded)
        if fault is not None and fault.kind is FaultKind.DROP_AFTER_APPLY:
            return self._lose(exchange), self.shadow.settle_soon
        if fault is not None and fault.kind is FaultKind.DELAY:
            time.sleep(fault.delay_seconds or 0.0)  # applied upstream now, answered late
        return self._relay(request, answer, exchange), self.shadow.settle_soon

    def _follow_later(self, forwarded: _Forwarded) -> None:
        try:
            self._follow(forwarded)
        finally:
            self.backlog.done(forwarded.exchange)
        self.shadow.settle_soon()  # the shadow's hashing, on its own thread

    def _forward(self, request: ForwardableRequest) -> UpstreamAnswer | UpstreamFailure:
        """Forward (or let the streamed body's last byte go) and read the answer."""
        stream = request.stream
        if isinstance(stream, (Outgoing, Threaded, HeldBody)):
            return stream.finish()
        return self.upstream.forward(*_out(request))

    def _follow(self, forwarded: _Forwarded) -> None:
        """Record the answer and the tokens it made, let the shadow follow it, and end
        the exchange's flight."""
        exchange, answer = forwarded.exchange, forwarded.answer
        try:
            if not isinstance(answer, UpstreamAnswer):
                return
            # As the endpoint marks it: a data request that reached the server (which of
            # its refusals came before its model the proxy cannot tell).
            exchange.applied = exchange.is_data_request and answer.status == 200
            exchange.answer = answer.decoded.answered
            self._record_created(forwarded.call, exchange, answer)
            event = self.shadow.follow(
                exchange, forwarded.call, forwarded.flags, forwarded.caller, answer.decoded
            )
            if isinstance(event, Upload) and isinstance(event.file, FilePart):
                forwarded.handed.append(event.file.blob)  # the model's now
        finally:
            self.shadow.end(exchange)

    def _fault_for(
        self, exchange: Exchange, flags: UploadFlags | None, caller: object
    ) -> Fault | None:
        """As the endpoint: data requests with a file, a token id and a known caller."""
        payload = exchange.payload
        if flags is None or not isinstance(caller, Caller) or exchange.token_id is None:
            return None
        if payload is None or not payload.is_file:
            return None
        key = self.plans.key_for(exchange.token_id, caller)
        resume, final, resume_at = flags
        facts, fault = self.faults.on_data_request(
            key,
            exchange.token_id,
            resume=resume,
            final=final,
            resume_at=resume_at,
            exchange_id=exchange.id,
        )
        exchange.data_index = facts.data_index
        return None if fault is not None and fault.kind in EMBEDDED_ONLY else fault

    def _record_created(self, call: ApiCall, exchange: Exchange, answer: UpstreamAnswer) -> None:
        created = tokens_made(call, exchange, answer)
        if created:
            with self._lock:
                self._created.extend(created)

    def _relay(
        self,
        request: ForwardableRequest,
        answer: UpstreamAnswer | UpstreamFailure,
        exchange: Exchange | None,
    ) -> Reply:
        if isinstance(answer, UpstreamFailure):
            if exchange is not None:
                exchange.answer = Answered("http-error", http_status=502)
                with self._lock:
                    self._notes[exchange.id] = answer.reason
            body = f"Bad Gateway: {answer.reason}".encode()
            return Reply(502, "text/plain; charset=utf-8", body, exchange=exchange)
        return Reply(
            answer.status,
            answer.content_type,
            answer.body,
            exchange=exchange,
            headers=answer.headers,
        )

    def _lose(self, exchange: Exchange) -> Reply:
        """Applied upstream, the answer lost: recorded as "dropped" with what it said."""
        said = exchange.answer or Answered("dropped")
        exchange.answer = Answered("dropped", status=said.status, token_id=said.token_id)
        return Reply(0, "", b"", disconnect=self.config.lost_answer, exchange=exchange)


def _out(request: ForwardableRequest) -> tuple[str, str, tuple[tuple[str, str], ...], Blob | None]:
    return request.method, request.target, request.headers, request.raw
