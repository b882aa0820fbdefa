"""The token life-cycle state machine (server conformance): its rules and invariant.

Rules add tokens (sized or not), send openings, middles anywhere in the file (re-sends
and out-of-order chunks included), closes (matching, early, past the end, empty), requests
with parameters omitted, uploads to finished, deleted and unknown tokens, `get`, `list`
with drawn filters and pagers (restricted to the machine's own tokens, by ids or by a file
name only the run uses), and `delete`. Every request goes through `ServerDriver`, so every
answer and the `uploadToken.get` after each upload is compared with the reference model.
The invariant: the server agrees with the model. A disagreement fails the step with the
requirement IDs of the rule that saw it (`Disagreement`).

What every sequence of one run shares (the metered API, the settings, what was exercised,
the smallest failure) is an `Exploration`, handed to each machine by the factory
`machine_factory` returns: Hypothesis's way to parametrise a state machine is a factory
passed to `run_state_machine_as_test`. `conformance.server.machine` runs it.

File contents come from `SourceFile(size, seed)`, never from drawn bytes. On an account
whose server really waits for late chunks (§7: 45 s), closes the model says would wait
are left out unless `allow_close_waits`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from conformance.content import SourceFile
from conformance.model import ErrorCode, TokenStatus
from conformance.server.answers import Observation
from conformance.server.driver import MISSING, ServerDriver, TokenPair
from conformance.server.listing import NOT_A_STATUS, ListQuery, status_list
from conformance.server.metering import MeteredApi
from conformance.server.sends import Send
from strategies import seeds

__all__ = [
    "EXERCISED",
    "MAX_FILE",
    "Disagreement",
    "Exploration",
    "Failure",
    "TokenLifecycle",
    "list_queries",
    "machine_factory",
]

MAX_FILE = 6_000  # small files: many steps, few bytes on a live account
_CANNOT_MATCH = ErrorCode.UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE.name
_PENDING = TokenStatus.PENDING.value
_PARTIAL = TokenStatus.PARTIAL_UPLOAD.value
_FULL = TokenStatus.FULL_UPLOAD.value
_DELETED = TokenStatus.DELETED.value

# What each rule exercises: a mismatch it sees is a failure of these requirements.
_OPENING = ("UT-S01",)
_MIDDLE = ("UT-S03",)
_BEYOND_GAP = ("UT-S13",)
_RESEND = ("UT-S04",)
_CLOSE = ("UT-S05", "UT-S06", "UT-S07", "UT-S08")  # which one: `_close_tags`
_FINISHED = ("UT-S09",)
_RESUME_PENDING = ("UT-S02",)
_DEFAULTS = ("UT-S12",)
_GONE = ("UT-S10",)
_TOKENS = ("UT-S14",)
_TAGS = (_OPENING, _MIDDLE, _BEYOND_GAP, _RESEND, _CLOSE, _FINISHED, _RESUME_PENDING, _DEFAULTS)
EXERCISED = tuple(sorted({rid for tags in (*_TAGS, _GONE, _TOKENS) for rid in tags}))


def list_queries() -> st.SearchStrategy[ListQuery]:
    """Filters and pagers of `uploadToken.list` (§11.3), each on its own or together; the
    restriction to the machine's tokens is added by the rule. Shrinks towards no filter."""
    return st.builds(
        ListQuery,
        status_equal=st.sampled_from((None, _PENDING, _PARTIAL, _FULL, _DELETED)),
        status_in=st.sampled_from(
            (
                None,
                status_list(_PENDING, _FULL),
                status_list(_PARTIAL),
                status_list(_PARTIAL, _FULL, NOT_A_STATUS),
            )
        ),
        order_by=st.sampled_from((None, "+createdAt", "-createdAt")),
        page_size=st.sampled_from((None, 2, 1, 0, 3)),
        page_index=st.sampled_from((None, 2, 1, 0, 3)),
    )


class Disagreement(AssertionError):  # noqa: N818 - reads as what happened
    """The server answered otherwise than the model predicted."""

    def __init__(self, observation: Observation) -> None:
        ids = ", ".join(observation.requirements)
        super().__init__(f"{ids}: {observation.describe()}")
        self.observation = observation


@dataclass(frozen=True)
class Failure:
    """A disagreement, the requests of the sequence that led to it and their comparisons."""

    disagreement: Disagreement
    requests: tuple[str, ...]
    observed: tuple[Observation, ...] = ()


@dataclass
class Exploration:
    """One run of the machine, shared by all its sequences: the API, whether closes a
    faithful server would hold may be sent, the requests shrinking may spend (None: no
    limit), the requirements some step compared, a tally of sequences, steps and answers,
    and the failing sequence with the fewest requests so far."""

    api: MeteredApi
    allow_close_waits: bool = True
    shrink_requests: int | None = None
    exercised: set[str] = field(default_factory=set)
    tally: Counter[str] = field(default_factory=Counter[str])
    smallest: Failure | None = None


