"""§8.1: autoFinalize, as the model implements it.

Copied from Kaltura: the flag lives only in the (modelled) cache for 30 days; resume=false
sets `.size` to n and finalises when n equals the declared fileSize; resume=true with r ≠ -1
adds n to `.size` for every part (re-sends double-count, Q-AUTOFINALIZE-DOUBLE-COUNT) and, once
`.size` ≥ fileSize and the 30 s lock is free, turns the part into a verified close with
E = fileSize; `.retries` (5, TTL 1 day) reaching 0 gives INTERNAL_SERVERL_ERROR.

NOT copied (requirements.md "Recording decisions"): for resumeAt = -1 Kaltura finalises when
declared fileSize ≥ new EOF, an inverted comparison that finalises the first sequential part.
The model finalises when the new EOF has *reached* the declared size (EOF ≥ fileSize); the
tests below pin that fixed behaviour.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from conformance.model import TokenStatus

if TYPE_CHECKING:
    from conftest import Harness

PENDING = TokenStatus.PENDING
PARTIAL = TokenStatus.PARTIAL_UPLOAD
FULL = TokenStatus.FULL_UPLOAD
DAY = 86_400
CANNOT_MATCH = "UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE"


def test_flag_is_shown_and_expires_after_30_days(h: Harness) -> None:
    """§8.1 / §1.3: `autoFinalize` is the raw cache value: true while the 30-day flag
    lives, false after (and for tokens added without it)."""
    token = h.add(auto_finalize=1, file_size=8)
    assert token.auto_finalize is True
    assert h.add(file_size=8).auto_finalize is False
    h.now += 30 * DAY - 1
    assert h.view(token).auto_finalize is True
    h.now += 1
    assert h.view(token).auto_finalize is False


def test_resume_false_part_equal_to_file_size_finalises(h: Harness) -> None:
    """§8.1 resume=false: n == declared fileSize (loose compare, 8.0 == 8) → FULL_UPLOAD
    even with finalChunk=false."""
    token = h.add(auto_finalize=1, file_size=8.0)
    view = h.ok(h.open(token, 8))
    assert view.status is FULL
    assert view.uploaded_file_size == 8


def test_resume_false_part_of_another_size_does_not(h: Harness) -> None:
    """§8.1 resume=false: n ≠ fileSize leaves the upload PARTIAL."""
    token = h.add(auto_finalize=1, file_size=8)
    assert h.ok(h.open(token, 7)).status is PARTIAL
    assert h.ok(h.open(token, 9)).status is PARTIAL


def test_parts_adding_up_to_file_size_finalise(h: Harness) -> None:
    """§8.1 resume=true, r ≠ -1: the part that brings `.size` to fileSize becomes a verified
    close with E = fileSize."""
    token = h.add(auto_finalize=1, file_size=12)
    h.open(token, 4)
    assert h.ok(h.part(token, 4, 8)).status is PARTIAL
    view = h.ok(h.part(token, 8, 12))
    assert view.status is FULL
    assert view.uploaded_file_size == 12
    assert h.file_of(token) == h.src[:12]


def test_parts_out_of_order_finalise_on_the_last_arrival(h: Harness) -> None:
    """§8.1: the count is of bytes received, not of the contiguous file; the verified close
    drains what was stored ahead."""
    token = h.add(auto_finalize=1, file_size=12)
    h.open(token, 4)
    assert h.ok(h.part(token, 8, 12)).uploaded_file_size == 4
    view = h.ok(h.part(token, 4, 8))
    assert view.status is FULL
    assert h.file_of(token) == h.src[:12]


def test_resend_double_counts_and_closes_early(h: Harness) -> None:
    """§8.1 (Q-AUTOFINALIZE-DOUBLE-COUNT): a re-sent part counts again, so the close
    starts before all bytes arrived and waits (E = fileSize); the missing part arrives while
    the 30 s lock is held, so it is an ordinary part; the next pass completes the close."""
    token = h.add(auto_finalize=1, file_size=12)
    h.open(token, 4)
    h.part(token, 4, 8)
    waiting = h.waits(h.part(token, 4, 8))  # .size = 12 ≥ 12
    assert waiting.expected_size == 12
    assert h.ok(h.part(token, 8, 12)).status is PARTIAL  # .size = 16, but the lock is held
    view = h.ok(h.continue_close(waiting.ticket))
    assert view.status is FULL
    assert h.file_of(token) == h.src[:12]


def test_lock_blocks_a_second_close_for_30_seconds(h: Harness) -> None:
    """§8.1: `add(<id>.lock, 30 s)`: within 30 s of a close, no other part is promoted."""
    token = h.add(auto_finalize=1, file_size=12)
    h.open(token, 4)
    h.part(token, 8, 12)
    waiting = h.waits(h.part(token, 8, 12))  # .size = 12: close, waits for [4, 8)
    h.fails(h.abandon_close(waiting.ticket), CANNOT_MATCH)
    assert h.ok(h.part(token, 8, 12, now=h.now + 29)).status is PARTIAL
    h.waits(h.part(token, 8, 12, now=h.now + 30))


def test_retries_run_out(h: Harness) -> None:
    """§8.1: `.retries` starts at 5 and is decremented at each promoted close; reaching 0
    raises MAX_AUTO_FINALIZE_RETRIES_REACHED, unmapped, so INTERNAL_SERVERL_ERROR (§10.3);
    the status is unchanged and the part is not stored."""
    token = h.add(auto_finalize=1, file_size=12)
    h.open(token, 4)
    h.part(token, 8, 12)
    for attempt in range(4):
        later = h.now + 31 * attempt
        waiting = h.waits(h.upload(token, b"try!", resume=True, final=False, at=8, now=later))
        h.fails(h.abandon_close(waiting.ticket), CANNOT_MATCH)
    out = h.upload(token, b"last", resume=True, final=False, at=8, now=h.now + 31 * 4)
    h.fails(out, "INTERNAL_SERVERL_ERROR")
    assert h.view(token).status is PARTIAL
    assert h.pending_of(token) == {8.0: b"try!"}


def test_retries_are_added_again_after_a_day(h: Harness) -> None:
    """§8.1: `.retries` is an add-only key with a 1-day TTL: once it expired the next
    upload adds 5 again."""
    token = h.add(auto_finalize=1, file_size=12)
    h.open(token, 4)
    h.part(token, 8, 12)
    for attempt in range(4):
        waiting = h.waits(h.part(token, 8, 12, now=h.now + 31 * attempt))
        h.abandon_close(waiting.ticket)
    h.waits(h.part(token, 8, 12, now=h.now + DAY + 1))


def test_minus_one_fixed_comparison_finalises_when_eof_reaches_file_size(h: Harness) -> None:
    """§8.1, r = -1, NOT copied: Kaltura would finalise the first part here (fileSize 10 ≥
    EOF 7); the model waits until EOF ≥ fileSize."""
    token = h.add(auto_finalize=1, file_size=10)
    h.open(token, 4)
    assert h.ok(h.upload(token, h.src[4:7], resume=True, final=False)).status is PARTIAL
    view = h.ok(h.upload(token, h.src[7:10], resume=True, final=False))
    assert view.status is FULL
    assert view.uploaded_file_size == 10


def test_minus_one_overshoot_also_finalises(h: Harness) -> None:
    """§8.1, r = -1, NOT copied: an append past fileSize finalises too (Kaltura's inverted
    comparison would not)."""
    token = h.add(auto_finalize=1, file_size=6)
    h.open(token, 4)
    assert h.ok(h.upload(token, b"xyz", resume=True, final=False)).status is FULL


def test_minus_one_does_not_count_size(h: Harness) -> None:
    """§8.1: r = -1 parts are judged by the EOF after the append, not by `.size`."""
    token = h.add(auto_finalize=1, file_size=100)
    h.open(token, 4)
    h.upload(token, b"ab", resume=True, final=False)
    record = h.record(token)
    assert record.auto_finalize is not None
    assert record.auto_finalize.size == 4


def test_explicit_final_part_uses_r_plus_n(h: Harness) -> None:
    """§7 point 1: an explicit final part on an autoFinalize token expects r + n, not the
    declared fileSize."""
    token = h.add(auto_finalize=1, file_size=100)
    h.open(token, 4)
    view = h.ok(h.part(token, 4, 8, final=True))
    assert view.status is FULL
    assert view.uploaded_file_size == 8


def test_explicit_final_part_is_not_counted(h: Harness) -> None:
    """§8.1 [I]: `checkIsFinalChunk` returns at once for a request that already says
    finalChunk=true, so an explicit close neither adds to `.size` nor takes the lock."""
    token = h.add(auto_finalize=1, file_size=12)
    h.open(token, 4)
    waiting = h.waits(h.part(token, 8, 12, final=True))
    h.fails(h.abandon_close(waiting.ticket), CANNOT_MATCH)
    record = h.record(token)
    assert record.auto_finalize is not None
    assert (record.auto_finalize.size, record.auto_finalize.lock_expires) == (4, 0.0)


def test_promoted_part_at_zero_is_verified(h: Harness) -> None:
    """§7 "or when autoFinalize triggers": a promoted part is verified against fileSize even
    at r = 0 (unlike an explicit close at 0)."""
    token = h.add(auto_finalize=1, file_size=10)
    h.open(token, 6)
    waiting = h.waits(h.upload(token, h.src[:4], resume=True, final=False, at=0))  # .size 10
    assert waiting.expected_size == 10
    h.fails(h.abandon_close(waiting.ticket), CANNOT_MATCH)


def test_empty_part_rule_comes_first(h: Harness) -> None:
    """§4 step 5 before §8.1: a swallowed empty part is not counted."""
    token = h.add(auto_finalize=1, file_size=4)
    h.open(token, 2)
    h.ok(h.upload(token, b"", resume=True, final=False, at=2))
    record = h.record(token)
    assert record.auto_finalize is not None
    assert record.auto_finalize.size == 2


def test_pending_token_answers_cannot_resume_without_counting(h: Harness) -> None:
    """§5 precondition before §8.1 (`checkIsFinalChunk` runs inside `handleResume`): on a
    PENDING autoFinalize token every resume=true part is CANNOT_RESUME, never counted, and
    neither takes the lock nor spends a retry."""
    token = h.add(auto_finalize=1, file_size=8)
    for attempt in range(6):
        later = h.now + 31 * attempt
        out = h.upload(token, h.src[:8], resume=True, final=False, at=0, now=later)
        h.fails(out, "UPLOAD_TOKEN_CANNOT_RESUME")
    record = h.record(token)
    assert record.auto_finalize is not None
    assert (record.auto_finalize.size, record.auto_finalize.lock_expires) == (0, 0.0)
    # stage 1 then the part that reaches fileSize, at the same second: not blocked by a lock
    h.open(token, 4)
    assert h.ok(h.part(token, 4, 8)).status is FULL


def test_auto_finalize_off_after_the_flag_expired(h: Harness) -> None:
    """§8.1: after the 30-day TTL the token behaves as a plain one."""
    token = h.add(auto_finalize=1, file_size=8)
    h.now += 30 * DAY
    assert h.ok(h.open(token, 8)).status is PARTIAL
    h.open(token, 4)
    assert h.ok(h.part(token, 4, 8)).status is PARTIAL


def test_auto_finalize_zero_or_null_is_plain(h: Harness) -> None:
    """§11.1: autoFinalize 0 or -1 does not enable the feature."""
    for value in (0, -1):
        token = h.add(auto_finalize=value, file_size=8)
        assert h.ok(h.open(token, 8)).status is PARTIAL
