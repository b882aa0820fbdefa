"""Drive a Kaltura endpoint and the reference model in lockstep (server conformance).

Every request goes to the endpoint under test over HTTP (`KalturaApi`) and, as an event, to
a private `UploadTokenModel`; the model's outcome is the PREDICTION of the answer (a close's
wait included: `sends.predict`). Each comparison becomes an `Observation` of two
`ServerAnswer`s. Tokens live under two ids (the server's and the model's), paired in
`TokenPair`.
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
    AddToken,
    Caller,
    CloseWaiting,
    DeleteToken,
    GetToken,
    ListTokens,
    Outcome,
    Pager,
    TokenFilter,
    TokenListed,
    TokenResult,
    TokenStatus,
    UploadTokenModel,
)
from conformance.model.listing import effective_order
from conformance.scenario import UploadSchedule
from conformance.server.answers import (
    Observation,
    ServerAnswer,
    answer_of_call,
    answer_of_outcome,
    answer_of_result,
    wire_number,
)
from conformance.server.listing import FILTER, WHOLE_LIST, ListQuery, canonical, cut_ties
from conformance.server.sends import Send, predict, replayed, upload_event

__all__ = ["MISSING", "RUN_PREFIX", "ServerDriver", "TokenPair"]

_MODEL_PARTNER = 1  # the model is private to the driver: any partner id will do

# Every token a process creates is named `kuc-<8 hex>-…`: recognisable on an account, and
# unique to this process, so that its end-of-run sweep never touches another run's tokens.
RUN_PREFIX = f"kuc-{secrets.token_hex(4)}"


@dataclass(frozen=True)
class TokenPair:
    """One token as the server and the model name it."""

    server_id: str
    model_id: str
    label: str


def _kept(store: list[Any], result: Any) -> Any:
    store.append(result)
    return result


MISSING = TokenPair("0_kucmissing", "0_kucmissing", "0_kucmissing")  # well-formed, never issued


@dataclass
class ServerDriver:
    """Sends uploads to an endpoint and to the model; records every comparison.

    Use as a context manager: every token it added is deleted on exit, also on failure.
    """

    api: KalturaApi
    prefix: str = field(default_factory=lambda: f"{RUN_PREFIX}-{secrets.token_hex(2)}")
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep  # lets the server's clock move on
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
        self._created_at[label] = wire_number(result.get("createdAt"))
        self.record(
            f"add {label}", answer_of_outcome(outcome), answer_of_result(result), requirements
        )
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

    def send_to_server(self, pair: TokenPair, send: Send) -> ServerAnswer:
        """The data request to the endpoint only (thread-safe: the model is not touched)."""
        files = {"fileData": (f"chunk_{send.offset}", send.payload)}
        params = {"uploadTokenId": pair.server_id, **send.params()}
        return answer_of_call(lambda: self.api.call("uploadToken", "upload", params, files))

    def get(self, pair: TokenPair, requirements: tuple[str, ...], after: str = "") -> Observation:
        return self.compare_get(pair, self.server_get(pair), requirements, after)

    def server_get(self, pair: TokenPair) -> ServerAnswer:
        params = {"uploadTokenId": pair.server_id}
        return answer_of_call(lambda: self.api.call("uploadToken", "get", params))

    def compare_get(
        self, pair: TokenPair, actual: ServerAnswer, requirements: tuple[str, ...], after: str = ""
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
            named = (
                ("fileName", raw.get("fileName")),
                ("fileSize", wire_number(raw.get("fileSize"))),
            )
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
            self.sleep(wait)

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
        return predict(self.model, self.caller, self.clock(), token_id, send)

    def replay(self, pair: TokenPair, sends: list[Send]) -> tuple[list[ServerAnswer], ServerAnswer]:
        """What a fresh model answers to `sends` after this token's history, and its `get`
        then: one linearisation of requests that were in flight together."""
        now = self.clock()
        model, token_id = self._replayed(pair, now)
        outcomes = [predict(model, self.caller, now, token_id, send) for send in sends]
        answers = [answer_of_outcome(outcome) for outcome in outcomes]
        final = answer_of_outcome(model.apply(GetToken(self.caller, now, token_id)))
        model.close()
        return answers, final

    def model_status(self, pair: TokenPair) -> TokenStatus | None:
        """The token's status as the model holds it (None: unknown or deleted)."""
        outcome = self.model.apply(GetToken(self.caller, self.clock(), pair.model_id))
        return outcome.token.status if isinstance(outcome, TokenResult) else None

    def model_size(self, pair: TokenPair) -> int | None:
        """The token's `uploadedFileSize` as the model holds it."""
        outcome = self.model.apply(GetToken(self.caller, self.clock(), pair.model_id))
        return outcome.token.uploaded_file_size if isinstance(outcome, TokenResult) else None

    def would_wait(self, pair: TokenPair, send: Send) -> bool:
        """Whether a faithful server would hold `send` for its close wait (§7): the model,
        replayed to this token's state, answers it with `CloseWaiting`."""
        if pair.model_id not in self._added:
            return False
        now = self.clock()
        model, token_id = self._replayed(pair, now)
        outcome = model.apply(upload_event(self.caller, now, token_id, send))
        model.close()
        return isinstance(outcome, CloseWaiting)

    def _replayed(self, pair: TokenPair, now: float) -> tuple[UploadTokenModel, str]:
        """A fresh model holding this token as the driver's model has it (`sends.replayed`)."""
        history = self._history.get(pair.model_id, [])
        return replayed(self.caller, now, self._added[pair.model_id], history)

    def record(
        self,
        request: str,
        expected: ServerAnswer,
        actual: ServerAnswer,
        requirements: tuple[str, ...],
    ) -> Observation:
        observation = Observation(request, expected, actual, requirements)
        self.observations.append(observation)
        return observation
