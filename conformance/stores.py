"""File-backed blobs, so that a multi-GiB upload needs no multi-GiB of memory.

The model keeps bytes in `Blob`s and never does I/O itself; this module is the I/O side.
`TempFileBlobFactory` makes blobs that start in memory and roll over to an anonymous
temporary file past a threshold (`tempfile.SpooledTemporaryFile`), so the thousands of
small chunks of a property run cost no file handles while a 2 GiB file sits on disk.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from typing import IO

from conformance.model.blobs import PIECE_SIZE, Blob

__all__ = ["DEFAULT_SPOOL_THRESHOLD", "FileBlob", "TempFileBlobFactory"]

# Past this many bytes a blob moves from memory to a temporary file.
DEFAULT_SPOOL_THRESHOLD = 1 << 20


class FileBlob:
    """A `Blob` over a seekable binary file that it owns and closes on `release`."""

    __slots__ = ("_file", "_size")

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file
        self._size = 0

    @property
    def size(self) -> int:
        return self._size

    def read(self, start: int = 0, end: int | None = None) -> bytes:
        stop = self._size if end is None else min(end, self._size)
        if stop <= start:
            return b""
        self._file.seek(start)
        return self._file.read(stop - start)

    def write_at(self, offset: int, data: bytes) -> None:
        if not 0 <= offset <= self._size:
            raise ValueError(f"offset={offset} outside [0, {self._size}]")
        self._file.seek(offset)
        self._file.write(data)
        self._size = max(self._size, offset + len(data))

    def pieces(self, piece_size: int = PIECE_SIZE) -> Iterator[bytes]:
        for start in range(0, self._size, piece_size):
            yield self.read(start, start + piece_size)

    def sha256(self) -> str:
        digest = hashlib.sha256()
        for piece in self.pieces():
            digest.update(piece)
        return digest.hexdigest()

    def release(self) -> None:
        self._file.close()
        self._size = 0

    def __repr__(self) -> str:
        return f"FileBlob(size={self._size})"


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
        blob = FileBlob(self._open())
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
