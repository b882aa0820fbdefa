"""§2: status values and the transition table, every legal and every illegal transition.

Each legal transition of §2.2 is driven through the model, which must make it by firing the
table's row for it (`fired` spies on `next_status`, the one way a status moves), and every
row of `status.TRANSITIONS` must be fired by some request: a row the machine never reads is
dead data. Each illegal transition is shown to be refused with the API error §2.2 names.
CLOSED and TIMED_OUT cannot be produced through this service (CLOSED comes from entry
services, TIMED_OUT from nowhere), so they are set on the record directly where a test needs
them.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import pytest

import conformance.model.token as token_module
from conformance.model import TRANSITIONS, UPLOADABLE, Deleted, TokenFilter, TokenStatus, Trigger
from conformance.model.status import next_status

if TYPE_CHECKING:
    from conftest import Harness

S = TokenStatus
VISIBLE = [s for s in S if s is not S.DELETED]
Move = tuple[TokenStatus | None, Trigger, TokenStatus]


@pytest.fixture
def fired(monkeypatch: pytest.MonkeyPatch) -> list[Move]:
    """Every status move the model makes from now on, as (from, trigger, to)."""
    moves: list[Move] = []

    def spy(current: TokenStatus | None, trigger: Trigger) -> TokenStatus:
        target = next_status(current, trigger)
        moves.append((current, trigger, target))
        return target

    monkeypatch.setattr(token_module, "next_status", spy)
    return moves


def test_status_values() -> None:
    """§2.1: the API values 0–5; status 6 (core-only ERROR) is not in the API enum."""
    assert {s.name: int(s) for s in S} == {
        "PENDING": 0,
        "PARTIAL_UPLOAD": 1,
        "FULL_UPLOAD": 2,
        "CLOSED": 3,
        "TIMED_OUT": 4,
        "DELETED": 5,
    }


def test_uploadable_statuses() -> None:
    """§2.2: only PENDING and PARTIAL_UPLOAD accept an upload."""
    assert frozenset({S.PENDING, S.PARTIAL_UPLOAD}) == UPLOADABLE


def test_the_machine_fires_every_row_of_the_table(h: Harness, fired: list[Move]) -> None:
    """§2.2's requests (add, a partial and a final part, autoFinalize, delete) between them
    fire every row of the table: none is there for show."""
    token = h.add()
    h.open(token, 4)
    h.part(token, 4, 6, final=True)
    h.open(h.add(auto_finalize=1, file_size=6), 6)
    h.delete(token)
    assert {trigger for _, trigger, _ in fired} == set(TRANSITIONS)


@pytest.mark.parametrize(
    ("current", "trigger"),
    list(itertools.product([None, *S], list(Trigger))),
    ids=lambda v: "none" if v is None else v.name,
)
def test_a_move_the_table_does_not_list_raises(
    current: TokenStatus | None, trigger: Trigger
) -> None:
    """`next_status` follows the table, and a move it does not list is the machine's bug."""
    allowed_from, target = TRANSITIONS[trigger]
    if current in allowed_from:
        assert next_status(current, trigger) is target
    else:
        with pytest.raises(ValueError, match="illegal transition"):
            next_status(current, trigger)


# --- legal transitions through the model ------------------------------------------------


def test_add_creates_pending(h: Harness, fired: list[Move]) -> None:
    """§2.2: (none) --add--> PENDING."""
    assert h.add().status is S.PENDING
    assert fired == [(None, Trigger.ADD, S.PENDING)]


@pytest.mark.parametrize("start", [S.PENDING, S.PARTIAL_UPLOAD])
def test_non_final_upload_leads_to_partial(
    h: Harness, fired: list[Move], start: TokenStatus
) -> None:
    """§2.2: PENDING / PARTIAL --upload finalChunk=false--> PARTIAL_UPLOAD."""
    token = h.add()
    if start is S.PARTIAL_UPLOAD:
        h.open(token, 4)
    assert h.view(token).status is start
    fired.clear()
    assert h.ok(h.upload(token, h.src[:6], final=False)).status is S.PARTIAL_UPLOAD
    assert fired == [(start, Trigger.UPLOAD_PARTIAL, S.PARTIAL_UPLOAD)]


@pytest.mark.parametrize("start", [S.PENDING, S.PARTIAL_UPLOAD])
def test_final_resume_false_leads_to_full(
    h: Harness, fired: list[Move], start: TokenStatus
) -> None:
    """§2.2: PENDING / PARTIAL --upload final, resume=false--> FULL_UPLOAD."""
    token = h.add()
    if start is S.PARTIAL_UPLOAD:
        h.open(token, 4)
    fired.clear()
    assert h.ok(h.upload(token, h.src[:6], final=True)).status is S.FULL_UPLOAD
    assert fired == [(start, Trigger.UPLOAD_FINAL, S.FULL_UPLOAD)]


