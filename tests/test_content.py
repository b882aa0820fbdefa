"""Properties of the deterministic, position-dependent source-file content."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from conformance.content import (
    BLOCK_SIZE,
    GUARANTEED_WINDOW,
    MAX_SEED,
    STAMP_SIZE,
    SourceFile,
    sha256_hex,
)

seeds = st.integers(min_value=0, max_value=MAX_SEED)
small_sizes = st.integers(min_value=0, max_value=40_000)

# A file big enough to hold several misplaced windows, small enough to read whole.
WINDOW_FILE_SIZE = 200_000


@settings(max_examples=40)
@given(seed=seeds, a=small_sizes, b=small_sizes)
def test_shorter_file_is_a_prefix_of_longer(seed: int, a: int, b: int) -> None:
    short, long = sorted((a, b))
    head = SourceFile(size=short, seed=seed).read(0, short)
    whole = SourceFile(size=long, seed=seed).read(0, long)
    assert len(head) == short
    assert len(whole) == long
    assert whole[:short] == head


@settings(max_examples=60)
@given(seed=seeds, size=small_sizes, data=st.data())
def test_read_of_any_range_is_the_slice_of_the_whole(
    seed: int, size: int, data: st.DataObject
) -> None:
    source = SourceFile(size=size, seed=seed)
    whole = source.read(0, size)
    bound = st.integers(min_value=0, max_value=size + 2 * BLOCK_SIZE)
    start, end = sorted((data.draw(bound), data.draw(bound)))
    assert source.read(start, end) == whole[start:end]


@settings(max_examples=60)
@given(
    seed=seeds,
    size=small_sizes,
    chunk_size=st.integers(min_value=1, max_value=3 * BLOCK_SIZE),
    data=st.data(),
)
def test_iter_chunks_concatenate_to_read(
    seed: int, size: int, chunk_size: int, data: st.DataObject
) -> None:
    source = SourceFile(size=size, seed=seed)
    start = data.draw(st.integers(min_value=0, max_value=size + 10))
    end = data.draw(st.none() | st.integers(min_value=start, max_value=size + 10))
    chunks = list(source.iter_chunks(chunk_size, start=start, end=end))
    assert b"".join(chunks) == source.read(0, size)[start:end]
    assert all(len(chunk) == chunk_size for chunk in chunks[:-1])
    assert all(0 < len(chunk) <= chunk_size for chunk in chunks)


def test_iter_chunks_default_streams_whole_file() -> None:
    source = SourceFile(size=(3 << 20) + 5, seed=11)
    chunks = list(source.iter_chunks())
    assert [len(c) for c in chunks] == [1 << 20] * 3 + [5]
    assert b"".join(chunks) == source.read(0, source.size)


@pytest.mark.parametrize(
    "size", [0, 1, STAMP_SIZE, BLOCK_SIZE - 1, BLOCK_SIZE, BLOCK_SIZE + 1, (3 << 20) + 7]
)
def test_digest_is_sha256_of_the_content(size: int) -> None:
    source = SourceFile(size=size, seed=size + 1)
    expected = hashlib.sha256(source.read(0, size)).hexdigest()
    assert source.digest() == expected
    assert source.digest() == expected  # cached path
    assert sha256_hex(source.read(0, size)) == expected


def test_golden_content_is_stable() -> None:
    # Pinned: a change here invalidates every digest recorded by earlier runs.
    assert SourceFile(size=16, seed=0).read(0, 16).hex() == "afcd1d7b39a820e2fc1aaee738317e37"
    assert SourceFile(size=16, seed=1).read(0, 16).hex() == "c15c0289ec2d0a911c6a6626ddf645b0"
    assert (
        SourceFile(size=10_000, seed=0).digest()
        == "b5f498b0fec4bb992ac13e403a48f8b0a5d1698236f82530bf23f4a280af65bf"
    )


@pytest.mark.parametrize("size", [0, 5, (2 << 20) + (1 << 19) + 3])
def test_write_to_writes_the_content_and_returns_its_digest(tmp_path: Path, size: int) -> None:
    source = SourceFile(size=size, seed=42)
    target = tmp_path / "source.bin"
    target.write_bytes(b"stale content longer than the new file" * 1000)
    returned = source.write_to(target)
    written = target.read_bytes()
    assert written == source.read(0, size)
    assert returned == hashlib.sha256(written).hexdigest() == source.digest()


def test_write_to_accepts_str_paths(tmp_path: Path) -> None:
    source = SourceFile(size=10, seed=1)
    assert source.write_to(str(tmp_path / "s.bin")) == source.digest()


@settings(max_examples=80, deadline=None)
@given(seed=seeds, data=st.data())
def test_window_at_a_wrong_offset_always_differs(seed: int, data: st.DataObject) -> None:
    source = SourceFile(size=WINDOW_FILE_SIZE, seed=seed)
    length = data.draw(st.integers(min_value=GUARANTEED_WINDOW, max_value=4 * GUARANTEED_WINDOW))
    last = WINDOW_FILE_SIZE - length  # last valid window start
    start = data.draw(st.integers(min_value=0, max_value=last))
    # Shifts by whole blocks (stamps line up) and arbitrary shifts.
    blocks = st.integers(min_value=-(start // BLOCK_SIZE), max_value=(last - start) // BLOCK_SIZE)
    wrong = data.draw(
        blocks.map(lambda k: start + k * BLOCK_SIZE) | st.integers(min_value=0, max_value=last)
    )
    assume(wrong != start)
    window = source.read(start, start + length)
    assert source.read(wrong, wrong + length) != window
    assert not source.matches(wrong, window)
    assert source.matches(start, window)


@settings(max_examples=40)
@given(
    seeds=st.lists(seeds, min_size=2, max_size=2, unique=True),
    block=st.integers(min_value=0, max_value=100),
    length=st.integers(min_value=STAMP_SIZE, max_value=2 * BLOCK_SIZE),
)
def test_different_seeds_give_different_bytes(seeds: list[int], block: int, length: int) -> None:
    size = (block + 3) * BLOCK_SIZE
    first, second = (SourceFile(size=size, seed=s) for s in seeds)
    start = block * BLOCK_SIZE  # window holds a whole stamp, which differs per seed
    assert first.read(start, start + length) != second.read(start, start + length)


def test_stamps_of_blocks_are_distinct() -> None:
    source = SourceFile(size=4096 * BLOCK_SIZE, seed=3)
    stamps = {source.read(i * BLOCK_SIZE, i * BLOCK_SIZE + STAMP_SIZE) for i in range(4096)}
    assert len(stamps) == 4096


def test_pool_parts_of_blocks_rarely_repeat() -> None:
    # 2**20 pool positions: 4096 blocks expect ~8 coinciding pairs, not more.
    source = SourceFile(size=4096 * BLOCK_SIZE, seed=3)
    parts = {source.read(i * BLOCK_SIZE + STAMP_SIZE, (i + 1) * BLOCK_SIZE) for i in range(4096)}
    assert len(parts) > 4096 - 40


@settings(max_examples=60, deadline=None)
@given(seed=seeds, data=st.data())
def test_locate_finds_where_a_window_came_from(seed: int, data: st.DataObject) -> None:
    size = data.draw(st.integers(min_value=GUARANTEED_WINDOW, max_value=1 << 22))
    source = SourceFile(size=size, seed=seed)
    length = data.draw(st.integers(min_value=GUARANTEED_WINDOW, max_value=min(size, 20_000)))
    offset = data.draw(st.integers(min_value=0, max_value=size - length))
    assert source.locate(source.read(offset, offset + length)) == offset


def test_locate_short_payload_with_a_whole_stamp() -> None:
    source = SourceFile(size=1 << 20, seed=9)
    offset = 5 * BLOCK_SIZE - 3
    assert source.locate(source.read(offset, offset + 3 + STAMP_SIZE + 20)) == offset
    assert source.locate(memoryview(source.read(offset, offset + 100))) == offset


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\x00" * 5,
        b"\x00" * 10_000,
        bytes(range(256)) * 40,
        SourceFile(size=1 << 20, seed=8).read(12_345, 12_345 + 10_000),  # other seed
        SourceFile(size=1 << 20, seed=9).read(0, 100)[1:90],  # no whole stamp
    ],
    ids=["empty", "tiny", "zeros", "pattern", "other-seed", "stampless"],
)
def test_locate_returns_none_when_it_cannot_tell(payload: bytes) -> None:
    assert SourceFile(size=1 << 20, seed=9).locate(payload) is None


def test_locate_rejects_corrupted_and_out_of_file_payloads() -> None:
    source = SourceFile(size=1 << 20, seed=9)
    window = bytearray(source.read(50_000, 60_000))
    window[-1] ^= 0xFF
    assert source.locate(bytes(window)) is None
    # From the same seed but beyond the end of this (shorter) file.
    assert source.locate(SourceFile(size=2 << 20, seed=9).read(1 << 20, (1 << 20) + 9000)) is None
    assert SourceFile(size=0, seed=9).locate(b"x" * 5000) is None


def test_matches_requires_the_range_inside_the_file() -> None:
    source = SourceFile(size=10_000, seed=4)
    tail = source.read(9_000, 10_000)
    assert source.matches(9_000, tail)
    assert source.matches(10_000, b"")
    assert not source.matches(9_000, tail + b"\x00")
    assert not source.matches(-1, source.read(0, 10))
    assert not source.matches(10_001, b"")
    assert not source.matches(8_999, tail)
    assert source.matches(9_000, memoryview(tail))
    flipped = bytearray(tail)
    flipped[500] ^= 1
    assert not source.matches(9_000, bytes(flipped))


def test_matches_large_payload_across_chunks() -> None:
    source = SourceFile(size=3 << 20, seed=4)
    payload = bytearray(source.read(1, (3 << 20) - 1))
    assert source.matches(1, bytes(payload))
    payload[-1] ^= 1
    assert not source.matches(1, bytes(payload))


def test_reads_beyond_the_end_are_clipped() -> None:
    source = SourceFile(size=100, seed=2)
    assert source.read(90, 10**30) == source.read(0, 100)[90:]
    assert source.read(200, 300) == b""
    assert list(source.iter_chunks(start=150)) == []


def test_source_file_is_frozen_and_hashable() -> None:
    source = SourceFile(size=1, seed=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        source.size = 2  # type: ignore[misc]
    assert source == SourceFile(size=1, seed=1)
    assert len({source, SourceFile(size=1, seed=1)}) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"size": -1, "seed": 0}, "size=-1 must be >= 0"),
        ({"size": 1.5, "seed": 0}, "size=1.5 must be an int"),
        ({"size": True, "seed": 0}, "size=True must be an int"),
        ({"size": 2**63, "seed": 0}, f"size={2**63} must be <= {2**63 - 1}"),
        ({"size": 0, "seed": -1}, "seed=-1 must be >= 0"),
        ({"size": 0, "seed": 2**64}, f"seed={2**64} must be <= {2**64 - 1}"),
        ({"size": 0, "seed": "7"}, "seed='7' must be an int"),
    ],
)
def test_construction_is_validated(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        SourceFile(**kwargs)  # type: ignore[arg-type]


def test_seed_bounds_are_inclusive() -> None:
    assert len(SourceFile(size=8, seed=MAX_SEED).read(0, 8)) == 8
    assert len(SourceFile(size=8, seed=0).read(0, 8)) == 8


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (5, 3, "start=5 must be <= end=3"),
        (-1, 3, "start=-1 must be >= 0"),
        (0, -1, "end=-1 must be >= 0"),
        (0.0, 3, "start=0.0 must be an int"),
    ],
)
def test_bad_ranges_raise(start: int, end: int, message: str) -> None:
    source = SourceFile(size=10, seed=0)
    with pytest.raises(ValueError, match=message):
        source.read(start, end)
    with pytest.raises(ValueError, match=message):
        source.iter_chunks(start=start, end=end)  # eager: no next() needed


@pytest.mark.parametrize("chunk_size", [0, -5])
def test_chunk_size_must_be_positive(chunk_size: int) -> None:
    with pytest.raises(ValueError, match=f"chunk_size={chunk_size} must be >= 1"):
        SourceFile(size=10, seed=0).iter_chunks(chunk_size)
