"""Request bodies as PHP fills `$_POST` and `$_FILES`, streamed (§3.2, §3.3, §13).

    body = read_body(rfile.read, content_type=…, content_length=…, blobs=factory)

Design:

* **One pass, bounded memory.** Bytes go from the reader to `multipart.PushMultipartParser`
  (sans-io, the fastest correct parser measured, transport-measurements §5) and on into a
  blob, digested as they pass. Nothing holds more than about one `piece_size` of a file
  part; only text fields, url-encoded and JSON bodies are kept whole, and those are capped
  by `max_text_field_size`.
* **Framing belongs to the transport, content to PHP.** The reading side (`_Body`) reads
  exactly Content-Length bytes (so keep-alive stays in step) or up to the end of a chunked
  body, and raises: `BodyTooLarge` past `max_body_size`, `IncompleteBody` when the client
  went away, and whatever the reader raises (`OSError`, `BadChunking`). The server must
  drop the connection then. Everything *inside* the body is PHP's business, and PHP never
  fails a request on a malformed body: it keeps what it parsed and the request goes on, so
  `read_body` answers with what it kept and a one-line `problem` instead of raising.
* **Who owns blobs.** A returned `ParsedBody` owns its file parts' blobs (`release()`).
  On every exception path the blobs made so far are released here.
* **Content types** as PHP's SAPI sees them: the media type up to `;`, `,` or a space,
  case-insensitively, picks the multipart and url-encoded parsers; Kaltura then compares
  the whole header to `application/json` (`; charset=…` does not count, §3.2).

Copied from PHP's `main/rfc1867.c`:

* the boundary is whatever follows the first `boundary` and `=` in the header, up to the
  closing quote or up to `,` / `;`;
* `name` and `filename` are read from `Content-Disposition` like `php_ap_getword_conf`
  does: keys in any case, quotes with backslash escapes, no percent-decoding; the raw
  file name is kept (PHP's `full_path`);
* a part with `filename` is a `$_FILES` entry; `filename=""` (UPLOAD_ERR_NO_FILE), a part
  over `max_part_size` (UPLOAD_ERR_INI_SIZE) and a part the body broke off in
  (UPLOAD_ERR_PARTIAL) are entries whose file was not kept. They are `UploadedPart`s with
  `filename=""` and an empty blob, which the codec answers with UPLOAD_ERROR (not
  MISSING_MANDATORY_PARAMETER: the key exists);
* a part with neither `name` nor `filename` ("File Upload Mime headers garbled") ends the
  parse, keeping what came before; a part with an empty or no `name` is not registered (a
  nameless file gets a numeric key, which no Kaltura parameter matches);
* a text field is kept even when the body ends inside it.

PHP's request limits (`read_post`, php.net/manual/en/ini.core.php):

* `post_max_size`: a larger body is discarded whole (main/SAPI.c: "POST Content-Length of
  N bytes exceeds the limit"): `$_POST` and `$_FILES` are empty and the request goes on,
  so Kaltura answers for the arguments it misses. The body is still read off the wire.
* `max_input_vars` (1000): a url-encoded body stops after the pair that passes the limit
  (main/php_variables.c `add_post_vars` registers a pair, then counts it: 1001 are kept);
  a multipart body drops the text fields past the limit and goes on with the rest
  (main/rfc1867.c `++count <= PG(max_input_vars)`); files do not count.
* `max_multipart_body_parts` (-1: `max_input_vars` + `max_file_uploads` = 1020): parsing
  stops at the part past it (`max_parts`).
* `max_input_nesting_level` (64): a name with more `[…]` levels is dropped, and so is the
  variable of its base name registered before it (php_variables.c
  `php_register_variable_ex`: `zend_hash_del(ht, var)`), here for body fields.

Not copied (no Kaltura client does this; the parser stops where PHP would go on): line
ends without CR, text after a delimiter on its line, parts without `Content-Disposition`
or of a type other than `form-data`, odd part header names; nor `MAX_FILE_SIZE`,
`max_file_uploads`, brackets in file field names, the basename PHP gives
`$_FILES[…]['name']` (`filename` here is the raw attribute).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import parse_qsl

import multipart  # type: ignore[import-untyped]  # no py.typed; wrapped in typed helpers

from conformance.model import Blob, BlobFactory
from conformance.wire.types import ParsedBody, UploadedPart

__all__ = [
    "BadChunking",
    "BodyError",
    "BodyLimits",
    "BodyTooLarge",
    "IncompleteBody",
    "read_body",
    "read_post",
]

Reader = Callable[[int], bytes]

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


@dataclass(frozen=True)
class BodyLimits:
    """How much of a body is read and kept. Defaults are Kaltura's php.ini (§13)."""

    max_body_size: int = 2024 * 1024 * 1024  # post_max_size = 2024M
    max_part_size: int = 2000 * 1024 * 1024  # upload_max_filesize = 2000M
    max_text_field_size: int = 8 * 1024 * 1024  # [I] larger is a broken client
    max_parts: int = 1020  # max_multipart_body_parts: max_input_vars + max_file_uploads
    max_input_vars: int = 1000  # PHP's default; Kaltura's php.ini keeps it
    max_input_nesting_level: int = 64
    max_header_size: int = 8192  # one part header line
    max_part_headers: int = 16

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{item.name}={value!r} must be a positive int")