def test_final_resume_true_leads_from_partial_to_full(h: Harness, fired: list[Move]) -> None:
    """§2.2: PARTIAL --upload final, resume=true (under the closure lock)--> FULL_UPLOAD.
    From PENDING the same request is CANNOT_RESUME (no file, §5), so PARTIAL is the only
    start."""
    token = h.add()
    h.open(token, 4)
    fired.clear()
    assert h.ok(h.part(token, 4, 6, final=True)).status is S.FULL_UPLOAD
    assert fired == [(S.PARTIAL_UPLOAD, Trigger.UPLOAD_FINAL, S.FULL_UPLOAD)]
    pending = h.add()
    h.fails(h.part(pending, 0, 6, final=True), "UPLOAD_TOKEN_CANNOT_RESUME")
    assert h.view(pending).status is S.PENDING


@pytest.mark.parametrize("start", [S.PENDING, S.PARTIAL_UPLOAD])
def test_auto_finalize_leads_to_full(h: Harness, fired: list[Move], start: TokenStatus) -> None:
    """§2.2: PENDING / PARTIAL --autoFinalize detects completion--> FULL_UPLOAD."""
    token = h.add(auto_finalize=1, file_size=6)
    if start is S.PARTIAL_UPLOAD:
        h.open(token, 2)
        fired.clear()
        assert h.ok(h.part(token, 2, 6)).status is S.FULL_UPLOAD
    else:
        fired.clear()
        assert h.ok(h.open(token, 6)).status is S.FULL_UPLOAD
    assert fired == [(start, Trigger.AUTO_FINALIZE, S.FULL_UPLOAD)]


@pytest.mark.parametrize("start", VISIBLE)
def test_delete_from_any_visible_status(h: Harness, fired: list[Move], start: TokenStatus) -> None:
    """§2.2: any except DELETED --delete--> DELETED."""
    token = h.add()
    h.record(token).status = start
    fired.clear()
    assert isinstance(h.delete(token), Deleted)
    assert h.record(token).status is S.DELETED
    assert fired == [(start, Trigger.DELETE, S.DELETED)]


# --- illegal transitions, as the API refuses them -----------------------------------------


@pytest.mark.parametrize("start", [S.FULL_UPLOAD, S.CLOSED, S.TIMED_OUT])
@pytest.mark.parametrize("final", [False, True])
def test_upload_refused_outside_pending_and_partial(
    h: Harness, start: TokenStatus, final: bool
) -> None:
    """§2.2: FULL_UPLOAD, CLOSED and TIMED_OUT give INVALID_STATUS_FOR_UPLOAD for any
    upload; the status does not move."""
    token = h.add()
    h.open(token, 4)
    h.record(token).status = start
    for resume in (False, True):
        out = h.upload(token, h.src[4:8], resume=resume, final=final, at=4)
        h.fails(out, "UPLOAD_TOKEN_INVALID_STATUS_FOR_UPLOAD")
    assert h.view(token).status is start


def test_deleted_token_has_no_transitions(h: Harness) -> None:
    """§2.2: DELETED is invisible: upload, delete and get answer NOT_FOUND."""
    token = h.add()
    h.delete(token)
    h.fails(h.upload(token, b"x", final=False), "UPLOAD_TOKEN_NOT_FOUND")
    h.fails(h.delete(token), "UPLOAD_TOKEN_NOT_FOUND")
    h.fails(h.get(token), "UPLOAD_TOKEN_NOT_FOUND")
    assert h.record(token).status is S.DELETED


def test_failed_requests_do_not_move_the_status(h: Harness) -> None:
    """§2.2 / §7 point 4: CANNOT_MATCH, CANNOT_RESUME and an expired resume window leave
    the status where it was."""
    token = h.add()
    h.fails(h.part(token, 0, 4), "UPLOAD_TOKEN_CANNOT_RESUME")
    assert h.view(token).status is S.PENDING
    h.open(token, 4)
    waiting = h.waits(h.part(token, 8, 10, final=True))
    h.fails(h.abandon_close(waiting.ticket), "UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE")
    h.fails(h.part(token, 4, 8, now=h.now + 604_801), "UPLOAD_PASSED_MAX_RESUME_TIME_ALLOWED")
    assert h.view(token).status is S.PARTIAL_UPLOAD


def test_timed_out_is_never_produced(h: Harness) -> None:
    """§2.1 / §2.2: TIMED_OUT is never assigned: a PARTIAL token far past the resume window
    stays PARTIAL, and nothing lists as status 4 after a busy history."""
    tokens = [h.add() for _ in range(4)]
    h.open(tokens[0], 4)
    h.open(tokens[1], 4, final=True)
    h.open(tokens[2], 4)
    h.part(tokens[2], 8, 10, final=True)
    h.delete(tokens[3])
    much_later = h.now + 365 * 86_400
    h.fails(h.part(tokens[0], 4, 8, now=much_later), "UPLOAD_PASSED_MAX_RESUME_TIME_ALLOWED")
    assert h.view(tokens[0]).status is S.PARTIAL_UPLOAD
    assert h.listed_ids(TokenFilter(status_equal=4), now=much_later) == []
    statuses = {h.record(t).status for t in tokens}
    assert S.TIMED_OUT not in statuses
    assert S.CLOSED not in statuses
