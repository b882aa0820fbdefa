"""§7: the verified final part ("close") and UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE.

The real server loops up to 45 one-second passes; the model answers `CloseWaiting` instead
and the test drives the wait with `ContinueClose` (one more pass) or `AbandonClose` (the budget
is spent). One test per numbered point 1–7, then the "naive model would get these wrong"
bullets, then the wait's bookkeeping.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from conformance.model import ModelUsageError, TokenStatus

if TYPE_CHECKING:
    from conftest import Harness

PENDING = TokenStatus.PENDING
PARTIAL = TokenStatus.PARTIAL_UPLOAD
FULL = TokenStatus.FULL_UPLOAD
CANNOT_MATCH = "UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE"
INVALID_STATUS = "UPLOAD_TOKEN_INVALID_STATUS_FOR_UPLOAD"


# --- the numbered points ----------------------------------------------------------------


def test_point1_expected_size_is_r_plus_n_of_this_part(h: Harness) -> None:
    """§7 point 1: E = r + n of the final part; the declared fileSize plays no part."""
    token = h.add(file_size=4096)
    h.open(token, 6)
    waiting = h.waits(h.part(token, 8, 11, final=True))
    assert waiting.expected_size == 11


def test_point1_empty_final_part_expects_r(h: Harness) -> None:
    """§7 point 1: n may be 0, so E = r; a file already r bytes long closes at once."""
    token = h.add()
    h.open(token, 6)
    view = h.ok(h.upload(token, b"", resume=True, final=True, at=6))
    assert view.status is FULL
    assert view.uploaded_file_size == 6
    assert h.file_of(token) == h.src[:6]


def test_point2_final_part_is_stored_as_a_pending_chunk(h: Harness) -> None:
    """§7 point 2: the part is stored as `.chunk.<r>` before the loop (no guard)."""
    token = h.add()
    h.open(token, 4)
    h.waits(h.part(token, 8, 12, final=True))
    assert h.pending_of(token) == {8.0: h.src[8:12]}
    assert h.file_of(token) == h.src[:4]


def test_point3_chunks_arriving_during_the_wait_are_appended(h: Harness) -> None:
    """§7 point 3: an early close waits; a middle chunk arrives; the next pass drains it
    and the stored final part, and the close succeeds."""
    token = h.add()
    h.open(token, 4)
    waiting = h.waits(h.part(token, 8, 12, final=True))
    assert waiting.passes == 1
    middle = h.ok(h.part(token, 4, 8))  # written at 4; no chaining in this request
    assert middle.uploaded_file_size == 8
    assert h.view(token).status is PARTIAL
    done = h.ok(h.continue_close(waiting.ticket, now=h.now + 1))
    assert done.status is FULL
    assert done.uploaded_file_size == 12
    assert h.file_of(token) == h.src[:12]
    assert h.model.waiting_closes == ()


def test_point3_each_pass_drains_then_globs_then_compares(h: Harness) -> None:
    """§7 point 3: a pass that still misses bytes answers CloseWaiting with passes + 1; the
    glob pass of a later pass writes a chunk that starts inside the file."""
    token = h.add()
    h.open(token, 4)
    waiting = h.waits(h.part(token, 10, 12, final=True))
    h.part(token, 6, 10)  # ahead: stored
    again = h.waits(h.continue_close(waiting.ticket))
    assert again.ticket == waiting.ticket
    assert again.passes == 2
    assert again.current_size == 4
    h.part(token, 4, 7)  # written: S = 7, so .chunk.6 now starts inside the file
    done = h.ok(h.continue_close(waiting.ticket))
    # drain: nothing at 7; glob: .chunk.6 (6 ≤ 7 < 10) written at 6, then .chunk.10
    assert done.uploaded_file_size == 12
    assert h.file_of(token) == h.src[:12]


def test_point4_abandon_answers_cannot_match_and_keeps_state(h: Harness) -> None:
    """§7 point 4: AbandonClose answers CANNOT_MATCH; status and uploadedFileSize unchanged;
    bytes appended during the wait kept; the final part kept as pending."""
    token = h.add()
    h.open(token, 4)
    h.part(token, 6, 8)  # stored ahead
    h.part(token, 4, 6)  # written, S = 6; .chunk.6 waits
    before = h.view(token)
    assert before.uploaded_file_size == 6
    waiting = h.waits(h.part(token, 10, 12, final=True, now=h.now + 5))
    assert waiting.current_size == 8  # the pass drained .chunk.6
    failed = h.fails(h.abandon_close(waiting.ticket, now=h.now + 50), CANNOT_MATCH)
    assert failed.error.args == ()
    after = h.view(token)
    assert after.status is PARTIAL
    assert after.uploaded_file_size == 6  # not the 8 bytes the wait appended
    assert after.updated_at == before.updated_at
    assert h.file_of(token) == h.src[:8]  # the appended bytes stay
    assert h.pending_of(token) == {10.0: h.src[10:12]}
    assert h.model.waiting_closes == ()


def test_point4_kept_final_part_is_appended_by_a_later_non_final_drain(h: Harness) -> None:
    """§7 point 4: the abandoned final part stays as `.chunk.<r>`; a later non-final
    request whose drain reaches EOF = r appends it."""
    token = h.add()
    h.open(token, 4)
    waiting = h.waits(h.part(token, 8, 10, final=True))
    h.fails(h.abandon_close(waiting.ticket), CANNOT_MATCH)
    h.part(token, 4, 8)  # written, S = 8; no chaining
    assert h.file_of(token) == h.src[:8]
    view = h.ok(h.part(token, 4, 8))  # re-send: drain appends .chunk.8, then stored inside
    assert view.status is PARTIAL
    assert view.uploaded_file_size == 10
    assert h.file_of(token) == h.src[:10]


def test_point4_repeated_failed_closes_leave_the_status_alone(h: Harness) -> None:
    """§7 point 4: "status unchanged". (PENDING is the other status named there, but a
    PENDING token has no file, so its close fails earlier with CANNOT_RESUME, see the last
    test.) Several failed closes leave the token PARTIAL."""
    token = h.add()
    h.open(token, 4)
    for attempt in range(3):
        waiting = h.waits(h.part(token, 6, 8, final=True, now=h.now + attempt))
        h.fails(h.abandon_close(waiting.ticket), CANNOT_MATCH)
        assert h.view(token).status is PARTIAL


def test_point5_retry_after_the_middle_arrived_succeeds(h: Harness) -> None:
    """§7 point 5: the retry stores the part again and repeats the loop; once the middle
    arrived the file reaches r + n: FULL_UPLOAD, uploadedFileSize = E."""
    token = h.add()
    h.open(token, 4)
    waiting = h.waits(h.part(token, 8, 12, final=True))
    h.fails(h.abandon_close(waiting.ticket), CANNOT_MATCH)
    h.part(token, 4, 8)
    view = h.ok(h.part(token, 8, 12, final=True))
    assert view.status is FULL
    assert view.uploaded_file_size == 12
    assert h.file_of(token) == h.src[:12]


def test_point5_retry_when_eof_already_is_r_plus_n(h: Harness) -> None:
    """§7 point 5: an earlier drain already appended the stored final part; the retry's copy
    does not enlarge the file, is ignored, and F == E at once."""
    token = h.add()
    h.open(token, 4)
    waiting = h.waits(h.part(token, 8, 12, final=True))
    h.fails(h.abandon_close(waiting.ticket), CANNOT_MATCH)
    h.part(token, 4, 8)
    h.part(token, 0, 2)  # any non-final request: its drain appends .chunk.8
    assert h.file_of(token) == h.src[:12]
    view = h.ok(h.part(token, 8, 12, final=True))
    assert view.status is FULL
    assert view.uploaded_file_size == 12
    assert h.pending_of(token)[8.0] == h.src[8:12]  # the re-stored copy lingers, ignored


def test_point6_overlapping_final_part_succeeds(h: Harness) -> None:
    """§7 point 6: r < S < r + n: the glob pass writes it at r and the close succeeds."""
    token = h.add()
    h.upload(token, b"AAAAAA", final=False)
    view = h.ok(h.upload(token, b"BBBB", resume=True, final=True, at=4))
    assert view.status is FULL
    assert view.uploaded_file_size == 8
    assert h.file_of(token) == b"AAAABBBB"


@pytest.mark.parametrize(
    ("resume", "final", "at"),
    [(True, True, 8), (True, True, -1), (True, True, 0), (True, False, 4), (False, True, -1)],
)
def test_point7_any_upload_after_full_upload_is_invalid_status(
    h: Harness, resume: bool, final: bool, at: float
) -> None:
    """§7 point 7: once FULL_UPLOAD, any upload (a lost-response retry of the close included)
    gives INVALID_STATUS_FOR_UPLOAD; the token stays FULL_UPLOAD."""
    token = h.add()
    h.open(token, 8)
    h.ok(h.part(token, 8, 12, final=True))
    h.fails(h.upload(token, h.src[8:12], resume=resume, final=final, at=at), INVALID_STATUS)
    view = h.view(token)
    assert view.status is FULL
    assert view.uploaded_file_size == 12


# --- what a naive model would get wrong ----------------------------------------------------


def test_naive_server_waits_instead_of_failing(h: Harness) -> None:
    """§7 "naive" bullet 1: an early close waits (CloseWaiting), it does not fail at once."""
    token = h.add()
    h.open(token, 4)
    waiting = h.waits(h.part(token, 8, 12, final=True))
    assert waiting.token_id == token.id
    assert h.model.waiting_closes == (waiting.ticket,)
    assert h.view(token).status is PARTIAL


def test_naive_close_succeeds_when_declared_file_size_differs(h: Harness) -> None:
    """§7 "naive" bullet 2 / §8.2: the declared fileSize is never compared."""
    token = h.add(file_size=999)
    h.open(token, 6)
    view = h.ok(h.part(token, 6, 10, final=True))
    assert view.status is FULL
    assert view.uploaded_file_size == 10
    assert view.file_size == 999


def test_naive_close_fails_when_the_file_is_bigger_than_r_plus_n(h: Harness) -> None:
    """§7 "naive" bullet 3 (Q-EXACT-SIZE): a final part wholly inside the file fails."""
    token = h.add()
    h.open(token, 10)
    waiting = h.waits(h.part(token, 4, 6, final=True))
    assert waiting.current_size == 10
    h.fails(h.abandon_close(waiting.ticket), CANNOT_MATCH)
    assert h.view(token).status is PARTIAL


def test_naive_close_fails_when_data_lies_beyond_the_final_part(h: Harness) -> None:
    """§7 point 4 / "naive" bullet 3: data beyond the final part's end makes F > E."""
    token = h.add()
    h.open(token, 4)
    h.part(token, 8, 10)  # a stray chunk beyond the final part's end
    waiting = h.waits(h.part(token, 4, 8, final=True))
    assert waiting.current_size == 10  # drain stopped at E = 8; the glob pass went on
    h.fails(h.abandon_close(waiting.ticket), CANNOT_MATCH)


