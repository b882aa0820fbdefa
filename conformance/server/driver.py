"""Drive a Kaltura endpoint and the reference model in lockstep (server conformance).

Every request goes to the endpoint under test over HTTP (`KalturaApi`) and, as an event, to
a private `UploadTokenModel`; the model's outcome is the PREDICTION of the answer. Each
comparison becomes an `Observation`. Tokens live under two ids (the server's and the
model's), paired in `TokenPair`.

The close's wait (§7): where the model answers `CloseWaiting`, the real server waits for
late chunks. The driver sends requests one at a time, so nothing can arrive meanwhile, but
the server still runs its passes (a drain and a glob pass each), and a later pass can move
bytes an earlier one did not: a chunk stored at offset 0 is rewritten by the glob pass and
the next drain goes back to the end of the file (§6.3). So the prediction runs the passes
of a whole wait (Kaltura's 45) before `AbandonClose`. A server with a shorter wait runs
fewer (`kaltura-conformance serve --final-wait 0.2`: about ten); in the sequences found so
far the second pass already leaves the state the 45th does. No sleeping, no timing
assumptions.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any

from conformance.clients.api import KalturaApi, KalturaCallError, KalturaTransportError
from conformance.content import SourceFile
from conformance.model import (
    AbandonClose,
    AddToken,
    Caller,
    CloseWaiting,
    ContinueClose,
    Deleted,
    DeleteToken,
    Failed,
    FilePart,
    GetToken,
    ListTokens,
    MemoryBlob,
    Outcome,
    Pager,
    TokenFilter,
    TokenListed,
    TokenResult,
    Upload,
    UploadTokenModel,
)
from conformance.model.listing import effective_order
from conformance.scenario import PlannedRequest, UploadSchedule
from conformance.server.listing import FILTER, WHOLE_LIST, ListQuery, canonical, cut_ties

__all__ = [
    "RUN_PREFIX",
    "Answer",
    "Observation",
    "Send",
    "ServerDriver",
    "TokenPair",
    "answer_of_call",
    "answer_of_outcome",
]

# Passes of a close's wait (§7: `upload_final_chunk_max_append_time`, one a second).
CLOSE_PASSES = 45
_MODEL_PARTNER = 1  # the model is private to the driver: any partner id will do

# Every token a process creates is named `kuc-<8 hex>-…`: recognisable on an account, and
# unique to this process, so that its end-of-run sweep never touches another run's tokens.
RUN_PREFIX = f"kuc-{secrets.token_hex(4)}"


@dataclass(frozen=True)
class Answer:
    """An answer reduced to what server conformance compares.

    `kind` is "ok", "error" (a Kaltura error object) or "transport" (no usable answer).
    `status` and `size` are a token's status and `uploadedFileSize` (None when absent);
    `count` is a list's `totalCount` and `listed` the tokens its page holds, in order
    (see `ListQuery` for how ties and unspecified orders are compared).
    """

    kind: str
    code: str | None = None
    status: int | None = None
    size: int | None = None
    count: int | None = None
    listed: tuple[str, ...] | None = None
    fields: tuple[tuple[str, object], ...] = ()

    def describe(self) -> str:
        if self.kind == "error":
            return f"error {self.code}"
        if self.kind == "transport":
            return f"no answer ({self.code})"
        parts = ["ok"]
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.size is not None:
            parts.append(f"uploadedFileSize={self.size}")
        if self.count is not None:
            parts.append(f"totalCount={self.count}")
        if self.listed is not None:
            parts.append(f"objects=[{', '.join(self.listed)}]")
        parts.extend(f"{name}={value!r}" for name, value in self.fields)
        return " ".join(parts)


@dataclass(frozen=True)
class Observation:
    """One comparison: the request, the model's prediction, the server's answer."""

    request: str
    expected: Answer
    actual: Answer
    requirements: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.expected == self.actual

    def describe(self) -> str:
        verdict = "as predicted" if self.ok else "MISMATCH"
        return (
            f"{self.request}: expected {self.expected.describe()},"
            f" got {self.actual.describe()} ({verdict})"
        )


@dataclass(frozen=True)
class TokenPair:
    """One token as the server and the model name it."""

    server_id: str
    model_id: str
    label: str


@dataclass(frozen=True)
class Send:
    """One `uploadToken.upload`. None for resume/final/resume_at means "omit the parameter"
    (UT-S12: the server must apply its defaults)."""

    payload: bytes
    offset: int
    resume: bool | None
    final: bool | None
    resume_at: int | None

    @classmethod
    def planned(cls, request: PlannedRequest, source: SourceFile) -> Send:
        chunk = request.chunk
        payload = source.read(chunk.start, chunk.end)
        return cls(payload, chunk.start, request.resume, request.final, request.resume_at)

    def describe(self) -> str:
        flags = [
            f"{name}={value}"
            for name, value in (
                ("resume", self.resume),
                ("finalChunk", self.final),
                ("resumeAt", self.resume_at),
            )
            if value is not None
        ]
        return " ".join([f"upload {len(self.payload)} B chunk_{self.offset}", *flags])

    def params(self) -> dict[str, object]:
        return {"resume": self.resume, "finalChunk": self.final, "resumeAt": self.resume_at}


def _kept(store: list[Any], result: Any) -> Any:
    store.append(result)
    return result


def answer_of_outcome(outcome: Outcome) -> Answer:
    """The model's outcome as an `Answer` (a `CloseWaiting` must be resolved first)."""
    if isinstance(outcome, Failed):
        return Answer("error", code=outcome.code)
    if isinstance(outcome, TokenResult):
        token = outcome.token
        return Answer("ok", status=int(token.status), size=token.uploaded_file_size)
    if isinstance(outcome, TokenListed):
        return Answer("ok", count=outcome.total_count)
    if isinstance(outcome, Deleted):
        return Answer("ok")
    raise ValueError(f"unresolved outcome {outcome!r}")


