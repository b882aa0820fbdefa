"""`uploadToken.upload` once the token is found (kaltura-server-semantics.md §4, §5, §7, §8).

The steps follow `UploadTokenService::uploadAction` and `kUploadTokenMgr` in order. Quirks
of the real server that `requirements.md` says to copy are copied here and named where
they happen:

* Q-FINAL-DEFAULT: `finalChunk` defaults to true (§3.4) — in `events.Upload`.
* Q-EMPTY-PART: an empty non-final part with resumeAt > 0 is silently ignored (§4 step 5).
* Q-UNVERIFIED-CLOSE: a close at resumeAt 0, -1 or < -1 is never size-checked (§5, §7).
* Q-EXACT-SIZE: the verified close needs the file to be *exactly* r + n bytes (§7 point 4).
* Q-SECOND-CLOSE: a close after FULL_UPLOAD gets INVALID_STATUS_FOR_UPLOAD (§7 point 7).
* Q-APPEND-MINUS-ONE: resumeAt=-1 appends at EOF, so a retry duplicates bytes (§5 row 1).
* Q-NEGATIVE-FINAL: a final part at r < -1 sets FULL_UPLOAD without writing its data (§5).
* Q-OFFSET-ZERO, Q-ORPHANS-SURVIVE: see `assembly.py`.
* Q-AUTOFINALIZE-DOUBLE-COUNT: autoFinalize counts re-sent parts twice (§8.1).

Not copied (requirements.md, "Recording decisions"): the inverted autoFinalize comparison
for resumeAt=-1 (§8.1) — we finalise when the file *reached* the declared size; the
status-6 path; partner file-type restrictions; the memcache guard that drops a concurrent
duplicate store (§6.1; the model is sequential, so it never races).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from conformance.model.assembly import Assembly
from conformance.model.config import ModelConfig
from conformance.model.errors import ErrorCode
from conformance.model.events import FilePart, Upload
from conformance.model.outcomes import CloseWaiting, Failed, Outcome, TokenResult, failed
from conformance.model.status import UPLOADABLE, TokenStatus, Trigger, allows
from conformance.model.token import AutoFinalizeCache, TokenRecord

__all__ = ["PendingClose", "close_waiting", "run_close_pass", "run_upload", "status_gate"]


@dataclass
class PendingClose:
    """A verified close between passes: what it waits for, and how often it looked.

    The machine gives it a ticket number when it first has to wait.
    """

    record: TokenRecord
    expected_size: float
    trigger: Trigger  # UPLOAD_FINAL, or AUTO_FINALIZE when autoFinalize found the file whole
    passes: int = 0
    ticket: int = 0


def status_gate(record: TokenRecord, now: float, config: ModelConfig) -> Failed | None:
    """§4 step 2: the status checks made before anything is touched."""
    expired = record.updated_at < now - config.max_resume_time
    if record.status is TokenStatus.PARTIAL_UPLOAD and expired:
        return failed(
            ErrorCode.UPLOAD_PASSED_MAX_RESUME_TIME_ALLOWED,
            MAX_RESUME_TIME=config.max_resume_time,
        )
    if record.status not in UPLOADABLE:
        return failed(ErrorCode.UPLOAD_TOKEN_INVALID_STATUS_FOR_UPLOAD)
    return None


def run_upload(
    record: TokenRecord, event: Upload, part: FilePart, config: ModelConfig
) -> Outcome | PendingClose:
    """Steps 2–9 of §4 for a found token. Returns a `PendingClose` when a verified close
    did not complete on its first pass; the machine turns it into `CloseWaiting`."""
    refused = status_gate(record, event.now, config)
    if refused is not None:
        part.blob.release()
        return refused
    _take_file_name(record, part, event.now)
    if part.size == 0 and not event.final_chunk and event.resume_at > 0:
        part.blob.release()  # Q-EMPTY-PART: swallowed, the token answers as it stands
        return TokenResult(record.view(event.now))
    if not event.resume:
        final = event.final_chunk or _auto_final_replace(record, event, part, config)
        return _replace(record, event, part, _trigger(event, final))
    return _resume(record, event, part, config)


def _take_file_name(record: TokenRecord, part: FilePart, now: float) -> None:
    """§4 step 3: an empty fileName is taken from the part and saved at once, even if the
    request fails later."""
    if not record.file_name and part.file_name:
        record.file_name = part.file_name
        record.save(now)


def _trigger(event: Upload, final: bool) -> Trigger:
    """The row of §2.2 a stored part fires: a final part as the client marked it, one that
    autoFinalize found completing the file (§8.1), or a part that leaves the upload open."""
    if not final:
        return Trigger.UPLOAD_PARTIAL
    return Trigger.UPLOAD_FINAL if event.final_chunk else Trigger.AUTO_FINALIZE


def _replace(record: TokenRecord, event: Upload, part: FilePart, trigger: Trigger) -> Outcome:
    """resume=false: the part replaces the whole file; resumeAt is ignored (§4 step 6)."""
    if record.assembly is None:
        record.assembly = Assembly(part.blob)
    else:
        record.assembly.replace_file(part.blob)
    return _finish(record, part.size, trigger, resume=False, now=event.now)


def _resume(
    record: TokenRecord, event: Upload, part: FilePart, config: ModelConfig
) -> Outcome | PendingClose:
    """`handleResume` (§5): the case matrix. The file check comes first, so a PENDING
    token's autoFinalize counters are not touched (§8.1 runs inside `handleResume`)."""
    assembly = record.assembly
    if assembly is None:  # a PENDING token has no file yet (§5 precondition)
        part.blob.release()
        return failed(ErrorCode.UPLOAD_TOKEN_CANNOT_RESUME)
    final = event.final_chunk or _auto_final_resume(record, event, part, config)
    if isinstance(final, Failed):
        part.blob.release()
        return final
    r = event.resume_at
    if final and (r > 0 or not event.final_chunk):
        expected = r + part.size if event.final_chunk else _declared_size(record)
        assembly.store(r, part.blob)  # §7 point 2: stored as `.chunk.<r>`, no guard
        pending = PendingClose(record, expected, _trigger(event, final))
        return run_close_pass(pending, config, event.now)
    if r == -1:
        assembly.append(part.blob)  # Q-APPEND-MINUS-ONE
        part.blob.release()
        final = final or _auto_final_after_append(record, event.now)
        return _finish(record, assembly.size, _trigger(event, final), resume=True, now=event.now)
    if r < 0:
        _drain_for_part(assembly, config)
        assembly.store(r, part.blob)  # an orphan; Q-NEGATIVE-FINAL when final
        return _finish(record, assembly.size, _trigger(event, final), resume=True, now=event.now)
    size = _place_part(assembly, r, part, config)
    trigger = _trigger(event, final)
    return _finish(record, size, trigger, resume=True, now=event.now)  # Q-UNVERIFIED-CLOSE at 0


