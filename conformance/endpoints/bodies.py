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

import re
from urllib.parse import parse_qsl

from conformance.endpoints.multipart_form import read_multipart
from conformance.endpoints.php_input import (
    DEFAULT_LIMITS,
    BadChunking,
    BodyError,
    BodyLimits,
    BodyStream,
    BodyTooLarge,
    IncompleteBody,
    Reader,
    nested_within,
    php_text,
    too_big,
    too_many,
)
from conformance.model import BlobFactory
from conformance.wire.types import ParsedBody

__all__ = [
    "BadChunking",
    "BodyError",
    "BodyLimits",
    "BodyTooLarge",
    "IncompleteBody",
    "Reader",
    "read_body",
    "read_post",
]


def read_body(
    read: Reader,
    *,
    content_type: str | None,
    content_length: int | None,
    blobs: BlobFactory,
    limits: BodyLimits = DEFAULT_LIMITS,
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
    body = BodyStream(read, content_length, limits.max_body_size, piece_size)
    media_type = _media_type(content_type)
    if media_type == "multipart/form-data":
        return read_multipart(body, content_type or "", blobs, limits)
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


def _urlencoded(body: BodyStream, limits: BodyLimits) -> ParsedBody:
    data = body.read_all(limits.max_text_field_size)
    if data is None:
        return ParsedBody(problem=too_big("url-encoded body", limits))
    # PHP registers max_input_vars + 1 pairs, then stops: only those are parsed (a body of
    # 2 M fields costs a split, not 2 M decodes).
    keep = limits.max_input_vars + 1
    pieces = data.split(b"&", keep)
    problem = None
    if len(pieces) > keep:
        pieces.pop()
        problem = too_many(limits)
    # latin-1 round trip: percent escapes become the exact bytes, then Kaltura's UTF-8 strip.
    text = b"&".join(pieces).decode("latin-1")
    pairs = parse_qsl(text, keep_blank_values=True, encoding="latin-1")
    fields = [(php_text(k.encode("latin-1")), php_text(v.encode("latin-1"))) for k, v in pairs]
    return ParsedBody(fields=nested_within(fields, limits), problem=problem)


def read_post(
    read: Reader,
    *,
    content_type: str | None,
    content_length: int | None,
    blobs: BlobFactory,
    limits: BodyLimits = DEFAULT_LIMITS,
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
        BodyStream(read, content_length, 1 << 62, piece_size).drain()
        return ParsedBody(
            problem=f"POST Content-Length of {error.size} bytes exceeds the limit of "
            f"{error.limit} bytes (post_max_size): body discarded"
        )


def _json(body: BodyStream, limits: BodyLimits) -> ParsedBody:
    data = body.read_all(limits.max_text_field_size)
    if data is None:
        return ParsedBody(problem=too_big("JSON body", limits))
    return ParsedBody(json_text=data.decode("utf-8", errors="replace"))