def answer_of_call(call: Callable[[], Any]) -> Answer:
    """Run one API call; its JSON result, error object or failure as an `Answer`."""
    try:
        result = call()
    except KalturaCallError as error:
        return Answer("error", code=error.code)
    except KalturaTransportError as error:
        return Answer("transport", code=str(error))
    if not isinstance(result, dict):
        return Answer("ok")  # delete answers null
    if result.get("objectType") == "KalturaUploadTokenListResponse":
        return Answer("ok", count=_number(result.get("totalCount")))
    return Answer("ok", status=_number(result.get("status")), size=_size(result))


def _size(result: dict[str, Any]) -> int | None:
    return _number(result.get("uploadedFileSize"))


def _number(value: object) -> int | None:
    """Kaltura spells sizes as JSON strings (§1.3); compare them numerically."""
    if value is None or value == "":
        return None
    try:
        return int(float(str(value)))
    except ValueError:
        return -1  # not a number: never equal to a prediction


@dataclass
class ServerDriver:
    """Sends uploads to an endpoint and to the model; records every comparison.

    Use as a context manager: every token it added is deleted on exit, also on failure.
    """

    api: KalturaApi
    prefix: str = field(default_factory=lambda: f"{RUN_PREFIX}-{secrets.token_hex(2)}")
    clock: Callable[[], float] = time.time
    observations: list[Observation] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.model = UploadTokenModel()
        self.caller = Caller(_MODEL_PARTNER)
        self._created: list[TokenPair] = []
        self._added: dict[str, tuple[str, float | None]] = {}  # model id: name, size
        self._history: dict[str, list[Send]] = {}  # model id: data requests applied
        self._serial = 0
        self._labels: dict[str, str] = {}  # server id and model id: label
        self._created_at: dict[str, int | None] = {}  # label: the server's createdAt
        self._last_add = 0.0  # time.monotonic() when the last add was answered

    def __enter__(self) -> ServerDriver:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.cleanup()

    # --- tokens ------------------------------------------------------------------------

    def new_token(
        self,
        file_size: int | None,
        requirements: tuple[str, ...] = (),
        *,
        file_name: str | None = None,
    ) -> TokenPair:
        """`uploadToken.add` on both sides, named `file_name` (see `run_name`) or with a
        name of its own; the label is unique either way."""
        self._serial += 1
        name = file_name or self.run_name(str(self._serial))
        label = name if file_name is None else f"{name}#{self._serial}"
        size = None if file_size is None else float(file_size)
        outcome = self.model.apply(AddToken(self.caller, self.clock(), name, size))
        params = {"uploadToken:fileName": name, "uploadToken:fileSize": file_size}
        try:
            result = self.api.call("uploadToken", "add", params)
        except (KalturaCallError, KalturaTransportError) as error:
            raise RuntimeError(f"uploadToken.add failed: {error}") from error
        self._last_add = time.monotonic()
        if not isinstance(outcome, TokenResult) or not isinstance(result, dict):
            raise RuntimeError(f"uploadToken.add answered {result!r} (model: {outcome!r})")
        pair = TokenPair(str(result.get("id")), outcome.token.id, label)
        self._created.append(pair)
        self._added[pair.model_id] = (name, size)
        self._labels |= {pair.server_id: label, pair.model_id: label}
        self._created_at[label] = _number(result.get("createdAt"))
        self.record(f"add {label}", answer_of_outcome(outcome), _add_answer(result), requirements)
        return pair

    def file_name(self, pair: TokenPair) -> str:
        """The name `pair` was added with."""
        return self._added[pair.model_id][0]

    def declared_size(self, pair: TokenPair) -> int | None:
        """The `fileSize` `pair` was added with (None: none was)."""
        size = self._added[pair.model_id][1]
        return None if size is None else int(size)

    def run_name(self, stem: str) -> str:
        """A file name only this driver uses (what the end-of-run sweep looks for)."""
        return f"{self.prefix}-{stem}.bin"

    def cleanup(self) -> None:
        """Delete every token this driver added (errors ignored: it may be gone already)."""
        created, self._created = self._created, []
        for pair in created:
            with contextlib.suppress(KalturaCallError, KalturaTransportError):
                self.api.call("uploadToken", "delete", {"uploadTokenId": pair.server_id})

    # --- requests ----------------------------------------------------------------------

    def upload(self, pair: TokenPair, send: Send, requirements: tuple[str, ...]) -> Observation:
        """One data request to both; then `get` compares the token's state."""
        expected = answer_of_outcome(self.predict_upload(pair.model_id, send))
        actual = self.send_to_server(pair, send)
        label = f"{send.describe()} to {pair.label}"
        observed = self.record(label, expected, actual, requirements)
        self.get(pair, requirements, after=send.describe())
        return observed

    def send_to_server(self, pair: TokenPair, send: Send) -> Answer:
        """The data request to the endpoint only (thread-safe: the model is not touched)."""
        files = {"fileData": (f"chunk_{send.offset}", send.payload)}
        params = {"uploadTokenId": pair.server_id, **send.params()}
        return answer_of_call(lambda: self.api.call("uploadToken", "upload", params, files))

    def get(self, pair: TokenPair, requirements: tuple[str, ...], after: str = "") -> Observation:
        return self.compare_get(pair, self.server_get(pair), requirements, after)

    def server_get(self, pair: TokenPair) -> Answer:
        params = {"uploadTokenId": pair.server_id}
        return answer_of_call(lambda: self.api.call("uploadToken", "get", params))

    def compare_get(
        self, pair: TokenPair, actual: Answer, requirements: tuple[str, ...], after: str = ""
    ) -> Observation:
        """The model's `get` against an answer the server already gave."""
        outcome = self.model.apply(GetToken(self.caller, self.clock(), pair.model_id))
        label = f"get {pair.label}" + (f" after {after}" if after else "")
        return self.record(label, answer_of_outcome(outcome), actual, requirements)

    def delete(self, pair: TokenPair, requirements: tuple[str, ...]) -> Observation:
        outcome = self.model.apply(DeleteToken(self.caller, self.clock(), pair.model_id))
        params = {"uploadTokenId": pair.server_id}
        actual = answer_of_call(lambda: self.api.call("uploadToken", "delete", params))
        return self.record(f"delete {pair.label}", answer_of_outcome(outcome), actual, requirements)

    def fields(self, pair: TokenPair, requirements: tuple[str, ...]) -> Observation:
        """`uploadToken.get`, comparing the fields `add` set as well (UT-S14)."""
        outcome = self.model.apply(GetToken(self.caller, self.clock(), pair.model_id))
        expected = answer_of_outcome(outcome)
        if isinstance(outcome, TokenResult):
            token = outcome.token
            size = None if token.file_size is None else int(token.file_size)
            expected = replace(expected, fields=(("fileName", token.file_name), ("fileSize", size)))
        raw: dict[str, Any] = {}

        def get() -> Any:
            result = self.api.call("uploadToken", "get", {"uploadTokenId": pair.server_id})
            raw.update(result if isinstance(result, dict) else {})
            return result

        actual = answer_of_call(get)
        if actual.kind == "ok":
            named = (("fileName", raw.get("fileName")), ("fileSize", _number(raw.get("fileSize"))))
            actual = replace(actual, fields=named)
        return self.record(f"get fields of {pair.label}", expected, actual, requirements)

    def list_by_id(self, pair: TokenPair, requirements: tuple[str, ...]) -> Observation:
        """`uploadToken.list` filtered on one token's id (`idEqual`)."""
        return self._compare_list(
            f"list idEqual {pair.label}",
            requirements,
            model_filter=TokenFilter(id_equal=pair.model_id),
            pager=Pager(),
            params={**FILTER, "filter:idEqual": pair.server_id},
        )

    def list_tokens(
        self,
        query: ListQuery,
        requirements: tuple[str, ...],
        among: list[TokenPair] | None = None,
    ) -> Observation:
        """`uploadToken.list` restricted to this driver's tokens: by `idIn` over `among`,
        or, without `among`, by `query.file_name_equal` (a name only this driver uses)."""
        if among is None and query.file_name_equal is None:
            raise ValueError("list_tokens needs `among` or a file name of this driver's")
        model_ids = None if among is None else ",".join(pair.model_id for pair in among)
        server_ids = None if among is None else ",".join(pair.server_id for pair in among)
        how = "" if among is None else f" among {len(among)} token(s)"
        return self._compare_list(
            f"list {query.describe()}{how}",
            requirements,
            model_filter=query.model_filter(model_ids),
            pager=query.pager(),
            params=query.server_params(server_ids),
            order_by=query.order_by,
        )

    def _compare_list(
        self,
        label: str,
        requirements: tuple[str, ...],
        *,
        model_filter: TokenFilter,
        pager: Pager,
        params: dict[str, object],
        order_by: str | None = None,
    ) -> Observation:
        """`totalCount` and the page's tokens, canonical as `ListQuery` says."""
        now = self.clock()
        outcome = self.model.apply(ListTokens(self.caller, now, model_filter, pager))
        whole = self.model.apply(ListTokens(self.caller, now, model_filter, WHOLE_LIST))
        key = self._sort_key(order_by)
        expected, cut = answer_of_outcome(outcome), frozenset[object]()
        if isinstance(outcome, TokenListed) and isinstance(whole, TokenListed):
            page = [self._labels.get(view.id, view.id) for view in outcome.objects]
            cut = cut_ties(
                page, [self._labels.get(view.id, view.id) for view in whole.objects], key
            )
            expected = replace(expected, listed=canonical(page, key, cut))
        raw: list[Any] = []
        actual = answer_of_call(lambda: _kept(raw, self.api.call("uploadToken", "list", params)))
        if actual.kind == "ok" and raw and isinstance(raw[0], dict):
            ids = [
                str(item.get("id"))
                for item in raw[0].get("objects") or ()
                if isinstance(item, dict)
            ]
            listed = canonical([self._labels.get(i, i) for i in ids], key, cut)
            actual = replace(actual, listed=listed)
        return self.record(label, expected, actual, requirements)

    def _sort_key(self, order_by: str | None) -> Callable[[str], object]:
        """What a listing is ordered by: the `createdAt` the server gave each token, or
        nothing (one tie group) where the order is the database's."""
        if effective_order(order_by) is None:  # no known item in the comma list
            return lambda label: None
        return self._created_at.get

    def await_new_created_at(self) -> None:
        """Sleep until a token added now gets a later `createdAt` than every token so far
        (whole seconds): lets a check see `orderBy` sort, not a tie-break §11.3 leaves open."""
        wait = self._last_add + 1.0 - time.monotonic()
        if wait > 0:
            time.sleep(wait)

    def run_schedule(
        self,
        source: SourceFile,
        schedule: UploadSchedule,
        requirements: tuple[str, ...],
        *,
        file_name: str | None = None,
    ) -> TokenPair:
        """A fresh token, then every planned request of `schedule` in order."""
        pair = self.new_token(source.size, requirements, file_name=file_name)
        for planned in schedule.requests():
            self.upload(pair, Send.planned(planned, source), requirements)
        return pair

    def mismatches(self) -> Iterator[Observation]:
        return (observation for observation in self.observations if not observation.ok)

    # --- the model side ----------------------------------------------------------------

    def predict_upload(self, token_id: str, send: Send) -> Outcome:
        """The model's answer to `send`; a close left waiting is abandoned (see module doc)."""
        self._history.setdefault(token_id, []).append(send)
        return _predict(self.model, self.caller, self.clock(), token_id, send)

    def replay(self, pair: TokenPair, sends: list[Send]) -> tuple[list[Answer], Answer]:
        """What a fresh model answers to `sends` after this token's history, and its `get`
        then: one linearisation of requests that were in flight together."""
        model, now = UploadTokenModel(), self.clock()
        name, size = self._added[pair.model_id]
        added = model.apply(AddToken(self.caller, now, name, size))
        assert isinstance(added, TokenResult), added
        token_id = added.token.id
        for earlier in self._history.get(pair.model_id, []):
            _predict(model, self.caller, now, token_id, earlier)
        answers = [answer_of_outcome(_predict(model, self.caller, now, token_id, s)) for s in sends]
        final = answer_of_outcome(model.apply(GetToken(self.caller, now, token_id)))
        model.close()
        return answers, final

    def model_status(self, pair: TokenPair) -> int | None:
        """The token's status as the model holds it (None: unknown or deleted)."""
        outcome = self.model.apply(GetToken(self.caller, self.clock(), pair.model_id))
        return int(outcome.token.status) if isinstance(outcome, TokenResult) else None

    def model_size(self, pair: TokenPair) -> int | None:
        """The token's `uploadedFileSize` as the model holds it."""
        outcome = self.model.apply(GetToken(self.caller, self.clock(), pair.model_id))
        return outcome.token.uploaded_file_size if isinstance(outcome, TokenResult) else None

    def would_wait(self, pair: TokenPair, send: Send) -> bool:
        """Whether a faithful server would hold `send` for its close wait (§7): the model,
        replayed to this token's state, answers it with `CloseWaiting`."""
        if pair.model_id not in self._added:
            return False
        model, now = UploadTokenModel(), self.clock()
        name, size = self._added[pair.model_id]
        added = model.apply(AddToken(self.caller, now, name, size))
        assert isinstance(added, TokenResult), added
        for earlier in self._history.get(pair.model_id, []):
            _predict(model, self.caller, now, added.token.id, earlier)
        outcome = model.apply(_upload_event(self.caller, now, added.token.id, send))
        model.close()
        return isinstance(outcome, CloseWaiting)

    def record(
        self, request: str, expected: Answer, actual: Answer, requirements: tuple[str, ...]
    ) -> Observation:
        observation = Observation(request, expected, actual, requirements)
        self.observations.append(observation)
        return observation


def _upload_event(caller: Caller, now: float, token_id: str, send: Send) -> Upload:
    """`send` as the model's event, with the server's defaults for omitted parameters."""
    return Upload(
        caller,
        now,
        token_id,
        FilePart(MemoryBlob(send.payload), f"chunk_{send.offset}"),
        resume=False if send.resume is None else send.resume,
        final_chunk=True if send.final is None else send.final,
        resume_at=-1.0 if send.resume_at is None else float(send.resume_at),
    )


def _predict(
    model: UploadTokenModel, caller: Caller, now: float, token_id: str, send: Send
) -> Outcome:
    outcome = model.apply(_upload_event(caller, now, token_id, send))
    # Sequential driving: no chunk arrives during the server's wait, but its passes run.
    for _ in range(CLOSE_PASSES - 1):  # the first pass ran with the request
        if not isinstance(outcome, CloseWaiting):
            return outcome
        outcome = model.apply(ContinueClose(outcome.ticket, now))
    if isinstance(outcome, CloseWaiting):
        outcome = model.apply(AbandonClose(outcome.ticket, now))
    return outcome


def _add_answer(result: dict[str, Any]) -> Answer:
    return Answer("ok", status=_number(result.get("status")), size=_size(result))
