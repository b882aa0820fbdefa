"""What a caller asks of the model: one frozen dataclass per service action.

Events carry values already decoded and coerced the way Kaltura's request deserializer
does it (§3.4): `resume` and `finalChunk` are booleans, `resumeAt` a float. Time is an
input (`now`, Unix seconds) so the model stays pure and tests control the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from conformance.model.blobs import Blob

__all__ = [
    "AbandonClose",
    "AddToken",
    "Caller",
    "ContinueClose",
    "DeleteToken",
    "Event",
    "FilePart",
    "GetToken",
    "ListTokens",
    "NotAFile",
    "Pager",
    "TokenFilter",
    "Upload",
]


@dataclass(frozen=True)
class Caller:
    """Who is calling, as established from the KS (§3.6).

    A non-admin (user) KS sees only its own user's tokens; an admin KS sees the partner's.
    """

    partner_id: int
    user_id: str = ""
    is_admin: bool = True


@dataclass(frozen=True)
class FilePart:
    """`fileData` as a real uploaded file: the client's file name and the bytes.

    The model takes ownership of `blob`: it keeps it (as the file or a stored chunk) or
    releases it.
    """

    blob: Blob
    file_name: str = "fileData"

    @property
    def size(self) -> int:
        return self.blob.size


@dataclass(frozen=True)
class NotAFile:
    """`fileData` present but not an uploaded file: a plain text field, a nameless part,
    or a part PHP rejected (§3.3) — `UPLOAD_ERROR`."""

    reason: str = "not an uploaded file"


@dataclass(frozen=True)
class AddToken:
    """`uploadToken.add` (§11.1). `readonly_fields` names any readonly field the request set.

    `token_id` is None on every path but one: a model shadowing a real server (the proxy's
    `proxy.shadow`) adopts the id that server picked, so that later requests naming it
    find the row. An id the model already holds is a `ModelUsageError`."""

    caller: Caller | None
    now: float
    file_name: str | None = None
    file_size: float | None = None
    auto_finalize: int | None = None
    readonly_fields: tuple[str, ...] = ()
    token_id: str | None = None


@dataclass(frozen=True)
class GetToken:
    """`uploadToken.get` (§11.2). `token_id=None` means the parameter was absent."""

    caller: Caller | None
    now: float
    token_id: str | None


@dataclass(frozen=True)
class DeleteToken:
    """`uploadToken.delete` (§11.4)."""

    caller: Caller | None
    now: float
    token_id: str | None


@dataclass(frozen=True)
class TokenFilter:
    """`KalturaUploadTokenFilter` (§11.3). `status_in` stays a raw comma string: Kaltura
    does not validate it."""

    id_equal: str | None = None
    id_in: str | None = None
    user_id_equal: str | None = None
    status_equal: int | None = None
    status_in: str | None = None
    file_name_equal: str | None = None
    file_size_equal: float | None = None
    order_by: str | None = None


@dataclass(frozen=True)
class Pager:
    """`KalturaFilterPager`: size defaults to 30 and is clamped to [0, 500]; index ≥ 1."""

    page_size: int | None = None
    page_index: int | None = None


@dataclass(frozen=True)
class ListTokens:
    """`uploadToken.list` (§11.3)."""

    caller: Caller | None
    now: float
    filter: TokenFilter = field(default_factory=TokenFilter)
    pager: Pager = field(default_factory=Pager)


@dataclass(frozen=True)
class Upload:
    """`uploadToken.upload` (§4). Defaults are the server's: resume=false,
    **finalChunk=true**, resumeAt=-1 (§3.4). `file=None` means `fileData` was absent."""

    caller: Caller | None
    now: float
    token_id: str | None
    file: FilePart | NotAFile | None
    resume: bool = False
    final_chunk: bool = True
    resume_at: float = -1.0


@dataclass(frozen=True)
class ContinueClose:
    """Run one more pass of a verified close that could not complete yet (§7 point 3)."""

    ticket: int
    now: float


@dataclass(frozen=True)
class AbandonClose:
    """The close's wait budget is spent: answer `UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE`."""

    ticket: int
    now: float


Event = AddToken | GetToken | DeleteToken | ListTokens | Upload | ContinueClose | AbandonClose
