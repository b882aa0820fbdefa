"""Mutant servers: the reference endpoint with one server rule broken each.

Each mutant overrides one hook of `KalturaEndpoint` (`_upload`, which sees the decoded
event and the raw call, or `_answer`) and bends the event before the reference model sees
it; the model itself stays untouched. The server checks must catch every mutant with the
requirement it breaks (`MUTANTS` maps each to the IDs its bug is expected to fail).

Imported as `mutant_servers`: pytest puts this directory on `sys.path` (`pythonpath` in
pyproject.toml), and `serve_mutant.py`, run as a script, has it there as its own.
"""

from __future__ import annotations

import dataclasses

from conformance.endpoints import KalturaEndpoint
from conformance.endpoints.core import Reply
from conformance.model import (
    DeleteToken,
    ErrorCode,
    Event,
    Failed,
    FilePart,
    ListTokens,
    Pager,
    TokenResult,
    TokenStatus,
    Upload,
    api_error,
)
from conformance.trace import Exchange
from conformance.wire import ApiCall
from conformance.wire import ApiResult as Answer

__all__ = ["MUTANTS", "Mutant"]


_CANNOT_MATCH = ErrorCode.UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE.name


def _status(endpoint: KalturaEndpoint, event: Upload) -> TokenStatus | None:
    if event.caller is None or event.token_id is None:
        return None
    current = endpoint.token(event.caller.partner_id, event.token_id)
    return current.token.status if isinstance(current, TokenResult) else None


class ArrivalOrder(KalturaEndpoint):
    """Ignores `resumeAt` on middles: appends each chunk where the file ends."""

    def _upload(self, event: Upload, call: ApiCall, exchange: Exchange) -> Reply:
        if event.resume and not event.final_chunk:
            event = dataclasses.replace(event, resume_at=-1.0)
        return super()._upload(event, call, exchange)


class ResendAppended(KalturaEndpoint):
    """A re-sent middle (an offset seen before on the token) is appended a second time."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._seen: set[tuple[str | None, float]] = set()

    def _upload(self, event: Upload, call: ApiCall, exchange: Exchange) -> Reply:
        if event.resume and not event.final_chunk:
            key = (event.token_id, event.resume_at)
            if key in self._seen:
                event = dataclasses.replace(event, resume_at=-1.0)
            self._seen.add(key)
        return super()._upload(event, call, exchange)


class UncheckedClose(KalturaEndpoint):
    """Never verifies a close's size: every close is treated like an unverified one."""

    def _upload(self, event: Upload, call: ApiCall, exchange: Exchange) -> Reply:
        if event.resume and event.final_chunk:
            event = dataclasses.replace(event, resume_at=-1.0)
        return super()._upload(event, call, exchange)


class DuplicateCloseAccepted(KalturaEndpoint):
    """A close on a FULL_UPLOAD token answers the token instead of an error."""

    def _upload(self, event: Upload, call: ApiCall, exchange: Exchange) -> Reply:
        if event.final_chunk and _status(self, event) is TokenStatus.FULL_UPLOAD:
            assert event.caller is not None
            assert event.token_id is not None
            if isinstance(event.file, FilePart):
                event.file.blob.release()  # the handler gave it to us: the model never sees it
            return self._answer(self.token(event.caller.partner_id, event.token_id), call, exchange)
        return super()._upload(event, call, exchange)


class Http500Errors(KalturaEndpoint):
    """Answers every API error with HTTP 500 instead of an error object with HTTP 200."""

    def _answer(self, answer: Answer, call: ApiCall, exchange: Exchange) -> Reply:
        if isinstance(answer, Failed):
            return self._http_error(500, exchange)
        return super()._answer(answer, call, exchange)


class FinalChunkDefaultsFalse(KalturaEndpoint):
    """An omitted `finalChunk` means false (Kaltura's default is true)."""

    def _upload(self, event: Upload, call: ApiCall, exchange: Exchange) -> Reply:
        if call.param("finalChunk") is None:
            event = dataclasses.replace(event, final_chunk=False)
        return super()._upload(event, call, exchange)


class ResumeOnPending(KalturaEndpoint):
    """`resume=true` on a PENDING token is taken as an opening instead of CANNOT_RESUME."""

    def _upload(self, event: Upload, call: ApiCall, exchange: Exchange) -> Reply:
        if event.resume and _status(self, event) is TokenStatus.PENDING:
            event = dataclasses.replace(event, resume=False)
        return super()._upload(event, call, exchange)


class DeleteOnlyPending(KalturaEndpoint):
    """Refuses to delete a token that holds bytes (Kaltura deletes from any status)."""

    def _apply(self, event: Event) -> Answer:
        if isinstance(event, DeleteToken) and event.caller is not None and event.token_id:
            current = self.token(event.caller.partner_id, event.token_id)
            if isinstance(current, TokenResult) and current.token.status != TokenStatus.PENDING:
                return Failed(api_error(ErrorCode.UPLOAD_TOKEN_INVALID_STATUS_FOR_UPLOAD))
        return super()._apply(event)


