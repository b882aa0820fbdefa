"""Mutant servers: the reference endpoint with one server rule broken each.

Each mutant overrides only the public hooks of `KalturaEndpoint` (`KalturaEndpoint.HOOKS`):
`apply_event`, which sees the decoded event and the call and bends the event (or what the
model answers) on its way to the reference model, or `rewrite_answer`; the model itself
stays untouched. The server checks must catch every mutant with the requirement it breaks
(`MUTANTS` maps each to the IDs its bug is expected to fail), and every hook a mutant
overrides must be called while they do (`counting_hooks`): a hook the endpoint no longer
calls would make the mutant a faithful server without a word.

Imported as `mutant_servers`: pytest puts this directory on `sys.path` (`pythonpath` in
pyproject.toml), and `serve_mutant.py`, run as a script, has it there as its own.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable
from typing import Any

from conformance.endpoints import KalturaEndpoint
from conformance.endpoints.core import HttpError
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
from conformance.wire import ApiCall, ApiResult

__all__ = ["MUTANTS", "Mutant", "counting_hooks", "hooks_of"]


_CANNOT_MATCH = ErrorCode.UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE.name
Apply = Callable[[Event], ApiResult]


def _status(endpoint: KalturaEndpoint, event: Upload | DeleteToken) -> TokenStatus | None:
    if event.caller is None or event.token_id is None:
        return None
    current = endpoint.token(event.caller.partner_id, event.token_id)
    return current.token.status if isinstance(current, TokenResult) else None


def _is_middle(event: Event) -> bool:
    return isinstance(event, Upload) and bool(event.resume) and not event.final_chunk


class ArrivalOrder(KalturaEndpoint):
    """Ignores `resumeAt` on middles: appends each chunk where the file ends."""

    def apply_event(self, event: Event, call: ApiCall, apply: Apply) -> ApiResult:
        if isinstance(event, Upload) and _is_middle(event):
            event = dataclasses.replace(event, resume_at=-1.0)
        return apply(event)


class ResendAppended(KalturaEndpoint):
    """A re-sent middle (an offset seen before on the token) is appended a second time."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._seen: set[tuple[str | None, float]] = set()

    def apply_event(self, event: Event, call: ApiCall, apply: Apply) -> ApiResult:
        if isinstance(event, Upload) and _is_middle(event):
            key = (event.token_id, event.resume_at)
            if key in self._seen:
                event = dataclasses.replace(event, resume_at=-1.0)
            self._seen.add(key)
        return apply(event)


class UncheckedClose(KalturaEndpoint):
    """Never verifies a close's size: every close is treated like an unverified one."""

    def apply_event(self, event: Event, call: ApiCall, apply: Apply) -> ApiResult:
        if isinstance(event, Upload) and event.resume and event.final_chunk:
            event = dataclasses.replace(event, resume_at=-1.0)
        return apply(event)


class DuplicateCloseAccepted(KalturaEndpoint):
    """A close on a FULL_UPLOAD token answers the token instead of an error."""

    def apply_event(self, event: Event, call: ApiCall, apply: Apply) -> ApiResult:
        if not isinstance(event, Upload) or not event.final_chunk:
            return apply(event)
        if _status(self, event) is not TokenStatus.FULL_UPLOAD:
            return apply(event)
        assert event.caller is not None
        assert event.token_id is not None
        if isinstance(event.file, FilePart):
            event.file.blob.release()  # not applied: the payload is ours to release
        return self.token(event.caller.partner_id, event.token_id)


class Http500Errors(KalturaEndpoint):
    """Answers every API error with HTTP 500 instead of an error object with HTTP 200."""

    def rewrite_answer(self, answer: ApiResult, call: ApiCall) -> ApiResult | HttpError:
        return HttpError(500) if isinstance(answer, Failed) else answer


class FinalChunkDefaultsFalse(KalturaEndpoint):
    """An omitted `finalChunk` means false (Kaltura's default is true)."""

    def apply_event(self, event: Event, call: ApiCall, apply: Apply) -> ApiResult:
        if isinstance(event, Upload) and call.param("finalChunk") is None:
            event = dataclasses.replace(event, final_chunk=False)
        return apply(event)


