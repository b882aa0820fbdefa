"""Fixtures for the example tests that pin `conformance.model` to the server semantics.

Every test gets a fresh `Harness`: a model with the default config, an admin caller of one
partner, a fixed clock, and shorthands for the requests the spec talks about. Bytes come from
one deterministic source (`Harness.src`), so "the file equals the source" is easy to state.
Test modules import the helper types only under `TYPE_CHECKING` (this directory has no
`__init__.py`, so it is not a package).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conformance.model import (
    AbandonClose,
    AddToken,
    Caller,
    CloseWaiting,
    ContinueClose,
    DeleteToken,
    Failed,
    FilePart,
    GetToken,
    ListTokens,
    MemoryBlob,
    ModelConfig,
    NotAFile,
    Outcome,
    Pager,
    TokenFilter,
    TokenListed,
    TokenResult,
    TokenView,
    Upload,
    UploadTokenModel,
)
from conformance.model.token import TokenRecord

NOW = 1_700_000_000.0
PARTNER = 101
OTHER_PARTNER = 202
ADMIN = Caller(PARTNER, "admin", is_admin=True)
ALICE = Caller(PARTNER, "alice", is_admin=False)
BOB = Caller(PARTNER, "bob", is_admin=False)
STRANGER = Caller(OTHER_PARTNER, "admin", is_admin=True)

# 4 KiB of deterministic, non-repeating-per-256 bytes: slices of it are the "source file".
SOURCE = bytes((i * 31 + i // 251 + 7) % 256 for i in range(4096))

TokenRef = str | TokenView
_UNSET = Caller(-1, "unset")


def _id(token: TokenRef) -> str:
    return token if isinstance(token, str) else token.id


class Harness:
    """A model plus a default caller and clock, with one method per kind of request."""

    src = SOURCE
    NOW = NOW
    PARTNER = PARTNER
    OTHER_PARTNER = OTHER_PARTNER
    ADMIN = ADMIN
    ALICE = ALICE
    BOB = BOB
    STRANGER = STRANGER

    def __init__(self, config: ModelConfig | None = None) -> None:
        self.model = UploadTokenModel(config=config)
        self.caller: Caller = ADMIN
        self.now = NOW

    # --- requests -----------------------------------------------------------------

    def _who(self, caller: Caller | None) -> Caller | None:
        return self.caller if caller is _UNSET else caller

    def _when(self, now: float | None) -> float:
        return self.now if now is None else now

    def add_outcome(
        self,
        *,
        file_name: str | None = None,
        file_size: float | None = None,
        auto_finalize: int | None = None,
        readonly_fields: tuple[str, ...] = (),
        caller: Caller | None = _UNSET,
        now: float | None = None,
    ) -> Outcome:
        return self.model.apply(
            AddToken(
                self._who(caller),
                self._when(now),
                file_name=file_name,
                file_size=file_size,
                auto_finalize=auto_finalize,
                readonly_fields=readonly_fields,
            )
        )

    def add(
        self,
        *,
        file_name: str | None = None,
        file_size: float | None = None,
        auto_finalize: int | None = None,
        caller: Caller | None = _UNSET,
        now: float | None = None,
    ) -> TokenView:
        """`uploadToken.add` that must succeed."""
        outcome = self.add_outcome(
            file_name=file_name,
            file_size=file_size,
            auto_finalize=auto_finalize,
            caller=caller,
            now=now,
        )
        return self.ok(outcome)

    def upload(
        self,
        token: TokenRef | None,
        data: bytes | None,
        *,
        resume: bool = False,
        final: bool = True,
        at: float = -1.0,
        name: str = "fileData",
        caller: Caller | None = _UNSET,
        now: float | None = None,
    ) -> Outcome:
        """`uploadToken.upload`; defaults are the server's (resume=false, finalChunk=true,
        resumeAt=-1). `data=None` sends no `fileData` at all."""
        part = None if data is None else FilePart(MemoryBlob(data), name)
        return self.upload_part(
            token, part, resume=resume, final=final, at=at, caller=caller, now=now
        )

    def upload_part(
        self,
        token: TokenRef | None,
        part: FilePart | NotAFile | None,
        *,
        resume: bool = False,
        final: bool = True,
        at: float = -1.0,
        caller: Caller | None = _UNSET,
        now: float | None = None,
    ) -> Outcome:
        token_id = None if token is None else _id(token)
        event = Upload(
            self._who(caller),
            self._when(now),
            token_id,
            part,
            resume=resume,
            final_chunk=final,
            resume_at=at,
        )
        return self.model.apply(event)

    def open(self, token: TokenRef, end: int, *, final: bool = False) -> Outcome:
        """Stage 1: resume=false with the source's first `end` bytes."""
        return self.upload(token, self.src[:end], resume=False, final=final)

    def part(
        self,
        token: TokenRef,
        start: int,
        end: int,
        *,
        final: bool = False,
        now: float | None = None,
    ) -> Outcome:
        """Stage 2/3: resume=true, resumeAt=start, the source's bytes [start, end)."""
        return self.upload(token, self.src[start:end], resume=True, final=final, at=start, now=now)

    def get(self, token: TokenRef | None, *, caller: Caller | None = _UNSET) -> Outcome:
        token_id = None if token is None else _id(token)
        return self.model.apply(GetToken(self._who(caller), self.now, token_id))

    def delete(
        self, token: TokenRef | None, *, caller: Caller | None = _UNSET, now: float | None = None
    ) -> Outcome:
        token_id = None if token is None else _id(token)
        return self.model.apply(DeleteToken(self._who(caller), self._when(now), token_id))

    def list_tokens(
        self,
        token_filter: TokenFilter | None = None,
        pager: Pager | None = None,
        *,
        caller: Caller | None = _UNSET,
        now: float | None = None,
    ) -> Outcome:
        event = ListTokens(
            self._who(caller),
            self._when(now),
            token_filter or TokenFilter(),
            pager or Pager(),
        )
        return self.model.apply(event)

    def listed(
        self,
        token_filter: TokenFilter | None = None,
        pager: Pager | None = None,
        *,
        caller: Caller | None = _UNSET,
        now: float | None = None,
    ) -> TokenListed:
        """`uploadToken.list` that must succeed."""
        outcome = self.list_tokens(token_filter, pager, caller=caller, now=now)
        assert isinstance(outcome, TokenListed), outcome
        return outcome

    def listed_ids(
        self,
        token_filter: TokenFilter | None = None,
        pager: Pager | None = None,
        *,
        caller: Caller | None = _UNSET,
        now: float | None = None,
    ) -> list[str]:
        listed = self.listed(token_filter, pager, caller=caller, now=now)
        return [view.id for view in listed.objects]

    def continue_close(self, ticket: int, *, now: float | None = None) -> Outcome:
        return self.model.apply(ContinueClose(ticket, self._when(now)))

    def abandon_close(self, ticket: int, *, now: float | None = None) -> Outcome:
        return self.model.apply(AbandonClose(ticket, self._when(now)))

    # --- inspection -----------------------------------------------------------------

    def record(self, token: TokenRef, partner_id: int = PARTNER) -> TokenRecord:
        record = self.model.record(partner_id, _id(token))
        assert record is not None
        return record

    def view(self, token: TokenRef) -> TokenView:
        """The token as `get` shows it (admin caller)."""
        return self.ok(self.get(token, caller=ADMIN))

    def file_of(self, token: TokenRef, partner_id: int = PARTNER) -> bytes | None:
        return self.model.read_file(partner_id, _id(token))

    def pending_of(self, token: TokenRef) -> dict[float, bytes]:
        assembly = self.record(token).assembly
        assert assembly is not None
        return {offset: blob.read() for offset, blob in assembly.pending.items()}

    # --- outcome checks ---------------------------------------------------------------

    @staticmethod
    def ok(outcome: Outcome) -> TokenView:
        assert isinstance(outcome, TokenResult), outcome
        return outcome.token

    @staticmethod
    def fails(outcome: Outcome, code: str, **args: str) -> Failed:
        assert isinstance(outcome, Failed), outcome
        assert outcome.code == code, outcome
        if args:
            assert outcome.error.args_dict == args
        return outcome

    @staticmethod
    def waits(outcome: Outcome) -> CloseWaiting:
        assert isinstance(outcome, CloseWaiting), outcome
        return outcome


UploadFn = Callable[..., Outcome]
AddFn = Callable[..., TokenView]
FileOf = Callable[..., "bytes | None"]


@pytest.fixture
def harness() -> Harness:
    return Harness()


@pytest.fixture
def h(harness: Harness) -> Harness:
    """Short name for `harness`."""
    return harness


@pytest.fixture
def make_harness() -> Callable[..., Harness]:
    """A harness with a non-default `ModelConfig`."""

    def make(**config: object) -> Harness:
        return Harness(ModelConfig(**config))  # type: ignore[arg-type]

    return make


@pytest.fixture
def model(harness: Harness) -> UploadTokenModel:
    return harness.model


@pytest.fixture
def caller(harness: Harness) -> Caller:
    return harness.caller


@pytest.fixture
def add(harness: Harness) -> AddFn:
    return harness.add


@pytest.fixture
def upload(harness: Harness) -> UploadFn:
    return harness.upload


@pytest.fixture
def file_of(harness: Harness) -> FileOf:
    return harness.file_of
