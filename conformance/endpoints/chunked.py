"""HTTP/1.1 `Transfer-Encoding: chunked` request bodies, decoded for `read_body`.

Some clients stream uploads without a Content-Length; the standard library's server does
not decode those, so the loopback server wraps its socket file in a `ChunkedReader`.
"""

from __future__ import annotations

import re

from conformance.endpoints.bodies import BadChunking, IncompleteBody, Reader

__all__ = ["ChunkedReader"]

_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")


class ChunkedReader:
    """`read(n)` of a chunked body (RFC 9112 §7.1), decoded from a raw `read(n)`.

    Reads never run past the final CRLF, so the next request on the connection is left
    intact: header lines are read a byte at a time (cheap on a buffered socket file).
    `read(n)` returns n bytes, fewer only at the end, then b"". Raises `BadChunking` for
    malformed framing and `IncompleteBody` when the stream ends before the last chunk.
    """

    def __init__(self, read: Reader, *, max_line: int = 4096, max_trailers: int = 8192) -> None:
        self._read = read
        self._max_line = max_line
        self._max_trailers = max_trailers
        self._left = 0  # data bytes left in the current chunk
        self._done = False
        self.received = 0  # decoded bytes so far

    def read(self, n: int) -> bytes:
        if n < 0:
            raise ValueError(f"n={n} must be >= 0")
        pieces: list[bytes] = []
        wanted = n
        while wanted > 0 and not self._done:
            if self._left == 0:
                self._start_chunk()
                continue
            data = self._read(min(wanted, self._left))
            if not data:
                raise IncompleteBody(None, self.received)
            pieces.append(data)
            wanted -= len(data)
            self._left -= len(data)
            self.received += len(data)
            if self._left == 0:
                self._end_chunk()
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def _start_chunk(self) -> None:
        line = self._line()
        size = line.split(b";", 1)[0].strip(b" \t")  # chunk extensions are ignored
        if not _CHUNK_SIZE.fullmatch(size):
            raise BadChunking(f"bad chunk size line {line[:40]!r}")
        self._left = int(size, 16)
        if self._left == 0:
            self._skip_trailers()
            self._done = True

    def _end_chunk(self) -> None:
        crlf = self._read(2)
        if len(crlf) == 1:  # a raw socket may hand over one byte at a time
            crlf += self._read(1)
        if len(crlf) < 2:
            raise IncompleteBody(None, self.received)
        if crlf != b"\r\n":
            raise BadChunking(f"chunk data followed by {crlf!r}, not CRLF")

    def _skip_trailers(self) -> None:
        total = 0
        while line := self._line():
            total += len(line) + 2
            if total > self._max_trailers:
                raise BadChunking(f"trailer section over {self._max_trailers} bytes")

    def _line(self) -> bytes:
        """One CRLF-terminated line, without the CRLF."""
        line = bytearray()
        while not line.endswith(b"\n"):
            byte = self._read(1)
            if not byte:
                raise IncompleteBody(None, self.received)
            line += byte
            if len(line) > self._max_line:
                raise BadChunking(f"chunk header line over {self._max_line} bytes")
        if not line.endswith(b"\r\n"):
            raise BadChunking("chunk header line not ended by CRLF")
        return bytes(line[:-2])
