"""Helpers of the shadow's digest store (`digests`): a file's newest bytes as the list of
pieces it was given (never one growing buffer), and which of a payload's checkpoints a
file's first part starts from."""

from __future__ import annotations

from collections.abc import Iterator

from conformance.model import Blob
from conformance.model.blobs import PIECE_SIZE
from conformance.wire.types import DigestCheckpoint

__all__ = ["Pieces", "covers_whole", "newest_before", "pieces_from", "settled_start"]


class Pieces:
    """Bytes as a list of pieces: an append keeps the piece it is given (no copy, no
    growing buffer to move), an overwrite splits at most two pieces."""

    def __init__(self) -> None:
        self.pieces: list[bytes] = []
        self.length = 0

    def _split(self, at: int) -> int:
        """The index of the piece starting at `at` (0 <= at <= length), split if needed."""
        position = 0
        for index, piece in enumerate(self.pieces):
            if position == at:
                return index
            if at < position + len(piece):
                cut = at - position
                self.pieces[index : index + 1] = [piece[:cut], piece[cut:]]
                return index + 1
            position += len(piece)
        return len(self.pieces)

    def replace(self, start: int, end: int, new: list[bytes]) -> None:
        """Bytes [start, min(end, length)) become `new` (start <= length)."""
        end = min(end, self.length)
        if start == self.length:
            first = last = len(self.pieces)
        else:
            first = self._split(start)
            last = self._split(end) if end > start else first
        removed = sum(len(piece) for piece in self.pieces[first:last])
        self.pieces[first:last] = new
        self.length += sum(len(piece) for piece in new) - removed

    def take_front(self, count: int) -> list[bytes]:
        """Remove and return the first `count` bytes (count <= length)."""
        index = self._split(count)
        front, self.pieces = self.pieces[:index], self.pieces[index:]
        self.length -= count
        return front

    def read(self, start: int, end: int) -> bytes:
        return b"".join(self.pieces)[start:end]

    def after(self, skip: int) -> Iterator[bytes]:
        """The pieces from byte `skip` on (the first one cut)."""
        position = 0
        for piece in self.pieces:
            if position + len(piece) > skip:
                yield piece[max(0, skip - position) :] if position < skip else piece
            position += len(piece)


def pieces_from(blob: Blob, start: int) -> Iterator[bytes]:
    """`blob`'s bytes from `start` on, a piece at a time."""
    if start == 0:
        yield from blob.pieces()
        return
    for at in range(start, blob.size, PIECE_SIZE):
        yield blob.read(at, min(at + PIECE_SIZE, blob.size))


def covers_whole(checkpoints: tuple[DigestCheckpoint, ...], blob: Blob) -> bool:
    """Whether `checkpoints` are states of `blob`'s prefixes (ascending, ending at its size)."""
    offsets = [checkpoint.offset for checkpoint in checkpoints]
    return bool(offsets) and offsets[-1] == blob.size and offsets == sorted(offsets)


def settled_start(size: int, window: int) -> int:
    """Where `_put`'s folds leave the prefix of a file's first `size` bytes, put a
    `PIECE_SIZE` piece at a time: after each piece, over two windows kept fold to one."""
    start = 0
    for end in [*range(PIECE_SIZE, size, PIECE_SIZE), size]:
        if end - start > 2 * window:
            start = end - window
    return start


def newest_before(checkpoints: tuple[DigestCheckpoint, ...], limit: int) -> DigestCheckpoint | None:
    """The checkpoint furthest into the part at or before `limit` (none at 0: nothing gained)."""
    usable = [checkpoint for checkpoint in checkpoints if 0 < checkpoint.offset <= limit]
    return usable[-1] if usable else None
