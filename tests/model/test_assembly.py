"""§6 and §9: how parts become the file: the drain, the glob pass, idempotency and overlap.

Model-level tests go through `UploadTokenModel.apply`; the limits that no request can
observe (the drain's 1000-chunk budget and its stop at E, hidden behind the glob pass that
follows it) are pinned on `Assembly` directly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from conformance.model import MemoryBlob, MemoryBlobFactory, ModelConfig, TokenStatus
from conformance.model.assembly import Assembly
from conformance.model.blobs import copy_into

if TYPE_CHECKING:
    from conftest import Harness

FULL = TokenStatus.FULL_UPLOAD


def _assembly(file: bytes, pending: dict[float, bytes]) -> Assembly:
    return Assembly(MemoryBlob(file), {at: MemoryBlob(data) for at, data in pending.items()})


def _pending(assembly: Assembly) -> dict[float, bytes]:
    return {at: blob.read() for at, blob in assembly.pending.items()}


# --- §6.2 the drain ----------------------------------------------------------------------


def test_drain_appends_only_exact_offsets() -> None:
    """§6.2: only a chunk named exactly `.chunk.<S>` is appended, repeatedly; it stops at
    the first missing offset; chunks starting inside the file are never picked."""
    assembly = _assembly(b"0123", {4.0: b"45", 6.0: b"67", 9.0: b"9", 2.0: b"2345678"})
    assert assembly.drain(1000) == 2
    assert assembly.file.read() == b"01234567"
    assert _pending(assembly) == {9.0: b"9", 2.0: b"2345678"}


def test_drain_stops_at_its_limit() -> None:
    """§6.2 / §13: at most `limit` chunks per drain (10 non-final, 1000 in the final loop)."""
    pending = {float(i): bytes([i % 256]) for i in range(1, 1002)}
    assembly = _assembly(b"\x00", pending)
    assert assembly.drain(1000) == 1000
    assert assembly.size == 1001
    assert list(assembly.pending) == [1001.0]


def test_drain_in_the_final_loop_stops_at_the_expected_size() -> None:
    """§6.2: the final loop also stops when S equals E."""
    assembly = _assembly(b"ab", {2.0: b"cd", 4.0: b"ef", 6.0: b"gh"})
    assert assembly.drain(1000, stop_at=4) == 1
    assert assembly.file.read() == b"abcd"
    assert assembly.drain(1000, stop_at=4) == 0


def test_non_final_request_drains_at_most_ten_chunks(h: Harness) -> None:
    """§6.2: a non-final request drains at most 10 chunks; the rest wait for the next one."""
    token = h.add()
    h.open(token, 1)
    for start in range(2, 14):
        h.part(token, start, start + 1)  # twelve 1-byte chunks stored ahead of EOF = 1
    h.part(token, 1, 2)  # written at EOF; no chaining: S = 2
    view = h.ok(h.part(token, 0, 1))  # drain: .chunk.2 … .chunk.11 (10 chunks): S = 12
    assert view.uploaded_file_size == 12
    assert set(h.pending_of(token)) == {0.0, 12.0, 13.0}
    assert h.ok(h.part(token, 0, 1)).uploaded_file_size == 14


def test_non_final_drain_limit_is_configurable(make_harness: Callable[..., Harness]) -> None:
    """§13: the sync-drain budget is configuration (`non_final_drain_limit`)."""
    h = make_harness(non_final_drain_limit=2)
    token = h.add()
    h.open(token, 1)
    for start in range(2, 6):
        h.part(token, start, start + 1)
    h.part(token, 1, 2)
    assert h.ok(h.part(token, 0, 1)).uploaded_file_size == 4


def test_final_loop_appends_many_chunks(h: Harness) -> None:
    """§6.2 / §7 point 3: the close's loop is not bound by the non-final 10-chunk limit."""
    token = h.add()
    h.open(token, 1)
    for start in range(2, 40):
        h.part(token, start, start + 1)
    h.part(token, 1, 2)
    view = h.ok(h.part(token, 40, 41, final=True))
    assert view.status is FULL
    assert view.uploaded_file_size == 41
    assert h.file_of(token) == h.src[:41]


