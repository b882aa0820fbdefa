"""A recording, fault-injecting proxy in front of a real Kaltura server (issue 14).

`ProxyEndpoint` is served by `LoopbackServer` in place of `KalturaEndpoint`: the client
under test gets the proxy's URL as `{service_url}` and a real KS of the upstream account
as `{ks}`. For each request:

1. **Decoded and traced exactly as the endpoint does**: the same wire codec
   (`decode_call`) and the same record-making (`recording.record_call`: service, action, params
   with credentials redacted, token id, flags, payload size, digest and head), so a check
   cannot tell a proxied trace from an embedded one by its shape.
2. **Faulted** by the same `FaultRuntime` and `FaultPlan` (per partner, counted per
   token). The kinds that need no help from the server are all done here (`PROXY_KINDS`):
   a Kaltura error object, an HTTP 5xx, a reset and UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE
   on a close are answered without forwarding (`applied` stays False, the upstream never
   sees the request); DROP_AFTER_APPLY forwards, then loses the answer (a closed
   connection, or a reset with `ProxyConfig.lost_answer="reset"`), recorded as "dropped"
   with what the server answered; DELAY forwards and answers late. `EMBEDDED_ONLY` lists
   the kinds that need the server's own cooperation, and why; a plan with one of them is
   refused by `attach`.
3. **Forwarded** (`proxy.upstream`): same method, path, query and body bytes. A body is
   streamed on while it arrives (`stream_body`, asked by the loopback server once the head
   is read) when no fault can refuse it: no partner's plan has a not-forwarded kind, or
   the KS in the query or path (which win over the body's) is of a partner whose plan has
   none, or else, in a multipart body, the KS among the form fields before the first file
   part (most clients send them first; the body is held, `HeldBody`, until those fields
   are in, within its first 64 KiB). Its last byte is held back until the request is
   decoded, traced and found unfaulted and its flight begun, so the upstream applies it
   no earlier than a stored one; should a refusing fault match after all (a plan attached
   meanwhile), the upstream connection is closed instead and the request never completes
   there. Otherwise it is stored and forwarded from the spooled raw copy the loopback
   server kept (`endpoints.raw`). With a budget, every request goes through the run's
   `BudgetedTransport`, a streamed one too.
4. **The answer** is decoded into the same `Answered` and returned to the client
   byte for byte, with its status and end-to-end headers. When there is no answer (the
   upstream unreachable, the budget spent) the client gets a 502 and `notes()` says why.
5. **Shadowed** (`proxy.shadow`): applied to the reference model in the order the
   answers came, compared, disagreements recorded.

Safety: tokens created through the proxy are recorded from the upstream's answers
(`created_tokens`, for the end-of-run sweep); the loopback server listens on 127.0.0.1
unless told otherwise; the KS and the admin secret never enter a trace record, a
disagreement, a note or a repr.

Not followed call by call: a multirequest is forwarded whole (traced as one exchange, not
faulted, not shadowed: `Unmodelled`); the tokens its `uploadToken.add` calls made are still
recorded, from its JSON or XML answer.
"""

from __future__ import annotations

import io
import itertools
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from conformance.budget import Budget
from conformance.endpoints.bodies import read_body
from conformance.endpoints.core import IncomingRequest, Reply
from conformance.endpoints.fault_runtime import FaultRuntime
from conformance.endpoints.front import API_HEADERS
from conformance.endpoints.raw import ForwardableRequest
from conformance.endpoints.recording import record_call
from conformance.endpoints.trace import TraceLog
from conformance.faults import Fault, FaultKind, FaultPlan
from conformance.model import (
    ApiError,
    Blob,
    BlobFactory,
    Caller,
    ErrorCode,
    Failed,
    FilePart,
    Outcome,
    Upload,
    api_error,
)
from conformance.proxy.shadow import DEFAULT_CLOSE_GRACE, Callers, Resolved, ShadowModel
from conformance.proxy.upstream import (
    HeldBody,
    Outgoing,
    Threaded,
    Upstream,
    UpstreamAnswer,
    UpstreamFailure,
    decode_items,
)
from conformance.stores import TempFileBlobFactory
from conformance.trace import Answered, Disconnect, Exchange
from conformance.wire import (
    ApiCall,
    ParsedBody,
    ResponseFormat,
    UploadFlags,
    decode_call,
    encode_answer,
)
from conformance.wire.multirequest import is_multirequest, split_multirequest

