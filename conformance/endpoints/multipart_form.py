"""multipart/form-data bodies as PHP's `main/rfc1867.c` fills `$_POST` and `$_FILES`,
streamed through `multipart.PushMultipartParser` into blobs, digested as they pass (the
rules copied and left out are listed in `conformance.endpoints.bodies`)."""

from __future__ import annotations

import hashlib
import re
from collections import deque
from typing import Any

import multipart  # type: ignore[import-untyped]  # no py.typed; wrapped in typed helpers

from conformance.endpoints.php_input import (
    BodyLimits,
    BodyStream,
    nested_within,
    php_text,
    too_big,
    too_many,
)
from conformance.model import Blob, BlobFactory
from conformance.wire.types import DigestCheckpoint, ParsedBody, UploadedPart

__all__ = ["boundary", "read_multipart"]

_EMPTY_SHA256 = hashlib.sha256().hexdigest()
# hashlib lets go of the GIL for an update of 2,048 bytes or more (HASHLIB_GIL_MINSIZE).
# For a small piece that costs more than it saves: with 4 threads uploading 64 KiB chunks
# in-process, taking the GIL back after every digest cut throughput by a tenth (medians of
# 6 interleaved runs, 571 -> 633 requests/s when hashed in slices under the threshold;
# 256 KiB: 328 -> 343; one thread: no change). A large piece (1 MiB: 368 -> 245) is better
# hashed on the other core.
_GIL_SLICE = 2047
_HASH_HOLDING_GIL_UP_TO = 256 << 10
_C_SPACE = " \t\n\v\f\r"  # C isspace(): what PHP skips around header words
# A file part's digest state is kept (a copy: a few hundred bytes) each time it passes a
# multiple of this, the newest few only: the proxy's shadow takes a file's first part over
# from the one a window before its end instead of hashing the part again (proxy/digests.py).
CHECKPOINT_EVERY = 1 << 20
CHECKPOINTS_KEPT = 12  # covers the shadow's 4 MiB window (and then some) before the end


class _StopParsing(Exception):  # noqa: N818 - control flow, not an error
    """PHP gives up on the rest of the body (`goto fileupload_done`)."""


def read_multipart(
    body: BodyStream, content_type: str, blobs: BlobFactory, limits: BodyLimits
) -> ParsedBody:
    parts = _Parts(blobs, limits)
    try:
        problem = _feed(boundary(content_type), body, parts, limits)
        if problem is not None:
            parts.abort(problem)
        body.drain()  # the rest of a body PHP stopped parsing is still on the wire
    except BaseException:
        parts.release()
        raise
    return parts.result()


def _feed(
    boundary: bytes | None, body: BodyStream, parts: _Parts, limits: BodyLimits
) -> str | None:
    """Push the whole body through the parser; what was wrong with it, or None."""
    if boundary is None:
        return "multipart/form-data without a usable boundary: body ignored"
    try:
        parser = multipart.PushMultipartParser(
            boundary,
            max_header_size=limits.max_header_size,
            max_header_count=limits.max_part_headers,
            max_segment_count=limits.max_parts,
            header_charset="latin-1",  # any byte decodes; names are re-read as UTF-8 below
        )
        while True:
            piece = body.piece()
            for event in parser.parse(piece):  # b"" closes: raises if the body is incomplete
                parts.on_event(event)
            if not piece:
                return None
    except _StopParsing as stop:
        return str(stop)
    except multipart.MultipartError as error:
        return f"malformed multipart body: {error}"


def boundary(content_type: str) -> bytes | None:
    """The boundary as `rfc1867.c` finds it (None: PHP warns and parses nothing)."""
    start = content_type.find("boundary")
    if start < 0:
        start = content_type.lower().find("boundary")
    equals = content_type.find("=", start) if start >= 0 else -1
    if equals < 0:
        return None
    value = content_type[equals + 1 :]
    if value.startswith('"'):
        value, quoted, _ = value[1:].partition('"')
        if not quoted:
            return None
    else:
        value = re.split(r"[,;]", value, maxsplit=1)[0]
    # Headers arrive as latin-1 text; this gives back the bytes on the wire.
    return value.encode("latin-1", errors="replace")


_WORD = re.compile(r"""(?:"(?:\\"|[^"])*"?|'(?:\\'|[^'])*'?|[^;"'])+""")