class RefusedCloseLosesHeldChunks(KalturaEndpoint):
    """A close refused with CANNOT_MATCH_EXPECTED_SIZE throws away the chunks held for
    later (stored beyond a gap), so a retried close can never match."""

    def _upload(self, event: Upload, call: ApiCall, exchange: Exchange) -> Reply:
        reply = super()._upload(event, call, exchange)
        answer = exchange.answer
        refused = answer is not None and answer.code == _CANNOT_MATCH
        if event.final_chunk and refused and event.token_id is not None:
            record = self._model._records.get(event.token_id)  # a mutant may reach in
            if record is not None and record.assembly is not None:
                for blob in record.assembly.pending.values():
                    blob.release()
                record.assembly.pending.clear()
        return reply


class ListIgnoresPager(KalturaEndpoint):
    """`uploadToken.list` answers every match in one page, whatever the pager asks."""

    def _apply(self, event: Event) -> Answer:
        if isinstance(event, ListTokens):
            event = dataclasses.replace(event, pager=Pager())
        return super()._apply(event)


class ListIgnoresOrder(KalturaEndpoint):
    """`uploadToken.list` ignores `orderBy`: always the order tokens were added in."""

    def _apply(self, event: Event) -> Answer:
        if isinstance(event, ListTokens):
            bare = dataclasses.replace(event.filter, order_by=None)
            event = dataclasses.replace(event, filter=bare)
        return super()._apply(event)


class ListIgnoresStatusIn(KalturaEndpoint):
    """`uploadToken.list` ignores `statusIn` (a file-name lookup still sees 0, 1 and 2)."""

    def _apply(self, event: Event) -> Answer:
        if isinstance(event, ListTokens):
            bare = dataclasses.replace(event.filter, status_in=None)
            event = dataclasses.replace(event, filter=bare)
        return super()._apply(event)


@dataclasses.dataclass(frozen=True)
class Mutant:
    """A broken server: its class, the requirement it breaks, and what fails as a
    consequence (ID: why), so that a check that over- or under-reports shows up."""

    endpoint: type[KalturaEndpoint]
    target: str
    also: dict[str, str] = dataclasses.field(default_factory=dict)
    # Consequences that show only with some timings (ID: when): allowed, never required.
    sometimes: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def failing(self) -> frozenset[str]:
        return frozenset({self.target, *self.also})

    def explains(self, failing: set[str] | frozenset[str]) -> bool:
        """`failing` is the target, every consequence, and nothing a timing cannot explain."""
        return self.failing <= failing <= self.failing | self.sometimes.keys()


_APPENDS = "a chunk sent ahead of its predecessor lands at the end, not at its offset"
_UNVERIFIED = "an unverified close finalises at once, before chunks waiting for a gap drain"
_NO_ERROR_OBJECT = "every expected error arrives as HTTP 500, which is no answer"

MUTANTS: dict[str, Mutant] = {
    "arrival-order": Mutant(
        ArrivalOrder,
        "UT-S03",
        dict.fromkeys(
            ("UT-S04", "UT-S05", "UT-S06", "UT-S07", "UT-S09", "UT-S13", "UT-S14"), _APPENDS
        ),
    ),
    "resend-appended": Mutant(ResendAppended, "UT-S04"),
    "unchecked-close": Mutant(
        UncheckedClose,
        "UT-S05",
        dict.fromkeys(("UT-S03", "UT-S06", "UT-S07", "UT-S08", "UT-S09", "UT-S14"), _UNVERIFIED),
    ),
    "duplicate-close": Mutant(DuplicateCloseAccepted, "UT-S09"),
    "http-500-errors": Mutant(
        Http500Errors,
        "UT-S11",
        dict.fromkeys(
            ("UT-S02", "UT-S05", "UT-S06", "UT-S08", "UT-S09", "UT-S10", "UT-S14"), _NO_ERROR_OBJECT
        ),
        sometimes={
            "UT-S03": "a concurrent close whose middles arrive after the close's wait is "
            "refused, and the refusal arrives as HTTP 500 (seen on a loaded 2-core machine)"
        },
    ),
    "final-chunk-false": Mutant(FinalChunkDefaultsFalse, "UT-S12"),
    "resume-on-pending": Mutant(ResumeOnPending, "UT-S02"),
    "delete-only-pending": Mutant(
        DeleteOnlyPending, "UT-S14", {"UT-S10": "its plan deletes a token that holds bytes"}
    ),
    "list-ignores-pager": Mutant(ListIgnoresPager, "UT-S14"),
    "list-ignores-order": Mutant(ListIgnoresOrder, "UT-S14"),
    "list-ignores-status-in": Mutant(ListIgnoresStatusIn, "UT-S14"),
    "refused-close-loses-held": Mutant(RefusedCloseLosesHeldChunks, "UT-S06"),
}
"""Every mutant by name."""
