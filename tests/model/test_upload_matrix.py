"""§5: `handleResume`, the case matrix, one test (or a few) per row.

S is the assembled file's length, r is resumeAt, n the part's length, F the uploadedFileSize
the request stores. Rows are numbered top to bottom as in the spec's table (11 rows). The
"non-numeric r counts as 0" note is the wire codec's job (the model takes a float), so it is
not tested here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from conformance.model import TokenResult, TokenStatus

if TYPE_CHECKING:
    from conftest import AddFn, FileOf, Harness, UploadFn

PARTIAL = TokenStatus.PARTIAL_UPLOAD
FULL = TokenStatus.FULL_UPLOAD


# --- row 1: resume=true, finalChunk=false, r = -1 ---------------------------------------


def test_row1_minus_one_appends_at_eof(add: AddFn, upload: UploadFn, file_of: FileOf) -> None:
    """§5 row 1: r = -1 appends the part at EOF; F is the new EOF."""
    token = add()
    upload(token, b"abcd", resume=False, final=False)
    outcome = upload(token, b"efghij", resume=True, final=False, at=-1)
    assert isinstance(outcome, TokenResult)
    assert outcome.token.status is PARTIAL
    assert outcome.token.uploaded_file_size == 10
    assert file_of(token) == b"abcdefghij"


def test_row1_minus_one_is_not_idempotent(h: Harness) -> None:
    """§5 row 1 / §9: a retry at r = -1 duplicates the bytes (Q-APPEND-MINUS-ONE)."""
    token = h.add()
    h.open(token, 4)
    h.upload(token, b"xy", resume=True, final=False, at=-1)
    view = h.ok(h.upload(token, b"xy", resume=True, final=False, at=-1))
    assert h.file_of(token) == h.src[:4] + b"xyxy"
    assert view.uploaded_file_size == 8


def test_row1_minus_one_ignores_pending_chunks(h: Harness) -> None:
    """§5 row 1: the append is unconditional; no drain runs, so a chunk stored at the old EOF
    stays pending and the part lands in front of it."""
    token = h.add()
    h.open(token, 4)
    h.part(token, 6, 8)  # stored ahead
    h.ok(h.upload(token, b"zz", resume=True, final=False, at=-1))
    assert h.file_of(token) == h.src[:4] + b"zz"
    assert h.pending_of(token) == {6.0: h.src[6:8]}


# --- row 2: r ≥ 0, r ≤ S, r + n > S: written at r ----------------------------------------


def test_row2_part_touching_eof_is_written(h: Harness) -> None:
    """§5 row 2: r == S, the part is written at r; F = r + n."""
    token = h.add()
    h.open(token, 4)
    view = h.ok(h.part(token, 4, 9))
    assert view.uploaded_file_size == 9
    assert view.status is PARTIAL
    assert h.file_of(token) == h.src[:9]
    assert h.pending_of(token) == {}


def test_row2_overlap_extending_eof_overwrites(h: Harness) -> None:
    """§5 row 2: r < S < r + n, the bytes [r, S) are overwritten and the file grows to r + n."""
    token = h.add()
    h.upload(token, b"AAAAAA", final=False)
    view = h.ok(h.upload(token, b"BBBB", resume=True, final=False, at=4))
    assert h.file_of(token) == b"AAAABBBB"
    assert view.uploaded_file_size == 8


def test_row2_drain_runs_first_and_the_condition_is_re_evaluated(h: Harness) -> None:
    """§5 row 2: the drain runs first; a part that was ahead of EOF before the drain is
    written at r when the drained file reaches it."""
    token = h.add()
    h.open(token, 4)
    h.part(token, 4, 6)  # written: S = 6
    h.part(token, 8, 10)  # ahead: stored
    h.upload(token, h.src[6:8], resume=True, final=False, at=6)  # touches EOF: written, S = 8
    assert h.pending_of(token) == {8.0: h.src[8:10]}
    # S = 8 now; a part at 10 is ahead of S, but the drain first appends .chunk.8 (S = 10).
    view = h.ok(h.part(token, 10, 12))
    assert view.uploaded_file_size == 12
    assert h.file_of(token) == h.src[:12]
    assert h.pending_of(token) == {}


def test_row2_drain_can_turn_a_touching_part_into_an_inside_one(h: Harness) -> None:
    """§5 row 2 → row 4: after the drain the part lies wholly inside the file, so it is
    stored, not written."""
    token = h.add()
    h.open(token, 4)
    h.part(token, 6, 10)  # ahead
    h.upload(token, h.src[4:6], resume=True, final=False, at=4)  # written, S = 6; no chaining
    assert h.pending_of(token) == {6.0: h.src[6:10]}
    view = h.ok(h.upload(token, b"XX", resume=True, final=False, at=8))  # r=8 > S=6 before drain
    # the drain appended .chunk.6 (S = 10); 8 + 2 ≤ 10: stored, file unchanged.
    assert view.uploaded_file_size == 10
    assert h.file_of(token) == h.src[:10]
    assert h.pending_of(token) == {8.0: b"XX"}


def test_row2_no_chaining_after_the_direct_write(h: Harness) -> None:
    """§5 row 2: pending chunks that start at the new EOF are not chained in this request."""
    token = h.add()
    h.open(token, 4)
    h.part(token, 8, 12)  # ahead
    view = h.ok(h.part(token, 4, 8))  # written; EOF = 8 = start of the pending chunk
    assert view.uploaded_file_size == 8
    assert h.file_of(token) == h.src[:8]
    assert h.pending_of(token) == {8.0: h.src[8:12]}


# --- row 3: r > S after the drain: stored ahead -------------------------------------------


def test_row3_part_ahead_of_eof_is_stored(h: Harness) -> None:
    """§5 row 3: r > S after the drain is stored ahead; F = S after the drain."""
    token = h.add()
    h.open(token, 4)
    view = h.ok(h.part(token, 6, 9))
    assert view.status is PARTIAL
    assert view.uploaded_file_size == 4
    assert h.file_of(token) == h.src[:4]
    assert h.pending_of(token) == {6.0: h.src[6:9]}


def test_row3_f_is_the_size_after_the_drain(h: Harness) -> None:
    """§5 row 3: F counts what the drain appended, not the stored part."""
    token = h.add()
    h.open(token, 4)
    h.part(token, 6, 8)  # stored
    h.part(token, 4, 6)  # written, S = 6, no chaining
    view = h.ok(h.part(token, 10, 12))  # drain appends .chunk.6 (S = 8); 10 > 8: stored
    assert view.uploaded_file_size == 8
    assert h.pending_of(token) == {10.0: h.src[10:12]}


def test_row3_re_upload_replaces_the_stored_chunk(h: Harness) -> None:
    """§5 row 3 / §6.1: a re-upload at the same r replaces the stored chunk."""
    token = h.add()
    h.open(token, 4)
    h.upload(token, b"old!", resume=True, final=False, at=8)
    h.upload(token, b"new", resume=True, final=False, at=8)
    assert h.pending_of(token) == {8.0: b"new"}


# --- row 4: wholly inside the file ---------------------------------------------------------


def test_row4_part_inside_the_file_is_a_no_op(h: Harness) -> None:
    """§5 row 4: r ≥ 0, r + n ≤ S: stored as a never-appended chunk, file unchanged."""
    token = h.add()
    h.open(token, 10)
    before = h.view(token)
    view = h.ok(h.upload(token, b"ZZZ", resume=True, final=False, at=3))
    assert h.file_of(token) == h.src[:10]
    assert view.uploaded_file_size == 10
    assert view.updated_at == before.updated_at
    assert h.pending_of(token) == {3.0: b"ZZZ"}


def test_row4_part_ending_exactly_at_eof_is_inside(h: Harness) -> None:
    """§5 row 4: r + n == S does not extend the file, so it is stored, not written."""
    token = h.add()
    h.open(token, 10)
    h.ok(h.upload(token, b"ZZZZ", resume=True, final=False, at=6))
    assert h.file_of(token) == h.src[:10]
    assert h.pending_of(token) == {6.0: b"ZZZZ"}


# --- row 5: n = 0, r ≤ S ---------------------------------------------------------------------


def test_row5_empty_part_with_r_above_zero_is_swallowed(h: Harness) -> None:
    """§5 row 5 (§4 step 5, Q-EMPTY-PART): n = 0, r > 0, non-final: nothing changes."""
    token = h.add()
    h.open(token, 4)
    before = h.record(token).assembly
    assert before is not None
    view = h.ok(h.upload(token, b"", resume=True, final=False, at=2))
    assert view.status is PARTIAL
    assert view.uploaded_file_size == 4
    assert h.pending_of(token) == {}


def test_row5_empty_part_at_zero_is_stored(h: Harness) -> None:
    """§5 row 5: n = 0, r = 0: stored as a 0-byte pending chunk; no effect; F = S."""
    token = h.add()
    h.open(token, 4)
    view = h.ok(h.upload(token, b"", resume=True, final=False, at=0))
    assert view.uploaded_file_size == 4
    assert h.file_of(token) == h.src[:4]
    assert h.pending_of(token) == {0.0: b""}


# --- row 6: r < -1, non-final ------------------------------------------------------------


def test_row6_negative_offset_is_an_orphan_without_error(h: Harness) -> None:
    """§5 row 6: r < -1 (a 32-bit overflow) is stored as `.chunk.-N`; no error; F = S."""
    token = h.add()
    h.open(token, 4)
    view = h.ok(h.upload(token, b"lost", resume=True, final=False, at=-2_147_483_000))
    assert view.status is PARTIAL
    assert view.uploaded_file_size == 4
    assert h.file_of(token) == h.src[:4]
    assert h.pending_of(token) == {-2_147_483_000.0: b"lost"}


def test_row6_f_is_the_size_after_the_drain(h: Harness) -> None:
    """§5 row 6: the drain still runs before the orphan is stored."""
    token = h.add()
    h.open(token, 4)
    h.part(token, 6, 8)
    h.part(token, 4, 6)  # S = 6, .chunk.6 waits
    view = h.ok(h.upload(token, b"lost", resume=True, final=False, at=-5))
    assert view.uploaded_file_size == 8
    assert h.file_of(token) == h.src[:8]


# --- row 7: final, r > 0: verified ------------------------------------------------------------


def test_row7_final_with_r_above_zero_is_verified_and_succeeds(h: Harness) -> None:
    """§5 row 7: a final part at r > 0 succeeds when the file reaches E = r + n."""
    token = h.add()
    h.open(token, 6)
    view = h.ok(h.part(token, 6, 10, final=True))
    assert view.status is FULL
    assert view.uploaded_file_size == 10
    assert h.file_of(token) == h.src[:10]


def test_row7_final_with_r_above_zero_fails_when_size_cannot_match(h: Harness) -> None:
    """§5 row 7: otherwise the close waits and then answers CANNOT_MATCH_EXPECTED_SIZE."""
    token = h.add()
    h.open(token, 4)
    waiting = h.waits(h.part(token, 8, 10, final=True))
    assert waiting.expected_size == 10
    assert waiting.current_size == 4
    h.fails(h.abandon_close(waiting.ticket), "UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE")


# --- row 8: final, r = 0: backwards-compatibility path -----------------------------------


def test_row8_final_at_zero_bigger_than_file_overwrites_from_zero(h: Harness) -> None:
    """§5 row 8: r = 0, n > S: written from 0, then FULL_UPLOAD with no size check."""
    token = h.add()
    h.upload(token, b"AAAA", final=False)
    view = h.ok(h.upload(token, b"BBBBBB", resume=True, final=True, at=0))
    assert view.status is FULL
    assert view.uploaded_file_size == 6
    assert h.file_of(token) == b"BBBBBB"


def test_row8_final_at_zero_inside_the_file_is_stored_and_still_finalises(h: Harness) -> None:
    """§5 row 8: r = 0, n ≤ S: stored (no effect), then FULL_UPLOAD anyway; F = S."""
    token = h.add()
    h.upload(token, b"AAAAAA", final=False)
    view = h.ok(h.upload(token, b"BB", resume=True, final=True, at=0))
    assert view.status is FULL
    assert view.uploaded_file_size == 6
    assert h.file_of(token) == b"AAAAAA"
    assert h.pending_of(token) == {0.0: b"BB"}


def test_row8_final_at_zero_drains_first(h: Harness) -> None:
    """§5 row 8: like the non-final row, the drain runs first; no size check follows even
    though chunks are still missing."""
    token = h.add()
    h.open(token, 4)
    h.part(token, 6, 8)
    h.part(token, 4, 6)  # S = 6, .chunk.6 waits
    h.part(token, 10, 12)  # drain appends .chunk.6 → S = 8; .chunk.10 waits (gap at 8)
    view = h.ok(h.upload(token, h.src[:2], resume=True, final=True, at=0))
    assert view.status is FULL
    assert view.uploaded_file_size == 8  # a hole at [8, 10): never verified
    assert h.pending_of(token) == {10.0: h.src[10:12], 0.0: h.src[:2]}


# --- row 9: final, r = -1 -----------------------------------------------------------------


def test_row9_final_minus_one_appends_and_finalises(h: Harness) -> None:
    """§5 row 9: append at EOF, then FULL_UPLOAD; F = new EOF."""
    token = h.add()
    h.open(token, 4)
    view = h.ok(h.upload(token, h.src[4:7], resume=True, final=True, at=-1))
    assert view.status is FULL
    assert view.uploaded_file_size == 7
    assert h.file_of(token) == h.src[:7]


def test_row9_empty_final_minus_one_closes_a_sequential_upload(h: Harness) -> None:
    """§5 row 9: a 0-byte part at r = -1 closes the upload without any check."""
    token = h.add(file_size=1000)
    h.open(token, 4)
    view = h.ok(h.upload(token, b"", resume=True, final=True, at=-1))
    assert view.status is FULL
    assert view.uploaded_file_size == 4


def test_row9_default_parameters_are_a_final_minus_one(h: Harness) -> None:
    """§5 row 9 with §3.4 defaults: resume=true alone means finalChunk=true, resumeAt=-1."""
    token = h.add()
    h.open(token, 4)
    view = h.ok(h.upload(token, b"end", resume=True))
    assert view.status is FULL
    assert h.file_of(token) == h.src[:4] + b"end"


# --- row 10: final, r < -1 -----------------------------------------------------------------


def test_row10_final_negative_offset_finalises_without_writing(h: Harness) -> None:
    """§5 row 10 (Q-NEGATIVE-FINAL): stored as an orphan, FULL_UPLOAD, no error; F = S."""
    token = h.add()
    h.open(token, 4)
    view = h.ok(h.upload(token, b"tail", resume=True, final=True, at=-7))
    assert view.status is FULL
    assert view.uploaded_file_size == 4
    assert h.file_of(token) == h.src[:4]
    assert h.pending_of(token) == {-7.0: b"tail"}


# --- row 11: resume=false -----------------------------------------------------------------


def test_row11_resume_false_replaces_the_file_and_ignores_resume_at(h: Harness) -> None:
    """§5 row 11: resume=false replaces the whole file with the part; resumeAt is ignored."""
    token = h.add()
    h.open(token, 10)
    view = h.ok(h.upload(token, b"new", resume=False, final=False, at=5))
    assert view.uploaded_file_size == 3
    assert view.status is PARTIAL
    assert h.file_of(token) == b"new"


def test_row11_resume_false_final_replaces_and_finalises(h: Harness) -> None:
    """§5 row 11: resume=false + finalChunk=true is a single-shot upload: FULL_UPLOAD, F = n."""
    token = h.add()
    view = h.ok(h.upload(token, h.src[:5], resume=False, final=True, at=123))
    assert view.status is FULL
    assert view.uploaded_file_size == 5
    assert h.file_of(token) == h.src[:5]


def test_row11_resume_false_empty_part_with_r_above_zero_is_swallowed(h: Harness) -> None:
    """§5 row 11 exception: resume=false, finalChunk=false, r > 0, n = 0 is swallowed."""
    token = h.add()
    h.open(token, 4)
    view = h.ok(h.upload(token, b"", resume=False, final=False, at=1))
    assert view.uploaded_file_size == 4
    assert h.file_of(token) == h.src[:4]


def test_row11_resume_false_empty_part_otherwise_replaces(h: Harness) -> None:
    """§5 row 11: outside the empty-part rule a 0-byte resume=false part empties the file."""
    token = h.add()
    h.open(token, 4)
    view = h.ok(h.upload(token, b"", resume=False, final=False, at=-1))
    assert view.uploaded_file_size == 0
    assert h.file_of(token) == b""