_DEFAULT_LIMITS = BodyLimits()


class BodyError(Exception):
    """The body could not be read to its end: drop the connection."""


class BodyTooLarge(BodyError):  # noqa: N818 - the name the server code uses
    """The body is larger than `limit` (`size` is the Content-Length, or what was read)."""

    def __init__(self, limit: int, size: int) -> None:
        super().__init__(f"body of {size} bytes or more exceeds max_body_size={limit}")
        self.limit = limit
        self.size = size


class IncompleteBody(BodyError):  # noqa: N818 - the name the server code uses
    """The reader ended before the body did: the client went away mid-body."""

    def __init__(self, expected: int | None, received: int) -> None:
        wanted = "the end of the chunked body" if expected is None else f"{expected} bytes"
        super().__init__(f"body ended after {received} bytes, before {wanted}")
        self.expected = expected
        self.received = received


class BadChunking(BodyError, ValueError):  # noqa: N818 - reads as a BodyError kind
    """Malformed `Transfer-Encoding: chunked` framing."""


# -- reading ----------------------------------------------------------------------------


class _Body:
    """The body as sent, a piece at a time: exactly `length` bytes, or up to the end."""

    def __init__(self, read: Reader, length: int | None, limit: int, piece_size: int) -> None:
        self._read = read
        self._length = length
        self._limit = limit
        self._piece_size = piece_size
        self._ended = False
        self.received = 0

    def piece(self) -> bytes:
        """The next piece; b"" at the end."""
        if self._ended:
            return b""
        want = self._piece_size
        if self._length is not None:
            want = min(want, self._length - self.received)
            if want <= 0:
                self._ended = True
                return b""
        data = self._read(want)
        if not data:
            if self._length is not None:
                raise IncompleteBody(self._length, self.received)
            self._ended = True
            return b""
        self.received += len(data)
        if self.received > self._limit:  # only reachable without a Content-Length
            raise BodyTooLarge(self._limit, self.received)
        return data

    def drain(self) -> None:
        while self.piece():
            pass

    def read_all(self, limit: int) -> bytes | None:
        """The whole body if it has at most `limit` bytes, else None (the rest is drained)."""
        buffer = bytearray()
        while piece := self.piece():
            if len(buffer) + len(piece) > limit:
                self.drain()
                return None
            buffer += piece
        return bytes(buffer)


