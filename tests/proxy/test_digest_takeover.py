"""A file's first part takes over the parser's SHA-256 states (`proxy/digests.py`,
`UploadedPart.checkpoints`) instead of being hashed a second time.

The same uploads go to a model whose files are the bytes and to shadow models whose
payloads carry checkpoints (states of their own prefixes, at offsets Hypothesis picks, as
the parser's piece boundaries fall) or none: the digests are those of the assembled bytes,
or refused, and never less often exact with checkpoints than without. `HashMeter` counts
the bytes the store hashed itself: a first part taken over costs none.
"""

from __future__ import annotations

import hashlib
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from part_layouts import CALLER, Part, payload
from part_layouts import schedules as layouts

from conformance.endpoints.bodies import BodyLimits, read_body
from conformance.endpoints.multipart_form import CHECKPOINT_EVERY, CHECKPOINTS_KEPT
from conformance.model import (
    AbandonClose,
    AddToken,
    CloseWaiting,
    FilePart,
    MemoryBlob,
    MemoryBlobFactory,
    TokenResult,
    Upload,
    UploadTokenModel,
)
from conformance.proxy.digests import DigestFile, InexactDigestError
from conformance.proxy.shadow_parts import ShadowParts
from conformance.wire.types import DigestCheckpoint


def checkpoints_of(data: bytes, offsets: list[int], kept: int) -> tuple[DigestCheckpoint, ...]:
    """What the parser hands on: states at some offsets, the newest `kept`, one at the end."""
    points = sorted({offset for offset in offsets if 0 < offset < len(data)})[-kept:]
    return tuple(
        DigestCheckpoint(offset, hashlib.sha256(data[:offset])) for offset in [*points, len(data)]
    )


class Trio:
    """Three models fed the same events: bytes; digests without and with checkpoints."""

    def __init__(self, size: int, window: int) -> None:
        self.plain = UploadTokenModel()
        self.without, self.with_ = UploadTokenModel(), UploadTokenModel()
        self.parts_without, self.parts_with = ShadowParts(window), ShadowParts(window)
        add = AddToken(CALLER, 0.0, "f.bin", float(size))
        answers = [model.apply(add) for model in (self.plain, self.without, self.with_)]
        assert isinstance(answers[0], TokenResult)
        self.token = answers[0].token.id

    def upload(self, data: bytes, part: Part, offsets: list[int], kept: int) -> None:
        blobs = [
            MemoryBlob(data),
            self.parts_without.wrap(MemoryBlob(data)),
            self.parts_with.wrap(MemoryBlob(data), checkpoints_of(data, offsets, kept)),
        ]
        outcomes = []
        for model, blob in zip((self.plain, self.without, self.with_), blobs, strict=True):
            event = Upload(
                CALLER, 1.0, self.token, FilePart(blob), part.resume, part.final, part.resume_at
            )
            outcome = model.apply(event)
            if isinstance(outcome, CloseWaiting):
                outcome = model.apply(AbandonClose(outcome.ticket, 1.0))
            outcomes.append(outcome)
        assert outcomes[0] == outcomes[1] == outcomes[2]

    def digests(self) -> tuple[str | None, str | None, str | None]:
        found: list[str | None] = []
        for model in (self.plain, self.without, self.with_):
            try:
                found.append(model.file_digest(CALLER.partner_id, self.token))
            except InexactDigestError:
                found.append(None)
        return found[0], found[1], found[2]


OFFSETS = st.lists(st.integers(1, 24), max_size=6)


@settings(max_examples=300, deadline=None)
@given(layouts(), st.integers(1, 16) | st.just(4096), OFFSETS, st.integers(1, 4))
def test_taken_over_digests_are_the_assembled_bytes_or_refused_as_often_as_before(
    layout: tuple[bytes, list[Part]], window: int, offsets: list[int], kept: int
) -> None:
    source, uploads = layout
    trio = Trio(len(source), window)
    for part in uploads:
        trio.upload(payload(source, part), part, offsets, kept)
        plain, without, with_ = trio.digests()
        assert with_ in (plain, None)
        if without is not None:  # checkpoints never lose a digest the store could follow
            assert with_ == plain
        if window == 4096:
            assert with_ == plain


@settings(max_examples=100, deadline=None)
@given(
    source=st.binary(min_size=1, max_size=200),
    chunk=st.integers(1, 40),
    window=st.integers(1, 16),
    resend=st.sets(st.integers(0, 10)),
    offsets=OFFSETS,
)
def test_in_order_chunks_re_sends_and_the_offset_0_quirk_stay_exact(
    source: bytes, chunk: int, window: int, resend: set[int], offsets: list[int]
) -> None:
    trio = Trio(len(source), window)
    starts = list(range(0, len(source), chunk))
    for number, start in enumerate(starts):
        last = number == len(starts) - 1
        if last and number > 0:  # stored at 0, written over the start by the close (§6.3)
            first = Part(True, False, 0, 0, chunk, altered=False)
            trio.upload(payload(source, first), first, offsets, 3)
        for _ in range(2 if number in resend else 1):
            part = Part(number > 0, last, start, start, chunk, altered=False)
            trio.upload(payload(source, part), part, offsets, 3)
    plain, without, with_ = trio.digests()
    assert plain == without == with_