def test_final_drain_limit_is_backed_by_the_glob_pass(
    make_harness: Callable[..., Harness],
) -> None:
    """§7 point 3: each pass is drain *then* glob pass; with a tiny final drain limit the
    glob pass still appends the contiguous rest, so the close succeeds in one pass."""
    h = make_harness(final_drain_limit=1)
    token = h.add()
    h.open(token, 2)
    for start in range(4, 12, 2):
        h.part(token, start, start + 2)
    h.part(token, 2, 4)
    assert h.ok(h.part(token, 12, 14, final=True)).uploaded_file_size == 14


# --- §6.3 the glob pass --------------------------------------------------------------------


def test_glob_pass_writes_chunks_valid_for_the_write_position() -> None:
    """§6.3: valid = offset ≤ P < offset + length; written at its offset (overwriting), P
    moves to its end; sorted by offset; chunks that would not enlarge the file stay."""
    assembly = _assembly(
        b"0123456",
        {5.0: b"5678", 8.0: b"89A", 2.0: b"xx", 12.0: b"C"},
    )
    assert assembly.glob_pass() == 2
    assert assembly.file.read() == b"0123456789A"
    assert _pending(assembly) == {2.0: b"xx", 12.0: b"C"}


def test_glob_pass_offset_zero_quirk() -> None:
    """§6.3 (Q-OFFSET-ZERO): `.chunk.0` is always applied, over the start, without
    truncation; P drops to its length, so only chunks valid for that P follow."""
    assembly = _assembly(b"abcdefgh", {0.0: b"XY", 1.0: b"123", 6.0: b"!!!!"})
    assert assembly.glob_pass() == 2
    # .chunk.0 written (P = 2), then .chunk.1 (1 ≤ 2 < 4) written (P = 4); .chunk.6 is
    # not valid for P = 4 and stays, although it would extend the file.
    assert assembly.file.read() == b"X123efgh"
    assert _pending(assembly) == {6.0: b"!!!!"}


def test_glob_pass_never_writes_negative_offsets() -> None:
    """§6.3 [I in the model]: PHP's fseek to a negative offset fails, so an orphan at r < -1
    is never written, even where offset ≤ P < offset + length."""
    assembly = _assembly(b"abc", {-2.0: b"123456"})
    assert assembly.glob_pass() == 0
    assert assembly.file.read() == b"abc"


def test_glob_pass_empty_chunk_at_zero_is_consumed() -> None:
    """§6.3: a 0-byte `.chunk.0` is applied (a no-op) and deleted; the pass ends."""
    assembly = _assembly(b"abc", {0.0: b""})
    assert assembly.glob_pass() == 1
    assert assembly.file.read() == b"abc"
    assert assembly.pending == {}


def test_offset_zero_quirk_at_the_close_new_bytes_win(h: Harness) -> None:
    """§6.3 (Q-OFFSET-ZERO): a `.chunk.0` left by an inside r = 0 re-send with different
    data is written over the start by the close's glob pass: the new bytes win."""
    token = h.add()
    h.upload(token, b"AAAA", final=False)
    h.upload(token, b"BB", resume=True, final=False, at=0)  # inside: stored as .chunk.0
    assert h.file_of(token) == b"AAAA"
    view = h.ok(h.upload(token, b"CC", resume=True, final=True, at=4))
    assert view.uploaded_file_size == 6
    assert h.file_of(token) == b"BBAACC"


def test_glob_pass_is_off_for_non_final_requests_by_default(h: Harness) -> None:
    """§6.3: non-final requests do not run the glob pass unless configured, so a chunk
    starting inside the file waits for the close."""
    token = h.add()
    h.open(token, 4)
    h.part(token, 6, 10)  # ahead
    h.part(token, 4, 8)  # written: S = 8; .chunk.6 now starts inside
    view = h.ok(h.part(token, 0, 1))
    assert view.uploaded_file_size == 8
    assert 6.0 in h.pending_of(token)


