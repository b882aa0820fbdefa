"""Deterministic, position-dependent source-file content generated from a seed.

The suite uploads generated "source files" of any size (0 bytes to many GiB)
through the clients under test, then checks every payload a client sent
against the source bytes at its offset, and the assembled file's digest.  The
content therefore has to be:

* **A pure function of (seed, position).**  The byte at position ``p`` never
  depends on the file size, so ``SourceFile(10, s).read(0, 10)`` is a prefix
  of ``SourceFile(100, s).read(0, 100)``; nothing is stored, any range can be
  regenerated on demand, and different seeds give different bytes.
* **Position-dependent.**  A chunk sent at the wrong offset must show.
* **Fast.**  Measured on the 2-core reference machine: ``random.randbytes``
  and ``hashlib.shake_128`` reach only ~300 MiB/s, while the page cache
  absorbs writes at 0.5-1.8 GiB/s and SHA-256 (SHA-NI) runs ~1.2 GiB/s.
  Copying slices of a precomputed buffer runs ~6 GiB/s, so the content is
  assembled from slices of a small random pool instead of being generated
  byte by byte.

Layout
------
The file is a sequence of ``BLOCK_SIZE`` (4 KiB) blocks; block ``i`` covers
``[i * 4096, (i + 1) * 4096)`` and the last one is simply cut at ``size``:

* bytes 0-7: the *stamp*, ``(i XOR stamp_key)`` as 64-bit little-endian, where
  ``stamp_key`` is derived from the seed by a bijection (splitmix64).  The
  stamp is injective in ``i`` and differs between seeds for the same ``i``.
* bytes 8-4095: 4088 bytes copied from the seed's pool at a pseudo-random pool
  position ``splitmix64(i XOR offset_key) mod 2**20``.

The pool is 16 segments of 64 KiB (+ a 4088-byte tail, so every block's window
fits inside one segment), each drawn from ``random.Random((seed << 4) | k)``
via ``getrandbits`` (Mersenne Twister integer seeding is stable across Python
versions).  Segments are built lazily and cached per seed, so a tiny file
costs one segment (~0.3 ms) and a large one the whole pool (~5 ms) once per
seed.  Lazy filling is race-free in effect: concurrent builders compute
identical bytes.  Generation then costs one integer mix, one 8-byte stamp and
one slice per 4 KiB: ~2 GiB/s in 1 MiB chunks, faster than SHA-256.
The layout is part of the suite's contract: changing any of it changes every
digest (``tests/test_content.py`` pins a few golden values).

Guarantee (what "position-dependent" means precisely)
-----------------------------------------------------
Let ``W`` be the bytes at ``[a, a + n)`` and ``W'`` those at ``[a + d, a + d + n)``
of the same file, ``d != 0``, both ranges inside the file.

* If ``n >= GUARANTEED_WINDOW`` (4104 = one block + one stamp), ``W`` contains
  the whole stamp of some block ``i``.  When ``d`` is a multiple of 4096, ``W'``
  holds the stamp of block ``i + d / 4096`` in that place, so ``W != W'``
  *always*.  For any other ``d`` those 8 bytes of ``W'`` are pool bytes (or a
  pool/stamp straddle) that would have to equal stamp ``i`` exactly, and all
  the surrounding ~4 KiB would have to coincide as well: probability below
  ``2**-64`` under a random-pool model.
* Shorter windows are position-dependent only probabilistically: a misplaced
  one goes unnoticed when the pool positions of the blocks involved happen to
  line up (about ``2**-20`` per misplacement) or, for very short windows, when
  the ``n`` bytes coincide by chance (``256**-n``).  The whole-file digest
  check still catches those.
* Windows from different seeds differ with the same probabilities (stamps
  differ for every block index, pools are independent).

``SourceFile.locate`` inverts the stamps to say where a misplaced payload was
taken from, for failure messages.
"""

from __future__ import annotations

import functools
import hashlib
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = [
    "BLOCK_SIZE",
    "DEFAULT_CHUNK_SIZE",
    "GUARANTEED_WINDOW",
    "MAX_SEED",
    "MAX_SIZE",
    "STAMP_SIZE",
    "SourceFile",
    "sha256_hex",
]

BLOCK_SIZE = 4096
"""Bytes per block; every block starts with a stamp of its absolute index."""
STAMP_SIZE = 8
"""Bytes of the per-block index stamp."""
GUARANTEED_WINDOW = BLOCK_SIZE + STAMP_SIZE
"""Windows at least this long always contain a whole stamp (see module docs)."""
DEFAULT_CHUNK_SIZE = 1 << 20
"""Default streaming chunk: big enough to amortise per-call costs, cache-friendly."""
MAX_SEED = (1 << 64) - 1
MAX_SIZE = (1 << 63) - 1
"""Largest size an ``off_t`` can express; also keeps block indexes below 2**64."""

