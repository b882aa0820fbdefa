"""What the client checks judge: the trace of one case, the token's end state, the source,
the client's own outcome and the faults that were planned and fired."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property

from conformance.content import SourceFile
from conformance.faults import FaultKind, FaultPlan
from conformance.model import ErrorCode, TokenStatus
from conformance.trace import Exchange, FaultFiring

__all__ = ["CaseEvidence", "ClientOutcome", "FinalToken"]


@dataclass(frozen=True)
class ClientOutcome:
    """What the client said: success (exit 0, or the callable returned) or failure."""

    succeeded: bool
    timed_out: bool = False
    duration: float = 0.0
    detail: str = ""


@dataclass(frozen=True)
class FinalToken:
    """The token as the endpoint holds it when the client is done."""

    token_id: str
    status: int | None
    uploaded_file_size: int | None
    file_digest: str | None

    @property
    def full(self) -> bool:
        return self.status == TokenStatus.FULL_UPLOAD


@dataclass(frozen=True)
class CaseEvidence:
    """Everything one case left behind. `exchanges` are the case partner's, in arrival order."""

    source: SourceFile
    exchanges: tuple[Exchange, ...]
    outcome: ClientOutcome
    final: FinalToken | None = None
    given_token: str | None = None
    plan: FaultPlan = field(default_factory=FaultPlan)
    firings: tuple[FaultFiring, ...] = ()

    @cached_property
    def data(self) -> tuple[Exchange, ...]:
        """Every `uploadToken.upload` request of the case, in arrival order."""
        return tuple(e for e in self.exchanges if e.is_data_request)

    @cached_property
    def known_tokens(self) -> frozenset[str]:
        """Tokens that exist for this partner: handed to the client or added by it."""
        added = {
            e.answer.token_id
            for e in self.exchanges
            if e.action == "add" and e.answer is not None and e.answer.token_id
        }
        return frozenset(added | ({self.given_token} if self.given_token else set()))

    @cached_property
    def token_id(self) -> str | None:
        """The token the client uploaded to: the one most of its data requests named."""
        names = Counter(e.token_id for e in self.data if e.token_id)
        return names.most_common(1)[0][0] if names else None

    @cached_property
    def uploads(self) -> tuple[Exchange, ...]:
        """The data requests for the upload's token, in arrival order."""
        return tuple(e for e in self.data if e.token_id == self.token_id)

    @property
    def size(self) -> int:
        return self.source.size

    def confirmed(self, exchange: Exchange) -> bool:
        """Acknowledged, or a close whose answer was lost but which the client then saw take
        effect: `uploadToken.get` answered FULL_UPLOAD, or a re-sent close was refused with
        INVALID_STATUS_FOR_UPLOAD (requirements.md UT-C19 counts both as success)."""
        if exchange.acknowledged:
            return True
        answer = exchange.answer
        if not (exchange.final_chunk and answer is not None and answer.kind == "dropped"):
            return False
        return any(_confirms(later, exchange) for later in self.exchanges if later.id > exchange.id)

    def fired(self, *kinds: FaultKind) -> tuple[FaultFiring, ...]:
        return tuple(f for f in self.firings if not kinds or f.fault.kind in kinds)

    def expected_digest(self, start: float, length: int) -> str | None:
        """SHA-256 of the source at [start, start+length), None when outside the file."""
        if start < 0 or start != int(start) or start + length > self.size:
            return None
        return _digest(self.source, int(start), int(start) + length)


def _confirms(later: Exchange, close: Exchange) -> bool:
    answer = later.answer
    if answer is None or later.token_id != close.token_id:
        return False
    if later.action == "get":
        return answer.acknowledged and answer.status == TokenStatus.FULL_UPLOAD
    refused = ErrorCode.UPLOAD_TOKEN_INVALID_STATUS_FOR_UPLOAD.name
    return later.is_data_request and answer.code == refused


def _digest(source: SourceFile, start: int, end: int) -> str:
    digest = hashlib.sha256()
    for piece in source.iter_chunks(start=start, end=end):
        digest.update(piece)
    return digest.hexdigest()