@pytest.mark.parametrize("at", [0, -1, -9])
def test_naive_close_at_zero_minus_one_or_negative_is_never_verified(h: Harness, at: float) -> None:
    """§7 "naive" bullet 4 (Q-UNVERIFIED-CLOSE): a final part at r = 0, -1 or < -1 always
    succeeds, whatever the sizes."""
    token = h.add(file_size=100)
    h.open(token, 4)
    h.part(token, 8, 12)  # a hole at [4, 8)
    view = h.ok(h.upload(token, b"xy", resume=True, final=True, at=at))
    assert view.status is FULL


# --- the wait's bookkeeping ---------------------------------------------------------------


def test_duplicate_concurrent_close_loses_with_invalid_status(h: Harness) -> None:
    """§4 step 8.2 / §6.4 closure lock: two closes wait; the first to complete wins; the
    other, re-reading the status under the lock, gets INVALID_STATUS_FOR_UPLOAD."""
    token = h.add()
    h.open(token, 4)
    first = h.waits(h.part(token, 8, 12, final=True))
    second = h.waits(h.part(token, 8, 12, final=True))
    assert first.ticket != second.ticket
    h.part(token, 4, 8)
    h.ok(h.continue_close(first.ticket))
    h.fails(h.continue_close(second.ticket), INVALID_STATUS)
    assert h.view(token).status is FULL
    assert h.model.waiting_closes == ()