_MASK64 = (1 << 64) - 1
_POOL_BYTES = BLOCK_SIZE - STAMP_SIZE  # pool bytes per block
_SEGMENT_BITS = 16
_SEGMENT_COUNT = 16
_SEGMENT_SPAN = 1 << _SEGMENT_BITS  # distinct start positions per segment
_SEGMENT_LEN = _SEGMENT_SPAN + _POOL_BYTES  # tail so any block window fits
_POSITION_MASK = _SEGMENT_COUNT * _SEGMENT_SPAN - 1
_OFFSET_SALT = 0x6A09E667F3BCC909  # any constant: decorrelates the two keys
_WRITE_CHUNK = 4 << 20  # 1-8 MiB writes measured equal; 4 MiB keeps syscalls few


def sha256_hex(data: bytes | bytearray | memoryview) -> str:
    """Hex SHA-256 of ``data``: the digest format used throughout the suite."""
    return hashlib.sha256(data).hexdigest()


def _splitmix64(x: int) -> int:
    """splitmix64 finaliser of ``x + gamma``: a cheap bijection on 64-bit ints."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


class _Pool:
    """Per-seed keys and lazily built random segments."""

    __slots__ = ("offset_key", "seed", "segments", "stamp_key")

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.stamp_key = _splitmix64(seed)
        self.offset_key = _splitmix64(seed ^ _OFFSET_SALT)
        self.segments: list[memoryview | None] = [None] * _SEGMENT_COUNT

    def build(self, k: int) -> memoryview:
        """Generate segment ``k``; memoryview so block slices are zero-copy."""
        rng = random.Random((self.seed << 4) | k)
        data = rng.getrandbits(8 * _SEGMENT_LEN).to_bytes(_SEGMENT_LEN, "little")
        segment = memoryview(data)
        self.segments[k] = segment
        return segment


@functools.lru_cache(maxsize=8)
def _pool(seed: int) -> _Pool:
    # Few seeds are live at once; 8 pools cap the cache at ~9 MiB.
    return _Pool(seed)


def _append_blocks(pool: _Pool, first: int, stop: int, out: list[bytes | memoryview]) -> None:
    """Append the pieces of whole blocks ``[first, stop)`` to ``out`` (hot loop)."""
    segments, build = pool.segments, pool.build
    stamp_key, offset_key = pool.stamp_key, pool.offset_key
    append = out.append
    for i in range(first, stop):
        position = _splitmix64(i ^ offset_key) & _POSITION_MASK
        k = position >> _SEGMENT_BITS
        segment = segments[k] or build(k)
        start = position & (_SEGMENT_SPAN - 1)
        append((i ^ stamp_key).to_bytes(STAMP_SIZE, "little"))
        append(segment[start : start + _POOL_BYTES])


def _block(pool: _Pool, i: int) -> bytes:
    pieces: list[bytes | memoryview] = []
    _append_blocks(pool, i, i + 1, pieces)
    return b"".join(pieces)


def _render(pool: _Pool, start: int, end: int) -> bytes:
    """Bytes ``[start, end)``; only edge blocks are built whole and cut."""
    if start >= end:
        return b""
    first, head = divmod(start, BLOCK_SIZE)
    last, tail = divmod(end, BLOCK_SIZE)  # block ``last`` contributes ``[0, tail)``
    if first == last:
        return _block(pool, first)[head:tail]
    pieces: list[bytes | memoryview] = []
    if head:
        pieces.append(_block(pool, first)[head:])
        first += 1
    _append_blocks(pool, first, last, pieces)
    if tail:
        pieces.append(_block(pool, last)[:tail])
    return b"".join(pieces)


def _stream(pool: _Pool, start: int, end: int, chunk_size: int) -> Iterator[bytes]:
    for pos in range(start, end, chunk_size):
        yield _render(pool, pos, min(pos + chunk_size, end))


@functools.lru_cache(maxsize=64)
def _digest(size: int, seed: int) -> str:
    # Keyed by value, not by instance: equal SourceFiles share one computation.
    h = hashlib.sha256()
    for chunk in _stream(_pool(seed), 0, size, DEFAULT_CHUNK_SIZE):
        h.update(chunk)
    return h.hexdigest()


def _check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    """Validate ``low <= value (<= high)`` with a message echoing ``name=value``."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name}={value!r} must be an int")
    if value < low:
        raise ValueError(f"{name}={value!r} must be >= {low}")
    if high is not None and value > high:
        raise ValueError(f"{name}={value!r} must be <= {high}")
    return value


