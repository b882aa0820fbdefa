"""The shadow's files kept as digests, not bytes: the checks need the assembled file's
SHA-256 (and sizes), never the file, so the proxy need not write every chunk a second time.

A token's file in the shadow's model is a `DigestFile` (`shadow_parts.ShadowPart` turns a
payload into one the first time the model writes into it).

A `DigestFile` keeps the SHA-256 state of its bytes `[0, w)` and the bytes `[w, size)` (the
*tail*, between `window` and twice that: the newest ones, where the model's writes land),
as the pieces it was given. Bytes leave the tail, front first, by being hashed into the
state, as a write's pieces arrive (a large part is never held whole). A part appended at
EOF is handed over unread (`append_later`) and read and hashed by `settle`, which the
proxy runs once the client has its answer (`Reply.after`); any read or other write
settles first. Every write is exact:

* at or after `w` (an append at EOF, a part overlapping the tail): on the tail's bytes;
* before `w`, at an offset where a write started or ended (a *mark*, the state of the
  prefix up to it kept; a handful of bytes each): the file from there is the new data,
  plus what is left of the tail after it;
* before `w`, ending before `w` (the offset-0 quirk's rewrite of the start, §6.3, or a
  re-sent part): exact when it starts and ends at marks and puts back the bytes that were
  there (the prefix states compared: SHA-256 of `prefix + data` against that of the old
  prefix up to its end).

Anything else (a write into the hashed bytes that is not at a mark, or that changes them
without reaching the tail) cannot be followed without the bytes: the file says so
(`InexactDigestError` from `sha256`) instead of answering a wrong digest. The model's writes
only reach before `w` through a part overlapping EOF by more than the window, or the
offset-0 quirk: rare, and `tests/proxy/test_digests.py` shows each case either exact or
refused, never wrong.

**Taking over the payload's hash.** The parser hashes every file part as it streams in (the
trace's payload digest) and keeps a few of the states it passes through
(`UploadedPart.checkpoints`). A part that starts a file at offset 0 (an opening chunk, a
whole upload in one request) is the only one whose bytes hash from the empty state, so
its states are the file's. The file ends in the very state the bytes read and hashed
would leave (the same prefix end, tail and marks: exactly as exact), but its prefix starts
from the newest checkpoint before that end (only the bytes after it are read), and it keeps
the later ones as *known* states (`_known`: offsets whose prefix state is known while no
write lands before them), from which a later fold or `sha256` starts instead of hashing
the bytes before them. The parser's checkpoints fall on each MiB exactly, where a first
part's prefix ends when the window is whole MiB (4): none of its bytes is hashed again.
`HashMeter` counts the bytes the store hashes itself (what taking over saves, for the
tests).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import Any

from conformance.model import Blob
from conformance.model.blobs import PIECE_SIZE
from conformance.proxy.pieces import Pieces, covers_whole, newest_before, pieces_from, settled_start
from conformance.wire.types import DigestCheckpoint

__all__ = ["WINDOW", "Checkpoints", "DigestFile", "HashMeter", "InexactDigestError"]

WINDOW = 4 << 20  # bytes of a file's tail kept (as the endpoint's spool threshold)
_Hash = Any  # hashlib's sha256 object (typeshed's `_Hash` is private)


class InexactDigestError(ValueError):
    """A write reached bytes no longer kept: the file's digest cannot be known."""


class HashMeter:
    """Bytes the digest store fed to SHA-256 itself (a seam: tests count what it hashed)."""

    __slots__ = ("hashed",)

    def __init__(self) -> None:
        self.hashed = 0


Checkpoints = tuple[DigestCheckpoint, ...]


