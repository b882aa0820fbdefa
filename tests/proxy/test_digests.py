"""The shadow's files as digests (`proxy/digests.py`) against the model's assembled bytes.

The same uploads go to two models: one whose files are the bytes (`MemoryBlob`), one whose
payloads are `ShadowPart`s (files kept as a prefix digest and a tail). Every outcome is
the same, and the digest of every file is the same, or (a write reaching hashed bytes
the store cannot follow) refused: never a wrong digest. With a window over the file size
it is always exact, whatever the order, overlaps, re-sends and empty parts.
"""

from __future__ import annotations

import hashlib
import tracemalloc
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from part_layouts import CALLER, Part, payload, schedules

from conformance.model import (
    AbandonClose,
    AddToken,
    CloseWaiting,
    FilePart,
    MemoryBlob,
    TokenResult,
    Upload,
    UploadTokenModel,
)
from conformance.proxy.digests import DigestFile, InexactDigestError
from conformance.proxy.shadow_parts import ShadowParts


class Pair:
    """Two models fed the same events: bytes, and digests with a tail of `window`."""

    def __init__(self, size: int, window: int) -> None:
        self.parts = ShadowParts(window)
        self.plain = UploadTokenModel()
        self.digested = UploadTokenModel()
        add = AddToken(CALLER, 0.0, "f.bin", float(size))
        answers = [model.apply(add) for model in (self.plain, self.digested)]
        assert isinstance(answers[0], TokenResult)
        self.token = answers[0].token.id

    def upload(self, data: bytes, part: Part) -> None:
        outcomes = []
        for model, wrap in ((self.plain, False), (self.digested, True)):
            blob = MemoryBlob(data)
            file = FilePart(self.parts.wrap(blob) if wrap else blob)
            event = Upload(
                CALLER, 1.0, self.token, file, part.resume, part.final, float(part.resume_at)
            )
            outcome = model.apply(event)
            if isinstance(outcome, CloseWaiting):
                outcome = model.apply(AbandonClose(outcome.ticket, 1.0))
            outcomes.append(outcome)
        assert outcomes[0] == outcomes[1]

    def digests(self) -> tuple[str | None, str | None]:
        plain = self.plain.file_digest(CALLER.partner_id, self.token)
        try:
            return plain, self.digested.file_digest(CALLER.partner_id, self.token)
        except InexactDigestError:
            return plain, None


@settings(max_examples=300, deadline=None)
@given(schedules())
def test_a_window_over_the_file_is_always_exact(schedule: tuple[bytes, list[Part]]) -> None:
    source, uploads = schedule
    pair = Pair(len(source), window=4096)
    for part in uploads:
        pair.upload(payload(source, part), part)
        plain, digested = pair.digests()
        assert digested == plain


@settings(max_examples=300, deadline=None)
@given(schedules(), st.integers(1, 16))
def test_a_small_window_is_exact_or_says_it_cannot_be(
    schedule: tuple[bytes, list[Part]], window: int
) -> None:
    source, uploads = schedule
    pair = Pair(len(source), window)
    for part in uploads:
        pair.upload(payload(source, part), part)
        plain, digested = pair.digests()
        assert digested in (plain, None)


@settings(max_examples=100, deadline=None)
@given(
    source=st.binary(min_size=1, max_size=200),
    chunk=st.integers(1, 40),
    window=st.integers(1, 16),
    resend=st.sets(st.integers(0, 10)),
)
def test_in_order_chunks_and_re_sent_ones_stay_exact_in_any_window(
    source: bytes, chunk: int, window: int, resend: set[int]
) -> None:
    """What clients do: chunks in order, some sent twice (a lost answer), the first one
    again at 0 (the offset-0 quirk at the close): exact with a tail far smaller than one."""
    pair = Pair(len(source), window)
    starts = list(range(0, len(source), chunk))
    for number, start in enumerate(starts):
        last = number == len(starts) - 1
        if last and number > 0:  # stored at 0, written over the start by the close (§6.3)
            first = Part(True, False, 0, 0, chunk, altered=False)
            pair.upload(payload(source, first), first)
        for _ in range(2 if number in resend else 1):
            part = Part(number > 0, last, start, start, chunk, altered=False)
            pair.upload(payload(source, part), part)
    plain, digested = pair.digests()
    assert digested == plain


def test_a_rewrite_inside_the_hashed_bytes_is_refused_not_guessed() -> None:
    file = DigestFile([b"a" * 40], window=4)
    assert file.sha256() == hashlib.sha256(b"a" * 40).hexdigest()
    file.write_at(0, b"a" * 40)  # the same bytes again, from mark to mark: exact
    assert file.sha256() == hashlib.sha256(b"a" * 40).hexdigest()
    file.write_at(3, b"bb")  # not at a mark, hashed already
    assert not file.exact
    with pytest.raises(InexactDigestError):
        file.sha256()
    file.write_at(40, b"c")  # the size is still followed
    assert file.size == 41


def test_a_write_from_a_mark_into_the_tail_keeps_the_tail_after_it() -> None:
    file = DigestFile([b"a" * 40], window=4)  # hashed [0, 36), the tail [36, 40)
    file.write_at(0, b"x" * 38)
    assert file.sha256() == hashlib.sha256(b"x" * 38 + b"aa").hexdigest()


def test_a_part_is_its_bytes_until_written_into() -> None:
    blob = MemoryBlob(b"0123456789")
    part = ShadowParts(window=2).wrap(blob)
    assert part.read(2, 4) == b"23"
    assert part.sha256() == hashlib.sha256(b"0123456789").hexdigest()
    part.write_at(10, b"ab")
    assert blob.size == 0  # released: the file is a digest and a tail now
    assert part.sha256() == hashlib.sha256(b"0123456789ab").hexdigest()
    assert part.read(10) == b"ab"
    with pytest.raises(InexactDigestError):
        part.read(0)


class UnreadableBlob(MemoryBlob):
    """A spooled part whose file went away: reading it fails."""

    released = False

    def pieces(self, piece_size: int = 1 << 20) -> Iterator[bytes]:
        raise OSError("No such file or directory")

    def read(self, start: int = 0, end: int | None = None) -> bytes:
        raise OSError("No such file or directory")

    def release(self) -> None:
        self.released = True


def test_appended_bytes_that_cannot_be_read_lose_the_digest_and_free_every_part() -> None:
    file = DigestFile([b"start"], window=4)
    first, second = UnreadableBlob(b"x" * 10), UnreadableBlob(b"y" * 10)
    file.append_later(first)
    file.append_later(second)
    with pytest.raises(OSError, match="No such file"):
        file.settle()
    assert first.released
    assert second.released  # the part not reached is freed too
    assert not file.exact  # an unknown digest, never one without those bytes
    assert file.size == 25
    file.settle()  # nothing is left to read


def large_pieces(count: int) -> Iterator[bytes]:
    for number in range(count):
        yield bytes([number % 256]) * 1024


def test_a_large_part_is_hashed_as_it_comes_not_held_whole() -> None:
    file = DigestFile([b"start"], window=4096)
    tracemalloc.start()
    try:
        file._write(file.size, large_pieces(1024), 1 << 20)  # a 1 MiB part, 1 KiB at a time
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 128 << 10  # the window and a piece or two, never the part
    expected = hashlib.sha256(b"start")
    for piece in large_pieces(1024):
        expected.update(piece)
    assert file.sha256() == expected.hexdigest()