__all__ = [
    "EMBEDDED_ONLY",
    "PROXY_KINDS",
    "CreatedToken",
    "ProxyConfig",
    "ProxyEndpoint",
]

SPOOL_THRESHOLD = 4 << 20  # as the endpoint's: small bodies never touch the disk
EMBEDDED_ONLY: Mapping[FaultKind, str] = MappingProxyType(
    {
        FaultKind.HOLD_CHUNK: (
            "holding a chunk back from the file while acknowledging it needs the server "
            "to append late: a proxy can only delay the whole request or its answer"
        ),
    }
)
PROXY_KINDS = frozenset(FaultKind) - frozenset(EMBEDDED_ONLY)
_NOT_FORWARDED = frozenset(
    {
        FaultKind.HTTP_ERROR,
        FaultKind.KALTURA_ERROR,
        FaultKind.RESET_BEFORE_APPLY,
        FaultKind.CLOSE_CANNOT_MATCH,
    }
)
_HTML_ERROR = "<html><body><h1>{status} Service Unavailable</h1></body></html>"
_LOST: frozenset[Disconnect] = frozenset({"dropped", "reset"})


@dataclass(frozen=True)
class ProxyConfig:
    """Where the proxy forwards to and how it behaves."""

    service_url: str
    budget: Budget | None = None  # live mode: the run's limits on forwarded traffic
    timeout: float = 120.0  # seconds for one upstream answer (a close may wait 45 s, §7)
    lost_answer: Disconnect = "dropped"  # how DROP_AFTER_APPLY loses it: closed, or reset
    close_grace: float = DEFAULT_CLOSE_GRACE
    trace_window: int | None = None

    def __post_init__(self) -> None:
        if not self.service_url.startswith(("http://", "https://")):
            raise ValueError(f"service_url={self.service_url!r} must be an http(s) URL")
        if self.lost_answer not in _LOST:
            raise ValueError(f"lost_answer={self.lost_answer!r} must be 'dropped' or 'reset'")
        if not 0 < self.timeout <= 3600:
            raise ValueError(f"timeout={self.timeout} must be in (0, 3600] seconds")

    def __repr__(self) -> str:  # the URL may carry credentials in its userinfo
        return f"ProxyConfig(upstream={self.service_url.split('@')[-1]!r})"


