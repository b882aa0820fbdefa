"""File-backed blobs, so that a multi-GiB upload needs no multi-GiB of memory.

The model keeps bytes in `Blob`s and never does I/O itself; this module is the I/O side.
`TempFileBlobFactory` makes blobs that start in memory and roll over to an anonymous
temporary file past a threshold (`tempfile.SpooledTemporaryFile`), so the thousands of
small chunks of a property run cost no file handles while a 2 GiB file sits on disk.

Assembling a file copies every appended part into it (`model.blobs.copy_into`), so
`FileBlob.copy_from` does that copy without Python in between: `os.copy_file_range` when
both blobs are real files (the kernel copies page cache to page cache), one write straight
from the in-memory buffer when the part is still spooled in memory. Measured on the 2-core
machine, 2 GiB in 8 MiB chunks through the loopback server in its own process (medians of
3 interleaved rounds): server CPU 9.0 s -> 6.0 s, 158 -> 209 MiB/s; small parts unchanged
(`benchmarks/endpoints.py`, figure 3).

Nearly every blob is a request's file part, written once and then copied into a token's
file or kept as a pending chunk: such a blob holds the parser's `bytes` object itself
(`FileBlob`, "held") and opens no file at all. In-process through `mock_transport`,
medians of 3 interleaved runs: 64 KiB chunks 481 -> 461 us a request, 1 KiB 347 -> 339.
Holding appends as well (a token's file as a list of parts) measured no better for small
chunks and cost the 2 GiB upload a quarter of its throughput (1 MiB body pieces held and
then written in a burst), so it was reverted.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from typing import IO

from conformance.model.blobs import PIECE_SIZE, Blob

__all__ = ["DEFAULT_SPOOL_THRESHOLD", "FileBlob", "TempFileBlobFactory"]

# Past this many bytes a blob moves from memory to a temporary file.
DEFAULT_SPOOL_THRESHOLD = 1 << 20


class FileBlob:
    """A `Blob` over a seekable binary file that it owns and closes on `release`.

    Opened lazily by `opener`: a blob whose only write is one immutable `bytes` at offset 0
    of at most `hold_up_to` bytes (a request's file part, nearly always) holds that object
    itself, no file and no copy, and opens its file when written again. Copying a held
    blob into another is then the one copy it costs.
    """

    __slots__ = ("_file", "_held", "_hold_up_to", "_opener", "_size")

    def __init__(self, opener: Callable[[], IO[bytes]], hold_up_to: int = 0) -> None:
        self._opener = opener
        self._hold_up_to = hold_up_to
        self._file: IO[bytes] | None = None
        self._held: bytes | None = None
        self._size = 0

    @property
    def size(self) -> int:
        return self._size

    def read(self, start: int = 0, end: int | None = None) -> bytes:
        stop = self._size if end is None else min(end, self._size)
        if stop <= start:
            return b""
        if self._held is not None:
            return self._held[start:stop]
        file = self._opened()
        file.seek(start)
        return file.read(stop - start)

    def write_at(self, offset: int, data: bytes) -> None:
        if not 0 <= offset <= self._size:
            raise ValueError(f"offset={offset} outside [0, {self._size}]")
        if self._size == 0 and self._file is None and self._holds(data):
            self._held, self._size = data, len(data)
            return
        file = self._opened()
        file.seek(offset)
        file.write(data)
        self._size = max(self._size, offset + len(data))

    def _holds(self, data: bytes) -> bool:
        return type(data) is bytes and 0 < len(data) <= self._hold_up_to

    def _opened(self) -> IO[bytes]:
        """The file, opened now if need be, with the held bytes (if any) written into it."""
        if self._file is None:
            self._file = self._opener()
            if self._held is not None:
                self._file.write(self._held)
                self._held = None
        return self._file

    def copy_from(self, source: Blob, offset: int) -> bool:
        """All of `source` at `offset` without Python-level pieces, when `source` is a
        `FileBlob` too (`model.blobs.CopyTarget`); False for any other source."""
        if not isinstance(source, FileBlob) or source is self:
            return False
        count = source._size
        if count == 0:  # nothing to write: like piece-by-piece copying, a no-op
            return True
        if not 0 <= offset <= self._size:
            raise ValueError(f"offset={offset} outside [0, {self._size}]")
        if source._held is not None:
            self.write_at(offset, source._held)
            return True
        if not self._copy_in_kernel(source._opened(), count, offset):
            memory = _in_memory(source._opened())
            if memory is None:
                return False
            with memory.getbuffer() as view:  # no copy; released before anything writes
                file = self._opened()
                file.seek(offset)
                file.write(view[:count])
        self._size = max(self._size, offset + count)
        return True

    def _copy_in_kernel(self, source: IO[bytes], count: int, offset: int) -> bool:
        """`copy_file_range` from `source` [0, count) to this file at `offset`; False when
        either is not a real file or the kernel refuses (then the caller copies)."""
        target = self._opened()
        source_fd, target_fd = _real_fd(source), _real_fd(target)
        if source_fd is None or target_fd is None:
            return False
        source.flush()  # buffered writes must reach the file before the kernel reads it
        target.flush()
        done = 0
        try:
            while done < count:
                copied = os.copy_file_range(source_fd, target_fd, count - done, done, offset + done)
                if copied == 0:  # the source is shorter than it says: let the caller copy
                    return False
                done += copied
        except OSError:  # EXDEV, ENOSYS, EINVAL...: no in-kernel copy here
            return False
        finally:
            target.seek(0, os.SEEK_END)  # drop what the buffered file read ahead
        return True

    def pieces(self, piece_size: int = PIECE_SIZE) -> Iterator[bytes]:
        for start in range(0, self._size, piece_size):
            yield self.read(start, start + piece_size)

    def sha256(self) -> str:
        if self._held is not None:
            return hashlib.sha256(self._held).hexdigest()
        digest = hashlib.sha256()
        for piece in self.pieces():
            digest.update(piece)
        return digest.hexdigest()

    def release(self) -> None:
        if self._file is not None:
            self._file.close()
        self._held = None
        self._size = 0

    def __repr__(self) -> str:
        return f"FileBlob(size={self._size})"


def _real_fd(file: IO[bytes]) -> int | None:
    """The descriptor of an OS-level file; None for a spooled file still in memory (asking
    it for `fileno()` would roll it over). Private `SpooledTemporaryFile` attributes, read
    defensively: without them every copy takes the piece-by-piece path."""
    if isinstance(file, tempfile.SpooledTemporaryFile) and not getattr(file, "_rolled", False):
        return None
    try:
        return file.fileno()
    except (OSError, ValueError, io.UnsupportedOperation):
        return None


def _in_memory(file: IO[bytes]) -> io.BytesIO | None:
    """The buffer of a spooled file still in memory (or of a BytesIO); None otherwise."""
    inner = (
        getattr(file, "_file", None) if isinstance(file, tempfile.SpooledTemporaryFile) else file
    )
    return inner if isinstance(inner, io.BytesIO) else None


class TempFileBlobFactory:
    """Makes `FileBlob`s that spool to a temporary file past `spool_threshold` bytes.

    `directory` is where the temporary files go (the system default when None). Files are
    anonymous: nothing is left behind even if the process dies.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str] | None = None,
        spool_threshold: int = DEFAULT_SPOOL_THRESHOLD,
    ) -> None:
        if spool_threshold < 0:
            raise ValueError(f"spool_threshold={spool_threshold} must be >= 0")
        self.directory = None if directory is None else os.fspath(directory)
        self.spool_threshold = spool_threshold

    def new(self, data: bytes = b"") -> Blob:
        blob = FileBlob(self._open, hold_up_to=self.spool_threshold)
        if data:
            blob.write_at(0, data)
        return blob

    def _open(self) -> IO[bytes]:
        # The blob owns the file and closes it on release.
        if self.spool_threshold == 0:  # SpooledTemporaryFile treats 0 as "never roll over"
            return tempfile.TemporaryFile(mode="w+b", dir=self.directory)
        return tempfile.SpooledTemporaryFile(
            max_size=self.spool_threshold, mode="w+b", dir=self.directory
        )