def _drain_for_part(assembly: Assembly, config: ModelConfig) -> None:
    assembly.drain(config.non_final_drain_limit)
    if config.glob_during_chunk_uploads:
        assembly.glob_pass()


def _place_part(assembly: Assembly, r: float, part: FilePart, config: ModelConfig) -> int:
    """A part at r ≥ 0 (§5 rows 2–5): drain, then write it if it touches or overlaps EOF
    and extends the file, else store it. Returns F, the file's size afterwards."""
    _drain_for_part(assembly, config)
    eof = assembly.size
    if r <= eof < r + part.size:
        assembly.write(int(r), part.blob)
        part.blob.release()
    else:
        assembly.store(r, part.blob)
    return assembly.size


def run_close_pass(
    pending: PendingClose, config: ModelConfig, now: float
) -> Outcome | PendingClose:
    """One iteration of the §7 loop: drain up to E, glob pass, compare F with E exactly."""
    record = pending.record
    if record.assembly is None or not record.visible:
        return failed(ErrorCode.UPLOAD_TOKEN_INVALID_STATUS_FOR_UPLOAD)  # deleted meanwhile [I]
    pending.passes += 1
    assembly = record.assembly
    assembly.drain(config.final_drain_limit, stop_at=_as_int(pending.expected_size))
    assembly.glob_pass()
    if assembly.size == pending.expected_size:  # Q-EXACT-SIZE
        return _finish(record, assembly.size, pending.trigger, resume=True, now=now)
    return pending