@dataclass(frozen=True)
class CreatedToken:
    """A token the client created through the proxy, as the upstream's answer named it."""

    partner_id: int | None
    token_id: str
    exchange_id: int


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
        self.trace = TraceLog(config.trace_window)
        self.faults = FaultRuntime(config.trace_window)
        self.upstream = upstream or Upstream(
            config.service_url, budget=config.budget, timeout=config.timeout
        )
        self.shadow = ShadowModel(callers or Callers(), self.blobs, close_grace=config.close_grace)
        self._lock = threading.Lock()
        self._created: list[CreatedToken] = []
        self._notes: dict[int, str] = {}
        self._partners: set[int] = set()  # those with counters (a plan, maybe empty)
        self._cases: dict[str, int] = {}  # token id -> the key its case's plan is under
        self._claimed: set[str] = set()  # every token a case was given
        self._case_users: dict[str, int] = {}  # a case's own session's user id -> its key
        self._users: dict[int, str] = {}  # exchange id -> the user id of a case's session
        self._case_keys = itertools.count(-1, -1)  # never a partner id (those are > 0)
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
        for fault in plan.faults:
            why = EMBEDDED_ONLY.get(fault.kind)
            if why is not None:
                raise ValueError(f"{fault.describe()}: embedded-only ({why})")
        with self._lock:  # with the counting of `_count_for`: no request counted in between
            self._partners.add(partner_id)
            self.faults.attach(partner_id, plan)

    def attach_case(self, token_id: str, plan: FaultPlan, *, user_id: str | None = None) -> int:
        """One case of a run whose cases share one live partner: `plan` applies to the data
        requests on `token_id`, counted as if the case had a partner of its own, and (given
        the `user_id` of a session of the case's own, `tell`) to those its session sends on
        any token. Returns the case's key, for `firings` and `forget_case`. ValueError as
        `attach`."""
        for fault in plan.faults:
            why = EMBEDDED_ONLY.get(fault.kind)
            if why is not None:
                raise ValueError(f"{fault.describe()}: embedded-only ({why})")
        with self._lock:
            key = next(self._case_keys)
            self._cases[token_id] = key
            self._claimed.add(token_id)
            if user_id is not None:
                self._case_users[user_id] = key
            self._partners.add(key)
            self.faults.attach(key, plan)
        return key

    def case_exchanges(
        self, token_id: str, *, after: int = 0, user_id: str | None = None
    ) -> list[Exchange]:
        """A case's trace when cases share a partner, in arrival order: every exchange of
        the case's own session (`user_id`: the tokens it made included), the exchanges on
        `token_id` (named in the request, or made by it), and those after exchange `after`
        on a token no case was given and no call made through the proxy (a client's
        invented id: with cases at once, each case running then sees it)."""
        exchanges = self.trace.exchanges()
        created = {t.token_id for t in self.created_tokens()}
        with self._lock:
            claimed = self._claimed | created
            users = dict(self._users) if user_id is not None else {}
        ours = {e.id for e in exchanges if user_id is not None and users.get(e.id) == user_id}
        tokens = {token_id} | {
            e.answer.token_id
            for e in exchanges
            if e.id in ours and e.answer is not None and e.answer.token_id
        }
        return [
            e
            for e in exchanges
            if e.id in ours
            or e.token_id in tokens
            or (e.answer is not None and e.answer.token_id in tokens)
            or (e.id > after and e.token_id is not None and e.token_id not in claimed)
        ]

    def last_exchange(self) -> int:
        """The id of the latest exchange so far (0: none), to mark where a case starts."""
        exchanges = self.trace.exchanges()
        return exchanges[-1].id if exchanges else 0

    def forget_case(self, key: int, token_id: str) -> None:
        """A finished case: its plan and counters go (its trace stays until the window)."""
        with self._lock:
            if self._cases.get(token_id) == key:
                del self._cases[token_id]
            for user, its in list(self._case_users.items()):
                if its == key:
                    del self._case_users[user]
            self._partners.discard(key)
            self.faults.forget(key)

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
        with self._lock:
            return dict(self._notes)

    def close(self) -> None:
        self.upstream.close()
        self.shadow.close()

    # --- the handler -------------------------------------------------------------------

    def stream_body(
        self, method: str, target: str, headers: tuple[tuple[str, str], ...], length: int
    ) -> Outgoing | Threaded | HeldBody | None:
        """The loopback server's question once a request's head is read: its body's way
        on, to be fed as it arrives, or None to store it first (see the module docstring)."""
        if method == "OPTIONS":
            return None
        if self._may_stream(target):
            return self.upstream.open(method, target, headers, length)
        content_type = next((v for n, v in headers if n.lower() == "content-type"), None)
        boundary = _BOUNDARY.search(content_type or "")
        if boundary is None or not (content_type or "").lower().startswith("multipart/"):
            return None
        head = (method, target, headers)
        delimiter = b"--" + boundary.group(1).encode("latin-1", "replace")

        def decide(body: Blob) -> Outgoing | Threaded | bool | None:
            """Once the fields before the first file part are in: stream if their KS is of
            a partner no refusing fault is planned for."""
            prefix = body.read(0, min(body.size, _FACTS_WITHIN))
            fields = _fields_before_file(prefix, delimiter, content_type, self.blobs)
            if fields is None:
                return False if body.size >= _FACTS_WITHIN else None
            ks = decode_call(target, content_type, fields).param("ks")
            if not self._unrefused(ks):
                return False
            return self.upstream.open(method, target, headers, length) or False

        return HeldBody(self.upstream, head, self.blobs.new(), decide)

    def _may_stream(self, target: str) -> bool:
        """No fault that answers without forwarding can match this request, by its query
        and path (whose parameters win over the body's in `decode_call`)."""
        return self._unrefused(decode_call(target, None, ParsedBody()).param("ks"))

    def _unrefused(self, ks: object) -> bool:
        """No partner has a refusing fault planned, or `ks` is of one that has none (an
        absent or unreadable KS is of no known partner: it may be refused)."""
        with self._lock:
            partners = tuple(self._partners)
        refusing = {p for p in partners if _refuses(self.faults.plan(p))}
        if not refusing:
            return True
        caller = self.shadow.callers.resolve(ks)
        if not isinstance(caller, Caller):
            return False
        with self._lock:
            case = self._case_users.get(caller.user_id)
        if case is not None:  # a case's own session: its case's plan is the one that applies
            return case not in refusing
        if any(key < 0 for key in refusing):  # a case's plan, by a token not known from here
            return False
        return caller.partner_id not in refusing

    def handle(self, request: IncomingRequest) -> Reply:
        """Answer one request; never raises for anything a client or the upstream sends."""
        if not isinstance(request, ForwardableRequest):
            raise TypeError("ProxyEndpoint needs the raw request: serve it with LoopbackServer")
        handed: list[Blob] = []
        with self._lock:
            self._handling += 1
        try:
            if request.method == "OPTIONS":  # a preflight: not an API call, not traced
                return self._relay(request, self.upstream.forward(*_out(request)), None)
            return self._proxy(request, handed)
        finally:
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

    def _proxy(self, request: ForwardableRequest, handed: list[Blob]) -> Reply:
        call = decode_call(request.target, request.content_type, request.body)
        exchange = self.trace.open(request.connection, request.arrival, request.body_complete)
        flags = record_call(exchange, call)
        caller = self.shadow.caller_of(call)
        if isinstance(caller, Caller):
            exchange.partner_id = caller.partner_id
            with self._lock:
                if caller.user_id in self._case_users:
                    self._users[exchange.id] = caller.user_id
        fault = self._fault_for(exchange, flags, caller)
        if fault is not None:
            exchange.fault = fault.describe()
            if fault.kind in _NOT_FORWARDED:
                if request.stream is not None:
                    request.stream.abort()  # its last byte unsent: never applied upstream
                return _refuse(fault, call, exchange)
        self.shadow.begin(exchange)
        try:
            answer = self._forward(
                request, call, exchange, flags=flags, caller=caller, handed=handed
            )
        finally:
            self.shadow.end(exchange)
        if fault is not None and fault.kind is FaultKind.DROP_AFTER_APPLY:
            return self._lose(exchange)
        if fault is not None and fault.kind is FaultKind.DELAY:
            time.sleep(fault.delay_seconds or 0.0)  # applied upstream now, answered late
        return self._relay(request, answer, exchange)

    def _forward(
        self,
        request: ForwardableRequest,
        call: ApiCall,
        exchange: Exchange,
        *,
        flags: UploadFlags | None,
        caller: Resolved,
        handed: list[Blob],
    ) -> UpstreamAnswer | UpstreamFailure:
        """Forward (or let the streamed body's last byte go), record the answer, let the
        shadow follow it."""
        stream = request.stream
        if isinstance(stream, (Outgoing, Threaded, HeldBody)):
            answer = stream.finish()
        else:
            answer = self.upstream.forward(*_out(request))
        if isinstance(answer, UpstreamAnswer):
            # As the endpoint marks it: a data request that reached the server (which
            # of its refusals came before its model the proxy cannot tell).
            exchange.applied = exchange.is_data_request and answer.status == 200
            exchange.answer = answer.decoded.answered
            self._record_created(call, exchange, answer)
            event = self.shadow.follow(exchange, call, flags, caller, answer.decoded)
            if isinstance(event, Upload) and isinstance(event.file, FilePart):
                handed.append(event.file.blob)  # the model's now
        return answer

    def _fault_for(
        self, exchange: Exchange, flags: UploadFlags | None, caller: object
    ) -> Fault | None:
        """As the endpoint: data requests with a file, a token id and a known caller."""
        payload = exchange.payload
        if flags is None or not isinstance(caller, Caller) or exchange.token_id is None:
            return None
        if payload is None or not payload.is_file:
            return None
        with self._lock:
            key = self._cases.get(exchange.token_id)
            if key is None:
                key = self._case_users.get(caller.user_id, caller.partner_id)
        self._count_for(key)
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

    def _count_for(self, partner_id: int) -> None:
        """A partner seen for the first time gets an empty plan: data requests are counted
        (`data_index`) for every partner, as the endpoint counts them."""
        with self._lock:
            if partner_id not in self._partners:
                self._partners.add(partner_id)
                self.faults.attach(partner_id, FaultPlan())

    def _record_created(self, call: ApiCall, exchange: Exchange, answer: UpstreamAnswer) -> None:
        """Every token an `uploadToken.add` made, alone or within a multirequest."""
        if is_multirequest(call.params):
            made = _added_in_multirequest(call, answer)
        elif exchange.service == "uploadtoken" and exchange.action == "add":
            made = [answer.decoded.answered.token_id]
        else:
            return
        created = [CreatedToken(exchange.partner_id, t, exchange.id) for t in made if t]
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


