"""Strategies for how a file is cut and how its chunks are sent."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from conformance.scenario import Partition, UploadSchedule
from strategies._validation import check_bool, check_int, check_order

__all__ = ["DEFAULT_MAX_CHUNKS", "orderings", "partitions", "upload_schedules"]

DEFAULT_MAX_CHUNKS = 64


def _most_chunks(size: int, min_chunk_size: int) -> int:
    return max(1, size // min_chunk_size)


def partitions(
    size: int,
    *,
    min_chunks: int = 1,
    max_chunks: int = DEFAULT_MAX_CHUNKS,
    min_chunk_size: int = 1,
) -> st.SearchStrategy[Partition]:
    """Partitions of a `size`-byte file into min_chunks..max_chunks chunks.

    Every chunk has at least `min_chunk_size` bytes, except a lone chunk smaller than that
    (size < min_chunk_size, or size 0). `max_chunks` is clipped to what fits.

    Drawn as cut points: m offsets x_i in [0, size - (m + 1) * min_chunk_size], sorted, the
    i-th cut being x_(i) + i * min_chunk_size. That maps every sorted draw to exactly one valid
    partition, with no rejection. Shrinks towards `min_chunks` chunks with the cuts packed to
    the left: every chunk `min_chunk_size` bytes except the last, which takes the rest.
    """
    check_int("size", size, minimum=0)
    check_int("min_chunks", min_chunks, minimum=1)
    check_int("max_chunks", max_chunks, minimum=1)
    check_int("min_chunk_size", min_chunk_size, minimum=1)
    check_order("min_chunks", min_chunks, "max_chunks", max_chunks)
    most = _most_chunks(size, min_chunk_size)
    if min_chunks > most:
        raise InvalidArgument(
            f"min_chunks={min_chunks!r} chunks of min_chunk_size={min_chunk_size!r} "
            f"do not fit in size={size!r}"
        )
    return _partitions(size, min_chunks - 1, min(max_chunks, most) - 1, min_chunk_size)


@st.composite
def _partitions(
    draw: st.DrawFn, size: int, min_cuts: int, max_cuts: int, min_chunk_size: int
) -> Partition:
    count = draw(st.integers(min_cuts, max_cuts))
    if count == 0:
        return Partition(size)
    room = size - (count + 1) * min_chunk_size
    offsets = draw(st.lists(st.integers(0, room), min_size=count, max_size=count))
    step = min_chunk_size
    return Partition(size, tuple(x + i * step for i, x in enumerate(sorted(offsets), start=1)))


def orderings(n: int) -> st.SearchStrategy[tuple[int, ...]]:
    """Permutations of range(n), as tuples. Shrinks towards the identity (in order)."""
    check_int("n", n, minimum=0)
    return st.permutations(range(n)).map(tuple)


def upload_schedules(
    partition: Partition,
    *,
    allow_resends: bool = True,
    allow_early_close: bool = True,
    allow_empty_close: bool = True,
    max_resends: int = 3,
) -> st.SearchStrategy[UploadSchedule]:
    """Ways to send `partition`'s chunks in a three-stage upload (see `UploadSchedule`).

    Draws whether the close is empty, the order of the middles, up to `max_resends` duplicate
    sends, and whether an early close attempt comes after some middles. Shrinks towards a
    non-empty close, the middles in order, no resends and no early close.
    """
    if not isinstance(partition, Partition):
        raise InvalidArgument(f"partition={partition!r} must be a Partition")
    check_bool("allow_resends", allow_resends)
    check_bool("allow_early_close", allow_early_close)
    check_bool("allow_empty_close", allow_empty_close)
    check_int("max_resends", max_resends, minimum=0)
    return _schedules(
        partition,
        max_resends if allow_resends else 0,
        allow_early_close,
        allow_empty_close,
    )


@st.composite
def _schedules(
    draw: st.DrawFn,
    partition: Partition,
    max_resends: int,
    allow_early_close: bool,
    allow_empty_close: bool,
) -> UploadSchedule:
    empty_close = draw(st.booleans()) if allow_empty_close else False
    count = partition.count if empty_close else partition.count - 1
    middles = range(1, max(1, count))
    order = tuple(middles[i] for i in draw(orderings(len(middles))))
    resends: tuple[int, ...] = ()
    close_after: int | None = None
    if middles:
        indices = st.sampled_from(middles)
        resends = tuple(draw(st.lists(indices, max_size=max_resends)))
        if allow_early_close:
            close_after = draw(st.none() | st.integers(0, len(middles) - 1))
    return UploadSchedule(partition, order, resends, close_after, empty_close)