def test_glob_pass_during_chunk_uploads_when_configured(
    make_harness: Callable[..., Harness],
) -> None:
    """§6.3 / §14 2020-10: `use_glob_during_chunk_uploads` makes non-final requests run the
    glob pass after the drain."""
    h = make_harness(glob_during_chunk_uploads=True)
    token = h.add()
    h.open(token, 4)
    h.part(token, 6, 10)
    h.part(token, 4, 8)  # glob runs *before* the write, so .chunk.6 still waits
    view = h.ok(h.part(token, 1, 3))  # drain (nothing), glob: .chunk.6 (6 ≤ 8 < 10) written
    assert view.uploaded_file_size == 10
    assert h.file_of(token) == h.src[:10]
    view = h.ok(h.upload(token, b"Z", resume=True, final=False, at=-3))
    assert view.uploaded_file_size == 10  # the r < -1 path drains and globs as well


# --- §9 idempotency and overlap ----------------------------------------------------------


def test_resend_of_an_appended_chunk_is_a_no_op(h: Harness) -> None:
    """§9: resume=true, finalChunk=false, r ≥ 0: a chunk already appended is a no-op."""
    token = h.add()
    h.open(token, 4)
    first = h.ok(h.part(token, 4, 8))
    again = h.ok(h.part(token, 4, 8, now=h.now + 10))
    assert again == first  # same size, status and updatedAt
    assert h.file_of(token) == h.src[:8]


def test_resend_of_a_pending_chunk_overwrites_it_with_the_same_bytes(h: Harness) -> None:
    """§9: a re-sent pending chunk replaces the stored one; nothing else changes."""
    token = h.add()
    h.open(token, 4)
    h.part(token, 8, 12)
    h.part(token, 8, 12)
    assert h.pending_of(token) == {8.0: h.src[8:12]}
    assert h.file_of(token) == h.src[:4]


def test_half_written_direct_append_is_repaired_by_the_retry(h: Harness) -> None:
    """§9: r ≤ S < r + n: the retry rewrites from r, repairing a torn earlier write."""
    token = h.add()
    h.open(token, 4)
    h.upload(token, h.src[4:6], resume=True, final=False, at=4)  # only half of [4, 8) landed
    view = h.ok(h.part(token, 4, 8))
    assert view.uploaded_file_size == 8
    assert h.file_of(token) == h.src[:8]


def test_overlap_extending_eof_last_writer_wins(h: Harness) -> None:
    """§9: an overlap that extends EOF overwrites [r, S) and grows the file."""
    token = h.add()
    h.upload(token, b"AAAAAA", final=False)
    h.upload(token, b"BBBBB", resume=True, final=False, at=2)  # [2, 7) over S = 6
    h.upload(token, b"CCCC", resume=True, final=False, at=4)  # [4, 8) over S = 7
    assert h.file_of(token) == b"AABBCCCC"


def test_overlap_wholly_inside_is_ignored(h: Harness) -> None:
    """§9: an overlap wholly inside the file is ignored and kept as an orphan."""
    token = h.add()
    h.upload(token, b"AAAAAAAA", final=False)
    h.upload(token, b"BB", resume=True, final=False, at=3)
    assert h.file_of(token) == b"AAAAAAAA"
    assert h.pending_of(token) == {3.0: b"BB"}
    h.ok(h.upload(token, b"", resume=True, final=True, at=8))
    assert h.file_of(token) == b"AAAAAAAA"  # the close's glob pass ignores it too


def test_minus_one_retry_duplicates(h: Harness) -> None:
    """§9: resume=true, r = -1 is not idempotent: a retry duplicates the bytes."""
    token = h.add()
    h.open(token, 2)
    for _ in range(3):
        h.upload(token, b"ab", resume=True, final=False)
    assert h.file_of(token) == h.src[:2] + b"ababab"


def test_resume_false_after_parallel_parts_destroys_progress(h: Harness) -> None:
    """§9: a resume=false re-send resets the file to this part; stored-ahead parts linger."""
    token = h.add()
    h.open(token, 4)
    h.part(token, 4, 8)
    h.part(token, 12, 16)
    view = h.ok(h.open(token, 4))
    assert view.uploaded_file_size == 4
    assert h.file_of(token) == h.src[:4]
    assert h.pending_of(token) == {12.0: h.src[12:16]}