_FACTS_WITHIN = 64 << 10  # bytes of a multipart body searched for the fields before a file
_BOUNDARY = re.compile(r'boundary="?([^";,]+)', re.IGNORECASE)


def _fields_before_file(
    prefix: bytes, delimiter: bytes, content_type: str | None, blobs: BlobFactory
) -> ParsedBody | None:
    """The text fields before the first file part of a multipart body, parsed as the whole
    body will be; None until that part's headers are in `prefix`."""
    position = 0
    while (start := prefix.find(delimiter, position)) >= 0:
        headers_at = start + len(delimiter)
        end = prefix.find(b"\r\n\r\n", headers_at)
        if end < 0:
            return None
        if b"filename=" in prefix[headers_at:end].lower():
            before = prefix[:start] + delimiter + b"--\r\n"
            parsed = read_body(
                io.BytesIO(before).read,
                content_type=content_type,
                content_length=len(before),
                blobs=blobs,
            )
            for part in parsed.files:  # none: the cut is before the first file
                part.blob.release()
            return parsed
        position = end
    return None


def _refuses(plan: FaultPlan) -> bool:
    return any(fault.kind in _NOT_FORWARDED for fault in plan.faults)


def _added_in_multirequest(call: ApiCall, answer: UpstreamAnswer) -> list[str | None]:
    """Ids answered to the `uploadToken.add` calls of a multirequest, by position."""
    items = decode_items(answer.headers, answer.body) or []
    multi = split_multirequest(call.params)
    made: list[str | None] = []
    for number, item in zip(range(multi.first, multi.last + 1), items, strict=False):
        params = multi.next_params(number)
        if params is None:
            break
        service, action = (str(params.get(name, "")).lower() for name in ("service", "action"))
        if (service, action) == ("uploadtoken", "add"):
            made.append(item.answered.token_id)
    return made


