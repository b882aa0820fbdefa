"""Strategies for source files: sizes, seeds and chunk sizes.

Content is never drawn as bytes (Hypothesis cannot make byte strings over ~8 KiB, and they are
slow): a file is a size and a seed, and `SourceFile` derives the bytes.
"""

from __future__ import annotations

from collections.abc import Iterable

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from conformance.content import MAX_SEED, MAX_SIZE, SourceFile
from strategies._validation import check_int, check_ints, check_optional_int, check_order

__all__ = [
    "DEFAULT_LARGE_SIZES",
    "DEFAULT_MAX_CHUNK_SIZE",
    "DEFAULT_MAX_FILE_SIZE",
    "DEFAULT_MAX_MULTIPLE",
    "chunk_sizes",
    "file_sizes",
    "seeds",
    "source_files",
]

DEFAULT_MAX_FILE_SIZE = 1 << 20
DEFAULT_MAX_CHUNK_SIZE = 64 << 10
# Where 32-bit sizes and offsets overflow (signed, then unsigned); used only if <= max_size.
DEFAULT_LARGE_SIZES = (2**31 - 1, 2**31, 2**31 + 1, 2**32 - 1, 2**32, 2**32 + 1)
DEFAULT_MAX_MULTIPLE = 3  # k * chunk_size +- 1 for k = 1..3: a single, two and three chunks
_MOST_MULTIPLES = 1000  # three boundaries each: a longer list only dilutes them


def _clamped(slots: Iterable[int], min_size: int, max_size: int) -> list[int]:
    """Slots clamped into [min_size, max_size], not deduplicated.

    Each slot keeps its position whatever the bounds, so when a composite strategy shrinks the
    chunk size, "2 * chunk_size + 1" stays "2 * chunk_size + 1" instead of turning into another
    boundary. Duplicates only weigh a value more.
    """
    return [min(max(slot, min_size), max_size) for slot in slots]


def _weighted(specials: list[int], min_size: int, max_size: int) -> st.SearchStrategy[int]:
    # Half the draws come from each branch. The plain integers come first because one_of
    # shrinks towards its first branch: a failure then shrinks to the smallest failing value,
    # not merely to the first failing boundary in the list.
    return st.one_of(st.integers(min_size, max_size), st.sampled_from(specials))


def file_sizes(
    *,
    min_size: int = 0,
    max_size: int = DEFAULT_MAX_FILE_SIZE,
    chunk_size: int | None = None,
    large_sizes: Iterable[int] = DEFAULT_LARGE_SIZES,
    max_multiple: int = DEFAULT_MAX_MULTIPLE,
) -> st.SearchStrategy[int]:
    """File sizes in [min_size, max_size], half of them from a list of boundary values.

    The boundaries are min_size and min_size + 1 (0 and 1 by default), k * chunk_size - 1,
    k * chunk_size and k * chunk_size + 1 for k = 1..max_multiple when `chunk_size` is given
    (clamped into the bounds), and those of `large_sizes` (2 GiB and 4 GiB +- 1 by default)
    inside the bounds: the large ones appear only when the caller raises `max_size`. Raise
    `max_multiple` with `max_size` for files of many chunks. Shrinks towards `min_size`.
    """
    check_int("min_size", min_size, minimum=0)
    check_int("max_size", max_size, minimum=0)
    check_order("min_size", min_size, "max_size", max_size)
    if max_size > MAX_SIZE:
        raise InvalidArgument(f"max_size={max_size!r} must be <= {MAX_SIZE}")
    chunk = check_optional_int("chunk_size", chunk_size, minimum=1)
    large = check_ints("large_sizes", large_sizes, minimum=0)
    check_int("max_multiple", max_multiple, minimum=1)
    if max_multiple > _MOST_MULTIPLES:
        raise InvalidArgument(f"max_multiple={max_multiple!r} must be <= {_MOST_MULTIPLES}")
    slots = [min_size, min_size + 1]  # 0 and 1 by default
    if chunk is not None:
        slots += [k * chunk + d for k in range(1, max_multiple + 1) for d in (-1, 0, 1)]
    specials = _clamped(slots, min_size, max_size)
    specials += [size for size in large if min_size <= size <= max_size]
    return _weighted(specials, min_size, max_size)


def seeds() -> st.SearchStrategy[int]:
    """Content seeds: any int in [0, 2**64). Shrinks towards 0."""
    return st.integers(0, MAX_SEED)


def source_files(
    *,
    min_size: int = 0,
    max_size: int = DEFAULT_MAX_FILE_SIZE,
    chunk_size: int | None = None,
    large_sizes: Iterable[int] = DEFAULT_LARGE_SIZES,
    max_multiple: int = DEFAULT_MAX_MULTIPLE,
) -> st.SearchStrategy[SourceFile]:
    """`SourceFile`s with a size from `file_sizes` (same arguments) and a seed from `seeds`.

    Shrinks towards `SourceFile(size=min_size, seed=0)`.
    """
    sizes = file_sizes(
        min_size=min_size,
        max_size=max_size,
        chunk_size=chunk_size,
        large_sizes=large_sizes,
        max_multiple=max_multiple,
    )
    return st.builds(SourceFile, size=sizes, seed=seeds())


def chunk_sizes(
    *, min_size: int = 1, max_size: int = DEFAULT_MAX_CHUNK_SIZE
) -> st.SearchStrategy[int]:
    """Chunk sizes in [min_size, max_size], half of them a power of two or one off it.

    Shrinks towards `min_size`.
    """
    check_int("min_size", min_size, minimum=1)
    check_int("max_size", max_size, minimum=1)
    check_order("min_size", min_size, "max_size", max_size)
    powers = [2**k + d for k in range(max_size.bit_length()) for d in (-1, 0, 1)]
    inside = [size for size in powers if min_size < size <= max_size]
    return _weighted([min_size, *dict.fromkeys(inside)], min_size, max_size)
