"""What the model answers: token views, lists, errors, and "the close cannot complete yet"."""

from __future__ import annotations

from dataclasses import dataclass

from conformance.model.errors import ApiError, ErrorCode, api_error
from conformance.model.status import TokenStatus

__all__ = [
    "CloseWaiting",
    "Deleted",
    "Failed",
    "Outcome",
    "TokenListed",
    "TokenResult",
    "TokenView",
    "failed",
]


@dataclass(frozen=True)
class TokenView:
    """`KalturaUploadToken` as the API shows it (§1.3), fields in declaration order.

    Sizes are numbers here; the wire codec decides how to spell them (Kaltura sends them as
    JSON strings, §1.3). `None` is a null property, which JSON omits.
    """

    id: str
    partner_id: int
    user_id: str
    status: TokenStatus
    file_name: str | None
    file_size: float | None
    uploaded_file_size: int | None
    created_at: int
    updated_at: int
    upload_url: str | None
    auto_finalize: bool
    attached_object_type: str | None = None
    attached_object_id: str | None = None


@dataclass(frozen=True)
class TokenResult:
    """Success of add, get and upload: the token as it stands after the request."""

    token: TokenView


@dataclass(frozen=True)
class TokenListed:
    """`KalturaUploadTokenListResponse`: one page and the count before paging."""

    objects: tuple[TokenView, ...]
    total_count: int


@dataclass(frozen=True)
class Deleted:
    """Success of delete: the API returns null."""


@dataclass(frozen=True)
class Failed:
    """The request failed with a Kaltura API error (sent with HTTP 200, §12.1)."""

    error: ApiError

    @property
    def code(self) -> str:
        return self.error.code


@dataclass(frozen=True)
class CloseWaiting:
    """A verified close (§7) has not reached its expected size yet.

    The real server sleeps a second and tries again, up to its budget (45 passes). The model
    does not wait: the caller decides how long, then sends `ContinueClose(ticket)` for one
    more pass or `AbandonClose(ticket)` for the error. Other requests may be applied in
    between; that is how chunks arriving during the wait get appended.
    """

    ticket: int
    token_id: str
    expected_size: float
    current_size: int
    passes: int


def failed(code: ErrorCode, **args: object) -> Failed:
    """The outcome for error `code` with its message filled in (`api_error`)."""
    return Failed(api_error(code, **args))


Outcome = TokenResult | TokenListed | Deleted | Failed | CloseWaiting