def _out(request: ForwardableRequest) -> tuple[str, str, tuple[tuple[str, str], ...], Blob | None]:
    return request.method, request.target, request.headers, request.raw


def _refuse(fault: Fault, call: ApiCall, exchange: Exchange) -> Reply:
    """The fault's answer, made here; the upstream never sees the request."""
    kind = fault.kind
    if kind is FaultKind.RESET_BEFORE_APPLY:
        exchange.answer = Answered("reset")
        return Reply(0, "", b"", disconnect="reset", exchange=exchange)
    if kind is FaultKind.HTTP_ERROR:
        status = fault.status or 503
        exchange.answer = Answered("http-error", http_status=status)
        body = _HTML_ERROR.format(status=status).encode()
        return Reply(status, "text/html", body, exchange=exchange)
    if kind is FaultKind.CLOSE_CANNOT_MATCH:
        error = api_error(ErrorCode.UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE)
    else:
        error = ApiError(fault.code or "INTERNAL_SERVERL_ERROR", fault.message or "")
    exchange.answer = Answered("error", http_status=200, code=error.code)
    response = call.response if isinstance(call.response, ResponseFormat) else call.format
    encoded = encode_answer(Failed(error), response)
    return Reply(
        encoded.status, encoded.content_type, encoded.body, exchange=exchange, headers=API_HEADERS
    )