def test_file_never_truncates_on_resume(h: Harness) -> None:
    """§9: with resume=true the file only grows or is overwritten in place."""
    token = h.add()
    h.open(token, 10)
    sizes = []
    for start, end in [(0, 2), (3, 5), (9, 10), (8, 12), (0, 1)]:
        sizes.append(h.ok(h.part(token, start, end)).uploaded_file_size)
    assert sizes == [10, 10, 10, 12, 12]


def test_out_of_order_parts_assemble_to_the_source(h: Harness) -> None:
    """§5 / §6 (UT-S03): parts in any arrival order assemble to the source after the close."""
    token = h.add()
    h.open(token, 16)
    for start in (64, 32, 112, 16, 96, 48, 80):
        h.part(token, start, start + 16)
    assert h.ok(h.part(token, 128, 130, final=True)).uploaded_file_size == 130
    assert h.file_of(token) == h.src[:130]
    digest = h.model.file_digest(h.PARTNER, token.id)
    assert digest == MemoryBlob(h.src[:130]).sha256()


def test_file_digest_and_read_file_without_a_file(h: Harness) -> None:
    """Model inspection: no token, or no file yet, gives None."""
    token = h.add()
    assert h.model.file_digest(h.PARTNER, token.id) is None
    assert h.model.file_digest(h.OTHER_PARTNER, token.id) is None
    assert h.model.read_file(h.PARTNER, "nope") is None


# --- the blobs and the config the assembly relies on ---------------------------------------


def test_memory_blob_contract() -> None:
    """§9 "never truncates": writes overwrite and grow, never shrink; a write past EOF is
    refused."""
    blob = MemoryBlobFactory().new(b"abcdef")
    blob.write_at(4, b"XYZ")
    assert blob.read() == b"abcdXYZ"
    assert blob.read(2, 4) == b"cd"
    assert list(blob.pieces(3)) == [b"abc", b"dXY", b"Z"]
    assert repr(blob) == "MemoryBlob(size=7)"
    with pytest.raises(ValueError, match="outside"):
        blob.write_at(8, b"!")
    with pytest.raises(ValueError, match="outside"):
        blob.write_at(-1, b"!")
    target = MemoryBlob(b"0123")
    copy_into(target, 2, blob)
    assert target.read() == b"01abcdXYZ"
    blob.release()
    assert blob.size == 0


@pytest.mark.parametrize(
    "bad",
    [
        {"max_resume_time": 0},
        {"non_final_drain_limit": 0},
        {"final_drain_limit": -1},
        {"auto_finalize_retries": 0},
    ],
)
def test_config_refuses_limits_below_one(bad: dict[str, int]) -> None:
    """§13: the limits are positive counts."""
    with pytest.raises(ValueError, match="must be >= 1"):
        ModelConfig(**bad)  # type: ignore[arg-type]


def test_config_defaults_are_kalturas() -> None:
    """§13: 7-day resume window, 10 / 1000 drain budgets, glob off, 30-day flag, 5 retries."""
    config = ModelConfig()
    assert config.max_resume_time == 604_800
    assert (config.non_final_drain_limit, config.final_drain_limit) == (10, 1000)
    assert config.glob_during_chunk_uploads is False
    assert config.auto_finalize_ttl == 30 * 86_400
    assert (config.auto_finalize_retries, config.auto_finalize_lock_ttl) == (5, 30)


def test_model_close_releases_every_blob(h: Harness) -> None:
    """Model contract: `close()` (and leaving a `with` block) releases every file and
    stored chunk and forgets waiting closes."""
    token = h.add()
    h.open(token, 4)
    h.waits(h.part(token, 8, 12, final=True))
    assembly = h.record(token).assembly
    assert assembly is not None
    h.add()  # a token without a file
    with h.model as model:
        assert model is h.model
    assert h.record(token).assembly is None
    assert assembly.file.size == 0
    assert assembly.pending == {}
    assert h.model.waiting_closes == ()