def _stamp_suffix(stamp_key: int, blocks: int) -> bytes:
    """High stamp bytes shared by every block of a file with ``blocks`` blocks."""
    varying = -(-(blocks - 1).bit_length() // 8)  # low bytes where indexes differ
    return stamp_key.to_bytes(STAMP_SIZE, "little")[varying:]


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A virtual file of ``size`` bytes whose content is a pure function of ``seed``.

    Nothing is stored: every method regenerates the bytes it needs.
    """

    size: int
    seed: int

    def __post_init__(self) -> None:
        _check_int("size", self.size, 0, MAX_SIZE)
        _check_int("seed", self.seed, 0, MAX_SEED)

    @property
    def block_count(self) -> int:
        """Number of (possibly partial) blocks in the file."""
        return -(-self.size // BLOCK_SIZE)

    def _clip(self, start: int, end: int | None) -> tuple[int, int]:
        _check_int("start", start, 0)
        if end is not None:
            _check_int("end", end, 0)
            if start > end:
                raise ValueError(f"start={start!r} must be <= end={end!r}")
        stop = self.size if end is None else min(end, self.size)
        return min(start, stop), stop

    def read(self, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` clipped to ``[0, size]``; builds only overlapping blocks."""
        lo, hi = self._clip(start, end)
        return _render(_pool(self.seed), lo, hi)

    def iter_chunks(
        self, chunk_size: int = DEFAULT_CHUNK_SIZE, *, start: int = 0, end: int | None = None
    ) -> Iterator[bytes]:
        """Stream ``[start, end)`` (clipped) as ``chunk_size`` pieces, last one shorter.

        Arguments are validated now, not on the first ``next()``.
        """
        _check_int("chunk_size", chunk_size, 1)
        lo, hi = self._clip(start, end)
        return _stream(_pool(self.seed), lo, hi, chunk_size)

    def digest(self) -> str:
        """Hex SHA-256 of the whole content; streamed once, then cached."""
        return _digest(self.size, self.seed)

    def write_to(self, path: str | os.PathLike[str]) -> str:
        """Write the content to ``path`` (truncating) and return its hex SHA-256.

        Hashing happens on the chunks being written, so the file is produced
        and digested in one pass.
        """
        h = hashlib.sha256()
        with open(path, "wb") as f:
            for chunk in self.iter_chunks(_WRITE_CHUNK):
                h.update(chunk)
                f.write(chunk)
        return h.hexdigest()

    def matches(self, offset: int, payload: bytes | bytearray | memoryview) -> bool:
        """True iff ``payload`` equals the content at ``[offset, offset + len(payload))``.

        A range outside ``[0, size]`` is a mismatch, not an error.  Compared
        chunk by chunk: constant memory and an early exit on the first
        differing chunk.
        """
        view = memoryview(payload).cast("B")
        n = view.nbytes
        if isinstance(offset, bool) or not isinstance(offset, int):
            return False
        if offset < 0 or offset + n > self.size:
            return False
        pos = 0
        for chunk in _stream(_pool(self.seed), offset, offset + n, DEFAULT_CHUNK_SIZE):
            # bytes == bytes is a memcmp; memoryview == bytes compares per item.
            if bytes(view[pos : pos + len(chunk)]) != chunk:
                return False
            pos += len(chunk)
        return True

    def locate(self, payload: bytes | bytearray | memoryview) -> int | None:
        """Best-effort source offset of ``payload``, for failure messages.

        Looks for a stamp of this file in the payload's first
        ``GUARANTEED_WINDOW`` bytes (found with ``bytes.find`` on the stamp
        bytes every block index shares), turns it into a candidate offset and
        confirms it with ``matches``.  Returns None when no candidate is
        confirmed: garbage, another seed, corrupted data, an empty payload or
        one too short to hold a whole stamp.
        """
        head = bytes(memoryview(payload).cast("B")[:GUARANTEED_WINDOW])
        if not head or self.size == 0:
            return None
        pool = _pool(self.seed)
        suffix = _stamp_suffix(pool.stamp_key, self.block_count)
        lead = STAMP_SIZE - len(suffix)  # stamp bytes before the shared suffix
        hit = head.find(suffix, lead)
        while hit != -1:
            where = hit - lead  # start of the candidate stamp in the payload
            block = int.from_bytes(head[where : where + STAMP_SIZE], "little") ^ pool.stamp_key
            offset = block * BLOCK_SIZE - where
            if block < self.block_count and offset >= 0 and self.matches(offset, payload):
                return offset
            hit = head.find(suffix, hit + 1)
        return None