def _as_int(value: float) -> int | None:
    """An integral expected size; None (no stop) for fractions, INF and NaN (a resumeAt
    of 1e400 is INF to PHP, §3.4)."""
    return int(value) if math.isfinite(value) and value == int(value) else None


def close_waiting(pending: PendingClose) -> CloseWaiting:
    """The public view of a close between passes."""
    assert pending.record.assembly is not None
    return CloseWaiting(
        ticket=pending.ticket,
        token_id=pending.record.id,
        expected_size=pending.expected_size,
        current_size=pending.record.assembly.size,
        passes=pending.passes,
    )


def _finish(
    record: TokenRecord, size: int, trigger: Trigger, *, resume: bool, now: float
) -> Outcome:
    """§4 steps 7–9: store F, move the status, save, answer the token."""
    final = trigger is not Trigger.UPLOAD_PARTIAL
    if final and resume and not allows(record.status, trigger):
        # The closure lock's re-read (§4 step 8.2): a duplicate or concurrent close loses.
        return failed(ErrorCode.UPLOAD_TOKEN_INVALID_STATUS_FOR_UPLOAD)  # Q-SECOND-CLOSE
    record.uploaded_file_size = size
    record.move(trigger)
    record.save(now)
    return TokenResult(record.view(now))


# --- autoFinalize (§8.1) ---------------------------------------------------------------


def _declared_size(record: TokenRecord) -> float:
    return record.file_size if record.file_size is not None else 0.0


def _auto_cache(record: TokenRecord, now: float, config: ModelConfig) -> AutoFinalizeCache | None:
    """The token's cache entries if autoFinalize is on; re-adds `.retries` when expired."""
    cache = record.auto_finalize
    if cache is None or not cache.enabled(now):
        return None
    if cache.retries is None or now >= cache.retries_expire:
        cache.retries = config.auto_finalize_retries
        cache.retries_expire = now + config.auto_finalize_retries_ttl
    return cache


def _auto_final_replace(
    record: TokenRecord, event: Upload, part: FilePart, config: ModelConfig
) -> bool:
    """`handleMoveFile` on an autoFinalize token: `.size` = n; final when n == fileSize."""
    cache = _auto_cache(record, event.now, config)
    if cache is None:
        return False
    cache.size = part.size
    return part.size == _declared_size(record)


def _auto_final_resume(
    record: TokenRecord, event: Upload, part: FilePart, config: ModelConfig
) -> bool | Failed:
    """`checkIsFinalChunk`: does an autoFinalize token promote this non-final part?"""
    cache = _auto_cache(record, event.now, config)
    if cache is None:
        return False
    if event.resume_at == -1:
        return False  # decided after the append, see _auto_final_after_append
    cache.size += part.size  # Q-AUTOFINALIZE-DOUBLE-COUNT: re-sends count again
    if cache.size < _declared_size(record) or event.now < cache.lock_expires:
        return False
    cache.lock_expires = event.now + config.auto_finalize_lock_ttl
    cache.retries = (cache.retries or 0) - 1
    if cache.retries <= 0:
        # MAX_AUTO_FINALIZE_RETRIES_REACHED is unmapped, so the API says (§10.3):
        return failed(ErrorCode.INTERNAL_SERVERL_ERROR)
    return True


def _auto_final_after_append(record: TokenRecord, now: float) -> bool:
    """resumeAt=-1 on an autoFinalize token: final once the file reached the declared size.
    Kaltura compares the other way round (declared ≥ EOF, §8.1); that bug is not copied."""
    cache = record.auto_finalize
    if cache is None or not cache.enabled(now) or record.assembly is None:
        return False
    return record.assembly.size >= _declared_size(record)
