"""A plain HTTP/1.1 answer reader for the pooled upstream connections (RFC 9112 framing:
interim answers skipped, chunked or sized or to-the-close bodies)."""

from __future__ import annotations

from typing import BinaryIO

from conformance.endpoints.chunked import ChunkedReader
from conformance.proxy.messages import PIECE

__all__ = ["RemoteProtocolError", "read_answer"]

_MAX_LINE = 65536
_MAX_HEADERS = 100


class RemoteProtocolError(ValueError):
    """The upstream's answer is not HTTP/1.x as RFC 9112 frames it."""


def read_answer(
    rfile: BinaryIO, method: str
) -> tuple[int, tuple[tuple[str, str], ...], bytes, bool]:
    """Status, headers (names as sent), body (de-chunked, not decoded) and whether the
    connection ends with it. A plain reader: the email parser http.client uses cost a
    third of the proxy's time on a small request."""
    while True:
        version, status = _status_line(rfile)
        headers = _header_lines(rfile)
        if not 100 <= status < 200 or status == 101:
            break  # an interim answer (100 Continue) is skipped, as http.client does
    named: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        named[key] = f"{named[key]}, {value}" if key in named else value
    tokens = {t.strip().lower() for t in named.get("connection", "").split(",")}
    will_close = "close" in tokens or (version == "HTTP/1.0" and "keep-alive" not in tokens)
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return status, headers, b"", will_close
    if "chunked" in named.get("transfer-encoding", "").lower():
        reader = ChunkedReader(rfile.read)
        pieces = []
        while piece := reader.read(PIECE):
            pieces.append(piece)
        return status, headers, b"".join(pieces), will_close
    length = named.get("content-length")
    if length is None:
        return status, headers, rfile.read(), True  # to the end of the connection
    if not length.strip().isdigit():
        raise RemoteProtocolError("bad Content-Length")
    size = int(length)
    data = rfile.read(size)
    if len(data) < size:
        raise RemoteProtocolError("answer body cut short")
    return status, headers, data, will_close


def _status_line(rfile: BinaryIO) -> tuple[str, int]:
    line = rfile.readline(_MAX_LINE + 1)
    if not line:
        raise RemoteProtocolError("connection closed without an answer")
    version, _, rest = line.decode("latin-1").partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise RemoteProtocolError("not an HTTP/1.x status line")
    return version, int(code)


def _header_lines(rfile: BinaryIO) -> tuple[tuple[str, str], ...]:
    headers: list[tuple[str, str]] = []
    while True:
        line = rfile.readline(_MAX_LINE + 1)
        if len(line) > _MAX_LINE:
            raise RemoteProtocolError("header line too long")
        if line in (b"\r\n", b"\n", b""):
            return tuple(headers)
        text = line.decode("latin-1").rstrip("\r\n")
        if text[:1] in (" ", "\t") and headers:  # obsolete line folding
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {text.strip()}")
            continue
        name, colon, value = text.partition(":")
        if not colon:
            raise RemoteProtocolError("header line without a colon")
        headers.append((name, value.strip(" \t")))
        if len(headers) > _MAX_HEADERS:
            raise RemoteProtocolError("too many headers")