def test_close_waiting_on_a_token_deleted_meanwhile(h: Harness) -> None:
    """§7 + §11.4 [I in the model]: a waiting close whose token was deleted answers
    INVALID_STATUS_FOR_UPLOAD on its next pass, and the token stays DELETED."""
    token = h.add()
    h.open(token, 4)
    waiting = h.waits(h.part(token, 8, 12, final=True))
    h.delete(token)
    assert h.record(token).assembly is not None  # still read by the waiting close
    h.fails(h.continue_close(waiting.ticket), INVALID_STATUS)
    record = h.record(token)
    assert record.status is TokenStatus.DELETED
    assert record.assembly is None  # released once no close reads it


def test_abandoning_a_close_of_a_deleted_token_releases_its_bytes(h: Harness) -> None:
    """§7 point 4 + §11.4: abandoning still answers CANNOT_MATCH; the model then frees
    the deleted token's bytes."""
    token = h.add()
    h.open(token, 4)
    waiting = h.waits(h.part(token, 8, 12, final=True))
    h.delete(token)
    h.fails(h.abandon_close(waiting.ticket), CANNOT_MATCH)
    assert h.record(token).assembly is None


def test_unknown_ticket_is_a_usage_error(h: Harness) -> None:
    """§7 (model contract): ContinueClose/AbandonClose with an unknown ticket is the
    caller's bug, not an API error."""
    with pytest.raises(ModelUsageError):
        h.continue_close(42)
    with pytest.raises(ModelUsageError):
        h.abandon_close(42)


