"""A request's head read plainly, as RFC 9112 frames it, for the loopback server.

Why not `http.client.parse_headers`: it hands the header bytes to the email package's
FeedParser, which was 5.8 % of the proxy's handler thread on small `uploadToken.get`
requests (py-spy; `parse_request` 7.3 %), paid twice through the proxy (its own server and
the embedded one it forwards to share `ConnectionHandler`). Measured 2026-12-03 (load 3-5):
an httpx get's head read in 6 us against 20 us; `parse_request` 0.1-1.3 % of the proxy's
handler thread against 1.8-5.7 % for the old one in the same benchmark runs. This reader
gives the handler what the email parser gave it, value for value:

- lines are read as `http.client` reads them: at most 65536 bytes each (more: 431), at most
  100 lines counting the empty one that ends the head (more: 431), the bytes decoded as
  ISO-8859-1; the end of the stream ends the head too;
- a value is what follows the colon with leading spaces and tabs stripped and the line
  break removed (trailing blanks are kept, as the email parser keeps them); an obsolete
  folded line (one starting with a space or tab) is appended to the value as it came,
  line break included, as the email parser does;
- names keep their case and order, repeats are kept, and look-ups ignore case.

Refused with 400 (the head is not one a server may act on, RFC 9112 §2.2, §5): a line
without a colon, a first line that is a continuation (both refused before, from the email
parser's defects), a name with a character outside visible ASCII or with a blank before the
colon (the email parser ended the head there, which the handler refused as a line without a
colon), and, deliberately stricter than before, an empty name (the email parser dropped the
line) and a bare CR (the email parser split the line there, and a CR before the CRLF ended
the head, silently dropping every header after it: Content-Length included).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, overload

__all__ = ["HeadError", "RequestHeaders", "RequestLine", "read_headers", "request_line"]

MAX_LINE = 65536  # bytes of one line, as http.client's _MAXLINE
MAX_LINES = 100  # lines of a head, the empty last one included, as http.client's _MAXHEADERS
_ENDS = (b"\r\n", b"\n", b"")
# The characters the email parser accepts before the colon: visible ASCII but the colon.
_NAME = re.compile(r"[!-9;-~]+")


class LineReader(Protocol):
    """Where the head comes from: the connection's buffered reader."""

    def readline(self, size: int, /) -> bytes: ...


class HeadError(ValueError):
    """A head the server refuses: the status to answer and a short reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class RequestLine:
    """A request line's three words, checked."""

    command: str
    path: str
    version: str  # as sent, e.g. "HTTP/1.1"
    persistent: bool  # HTTP/1.1 or later: the connection stays open unless told otherwise


def request_line(words: list[str]) -> RequestLine:
    """The request line's words checked as `http.server` checks them, but a line without a
    version (HTTP/0.9, which would be answered without a status line) refused as Apache and
    nginx refuse it. Raises `HeadError` (400, or 505 for HTTP/2 and later)."""
    persistent = False
    if len(words) >= 3:  # the version is checked first, as http.server does
        number = _version_number(words[-1])
        if number >= (2, 0):
            raise HeadError(505, f"Invalid HTTP version ({words[-1][5:]})")
        persistent = number >= (1, 1)
    if len(words) == 2:
        raise HeadError(400, "Bad request line: no HTTP version")
    if len(words) != 3:
        raise HeadError(400, "Bad request syntax")
    command, path, version = words
    if path.startswith("//"):  # as http.server does (gh-87389): never a scheme-less URI
        path = "/" + path.lstrip("/")
    return RequestLine(command, path, version, persistent)


def _version_number(version: str) -> tuple[int, int]:
    """`HTTP/1.1` as (1, 1): two integers, leading zeros ignored (RFC 2145 §3.1)."""
    prefix, _, number = version.partition("/")
    parts = number.split(".")
    if prefix != "HTTP" or len(parts) != 2 or not all(_digits(part) for part in parts):
        raise HeadError(400, f"Bad request version ({version[:40]!r})")
    return int(parts[0]), int(parts[1])


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 10


class RequestHeaders:
    """A request's header fields: the parts of `email.message.Message` the handler reads
    (`get`, `get_all`, `items`), names matched without regard to case."""

    __slots__ = ("_by_name", "_fields")

    def __init__(self, fields: Iterable[tuple[str, str]]) -> None:
        self._fields = tuple(fields)
        by_name: dict[str, list[str]] = {}
        for name, value in self._fields:
            by_name.setdefault(name.lower(), []).append(value)
        self._by_name = by_name

    @overload
    def get(self, name: str) -> str | None: ...
    @overload
    def get(self, name: str, default: str) -> str: ...
    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of `name`, else `default`."""
        values = self._by_name.get(name.lower())
        return values[0] if values else default

    def get_all(self, name: str) -> list[str] | None:
        """Every value of `name` in order, or None when there is none (as `Message`)."""
        values = self._by_name.get(name.lower())
        return list(values) if values else None

    def items(self) -> list[tuple[str, str]]:
        """Every field as (name as sent, value), in order."""
        return list(self._fields)


def read_headers(rfile: LineReader) -> RequestHeaders:
    """The header fields after the request line, read up to and including the empty line.
    Raises `HeadError` (431 or 400) for a head the server must not act on."""
    return RequestHeaders(_fields(_lines(rfile)))


def _lines(rfile: LineReader) -> list[bytes]:
    """Every line of the head, the ending one included, as `http.client` reads them (the
    whole head is read before any is judged, so an over-large head is a 431 first)."""
    lines: list[bytes] = []
    while True:
        line = rfile.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise HeadError(431, "Line too long")
        lines.append(line)
        if len(lines) > MAX_LINES:
            raise HeadError(431, "Too many headers")
        if line in _ENDS:
            return lines


def _fields(lines: list[bytes]) -> list[tuple[str, str]]:
    fields: list[tuple[str, str]] = []
    name = ""
    parts: list[str] = []  # the current field's value: first line's rest, folded lines
    for line in lines[:-1]:  # the last is the empty line (or the end of the stream)
        text = line.decode("latin-1")
        if "\r" in text.removesuffix("\r\n"):
            raise HeadError(400, "Bad request header: a bare CR")
        if text[0] in " \t":  # obsolete line folding: kept as the email parser keeps it
            if not name:
                raise HeadError(400, "Bad request header: a continuation first")
            parts.append(text)
            continue
        if name:
            fields.append((name, "".join(parts).rstrip("\r\n")))
        name, colon, rest = text.partition(":")
        if not colon or not _NAME.fullmatch(name):
            raise HeadError(400, "Bad request header")
        parts = [rest.lstrip(" \t")]
    if name:
        fields.append((name, "".join(parts).rstrip("\r\n")))
    return fields
