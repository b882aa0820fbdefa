"""One request handler behind every endpoint: decode, fault, model, trace, encode.

Transports (the in-process httpx transport, the loopback HTTP server) parse the body into
a `ParsedBody` and hand an `IncomingRequest` to `KalturaEndpoint.handle`, which answers a
`Reply`: an HTTP answer, or an instruction to reset or drop the connection (faults). The
transport calls `Reply.sent()` as the answer leaves (before the client can have it).

Concurrency: `handle` runs on many threads at once; the model behind its lock, the close's
wait (`final_wait` seconds; Kaltura: 45 passes a second apart, `KALTURA_FINAL_WAIT`) and held
chunks are `guarded`'s. Replies made outside the encoders are `replies`'.

Ownership of bytes: the file parts of a body belong to the handler until the model takes
the `fileData` part; whatever the model was not given is released before `handle` returns.

Hooks: a subclass departs from the reference through two public methods and nothing else
(`KalturaEndpoint.HOOKS`; the mutant servers of tests/server do): `apply_event` (how an
authorised call's event reaches the model) and `rewrite_answer` (what is answered). See
`KalturaEndpoint`.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from conformance.endpoints.fault_runtime import FaultRuntime
from conformance.endpoints.front import API_HEADERS, preflight
from conformance.endpoints.guarded import GuardedModel, release_event
from conformance.endpoints.partners import Partner, Partners
from conformance.endpoints.recording import PAYLOAD_HEAD, answer_record, record_call
from conformance.endpoints.replies import (
    HttpError,
    IncomingRequest,
    Reply,
    die_reply,
    disconnect_reply,
    http_error_reply,
    plain_error_reply,
    serializer,
)
from conformance.endpoints.sessions import session_for, start_session
from conformance.endpoints.trace import TraceLog
from conformance.faults import Fault, FaultKind, FaultPlan
from conformance.ks import Session
from conformance.model import (
    ApiError,
    Blob,
    BlobFactory,
    Caller,
    ErrorCode,
    Event,
    Failed,
    FilePart,
    GetToken,
    ModelConfig,
    TokenResult,
    Upload,
    api_error,
)
from conformance.stores import TempFileBlobFactory
from conformance.trace import Answered, Exchange
from conformance.wire import (
    ApiCall,
    ApiResult,
    FormatRefused,
    UploadFlags,
    build_event,
    check_route,
    decode_call,
    encode_answer,
    encode_multi,
)
from conformance.wire.access import Access, forbidden_headers, open_session
from conformance.wire.multirequest import is_multirequest, split_multirequest
from conformance.wire.request import call_from_params

__all__ = [
    "KALTURA_FINAL_WAIT",
    "PAYLOAD_HEAD",  # `recording`'s, where tests have always found it
    "EndpointConfig",
    "HttpError",
    "IncomingRequest",
    "KalturaEndpoint",
    "Reply",
]

KALTURA_FINAL_WAIT = 44.0  # 45 passes with a one-second sleep between them (§7, §13)


# A request body or an assembled file stays in memory up to this size, then moves to a
# temporary file: the small files of a conformance run never touch the disk.
SPOOL_THRESHOLD = 4 << 20


@dataclass(frozen=True)
class EndpointConfig:
    """How an endpoint behaves where the real server is configurable."""

    final_wait: float = 0.5
    model: ModelConfig = field(default_factory=ModelConfig)
    # Exchanges kept in the trace, and tokens whose fault counters are kept: None keeps all
    # (cases forget theirs once judged); a long-running server keeps a window of the latest.
    trace_window: int | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.final_wait <= 3600:
            raise ValueError(f"final_wait={self.final_wait} must be between 0 and 3600 seconds")
        tw = self.trace_window
        if tw is not None and (isinstance(tw, bool) or not isinstance(tw, int) or tw < 1):
            raise ValueError(f"trace_window={tw!r} must be a positive int or None")

    @property
    def pass_interval(self) -> float:
        """Seconds between two passes of a waiting close: Kaltura's one second, or less
        when the whole wait is short."""
        return min(1.0, max(self.final_wait / 10, 0.005))


class KalturaEndpoint:
    """The reference Kaltura server, transport-free: partners, model, faults and trace.

    A server that departs from the reference (a mutant server, in tests) overrides the
    public hooks in `HOOKS` and nothing else; the reference's change nothing:

    - `apply_event(event, call, apply)`: how the server acts on the event of an
      authorised call (uploads: when no fault fired, or the fault delays or drops the
      answer). The reference returns `apply(event)`: the model, the close's wait included.
      A hook may rewrite the event, apply it more than once or not at all, or change the
      answer. An upload it does not apply keeps its payload: the hook releases
      `event.file.blob`.
    - `rewrite_answer(answer, call)`: every API answer as it is encoded (refusals and
      `session.start` included). The reference returns `answer`; an `HttpError` answers
      an HTML error page with that status instead.
    """

    HOOKS: ClassVar[tuple[str, ...]] = ("apply_event", "rewrite_answer")

    def __init__(
        self,
        config: EndpointConfig | None = None,
        blobs: BlobFactory | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config or EndpointConfig()
        # One factory for request bodies and assembled files: an opening's body becomes its
        # token's file (§4, a rename), so a lower threshold for bodies would roll every file past
        # it to disk (64 KiB chunks: at the 17th).
        self.blobs: BlobFactory = blobs or TempFileBlobFactory(spool_threshold=SPOOL_THRESHOLD)
        self.partners = Partners()
        self.trace = TraceLog(self.config.trace_window)
        self.faults = FaultRuntime(self.config.trace_window)
        self._clock = clock
        self.guarded = GuardedModel(
            self.blobs,
            self.config.model,
            final_wait=self.config.final_wait,
            pass_interval=self.config.pass_interval,
            forget_deleted_beyond=self.config.trace_window,
            clock=clock,
        )
        self._model = self.guarded.model  # the mutant servers of tests/server reach in
        self._apply = self.guarded.apply
        self._serial = itertools.count(1)  # next() is atomic

    # --- set-up and inspection -------------------------------------------------------

    def add_partner(
        self,
        partner_id: int | None = None,
        admin_secret: str | None = None,
        faults: FaultPlan | None = None,
        ks_version: int = 1,
    ) -> Partner:
        """A new partner (fresh id and secret unless given) with its fault plan."""
        partner = self.partners.create(partner_id, admin_secret, faults, ks_version)
        self.faults.attach(partner.partner_id, partner.faults)
        return partner

    def start_session(self, partner: Partner, user_id: str = "", *, admin: bool = True) -> str:
        """A KS for `partner`, as `session.start` would give it."""
        now = self._clock()
        return session_for(partner, user_id, admin=admin, now=now, serial=self._next_serial())

    def file_digest(self, partner_id: int, token_id: str) -> str | None:
        """SHA-256 of a token's assembled file (None when it has none)."""
        return self.guarded.file_digest(partner_id, token_id)

    def add_token(self, partner_id: int, file_name: str, file_size: int) -> str:
        """A PENDING token made for a client, as `uploadToken.add` would (not traced)."""
        return self.guarded.add_token(partner_id, file_name, file_size)

    def holds(self, partner_id: int, token_id: str) -> bool:
        """Whether the model still holds the token's row, deleted or not (memory checks)."""
        return self.guarded.holds(partner_id, token_id)

    def token(self, partner_id: int, token_id: str) -> TokenResult | Failed:
        """`uploadToken.get` as the partner's admin sees it."""
        return self.guarded.token(partner_id, token_id)

    def forget_partner(self, partner_id: int) -> None:
        """Drop a finished case's partner: its tokens, bytes, trace and fault counters.
        A client still running with its KS from then on gets INVALID_KS."""
        self.partners.remove(partner_id)
        self.guarded.forget_partner(partner_id)
        self.trace.forget(partner_id)
        self.faults.forget(partner_id)

    def close(self) -> None:
        """Stop held-chunk timers and release every stored byte."""
        self.guarded.close()

    def _next_serial(self) -> int:
        return next(self._serial)

    # --- hooks (see the class docstring) -----------------------------------------------

    def apply_event(
        self, event: Event, call: ApiCall, apply: Callable[[Event], ApiResult]
    ) -> ApiResult:
        """Hook: act on `event`, decoded from `call`; the reference applies it as it is."""
        return apply(event)

    def rewrite_answer(self, answer: ApiResult, call: ApiCall) -> ApiResult | HttpError:
        """Hook: what is answered to `call`; the reference answers `answer`."""
        return answer

    # --- the handler -------------------------------------------------------------------

    def handle(self, request: IncomingRequest) -> Reply:
        """Answer one request. Never raises for anything a client can send."""
        if request.method == "OPTIONS" and _is_api_path(request.target):
            return preflight()  # answered before anything else (api_v3/web/index.php:5-12)
        call = decode_call(request.target, request.content_type, request.body)
        handed: list[Blob] = []
        try:
            if not _is_api_path(request.target):
                exchange = self.trace.open(
                    request.connection, request.arrival, request.body_complete
                )
                record_call(exchange, call)
                return plain_error_reply(404, "Not Found: the API lives under /api_v3", exchange)
            return _with_api_headers(self._front(call, request, handed))
        finally:
            for part in request.body.files:
                if not any(part.blob is blob for blob in handed):
                    part.blob.release()

    def _front(self, call: ApiCall, request: IncomingRequest, handed: list[Blob]) -> Reply:
        """The front controller: format first (KalturaFrontController.php:101-106), then
        one call or a multirequest (:108-144)."""
        if is_multirequest(call.params) and not isinstance(call.response, FormatRefused):
            return self._multirequest(call, request, handed)
        exchange = self.trace.open(request.connection, request.arrival, request.body_complete)
        flags = record_call(exchange, call)
        if isinstance(call.response, FormatRefused):
            return die_reply(call.response, exchange)
        return self._dispatch(call, flags, exchange, handed)

    def _multirequest(self, call: ApiCall, request: IncomingRequest, handed: list[Blob]) -> Reply:
        """Every call of a multirequest is traced, faulted and answered like a single
        request; a fault that cuts the connection or answers an HTTP error ends them all."""
        multi = split_multirequest(call.params)
        answers: list[ApiResult] = []
        headers: tuple[tuple[str, str], ...] = ()
        done: list[Exchange] = []
        for number in range(multi.first, multi.last + 1):
            params = multi.next_params(number)
            if params is None:
                break
            item = call_from_params(params, call.response, call.notes)
            exchange = self.trace.open(request.connection, request.arrival, request.body_complete)
            reply = self._dispatch(item, record_call(exchange, item), exchange, handed)
            answer = reply.answer
            if reply.disconnect is not None or reply.status != 200 or answer is None:
                return dataclasses.replace(reply, batch=tuple(done))
            answers.append(answer)
            headers = headers + reply.headers
            done.append(exchange)
            multi.record(number, answer)
        encoded = encode_multi(answers, serializer(call))
        return Reply(
            encoded.status,
            encoded.content_type,
            encoded.body,
            exchange=done[-1] if done else None,
            headers=headers,
            batch=tuple(done[:-1]),
        )

    def _dispatch(
        self, call: ApiCall, flags: UploadFlags | None, exchange: Exchange, handed: list[Blob]
    ) -> Reply:
        """`KalturaDispatcher::dispatch` (KalturaDispatcher.php:33-159): route, KS, arguments,
        permissions, the action (§3.5)."""
        refused = check_route(call)
        if refused is not None:
            return self._answer(refused, call, exchange)
        access = open_session(call, self.partners.secrets(), self._clock())
        if isinstance(access, Failed):
            return self._answer(access, call, exchange)
        if call.service == "session":
            return self._answer(self._session(call, access, exchange), call, exchange)
        caller = _caller(access.session) if access.refusal is None else None
        exchange.partner_id = None if caller is None else caller.partner_id
        event = build_event(call, caller, self._clock(), flags)
        if isinstance(event, Failed):
            return self._answer(event, call, exchange)
        if isinstance(event, Upload) and isinstance(event.file, FilePart):
            handed.append(event.file.blob)
        if access.refusal is not None:
            return self._answer(_refused(self._apply(event), access), call, exchange)
        if isinstance(event, Upload):
            return self._upload(event, call, exchange)
        return self._answer(self.apply_event(event, call, self._apply), call, exchange)

    def _session(self, call: ApiCall, access: Access, exchange: Exchange) -> ApiResult:
        now = self._clock()
        return start_session(
            call, access, exchange, self.partners, now=now, serial=self._next_serial
        )

    # --- uploads, faults and the close's wait ------------------------------------------

    def _upload(self, event: Upload, call: ApiCall, exchange: Exchange) -> Reply:
        fault = self._fault_for(event, exchange)
        if fault is None:
            exchange.applied = True
            return self._answer(self.apply_event(event, call, self._apply), call, exchange)
        exchange.fault = fault.describe()
        return self._apply_fault(fault, event, call, exchange)

    def _fault_for(self, event: Upload, exchange: Exchange) -> Fault | None:
        if event.caller is None or event.token_id is None or not isinstance(event.file, FilePart):
            return None
        facts, fault = self.faults.on_data_request(
            event.caller.partner_id,
            event.token_id,
            resume=event.resume,
            final=event.final_chunk,
            resume_at=event.resume_at,
            exchange_id=exchange.id,
        )
        exchange.data_index = facts.data_index
        return fault

    def _apply_fault(self, fault: Fault, event: Upload, call: ApiCall, exchange: Exchange) -> Reply:
        kind = fault.kind
        if kind is FaultKind.HOLD_CHUNK:
            return self._hold(event, fault, call, exchange)
        if kind in (FaultKind.DELAY, FaultKind.DROP_AFTER_APPLY):
            exchange.applied = True
            outcome = self.apply_event(event, call, self._apply)
            if kind is FaultKind.DROP_AFTER_APPLY:
                return disconnect_reply("dropped", exchange, answer_record(outcome))
            time.sleep(fault.delay_seconds or 0.0)  # applied now, answered late
            return self._answer(outcome, call, exchange)
        release_event(event)  # every other kind refuses the request before the model
        if kind is FaultKind.RESET_BEFORE_APPLY:
            return disconnect_reply("reset", exchange, Answered("reset"))
        if kind is FaultKind.HTTP_ERROR:
            return http_error_reply(fault.status or 503, exchange)
        if kind is FaultKind.CLOSE_CANNOT_MATCH:
            refused = api_error(ErrorCode.UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE)
            return self._answer(Failed(refused), call, exchange)
        error = ApiError(fault.code or ErrorCode.INTERNAL_SERVERL_ERROR.name, fault.message or "")
        return self._answer(Failed(error), call, exchange)

    def _hold(self, event: Upload, fault: Fault, call: ApiCall, exchange: Exchange) -> Reply:
        """Acknowledge the chunk now, apply it `hold_seconds` later: a chunk that reaches
        the file late, so that a correct close meets CANNOT_MATCH_EXPECTED_SIZE first."""
        assert event.caller is not None
        assert event.token_id is not None
        current = self._apply(GetToken(event.caller, event.now, event.token_id))
        self.guarded.hold(event, fault.hold_seconds or 0.0)
        exchange.applied = True
        return self._answer(current, call, exchange)

    # --- answers -------------------------------------------------------------------------

    def _answer(self, answer: ApiResult, call: ApiCall, exchange: Exchange) -> Reply:
        rewritten = self.rewrite_answer(answer, call)
        if isinstance(rewritten, HttpError):
            return http_error_reply(rewritten.status, exchange)
        answer = rewritten
        exchange.answer = answer_record(answer)
        encoded = encode_answer(answer, serializer(call))
        return Reply(
            encoded.status,
            encoded.content_type,
            encoded.body,
            exchange=exchange,
            headers=forbidden_headers(answer),
            answer=answer,
        )


def _refused(outcome: ApiResult, access: Access) -> ApiResult:
    """The model checked the arguments with no caller: MISSING_KS there means they were
    all right, and the front door's refusal is the answer (§3.5 step 4)."""
    if isinstance(outcome, Failed) and outcome.code == ErrorCode.MISSING_KS.name:
        assert access.refusal is not None
        return access.refusal
    return outcome


def _with_api_headers(reply: Reply) -> Reply:
    if reply.disconnect is not None or reply.status != 200:
        return reply
    return dataclasses.replace(reply, headers=API_HEADERS + reply.headers)


def _is_api_path(target: str) -> bool:
    """Kaltura's API is `/api_v3/...` (a doubled slash from a service URL ending in `/` is
    fine); a client with a wrong service URL must not pass here and fail on Kaltura."""
    segments = [segment for segment in target.split("?", 1)[0].split("/") if segment]
    return bool(segments) and segments[0] == "api_v3"


def _caller(session: Session | None) -> Caller | None:
    if session is None:
        return None
    return Caller(session.partner_id, session.user_id, session.is_admin)
