"""What a transport hands the wire codec: the request line, the content type, and the body
already split into text fields, file parts and raw JSON (parsing bodies is I/O-heavy and
lives with the endpoints; the codec stays pure)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from conformance.model import Blob

__all__ = ["DigestCheckpoint", "ParsedBody", "UploadedPart"]


@dataclass(frozen=True)
class DigestCheckpoint:
    """The SHA-256 state of a payload's first `offset` bytes, taken as it streamed in.

    `state` is a `hashlib.sha256` object nobody updates: whoever uses it updates a
    `.copy()` of it (which is what makes handing it to another thread safe).
    """

    offset: int
    state: Any  # hashlib's sha256 object (typeshed's `_Hash` is private)


@dataclass(frozen=True)
class UploadedPart:
    """A multipart part that carried a `filename` attribute: what PHP puts in `$_FILES`.

    `filename` is "" for `filename=""` (PHP: UPLOAD_ERR_NO_FILE, not an uploaded file).
    `sha256` is the payload's digest, computed while the body streamed in; `checkpoints`
    some of the states it passed through (ascending, the last at the payload's size; empty
    when the parser kept none), so that a consumer that needs the payload's digest state
    (the proxy's shadow, for a file's first part: `proxy/digests.py`) need not hash the
    same bytes again.
    """

    field: str
    filename: str
    content_type: str | None
    blob: Blob
    sha256: str
    checkpoints: tuple[DigestCheckpoint, ...] = dataclasses.field(
        default=(), compare=False, repr=False
    )

    @property
    def size(self) -> int:
        return self.blob.size


@dataclass(frozen=True)
class ParsedBody:
    """A request body as PHP would see it.

    `fields` are `$_POST` (url-encoded pairs, or multipart parts without a filename, in
    order); `files` are `$_FILES`; `json_text` is the raw body when the content type is
    exactly `application/json` (§3.2). `problem` says what was wrong with a malformed body:
    PHP keeps what it could read and the request goes on, so the codec does too.
    """

    fields: tuple[tuple[str, str], ...] = ()
    files: tuple[UploadedPart, ...] = ()
    json_text: str | None = None
    problem: str | None = field(default=None)

    def release(self) -> None:
        """Free the file parts' storage (on paths where no one took ownership)."""
        for part in self.files:
            part.blob.release()