class ResumeOnPending(KalturaEndpoint):
    """`resume=true` on a PENDING token is taken as an opening instead of CANNOT_RESUME."""

    def apply_event(self, event: Event, call: ApiCall, apply: Apply) -> ApiResult:
        pending = isinstance(event, Upload) and _status(self, event) is TokenStatus.PENDING
        if isinstance(event, Upload) and event.resume and pending:
            event = dataclasses.replace(event, resume=False)
        return apply(event)


class DeleteOnlyPending(KalturaEndpoint):
    """Refuses to delete a token that holds bytes (Kaltura deletes from any status)."""

    def apply_event(self, event: Event, call: ApiCall, apply: Apply) -> ApiResult:
        if isinstance(event, DeleteToken) and event.token_id:
            status = _status(self, event)
            if status is not None and status is not TokenStatus.PENDING:
                return Failed(api_error(ErrorCode.UPLOAD_TOKEN_INVALID_STATUS_FOR_UPLOAD))
        return apply(event)


class RefusedCloseLosesHeldChunks(KalturaEndpoint):
    """A close refused with CANNOT_MATCH_EXPECTED_SIZE throws away the chunks held for
    later (stored beyond a gap), so a retried close can never match."""

    def apply_event(self, event: Event, call: ApiCall, apply: Apply) -> ApiResult:
        answer = apply(event)
        refused = isinstance(answer, Failed) and answer.code == _CANNOT_MATCH
        if isinstance(event, Upload) and event.final_chunk and refused:
            assert event.caller is not None
            assert event.token_id is not None
            record = self._model.record(event.caller.partner_id, event.token_id)  # reach in
            assert record is not None, "a refused close's token exists"
            if record.assembly is not None:
                for blob in record.assembly.pending.values():
                    blob.release()
                record.assembly.pending.clear()
        return answer


class ListIgnoresPager(KalturaEndpoint):
    """`uploadToken.list` answers every match in one page, whatever the pager asks."""

    def apply_event(self, event: Event, call: ApiCall, apply: Apply) -> ApiResult:
        if isinstance(event, ListTokens):
            event = dataclasses.replace(event, pager=Pager())
        return apply(event)


class ListIgnoresOrder(KalturaEndpoint):
    """`uploadToken.list` ignores `orderBy`: always the order tokens were added in."""

    def apply_event(self, event: Event, call: ApiCall, apply: Apply) -> ApiResult:
        if isinstance(event, ListTokens):
            bare = dataclasses.replace(event.filter, order_by=None)
            event = dataclasses.replace(event, filter=bare)
        return apply(event)


class ListIgnoresStatusIn(KalturaEndpoint):
    """`uploadToken.list` ignores `statusIn` (a file-name lookup still sees 0, 1 and 2)."""

    def apply_event(self, event: Event, call: ApiCall, apply: Apply) -> ApiResult:
        if isinstance(event, ListTokens):
            bare = dataclasses.replace(event.filter, status_in=None)
            event = dataclasses.replace(event, filter=bare)
        return apply(event)


def hooks_of(endpoint: type[KalturaEndpoint]) -> tuple[str, ...]:
    """The hooks of `KalturaEndpoint.HOOKS` that `endpoint` overrides."""
    return tuple(
        name
        for name in KalturaEndpoint.HOOKS
        if getattr(endpoint, name) is not getattr(KalturaEndpoint, name)
    )


def counting_hooks(endpoint: KalturaEndpoint) -> Counter[str]:
    """Count every call of the hooks `endpoint`'s class overrides, from now on: the
    counter returned fills as the endpoint calls them."""
    calls: Counter[str] = Counter()
    for name in hooks_of(type(endpoint)):
        hook = getattr(endpoint, name)

        def counted(*args: Any, _hook: Any = hook, _name: str = name, **kwargs: Any) -> Any:
            calls[_name] += 1
            return _hook(*args, **kwargs)

        setattr(endpoint, name, counted)
    return calls


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