def read_body(
    read: Reader,
    *,
    content_type: str | None,
    content_length: int | None,
    blobs: BlobFactory,
    limits: BodyLimits = _DEFAULT_LIMITS,
    piece_size: int = 1 << 20,
) -> ParsedBody:
    """Read one request body (all of it) and return it as PHP would see it.

    `content_length` None means "until `read` returns b''" (a `ChunkedReader`). Raises
    `BodyTooLarge` (before reading, when the Content-Length says so), `IncompleteBody`, and
    whatever `read` raises; never raises for what the body contains.
    """
    if piece_size < 1:
        raise ValueError(f"piece_size={piece_size} must be >= 1")
    if content_length is not None:
        if content_length < 0:
            raise ValueError(f"content_length={content_length} must be >= 0")
        if content_length > limits.max_body_size:
            raise BodyTooLarge(limits.max_body_size, content_length)
    body = _Body(read, content_length, limits.max_body_size, piece_size)
    media_type = _media_type(content_type)
    if media_type == "multipart/form-data":
        return _multipart(body, content_type or "", blobs, limits)
    if media_type == "application/x-www-form-urlencoded":
        return _urlencoded(body, limits)
    if content_type is not None and content_type.strip().lower() == "application/json":
        return _json(body, limits)
    body.drain()  # PHP leaves any other body in php://input; Kaltura never reads it
    return ParsedBody()


def _media_type(content_type: str | None) -> str:
    """The media type as PHP's SAPI matches it: lower-cased, cut at `;`, `,` or a space."""
    if content_type is None:
        return ""
    return re.split(r"[;, ]", content_type.strip(), maxsplit=1)[0].lower()


def _text(raw: bytes) -> str:
    """PHP keeps bytes; Kaltura strips invalid UTF-8 from string parameters (§3.4)."""
    return raw.decode("utf-8", errors="ignore")


def _too_big(what: str, limits: BodyLimits) -> str:
    return f"{what} over max_text_field_size={limits.max_text_field_size} bytes ignored"


def _urlencoded(body: _Body, limits: BodyLimits) -> ParsedBody:
    data = body.read_all(limits.max_text_field_size)
    if data is None:
        return ParsedBody(problem=_too_big("url-encoded body", limits))
    # PHP registers max_input_vars + 1 pairs, then stops: only those are parsed (a body of
    # 2 M fields costs a split, not 2 M decodes).
    keep = limits.max_input_vars + 1
    pieces = data.split(b"&", keep)
    problem = None
    if len(pieces) > keep:
        pieces.pop()
        problem = _too_many(limits)
    # latin-1 round trip: percent escapes become the exact bytes, then Kaltura's UTF-8 strip.
    text = b"&".join(pieces).decode("latin-1")
    pairs = parse_qsl(text, keep_blank_values=True, encoding="latin-1")
    fields = [(_text(k.encode("latin-1")), _text(v.encode("latin-1"))) for k, v in pairs]
    return ParsedBody(fields=_nested_within(fields, limits), problem=problem)


def _nested_within(
    fields: list[tuple[str, str]], limits: BodyLimits
) -> tuple[tuple[str, str], ...]:
    """The fields PHP registers: one nested too deep is dropped with what came before it
    under the same base name."""
    limit = limits.max_input_nesting_level
    if not any(_too_deep(name, limit) for name, _ in fields):  # the common case: one pass
        return tuple(fields)
    kept: list[tuple[str, str]] = []
    for name, value in fields:
        if _too_deep(name, limit):
            base = _base(name)
            kept = [(k, v) for k, v in kept if _base(k) != base]
        else:
            kept.append((name, value))
    return tuple(kept)


def _too_deep(name: str, limit: int) -> bool:
    """More than `limit` chained `[…]` after the base name (the check comes at each `[`)."""
    start = name.find("[")
    level = 0
    while start >= 0:
        level += 1
        if level > limit:
            return True
        close = name.find("]", start + 1)
        if close < 0:
            return False
        start = close + 1 if name[close + 1 : close + 2] == "[" else -1
    return False


def _base(name: str) -> str:
    """The top-level variable a name registers: leading spaces off, up to the first `[`,
    spaces and dots made `_` (php_register_variable_ex)."""
    head = name.lstrip(" ").split("[", 1)[0]
    return head.replace(" ", "_").replace(".", "_")


