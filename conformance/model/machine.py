"""The reference model of Kaltura's uploadToken service: one entry point, `apply`.

Design (after h11): the model is a pure, sequential state machine. It never does I/O,
never sleeps and never reads a clock: every event carries `now`, bytes sit in blobs the
caller's factory makes, and where the real server would wait (the close's 45 one-second
passes, §7) the model answers `CloseWaiting` and lets the caller decide when to look
again. Endpoints wrap it with locks, threads and sockets; checks use it as the oracle.

Errors a peer causes come back as `Failed(ApiError)` values, in the order Kaltura's
dispatcher checks them (§3.5): arguments, then the KS, then the action's own checks.
`ModelUsageError` is raised only for a caller's bug (such as an unknown close ticket).
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections import deque

from conformance.model.blobs import BlobFactory, MemoryBlobFactory
from conformance.model.config import ModelConfig
from conformance.model.errors import ErrorCode, ModelUsageError
from conformance.model.events import (
    AbandonClose,
    AddToken,
    Caller,
    ContinueClose,
    DeleteToken,
    Event,
    FilePart,
    GetToken,
    ListTokens,
    NotAFile,
    Upload,
)
from conformance.model.listing import filter_tokens, page, validate_filter
from conformance.model.outcomes import Deleted, Failed, Outcome, TokenListed, TokenResult, failed
from conformance.model.status import TokenStatus, Trigger
from conformance.model.token import AutoFinalizeCache, TokenRecord
from conformance.model.upload import PendingClose, close_waiting, run_close_pass, run_upload

__all__ = ["READONLY_FIELDS", "UploadTokenModel"]

_NULLABLE_BOOLEAN = {-1, 0, 1}  # KalturaNullableBoolean
_TRUE_VALUE = 1


# `KalturaUploadToken`'s readonly properties in declaration order (§1.3);
# `validateForInsert` reports the first one that is set.
READONLY_FIELDS = (
    "id",
    "partnerId",
    "userId",
    "status",
    "uploadedFileSize",
    "createdAt",
    "updatedAt",
    "uploadUrl",
    "attachedObjectType",
    "attachedObjectId",
)


def _declaration_rank(name: str) -> int:
    """Where a readonly field is declared; names the model does not know sort last [I]."""
    return READONLY_FIELDS.index(name) if name in READONLY_FIELDS else len(READONLY_FIELDS)


# Characters XML 1.0 cannot carry: C0 controls but tab, LF, CR; surrogates; U+FFFE, U+FFFF.
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_invalid(text: str) -> bool:
    """Characters XML 1.0 cannot carry: Kaltura answers INVALID_PARAMETER_CHAR (§3.4)."""
    return _XML_FORBIDDEN.search(text) is not None


class UploadTokenModel:
    """Every partner's upload tokens, their bytes, and the closes waiting for chunks."""

    def __init__(self, blobs: BlobFactory | None = None, config: ModelConfig | None = None) -> None:
        self.blobs: BlobFactory = blobs or MemoryBlobFactory()
        self.config = config or ModelConfig()
        self._records: dict[str, TokenRecord] = {}
        self._deleted: deque[str] = deque()  # token ids in the order they were deleted
        self._sequence = itertools.count(1)
        self._tickets = itertools.count(1)
        self._waiting: dict[int, PendingClose] = {}
        self._forgotten: set[int] = set()  # tickets of closes whose partner was forgotten

    # --- the entry point ------------------------------------------------------------

    def apply(self, event: Event) -> Outcome:
        """Apply one request and answer it as Kaltura's server would."""
        if isinstance(event, Upload):
            return self._upload(event)
        if isinstance(event, ContinueClose):
            return self._continue_close(event)
        if isinstance(event, AbandonClose):
            return self._abandon_close(event)
        if isinstance(event, AddToken):
            return self._add(event)
        if isinstance(event, GetToken):
            return self._get(event)
        if isinstance(event, DeleteToken):
            return self._delete(event)
        if isinstance(event, ListTokens):
            return self._list(event)
        raise ModelUsageError(f"not a model event: {event!r}")

    # --- inspection for endpoints, traces and tests ---------------------------------

    def record(self, partner_id: int, token_id: str) -> TokenRecord | None:
        """The raw record, deleted ones included (what the database holds)."""
        record = self._records.get(token_id)
        return record if record is not None and record.partner_id == partner_id else None

    def file_digest(self, partner_id: int, token_id: str) -> str | None:
        """SHA-256 of the assembled file, or None when the token has no file."""
        record = self.record(partner_id, token_id)
        if record is None or record.assembly is None:
            return None
        return record.assembly.file.sha256()

    def read_file(self, partner_id: int, token_id: str) -> bytes | None:
        record = self.record(partner_id, token_id)
        if record is None or record.assembly is None:
            return None
        return record.assembly.file.read()

    @property
    def waiting_closes(self) -> tuple[int, ...]:
        return tuple(self._waiting)

    def forget_partner(self, partner_id: int) -> None:
        """Drop every record of one partner and release its bytes (a finished case).
        Closes still waiting for its tokens end as if abandoned."""
        for ticket, pending in list(self._waiting.items()):
            if pending.record.partner_id == partner_id:
                del self._waiting[ticket]
                self._forgotten.add(ticket)
        for token_id, record in list(self._records.items()):
            if record.partner_id == partner_id:
                if record.assembly is not None:
                    record.assembly.release()
                del self._records[token_id]

    def forget_deleted(self, keep: int) -> None:
        """Forget all but the `keep` latest deleted tokens. No client can tell: a deleted
        row is invisible to get, list, upload and delete (§2.1, §11.3); only `record` (the
        raw row, for traces and tests) still shows it. Kaltura's database keeps every row, a
        stand-in that serves for days cannot: `serve` bounds them like its trace. A token a
        waiting close still reads is kept for a later call."""
        busy = {pending.record.id for pending in self._waiting.values()}
        for _ in range(max(0, len(self._deleted) - keep)):
            token_id = self._deleted.popleft()
            record = self._records.get(token_id)
            if record is None or record.status is not TokenStatus.DELETED:
                continue
            if token_id in busy:
                self._deleted.append(token_id)
                continue
            if record.assembly is not None:
                record.assembly.release()
            del self._records[token_id]

    def close(self) -> None:
        """Release every blob the model holds (file-backed blobs close their files)."""
        self._waiting.clear()
        for record in self._records.values():
            if record.assembly is not None:
                record.assembly.release()
                record.assembly = None

    def __enter__(self) -> UploadTokenModel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- add / get / list / delete (§11) --------------------------------------------

    def _add(self, event: AddToken) -> Outcome:
        """The enum is checked while the argument is built (§3.5 step 3), then the KS
        (step 4), then `validateForInsert` in the action (step 5): readonly fields first, in
        declaration order, then the fileSize that autoFinalize needs (§1.3, §11.1)."""
        auto = event.auto_finalize
        if auto is not None and auto not in _NULLABLE_BOOLEAN:
            return failed(
                ErrorCode.INVALID_ENUM_VALUE,
                ENUM_VAL=auto,
                PARAM_NAME="autoFinalize",
                ENUM_TYPE="KalturaNullableBoolean",
            )
        if event.caller is None:
            return failed(ErrorCode.MISSING_KS)
        if event.readonly_fields:
            first = min(event.readonly_fields, key=_declaration_rank)
            prop = f"KalturaUploadToken::{first}"
            return failed(ErrorCode.PROPERTY_VALIDATION_NOT_UPDATABLE, PROP_NAME=prop)
        if auto == _TRUE_VALUE and event.file_size is None:
            return failed(ErrorCode.UPLOAD_TOKEN_MISSING_FILE_SIZE)
        record = self._new_record(event.caller, event.now, event.token_id)
        record.file_name = event.file_name or None
        record.file_size = event.file_size
        if auto == _TRUE_VALUE:
            record.auto_finalize = AutoFinalizeCache(event.now + self.config.auto_finalize_ttl)
        record.save(event.now)
        self._records[record.id] = record
        return TokenResult(record.view(event.now))

    def _new_record(self, caller: Caller, now: float, given: str | None = None) -> TokenRecord:
        sequence = next(self._sequence)
        seed = f"{self.config.id_salt}:{caller.partner_id}:{sequence}".encode()
        digest = hashlib.md5(seed, usedforsecurity=False).hexdigest()
        token_id = given or f"{self.config.dc}_{digest}"
        if given is not None and given in self._records:
            raise ModelUsageError(f"token id {given!r} is taken")
        created = int(now)
        return TokenRecord(token_id, caller.partner_id, caller.user_id, created, created, sequence)

    def _get(self, event: GetToken) -> Outcome:
        found = self._find(event.caller, event.token_id)
        if isinstance(found, Failed):
            return found
        return TokenResult(found.view(event.now))

    def _delete(self, event: DeleteToken) -> Outcome:
        found = self._find(event.caller, event.token_id)
        if isinstance(found, Failed):
            return found
        found.move(Trigger.DELETE)
        found.save(event.now)
        self._release_if_idle(found)
        self._deleted.append(found.id)
        return Deleted()

    def _list(self, event: ListTokens) -> Outcome:
        invalid = validate_filter(event.filter)
        if invalid is not None:
            return invalid
        if event.caller is None:
            return failed(ErrorCode.MISSING_KS)
        records = (r for r in self._records.values() if r.partner_id == event.caller.partner_id)
        matched = filter_tokens(records, event.caller, event.filter, event.now, self.config)
        views = tuple(record.view(event.now) for record in page(matched, event.pager))
        return TokenListed(views, len(matched))

    def _find(self, caller: Caller | None, token_id: str | None) -> TokenRecord | Failed:
        """Argument check, KS check, then lookup with the partner, user and DELETED filters."""
        if token_id is None:
            return failed(ErrorCode.MISSING_MANDATORY_PARAMETER, PARAM_NAME="uploadTokenId")
        if _xml_invalid(token_id):
            return failed(ErrorCode.INVALID_PARAMETER_CHAR, XML_FIELD="uploadTokenId")
        if caller is None:
            return failed(ErrorCode.MISSING_KS)
        record = self._records.get(token_id)
        if record is None or not record.visible or record.partner_id != caller.partner_id:
            return failed(ErrorCode.UPLOAD_TOKEN_NOT_FOUND)
        if not caller.is_admin and record.user_id != caller.user_id:
            return failed(ErrorCode.UPLOAD_TOKEN_NOT_FOUND)
        return record

    # --- upload (§4) ------------------------------------------------------------------

    def _upload(self, event: Upload) -> Outcome:
        part = event.file
        refused = self._check_upload_args(event)
        if refused is not None:
            if isinstance(part, FilePart):
                part.blob.release()
            return refused
        assert isinstance(part, FilePart)
        found = self._find(event.caller, event.token_id)
        if isinstance(found, Failed):
            part.blob.release()
            return found
        return self._settle(run_upload(found, event, part, self.config))

    @staticmethod
    def _check_upload_args(event: Upload) -> Failed | None:
        """Arguments in declaration order (§3.5 step 3): uploadTokenId, then fileData."""
        if event.token_id is None:
            return failed(ErrorCode.MISSING_MANDATORY_PARAMETER, PARAM_NAME="uploadTokenId")
        if _xml_invalid(event.token_id):
            return failed(ErrorCode.INVALID_PARAMETER_CHAR, XML_FIELD="uploadTokenId")
        if event.file is None:
            return failed(ErrorCode.MISSING_MANDATORY_PARAMETER, PARAM_NAME="fileData")
        if isinstance(event.file, NotAFile):
            return failed(ErrorCode.UPLOAD_ERROR)
        return None

    # --- the close's wait (§7) --------------------------------------------------------

    def _settle(self, result: Outcome | PendingClose) -> Outcome:
        """Give a close that must wait a ticket; forget tickets of closes that ended."""
        if not isinstance(result, PendingClose):
            return result
        if result.ticket == 0:
            result.ticket = next(self._tickets)
        self._waiting[result.ticket] = result
        return close_waiting(result)

    def _pending(self, ticket: int) -> PendingClose:
        try:
            return self._waiting[ticket]
        except KeyError:
            raise ModelUsageError(f"no close is waiting with ticket={ticket}") from None

    def _continue_close(self, event: ContinueClose) -> Outcome:
        if event.ticket in self._forgotten:
            return self._forgotten_close(event.ticket)
        pending = self._pending(event.ticket)
        result = run_close_pass(pending, self.config, event.now)
        if not isinstance(result, PendingClose):
            del self._waiting[event.ticket]
            self._release_if_idle(pending.record)
        return self._settle(result)

    def _forgotten_close(self, ticket: int) -> Outcome:
        """A close still waiting when its partner was forgotten: the token is gone."""
        self._forgotten.discard(ticket)
        return failed(ErrorCode.UPLOAD_TOKEN_NOT_FOUND)

    def _abandon_close(self, event: AbandonClose) -> Outcome:
        """The budget is spent. State stays as the last pass left it (§7 point 4)."""
        if event.ticket in self._forgotten:
            return self._forgotten_close(event.ticket)
        pending = self._waiting.pop(event.ticket, None)
        if pending is None:
            raise ModelUsageError(f"no close is waiting with ticket={event.ticket}")
        self._release_if_idle(pending.record)
        return failed(ErrorCode.UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE)

    def _release_if_idle(self, record: TokenRecord) -> None:
        """Free a deleted token's bytes once no close still reads them."""
        busy = any(p.record is record for p in self._waiting.values())
        if record.status is TokenStatus.DELETED and record.assembly is not None and not busy:
            record.assembly.release()
            record.assembly = None