def chunked_upload(parts: ShadowParts, source: bytes, chunk: int, *, checkpoints: bool) -> str:
    """`source` uploaded in order in `chunk`-byte parts, each with checkpoints every
    `chunk // 8` bytes (or none); the shadow's digest of the file."""
    model = UploadTokenModel()
    added = model.apply(AddToken(CALLER, 0.0, "f.bin", float(len(source))))
    assert isinstance(added, TokenResult)
    for start in range(0, len(source), chunk):
        data = source[start : start + chunk]
        points = checkpoints_of(data, list(range(0, len(data), chunk // 8)), 12)
        blob = parts.wrap(MemoryBlob(data), points if checkpoints else ())
        last = start + chunk >= len(source)
        event = Upload(CALLER, 1.0, added.token.id, FilePart(blob), start > 0, last, start)
        model.apply(event)
        parts.settle()  # as the proxy does once each answer is sent
    digest = model.file_digest(CALLER.partner_id, added.token.id)
    assert digest is not None
    return digest


def test_the_first_part_is_not_hashed_again_the_others_once() -> None:
    source = bytes(index * 31 % 253 for index in range(64 << 10))
    chunk, window = 16 << 10, 4 << 10
    plain, taken = ShadowParts(window), ShadowParts(window)
    expected = hashlib.sha256(source).hexdigest()
    assert chunked_upload(plain, source, chunk, checkpoints=False) == expected
    assert chunked_upload(taken, source, chunk, checkpoints=True) == expected
    assert plain.meter.hashed == len(source)  # every byte, the first part's too
    assert taken.meter.hashed == len(source) - chunk  # the first part's bytes: never


def test_a_whole_upload_in_one_part_answers_its_digest_without_reading() -> None:
    data = bytes(range(256)) * 64
    parts = ShadowParts(window=4096)  # checkpoints no further apart than the window
    part = parts.wrap(MemoryBlob(data), checkpoints_of(data, [4096, 8192, 12288], 12))
    assert part.sha256() == hashlib.sha256(data).hexdigest()
    part.write_at(len(data), b"more")  # the part becomes a file: starts at a checkpoint
    assert part.sha256() == hashlib.sha256(data + b"more").hexdigest()
    assert parts.meter.hashed == len(b"more")  # from the state at the part's end


def test_checkpoints_that_do_not_describe_the_blob_are_not_used() -> None:
    data = b"x" * 100
    wrong = (DigestCheckpoint(50, hashlib.sha256(b"y" * 50)),)  # not at the blob's end
    parts = ShadowParts(window=8)
    part = parts.wrap(MemoryBlob(data), wrong)
    part.write_at(100, b"z")
    assert part.sha256() == hashlib.sha256(data + b"z").hexdigest()


MULTIPART = "multipart/form-data; boundary=takeover"


def multipart_body(payload: bytes) -> bytes:
    head = (
        b'--takeover\r\nContent-Disposition: form-data; name="fileData"; filename="f"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n"
    )
    return head + payload + b"\r\n--takeover--\r\n"


@settings(max_examples=10, deadline=None)
@given(
    size=st.sampled_from([0, 1, CHECKPOINT_EVERY - 1, CHECKPOINT_EVERY, 3 * CHECKPOINT_EVERY + 5]),
    piece_size=st.sampled_from([4096, 65536 + 3, 1 << 20]),
)
def test_the_parser_hands_on_the_states_of_the_payloads_prefixes(
    size: int, piece_size: int
) -> None:
    payload = bytes(index * 7 % 251 for index in range(size))
    body = multipart_body(payload)
    parsed = read_body(
        io.BytesIO(body).read,
        content_type=MULTIPART,
        content_length=len(body),
        blobs=MemoryBlobFactory(),
        limits=BodyLimits(),
        piece_size=piece_size,
    )
    (part,) = parsed.files
    offsets = [checkpoint.offset for checkpoint in part.checkpoints]
    # At each multiple of CHECKPOINT_EVERY exactly (the shadow's folds land on them) and at
    # the end, the newest CHECKPOINTS_KEPT.
    every = {*range(CHECKPOINT_EVERY, size + 1, CHECKPOINT_EVERY), size}
    assert offsets == sorted(every)[-CHECKPOINTS_KEPT:]
    for checkpoint in part.checkpoints:
        assert (
            checkpoint.state.hexdigest() == hashlib.sha256(payload[: checkpoint.offset]).hexdigest()
        )
    assert part.checkpoints[-1].state.hexdigest() == part.sha256


def test_a_write_from_a_mark_past_eof_replaces_the_whole_tail() -> None:
    """Found by the property above (without checkpoints too, and flaky in test_digests.py's
    small-window property): a write from a mark before the tail that ends past EOF took
    more bytes off the tail than it held, and the next write was answered a wrong digest."""
    file = DigestFile([b"abc"], window=1)  # hashed [0, 2), the tail [2, 3)
    file.write_at(0, b"wxyz")
    assert file.sha256() == hashlib.sha256(b"wxyz").hexdigest()
    file.write_at(2, b"123")  # into bytes hashed by then, at no mark
    with pytest.raises(InexactDigestError):
        file.sha256()