# What nearly every client sends: `form-data; name="x"` and maybe `; filename="y"`, with no
# quotes or backslashes inside the values. Parsed in one match; anything else takes the
# general path below, which follows rfc1867.c.
_SIMPLE_DISPOSITION = re.compile(r'form-data; name="([^"\\]*)"(?:; filename="([^"\\]*)")?')


def _disposition(value: str) -> tuple[str | None, str | None]:
    """(name, filename) of a Content-Disposition value, as `rfc1867.c` reads them."""
    simple = _SIMPLE_DISPOSITION.fullmatch(value)
    if simple is not None:
        return simple.group(1), simple.group(2)
    name = filename = None
    for pair in _WORD.findall(value):
        key, equals, rest = pair.lstrip(_C_SPACE).partition("=")
        if not equals:
            continue
        if key.lower() == "name":
            name = _conf_value(rest)
        elif key.lower() == "filename":
            filename = _conf_value(rest)
    return name, filename


def _conf_value(text: str) -> str:
    """`php_ap_getword_conf`: a quoted string with `\\"` escapes, or a word up to a space."""
    text = text.lstrip(_C_SPACE)
    quote = text[:1] if text[:1] in ('"', "'") else None
    text = text[1:] if quote else re.split(r"[ \t\n\v\f\r]", text, maxsplit=1)[0]
    out: list[str] = []
    i = 0
    while i < len(text) and text[i] != quote:
        if text[i] == "\\" and text[i + 1 : i + 2] in ("\\", quote or "\\"):
            i += 1
        out.append(text[i])
        i += 1
    return "".join(out)


def _header(segment: Any, name: str) -> str | None:
    """The first header `name` (Title-Case: the parser normalises header names so)."""
    for key, value in segment.headerlist:
        if key == name:
            return str(value)
    return None


def _wirephp_text(value: str) -> str:
    """Header text (decoded as latin-1) read again as UTF-8, invalid bytes stripped."""
    if value.isascii():  # the same text either way
        return value
    return php_text(value.encode("latin-1"))


class _TextPart:
    """A form field, kept whole unless it grows past `limit`."""

    def __init__(self, name: str, limit: int) -> None:
        self.name = name
        self._limit = limit
        self._size = 0
        self._chunks: list[bytes] | None = []

    def write(self, chunk: bytes) -> None:
        if self._chunks is None:
            return
        self._size += len(chunk)
        if self._size > self._limit:
            self._chunks = None
            return
        self._chunks.append(chunk)

    def value(self) -> str | None:
        return None if self._chunks is None else php_text(b"".join(self._chunks))


class _FilePart:
    """A file part streamed into a blob and digested on the way.

    `blob` None means PHP keeps no file: `filename=""`, too large, or cut off.
    """

    def __init__(
        self, field: str, filename: str, content_type: str | None, limit: int, blobs: BlobFactory
    ) -> None:
        self.field = field
        self.filename = filename
        self.content_type = content_type
        self.too_large = False
        self._limit = limit
        self._digest = hashlib.sha256()
        self._size = 0
        self._checkpoints: deque[DigestCheckpoint] = deque(maxlen=CHECKPOINTS_KEPT)
        self.blob: Blob | None = blobs.new() if filename else None

    def write(self, chunk: bytes) -> None:
        if self.blob is None:
            return
        if self._size + len(chunk) > self._limit:
            self.too_large = True
            self.release()  # PHP stops storing and skips to the next boundary
            return
        self._digest_with_checkpoints(chunk)
        self.blob.write_at(self._size, chunk)
        self._size += len(chunk)

    def _digest_with_checkpoints(self, chunk: bytes) -> None:
        """Hash `chunk` (the bytes at `_size`), keeping the state at each multiple of
        `CHECKPOINT_EVERY` it passes (exactly there: the shadow's folds land on them)."""
        view, at = memoryview(chunk), 0
        while (cut := CHECKPOINT_EVERY - (self._size + at) % CHECKPOINT_EVERY) <= len(chunk) - at:
            _digest_update(self._digest, view[at : at + cut])
            at += cut
            self._checkpoint(self._size + at)
        if at < len(chunk):
            _digest_update(self._digest, view[at:])

    def _checkpoint(self, offset: int) -> None:
        self._checkpoints.append(DigestCheckpoint(offset, self._digest.copy()))

    def release(self) -> None:
        blob, self.blob = self.blob, None
        if blob is not None:
            blob.release()

    def finish(self, blobs: BlobFactory, *, complete: bool) -> UploadedPart:
        if not complete:
            self.release()  # UPLOAD_ERR_PARTIAL
        if self.blob is None:  # a `$_FILES` entry with an error code: not an uploaded file
            return UploadedPart(self.field, "", None, blobs.new(), _EMPTY_SHA256)
        blob, self.blob = self.blob, None
        if not self._checkpoints or self._checkpoints[-1].offset != self._size:
            self._checkpoint(self._size)
        return UploadedPart(
            self.field,
            self.filename,
            self.content_type,
            blob,
            self._digest.hexdigest(),
            tuple(self._checkpoints),
        )