def _too_many(limits: BodyLimits) -> str:
    return f"Input variables exceeded {limits.max_input_vars} (max_input_vars): the rest dropped"


def read_post(
    read: Reader,
    *,
    content_type: str | None,
    content_length: int | None,
    blobs: BlobFactory,
    limits: BodyLimits = _DEFAULT_LIMITS,
    piece_size: int = 1 << 20,
) -> ParsedBody:
    """`read_body` as PHP's front hands it on: a body over `max_body_size` (post_max_size)
    is read off the wire and discarded, and the request goes on without it."""
    try:
        return read_body(
            read,
            content_type=content_type,
            content_length=content_length,
            blobs=blobs,
            limits=limits,
            piece_size=piece_size,
        )
    except BodyTooLarge as error:
        # With a Content-Length nothing was read yet; a chunked body is read on to its end.
        _Body(read, content_length, 1 << 62, piece_size).drain()
        return ParsedBody(
            problem=f"POST Content-Length of {error.size} bytes exceeds the limit of "
            f"{error.limit} bytes (post_max_size): body discarded"
        )


def _json(body: _Body, limits: BodyLimits) -> ParsedBody:
    data = body.read_all(limits.max_text_field_size)
    if data is None:
        return ParsedBody(problem=_too_big("JSON body", limits))
    return ParsedBody(json_text=data.decode("utf-8", errors="replace"))


# -- multipart --------------------------------------------------------------------------


class _StopParsing(Exception):  # noqa: N818 - control flow, not an error
    """PHP gives up on the rest of the body (`goto fileupload_done`)."""


def _multipart(
    body: _Body, content_type: str, blobs: BlobFactory, limits: BodyLimits
) -> ParsedBody:
    parts = _Parts(blobs, limits)
    try:
        problem = _feed(_boundary(content_type), body, parts, limits)
        if problem is not None:
            parts.abort(problem)
        body.drain()  # the rest of a body PHP stopped parsing is still on the wire
    except BaseException:
        parts.release()
        raise
    return parts.result()


def _feed(boundary: bytes | None, body: _Body, parts: _Parts, limits: BodyLimits) -> str | None:
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


def _boundary(content_type: str) -> bytes | None:
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


def _wire_text(value: str) -> str:
    """Header text (decoded as latin-1) read again as UTF-8, invalid bytes stripped."""
    if value.isascii():  # the same text either way
        return value
    return _text(value.encode("latin-1"))


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
        return None if self._chunks is None else _text(b"".join(self._chunks))


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
        self.blob: Blob | None = blobs.new() if filename else None

    def write(self, chunk: bytes) -> None:
        if self.blob is None:
            return
        if self._size + len(chunk) > self._limit:
            self.too_large = True
            self.release()  # PHP stops storing and skips to the next boundary
            return
        _digest_update(self._digest, chunk)
        self.blob.write_at(self._size, chunk)
        self._size += len(chunk)

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
        return UploadedPart(
            self.field, self.filename, self.content_type, blob, self._digest.hexdigest()
        )


def _digest_update(digest: hashlib._Hash, data: bytes) -> None:
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
        name = _wire_text(raw_name or "")
        if not name:
            return None
        if raw_filename is None:
            return _TextPart(name, self._limits.max_text_field_size)
        content_type = _header(segment, "Content-Type")
        if content_type is not None:
            content_type = _wire_text(content_type.partition(";")[0])
        filename = _wire_text(raw_filename)
        return _FilePart(name, filename, content_type, self._limits.max_part_size, self._blobs)

    def _close(self, *, complete: bool) -> None:
        part, self._open = self._open, None
        if isinstance(part, _TextPart):
            self._text_fields += 1
            value = part.value()
            if self._text_fields > self._limits.max_input_vars:
                if self._text_fields == self._limits.max_input_vars + 1:
                    self.problems.append(_too_many(self._limits))
            elif value is None:
                self.problems.append(_too_big(f"text field {part.name!r}", self._limits))
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
            fields=_nested_within(self.fields, self._limits),
            files=tuple(self.files),
            problem="; ".join(self.problems) or None,
        )
