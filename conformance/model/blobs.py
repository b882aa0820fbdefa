"""Where the model keeps bytes: the assembled file and every stored (pending) chunk.

The model never does I/O itself; it asks a `Blob` to hold bytes. `MemoryBlob` keeps them
in a bytearray. A file-backed blob for multi-GiB uploads lives outside the model
(`conformance.stores`) and satisfies the same protocol, so the model stays pure.

A blob may also offer `copy_from(source, offset)` (`CopyTarget`): a way to take another
blob's bytes that is faster than reading and writing them piece by piece (for files: a
copy inside the kernel). `copy_into` asks for it first; the model still does no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Protocol, runtime_checkable

__all__ = [
    "PIECE_SIZE",
    "Blob",
    "BlobFactory",
    "CopyTarget",
    "MemoryBlob",
    "MemoryBlobFactory",
    "copy_into",
]

# Bytes moved at a time between blobs: big enough to be fast, small enough to keep a
# multi-GiB assembly from ever holding more than this in memory.
PIECE_SIZE = 4 << 20


@runtime_checkable
class Blob(Protocol):
    """A growable byte container. Writes never truncate (the real server never does, §9)."""

    @property
    def size(self) -> int: ...

    def read(self, start: int = 0, end: int | None = None) -> bytes:
        """Bytes `[start, end)`, clipped to the blob."""
        ...

    def write_at(self, offset: int, data: bytes) -> None:
        """Overwrite from `offset` (≤ size), growing the blob when the data runs past its end."""
        ...

    def pieces(self, piece_size: int = PIECE_SIZE) -> Iterator[bytes]:
        """The whole content in order, a piece at a time."""
        ...

    def sha256(self) -> str:
        """Hex SHA-256 of the whole content."""
        ...

    def release(self) -> None:
        """Free the storage. The blob must not be used afterwards."""
        ...


class CopyTarget(Protocol):
    """Optional: a blob that can take all of another blob's bytes in one step."""

    def copy_from(self, source: Blob, offset: int) -> bool:
        """Write all of `source` at `offset` (≤ size), as `copy_into` would; False when it
        cannot for this source (nothing was changed then). Raises like `write_at`."""
        ...


class BlobFactory(Protocol):
    """Makes new blobs; the model asks for one when it needs a copy of its own."""

    def new(self, data: bytes = b"") -> Blob: ...


class MemoryBlob:
    """A `Blob` in memory."""

    __slots__ = ("_data",)

    def __init__(self, data: bytes = b"") -> None:
        self._data = bytearray(data)

    @property
    def size(self) -> int:
        return len(self._data)

    def read(self, start: int = 0, end: int | None = None) -> bytes:
        return bytes(self._data[start:end])

    def write_at(self, offset: int, data: bytes) -> None:
        if not 0 <= offset <= len(self._data):
            raise ValueError(f"offset={offset} outside [0, {len(self._data)}]")
        self._data[offset : offset + len(data)] = data

    def pieces(self, piece_size: int = PIECE_SIZE) -> Iterator[bytes]:
        view = memoryview(self._data)
        for start in range(0, len(view), piece_size):
            yield bytes(view[start : start + piece_size])

    def sha256(self) -> str:
        return hashlib.sha256(self._data).hexdigest()

    def release(self) -> None:
        self._data = bytearray()

    def __repr__(self) -> str:
        return f"MemoryBlob(size={self.size})"


class MemoryBlobFactory:
    """Makes `MemoryBlob`s."""

    def new(self, data: bytes = b"") -> Blob:
        return MemoryBlob(data)


def copy_into(target: Blob, offset: int, source: Blob) -> None:
    """Write all of `source` into `target` at `offset`: through the target's `copy_from`
    when it has one that takes this source, else a piece at a time."""
    copy_from = getattr(target, "copy_from", None)
    if copy_from is not None and copy_from(source, offset):
        return
    position = offset
    for piece in source.pieces():
        target.write_at(position, piece)
        position += len(piece)