def test_a_ticket_cannot_be_used_after_the_close_ended(h: Harness) -> None:
    """§7 (model contract): a finished close forgets its ticket."""
    token = h.add()
    h.open(token, 4)
    waiting = h.waits(h.part(token, 8, 12, final=True))
    h.fails(h.abandon_close(waiting.ticket), CANNOT_MATCH)
    with pytest.raises(ModelUsageError):
        h.continue_close(waiting.ticket)


def test_fractional_expected_size_never_matches(h: Harness) -> None:
    """§7 point 4 with a float resumeAt (§3.4): E = 2.5 + n is not a whole byte count, so
    exact equality never holds and the close can only be abandoned."""
    token = h.add()
    h.open(token, 4)
    waiting = h.waits(h.upload(token, b"xy", resume=True, final=True, at=2.5))
    assert h.waits(h.continue_close(waiting.ticket)).passes == 2
    h.fails(h.abandon_close(waiting.ticket), CANNOT_MATCH)


def test_pending_token_cannot_close(h: Harness) -> None:
    """§5 precondition applies to a close too: a PENDING token has no file, so a resume=true
    final part gets CANNOT_RESUME and no close waits."""
    token = h.add()
    h.fails(h.part(token, 4, 8, final=True), "UPLOAD_TOKEN_CANNOT_RESUME")
    assert h.model.waiting_closes == ()
    assert h.view(token).status is PENDING