class DigestFile:
    """A growing file as a prefix digest plus its newest bytes (see the module docstring)."""

    def __init__(
        self, data: Iterable[bytes] = (), *, window: int = WINDOW, meter: HashMeter | None = None
    ) -> None:
        if window < 1:
            raise ValueError(f"window={window} must be >= 1")
        self.window = window
        self.meter = meter or HashMeter()
        self._prefix: _Hash = hashlib.sha256()  # the bytes [0, _start)
        self._start = 0
        self._tail = Pieces()
        self._marks: dict[int, _Hash] = {0: hashlib.sha256()}  # offset <= _start -> state
        self._tail_marks: set[int] = set()  # offsets in the tail to keep a state for
        self._known: dict[int, _Hash] = {}  # offset in the tail -> state (never updated)
        self._inexact: str | None = None
        self._size = 0
        self._later: list[tuple[Blob, Checkpoints]] = []  # appended, not read yet, in order
        self._put(0, data, insert=True)
        self._size = self._tail.length + self._start
        self._mark(self._size)

    def append_later(self, blob: Blob, checkpoints: Checkpoints = ()) -> None:
        """Append `blob` (now this file's) at EOF; its bytes are read and hashed by `settle`
        (or by the next read or write that needs them): the request that brought them can
        be answered first. `checkpoints`: states of the blob's own prefixes (the parser's),
        taken over when the blob starts the file."""
        self._mark(self._size)
        self._later.append((blob, checkpoints))
        self._size += blob.size
        self._mark(self._size)

    @property
    def folds_on_settle(self) -> bool:
        """Whether `settle` would hash bytes into the prefix (the tail outgrows twice the
        window), not only take the appended pieces into the tail."""
        pending = sum(blob.size for blob, _ in self._later)
        return self._inexact is None and self._tail.length + pending > 2 * self.window

    def settle(self) -> None:
        """Read and hash the bytes appended by `append_later`."""
        later, self._later = self._later, []
        try:
            while later:
                blob, checkpoints = later[0]
                if self._inexact is None:
                    self._settle_one(blob, checkpoints)
                later.pop(0)
                blob.release()
            self._fold()
        except Exception as error:  # e.g. a spooled part unreadable: the digest is unknown
            self._lose(f"its appended bytes could not be read ({type(error).__name__})")
            raise
        finally:
            for blob, _ in later:  # those not read: released all the same
                blob.release()

    def _settle_one(self, blob: Blob, checkpoints: Checkpoints) -> None:
        position = self._start + self._tail.length
        if position > 0 or not covers_whole(checkpoints, blob):
            self._put(position, blob.pieces(PIECE_SIZE), insert=False)
            return
        # The file's first bytes: the payload's states are the file's. The file ends up as
        # the branch above leaves it (the same prefix, tail and marks: as exact), reached
        # from the newest checkpoint before that prefix's end instead of from the start.
        target = settled_start(blob.size, self.window)
        start = newest_before(checkpoints, target)
        if start is not None:
            self._prefix, self._start = start.state.copy(), start.offset
            self._tail_marks = {mark for mark in self._tail_marks if mark >= start.offset}
        for checkpoint in checkpoints:
            if checkpoint.offset > self._start:
                self._known[checkpoint.offset] = checkpoint.state
        for piece in pieces_from(blob, self._start):  # at most 2 windows and a checkpoint
            self._tail.replace(self._tail.length, self._tail.length, [piece])
        if target > self._start:
            self._fold_to(target)

    @property
    def size(self) -> int:
        return self._size

    @property
    def exact(self) -> bool:
        """Whether `sha256` can answer (no write reached bytes no longer kept)."""
        return self._inexact is None

    # --- writes ----------------------------------------------------------------------------

    def write_at(self, offset: int, data: bytes) -> None:
        self._write(offset, (data,), len(data))

    def copy_from(self, source: Blob, offset: int) -> bool:
        """Take `source`'s bytes at `offset`, a piece at a time (always possible)."""
        self._write(offset, source.pieces(), source.size)
        return True

    def _write(self, offset: int, pieces: Iterable[bytes], length: int) -> None:
        self.settle()
        if not 0 <= offset <= self._size:
            raise ValueError(f"offset={offset} outside [0, {self._size}]")
        end = offset + length
        self._known = {at: state for at, state in self._known.items() if at <= offset}
        if self._inexact is None and offset < self._start:
            self._write_before_tail(offset, pieces, length)
        elif self._inexact is None:
            self._mark(offset)
            self._put(offset, pieces, insert=False)
        else:
            for _ in pieces:  # the digest is lost already; only the size is followed
                pass
        self._size = max(self._size, end)
        self._mark(end)
        self._fold()

    def _put(self, position: int, pieces: Iterable[bytes], *, insert: bool) -> None:
        """Write (or insert) the pieces at `position` in the tail one by one, folding as
        they come: a large part never sits whole in memory."""
        for piece in pieces:
            if not piece:
                continue
            at = position - self._start
            self._tail.replace(at, at if insert else at + len(piece), [piece])
            position += len(piece)
            self._fold(limit=position)  # bytes before `position` are this write's last word

    def _write_before_tail(self, offset: int, pieces: Iterable[bytes], length: int) -> None:
        state = self._marks.get(offset)
        end = offset + length
        if state is None:
            self._lose(f"a write at {offset}, inside the hashed bytes and at no mark")
            return
        if end < self._start:
            self._rewrite_hashed(offset, pieces, end, state)
            return
        kept_end = self._start + self._tail.length  # a write may reach past EOF
        self._tail.take_front(min(end, kept_end) - self._start)  # left: the bytes after it
        self._prefix, self._start = state.copy(), offset
        self._drop_marks_after(offset)
        self._mark(offset)
        self._put(offset, pieces, insert=True)

    def _rewrite_hashed(self, offset: int, pieces: Iterable[bytes], end: int, state: _Hash) -> None:
        """Bytes put back inside the hashed prefix: exact only when they are the same."""
        old = self._marks.get(end)
        new = state.copy()
        for piece in pieces:
            self.meter.hashed += len(piece)
            new.update(piece)
        if old is None or new.digest() != old.digest():
            self._lose(f"bytes [{offset}, {end}) rewritten inside the hashed bytes")

    def _lose(self, why: str) -> None:
        self._inexact = why
        self._tail = Pieces()
        self._marks.clear()
        self._tail_marks.clear()
        self._known.clear()

    def _mark(self, offset: int) -> None:
        if self._inexact is not None:
            return
        if offset >= self._start:
            self._tail_marks.add(offset)

    def _drop_marks_after(self, offset: int) -> None:
        self._marks = {at: state for at, state in self._marks.items() if at <= offset}
        self._tail_marks = {at for at in self._tail_marks if at <= offset}

    def _fold(self, limit: int | None = None) -> None:
        """Hash the tail's front into the prefix until at most `window` bytes are left (or
        up to `limit`), keeping the prefix state at every mark it passes."""
        if self._inexact is not None or self._tail.length <= 2 * self.window:
            return  # folded in batches of at least `window` bytes
        new_start = self._start + self._tail.length - self.window
        if limit is not None:
            new_start = min(new_start, limit)
        if new_start > self._start:
            self._fold_to(new_start)

    def _fold_to(self, new_start: int) -> None:
        marks = sorted(m for m in self._tail_marks if m <= new_start)
        for mark in [*marks, new_start]:
            self._hash_front_to(mark)
            if mark in self._tail_marks:
                self._marks[mark] = self._prefix.copy()
        self._tail_marks = {m for m in self._tail_marks if m > new_start}
        self._known = {at: state for at, state in self._known.items() if at > new_start}

    def _hash_front_to(self, offset: int) -> None:
        """The prefix becomes the bytes [0, offset): from the newest known state on the way,
        if any, else by hashing the tail's front."""
        known = max((at for at in self._known if self._start < at <= offset), default=None)
        if known is not None:
            self._tail.take_front(known - self._start)
            self._prefix, self._start = self._known[known].copy(), known
        for piece in self._tail.take_front(offset - self._start):
            self.meter.hashed += len(piece)
            self._prefix.update(piece)  # hashlib releases the GIL on large pieces
        self._start = offset

    # --- reads -----------------------------------------------------------------------------

    def sha256(self) -> str:
        self.settle()
        if self._inexact is not None:
            raise InexactDigestError(self._inexact)
        digest, skip = self._prefix.copy(), 0
        if self._known:  # all of them valid: a write before one drops it
            known = max(self._known)
            digest, skip = self._known[known].copy(), known - self._start
        for piece in self._tail.after(skip):
            self.meter.hashed += len(piece)
            digest.update(piece)
        return str(digest.hexdigest())

    def read(self, start: int = 0, end: int | None = None) -> bytes:
        """Bytes of the kept tail only."""
        self.settle()
        if start < self._start or self._inexact is not None:
            raise InexactDigestError(f"bytes before {self._start} are kept as a digest only")
        stop = self._size if end is None else min(end, self._size)
        return self._tail.read(start - self._start, max(start, stop) - self._start)

    def pieces(self, piece_size: int = PIECE_SIZE) -> Iterator[bytes]:
        data = self.read(0)
        for start in range(0, len(data), piece_size):
            yield data[start : start + piece_size]

    def release(self) -> None:
        later, self._later = self._later, []
        for blob, _ in later:
            blob.release()
        self._tail = Pieces()
        self._marks.clear()
        self._tail_marks.clear()
        self._known.clear()

    def __repr__(self) -> str:
        return f"DigestFile(size={self._size}, tail={self._tail.length})"
