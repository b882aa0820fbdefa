"""The body of a request as a PHP front reads it: the limits it applies (§13), the
framing of the body on the wire (exactly Content-Length bytes, or up to the end of a
chunked body), and the rules for form variables that url-encoded and multipart bodies
share (invalid UTF-8 stripped, `max_input_vars`, `max_input_nesting_level`). See
`conformance.endpoints.bodies` for how a body is parsed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

__all__ = [
    "DEFAULT_LIMITS",
    "BadChunking",
    "BodyError",
    "BodyLimits",
    "BodyStream",
    "BodyTooLarge",
    "IncompleteBody",
    "Reader",
    "nested_within",
    "php_text",
    "too_big",
    "too_many",
]

Reader = Callable[[int], bytes]


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


DEFAULT_LIMITS = BodyLimits()


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


class BodyStream:
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


def php_text(raw: bytes) -> str:
    """PHP keeps bytes; Kaltura strips invalid UTF-8 from string parameters (§3.4)."""
    return raw.decode("utf-8", errors="ignore")


def too_big(what: str, limits: BodyLimits) -> str:
    return f"{what} over max_text_field_size={limits.max_text_field_size} bytes ignored"


def nested_within(fields: list[tuple[str, str]], limits: BodyLimits) -> tuple[tuple[str, str], ...]:
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


def too_many(limits: BodyLimits) -> str:
    return f"Input variables exceeded {limits.max_input_vars} (max_input_vars): the rest dropped"