def machine_factory(exploration: Exploration) -> Callable[[], TokenLifecycle]:
    """What `run_state_machine_as_test` builds each sequence's machine with."""

    def new_machine() -> TokenLifecycle:
        return TokenLifecycle(exploration)

    return new_machine


@dataclass
class _Token:
    pair: TokenPair
    source: SourceFile
    sent: set[tuple[int, int]] = field(default_factory=set)  # (offset, length) of middles
    deleted: bool = False
    refused_close: bool = False  # a close was answered CANNOT_MATCH_EXPECTED_SIZE

    def bound(self, index: int) -> int:
        """The start of chunk `index` of four equal chunks (4: the end of the file)."""
        return self.source.size * index // 4


class TokenLifecycle(RuleBasedStateMachine):
    """One sequence of token operations against `exploration.api` (built by the factory
    `machine_factory` returns)."""

    def __init__(self, exploration: Exploration) -> None:
        super().__init__()
        self.exploration = exploration
        exploration.tally["sequences"] += 1
        self.driver = ServerDriver(exploration.api)
        self.tokens: list[_Token] = []
        self._judged = 0

    tokens_made = Bundle("tokens_made")

    # --- tokens ------------------------------------------------------------------------

    @initialize(target=tokens_made, size=st.integers(1, MAX_FILE), content=seeds())
    def first_token(self, size: int, content: int) -> _Token:
        return self._add(size, content)

    @rule(
        target=tokens_made,
        size=st.one_of(st.none(), st.integers(0, MAX_FILE)),
        content=seeds(),
        shared_name=st.booleans(),
    )
    def add(self, size: int | None, content: int, *, shared_name: bool) -> _Token:
        """A token, maybe with the file name other tokens of the run share."""
        return self._add(size, content, self.driver.run_name("shared") if shared_name else None)

    def _add(self, size: int | None, content: int, file_name: str | None = None) -> _Token:
        source = SourceFile(size if size is not None else MAX_FILE // 2, content)
        token = _Token(self.driver.new_token(size, _TOKENS, file_name=file_name), source)
        self.tokens.append(token)
        return token

    @rule(token=tokens_made)
    def get(self, token: _Token) -> None:
        self.driver.get(token.pair, _GONE if token.deleted else _TOKENS)

    @rule(token=tokens_made)
    def delete(self, token: _Token) -> None:
        self.driver.delete(token.pair, _GONE if token.deleted else _TOKENS)
        token.deleted = True

    @rule(query=list_queries(), token=tokens_made, by_size=st.booleans())
    def list_mine(self, query: ListQuery, token: _Token, *, by_size: bool) -> None:
        """A list over the machine's tokens, deleted ones included (`idIn`); `by_size`:
        filtered on `token`'s declared size as well."""
        if by_size:
            query = replace(query, file_size_equal=self.driver.declared_size(token.pair))
        self.driver.list_tokens(query, _TOKENS, [known.pair for known in self.tokens])

    @rule(query=list_queries(), token=tokens_made)
    def list_by_name(self, query: ListQuery, token: _Token) -> None:
        """A list by `token`'s file name alone, a name only this run uses (no `idIn`)."""
        named = replace(query, file_name_equal=self.driver.file_name(token.pair))
        self.driver.list_tokens(named, _TOKENS)

    @rule()
    def unknown_token(self) -> None:
        """get, an opening and delete on an id no one was given."""
        self.driver.get(MISSING, _GONE)
        self.driver.upload(MISSING, Send.opening(b"x"), _GONE)
        self.driver.delete(MISSING, _GONE)

    # --- data requests -----------------------------------------------------------------

    @rule(token=tokens_made, final=st.booleans())
    def opening(self, token: _Token, *, final: bool) -> None:
        """The first of the file's four chunks (or the whole file, when final)."""
        end = token.source.size if final else token.bound(1)
        send = Send.opening(token.source.read(0, end), final=final)
        self._upload(token, send, self._tags(token, _OPENING))

    @rule(token=tokens_made, index=st.sampled_from((1, 2)), twice=st.booleans())
    def middle(self, token: _Token, index: int, *, twice: bool) -> None:
        """One of the two middle chunks, in any order; `twice`: re-sent at once."""
        for _ in range(2 if twice else 1):
            self._middle(token, token.bound(index), token.bound(index + 1))

    @rule(token=tokens_made, where=st.floats(0, 1), length=st.integers(0, 2_000))
    def odd_middle(self, token: _Token, where: float, length: int) -> None:
        """A middle anywhere, of any length: overlaps, gaps, past the end, empty."""
        start = round(token.source.size * where)
        self._middle(token, start, start + length)

    def _middle(self, token: _Token, start: int, end: int) -> None:
        payload = token.source.read(start, min(token.source.size, end))
        if (start, len(payload)) in token.sent:
            tags = _RESEND
        elif start > (self.driver.model_size(token.pair) or 0):
            tags = _BEYOND_GAP  # it must wait; uploadedFileSize must not count it
        else:
            tags = _MIDDLE
        token.sent.add((start, len(payload)))
        self._upload(token, Send.middle(payload, start), self._tags(token, tags))

    @rule(token=tokens_made, empty=st.booleans(), past_end=st.sampled_from((0, 0, 0, 7)))
    def close(self, token: _Token, *, empty: bool, past_end: int) -> None:
        """The last chunk with finalChunk=true (or an empty close at the end); `past_end`
        bytes beyond the file make a size the assembled file cannot match."""
        start = token.source.size if empty else token.bound(3)
        self._close(token, max(1, start), past_end)

    @rule(token=tokens_made, where=st.floats(0, 1))
    def odd_close(self, token: _Token, where: float) -> None:
        """A close from anywhere in the file to its end."""
        self._close(token, max(1, round(token.source.size * where)), 0)

    def _close(self, token: _Token, start: int, past_end: int) -> None:
        size = token.source.size
        payload = token.source.read(min(start, size), size) + b"\0" * past_end
        send = Send.close(payload, start)
        waits = self.driver.would_wait(token.pair, send)
        if waits and not self.exploration.allow_close_waits:
            return  # a faithful server would hold it for its whole close wait
        tags = self._close_tags(token, send, waits=waits, past_end=past_end)
        answered = self.driver.upload(token.pair, send, self._tags(token, tags))
        token.refused_close = token.refused_close or answered.expected.code == _CANNOT_MATCH

    @staticmethod
    def _close_tags(token: _Token, send: Send, *, waits: bool, past_end: int) -> tuple[str, ...]:
        """The requirements a close exercises: a size that cannot match (UT-S08), an early
        close (UT-S05), the retry of a refused one (UT-S06), an empty one (UT-S07); else
        the close of chunks assembled by offset (UT-S03)."""
        if past_end:
            return ("UT-S08",)
        if waits:
            return ("UT-S05",)
        tags = (("UT-S06",) if token.refused_close else ()) + (() if send.payload else ("UT-S07",))
        return tags or ("UT-S03",)

    @rule(
        token=tokens_made,
        middles=st.permutations((1, 2, 3)).flatmap(
            lambda p: st.sampled_from([p[:k] for k in range(4)])
        ),
        empty=st.booleans(),
        past_end=st.sampled_from((0, 0, 0, 7)),
        finish=st.booleans(),
        resend=st.booleans(),
    )
    def staged_upload(
        self,
        token: _Token,
        *,
        middles: tuple[int, ...],
        empty: bool,
        past_end: int,
        finish: bool,
        resend: bool,
    ) -> None:
        """The three stages on one token: the opening, some middles (chunk 3 among them
        makes the close empty; `resend`: the first one again after the others), the close;
        `finish`: then the missing chunks and the close again. Reaches re-sends away from
        the end of the file, and early, retried, empty and mismatched closes, often."""
        self.opening(token, final=False)
        for index in (*middles, *middles[:1]) if resend else middles:
            self._middle(token, token.bound(index), token.bound(index + 1))
        self.close(token, empty=empty, past_end=past_end)
        if finish:
            for index in sorted({1, 2, 3} - set(middles)):
                self._middle(token, token.bound(index), token.bound(index + 1))
            self.close(token, empty=empty, past_end=0)

    @rule(token=tokens_made)
    def whole_file_with_defaults(self, token: _Token) -> None:
        """resume, finalChunk and resumeAt omitted: the defaults false, true, -1."""
        send = Send(token.source.read(0, token.source.size), 0)  # every flag omitted
        self._upload(token, send, self._tags(token, _DEFAULTS))

    def _upload(self, token: _Token, send: Send, tags: tuple[str, ...]) -> None:
        self.driver.upload(token.pair, send, tags)

    def _tags(self, token: _Token, tags: tuple[str, ...]) -> tuple[str, ...]:
        """Which requirements a data request exercises, given the token's state."""
        if token.deleted:
            return _GONE
        state = self.driver.model_status(token.pair)
        if state is TokenStatus.FULL_UPLOAD:
            return _FINISHED
        if state is TokenStatus.PENDING and tags not in (_OPENING, _DEFAULTS, _RESEND):
            return _RESUME_PENDING
        return tags

    # --- the invariant -----------------------------------------------------------------

    @invariant()
    def server_agrees_with_the_model(self) -> None:
        new = self.driver.observations[self._judged :]
        self._judged = len(self.driver.observations)
        tally = self.exploration.tally
        tally["steps"] += 1  # Hypothesis checks invariants after every step
        tally["answers"] += len(new)
        for observation in new:
            self.exploration.exercised.update(observation.requirements)
            if not observation.ok:
                self._found(Disagreement(observation))

    def _found(self, disagreement: Disagreement) -> None:
        """Keep the smallest failure (in case shrinking is cut short), start the shrinking
        allowance on the first one, and fail the step."""
        run = self.exploration
        requests = tuple(seen.request for seen in self.driver.observations)
        if run.smallest is None:
            run.api.allowance = run.shrink_requests
        if run.smallest is None or len(requests) < len(run.smallest.requests):
            run.smallest = Failure(disagreement, requests, tuple(self.driver.observations))
        raise disagreement

    def teardown(self) -> None:
        self.driver.cleanup()