def _digest_update(digest: hashlib._Hash, data: bytes | memoryview) -> None:
    if len(data) > _HASH_HOLDING_GIL_UP_TO:
        digest.update(data)
        return
    view = memoryview(data)
    for start in range(0, len(view), _GIL_SLICE):
        digest.update(view[start : start + _GIL_SLICE])


class _Parts:
    """The parser's events added up: `$_POST` pairs, `$_FILES` entries, problems."""

    def __init__(self, blobs: BlobFactory, limits: BodyLimits) -> None:
        self._blobs = blobs
        self._limits = limits
        self._open: _TextPart | _FilePart | None = None  # None: skipping the part
        self.fields: list[tuple[str, str]] = []
        self.files: list[UploadedPart] = []
        self.problems: list[str] = []
        self._text_fields = 0  # rfc1867.c's `count`: text fields seen, kept or not

    def on_event(self, event: object) -> None:
        if isinstance(event, bytes):  # the parser's payload events (slices of bytes)
            if self._open is not None:
                self._open.write(event)
        elif isinstance(event, bytearray):
            if self._open is not None:
                self._open.write(bytes(event))
        elif event is None:
            self._close(complete=True)
        else:
            self._open = self._start(event)

    def _start(self, segment: Any) -> _TextPart | _FilePart | None:
        raw_name, raw_filename = _disposition(_header(segment, "Content-Disposition") or "")
        if raw_name is None and raw_filename is None:
            raise _StopParsing(
                "a part with neither name nor filename (PHP: File Upload Mime headers "
                "garbled): the rest of the body is ignored"
            )
        name = _wirephp_text(raw_name or "")
        if not name:
            return None
        if raw_filename is None:
            return _TextPart(name, self._limits.max_text_field_size)
        content_type = _header(segment, "Content-Type")
        if content_type is not None:
            content_type = _wirephp_text(content_type.partition(";")[0])
        filename = _wirephp_text(raw_filename)
        return _FilePart(name, filename, content_type, self._limits.max_part_size, self._blobs)

    def _close(self, *, complete: bool) -> None:
        part, self._open = self._open, None
        if isinstance(part, _TextPart):
            self._text_fields += 1
            value = part.value()
            if self._text_fields > self._limits.max_input_vars:
                if self._text_fields == self._limits.max_input_vars + 1:
                    self.problems.append(too_many(self._limits))
            elif value is None:
                self.problems.append(too_big(f"text field {part.name!r}", self._limits))
            else:
                self.fields.append((part.name, value))
        elif isinstance(part, _FilePart):
            self.files.append(part.finish(self._blobs, complete=complete))
            if part.too_large:
                self.problems.append(
                    f"file part {part.field!r} over max_part_size={self._limits.max_part_size}"
                    " bytes (PHP: UPLOAD_ERR_INI_SIZE)"
                )

    def abort(self, problem: str) -> None:
        """The body broke off: keep what is complete, and the part it broke in as PHP does."""
        self.problems.append(problem)
        self._close(complete=False)

    def release(self) -> None:
        part, self._open = self._open, None
        if isinstance(part, _FilePart):
            part.release()
        for uploaded in self.files:
            uploaded.blob.release()

    def result(self) -> ParsedBody:
        return ParsedBody(
            fields=nested_within(self.fields, self._limits),
            files=tuple(self.files),
            problem="; ".join(self.problems) or None,
        )
