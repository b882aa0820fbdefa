"""§4: `upload`, steps 1–9 in order, plus the §3.5 order of error checks for one request.

Every step runs only if the previous one passed, so each test pins one step and, where it
matters, shows that a later step did not run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from conformance.model import (
    Caller,
    FilePart,
    MemoryBlob,
    ModelUsageError,
    NotAFile,
    TokenResult,
    TokenStatus,
    Upload,
    UploadTokenModel,
)

if TYPE_CHECKING:
    from conftest import AddFn, Harness

PENDING = TokenStatus.PENDING
PARTIAL = TokenStatus.PARTIAL_UPLOAD
FULL = TokenStatus.FULL_UPLOAD
WEEK = 604_800
NOT_FOUND = "UPLOAD_TOKEN_NOT_FOUND"
INVALID_STATUS = "UPLOAD_TOKEN_INVALID_STATUS_FOR_UPLOAD"
EXPIRED = "UPLOAD_PASSED_MAX_RESUME_TIME_ALLOWED"
MISSING = "MISSING_MANDATORY_PARAMETER"


# --- §3.4 defaults ---------------------------------------------------------------------


def test_upload_defaults_are_the_servers() -> None:
    """§3.4: absent parameters mean resume=false, finalChunk=true, resumeAt=-1."""
    event = Upload(None, 0.0, "t", None)
    assert (event.resume, event.final_chunk, event.resume_at) == (False, True, -1.0)


def test_omitted_final_chunk_finalises(model: UploadTokenModel, caller: Caller, add: AddFn) -> None:
    """§3.4 (Q-FINAL-DEFAULT): a resume=false upload that omits finalChunk is final."""
    token = add()
    outcome = model.apply(Upload(caller, 0.0, token.id, FilePart(MemoryBlob(b"abc"))))
    assert isinstance(outcome, TokenResult)
    assert outcome.token.status is FULL


# --- step 1: lookup -------------------------------------------------------------------


def test_step1_unknown_token_is_not_found(h: Harness) -> None:
    """§4 step 1: an id nobody created → UPLOAD_TOKEN_NOT_FOUND."""
    h.fails(h.upload("0_" + "0" * 32, b"x"), NOT_FOUND)


def test_step1_empty_token_id_is_not_found(h: Harness) -> None:
    """§3.4: uploadTokenId present but empty → UPLOAD_TOKEN_NOT_FOUND."""
    h.fails(h.upload("", b"x"), NOT_FOUND)


def test_step1_deleted_token_is_not_found(h: Harness) -> None:
    """§4 step 1 / §2.2: the DELETED filter hides the row."""
    token = h.add()
    h.delete(token)
    h.fails(h.upload(token, b"x"), NOT_FOUND)


def test_step1_other_partners_token_is_not_found(h: Harness) -> None:
    """§4 step 1 / §3.6: the partner filter hides another partner's token."""
    token = h.add()
    h.fails(h.upload(token, b"x", caller=h.STRANGER), NOT_FOUND)
    assert h.view(token).status is PENDING


def test_step1_user_ks_sees_only_its_own_tokens(h: Harness) -> None:
    """§4 step 1 / §3.6: a user KS cannot upload to another user's token; the admin KS of
    the partner can."""
    token = h.add(caller=h.ALICE)
    h.fails(h.upload(token, b"x", final=False, caller=h.BOB), NOT_FOUND)
    assert h.ok(h.upload(token, b"x", final=False, caller=h.ALICE)).user_id == "alice"
    assert h.ok(h.upload(token, b"y", final=False, caller=h.ADMIN)).uploaded_file_size == 1


# --- step 2: status gate ---------------------------------------------------------------


def test_step2_partial_token_past_resume_window_expires(h: Harness) -> None:
    """§4 step 2.2: PARTIAL and updatedAt < now − 604800 → UPLOAD_PASSED_MAX_RESUME_TIME_ALLOWED
    with args {MAX_RESUME_TIME: "604800"}; the status stays PARTIAL."""
    token = h.add()
    h.open(token, 4)
    late = h.now + WEEK + 1
    failed = h.fails(h.part(token, 4, 8, now=late), EXPIRED, MAX_RESUME_TIME="604800")
    assert failed.error.message == (
        "Max resume time of 604800 seconds reached, cannot resume upload"
    )
    view = h.view(token)
    assert view.status is PARTIAL
    assert view.uploaded_file_size == 4
    assert h.file_of(token) == h.src[:4]
    # resume=false does not get around it either
    h.fails(h.upload(token, b"x", final=False, now=late), EXPIRED)


def test_step2_resume_window_boundary_is_still_open(h: Harness) -> None:
    """§4 step 2.2: the comparison is strict: updatedAt == now − 604800 still uploads."""
    token = h.add()
    h.open(token, 4)
    assert h.ok(h.part(token, 4, 8, now=h.now + WEEK)).uploaded_file_size == 8


def test_step2_resume_window_counts_from_the_last_change(h: Harness) -> None:
    """§4 step 2.2 with §1.1: a successful upload that changes a column moves updatedAt,
    which re-opens the window."""
    token = h.add()
    h.open(token, 4)
    h.part(token, 4, 8, now=h.now + WEEK - 10)
    assert h.ok(h.part(token, 8, 12, now=h.now + 2 * WEEK - 20)).uploaded_file_size == 12


def test_step2_resume_window_is_configurable(make_harness: Callable[..., Harness]) -> None:
    """§4 step 2.2 / §13: `upload_token_max_resume_time` sets both the limit and the arg."""
    h = make_harness(max_resume_time=60)
    token = h.add()
    h.open(token, 4)
    h.fails(h.part(token, 4, 8, now=h.now + 61), EXPIRED, MAX_RESUME_TIME="60")


def test_step2_pending_tokens_never_expire(h: Harness) -> None:
    """§2.2 / §4 step 2: the time limit applies to PARTIAL only; PENDING never expires."""
    token = h.add()
    view = h.ok(h.upload(token, h.src[:4], final=False, now=h.now + 365 * 86_400))
    assert view.status is PARTIAL


def test_step2_expired_partial_does_not_take_the_file_name(h: Harness) -> None:
    """§4 steps 2 → 3: the gate runs before the fileName is taken from the part."""
    token = h.add()
    h.upload(token, h.src[:4], final=False, name="")  # a part without a client name
    assert h.view(token).file_name is None
    h.fails(h.upload(token, b"x", final=False, name="late.mp4", now=h.now + WEEK + 1), EXPIRED)
    assert h.view(token).file_name is None


@pytest.mark.parametrize(
    "status", [TokenStatus.FULL_UPLOAD, TokenStatus.CLOSED, TokenStatus.TIMED_OUT]
)
def test_step2_statuses_other_than_pending_or_partial_refuse(
    h: Harness, status: TokenStatus
) -> None:
    """§4 step 2.3 / §2.2: FULL_UPLOAD, CLOSED and TIMED_OUT → INVALID_STATUS_FOR_UPLOAD.
    (CLOSED and TIMED_OUT are set on the record directly: nothing in the model produces
    them.)"""
    token = h.add()
    h.open(token, 4)
    h.record(token).status = status
    h.fails(h.part(token, 4, 8), INVALID_STATUS)
    h.fails(h.upload(token, b"x", final=False), INVALID_STATUS)
    assert h.view(token).status is status


def test_step2_full_upload_long_ago_is_invalid_status_not_expired(h: Harness) -> None:
    """§4 step 2: the expiry check is for PARTIAL only; an old FULL_UPLOAD token answers
    INVALID_STATUS_FOR_UPLOAD."""
    token = h.add()
    h.open(token, 4, final=True)
    h.fails(h.upload(token, b"x", now=h.now + 10 * WEEK), INVALID_STATUS)


# --- step 3: fileName -------------------------------------------------------------------


def test_step3_file_name_is_taken_from_the_first_part(h: Harness) -> None:
    """§4 step 3: an empty fileName is set from the part's client file name and saved."""
    token = h.add()
    view = h.ok(h.upload(token, b"abc", final=False, name="movie.mp4", now=h.now + 3))
    assert view.file_name == "movie.mp4"
    assert view.updated_at == int(h.now + 3)


def test_step3_file_name_given_at_add_is_kept(h: Harness) -> None:
    """§4 step 3: only an *empty* fileName is filled in."""
    token = h.add(file_name="declared.mov")
    view = h.ok(h.upload(token, b"abc", final=False, name="chunk_0"))
    assert view.file_name == "declared.mov"


def test_step3_empty_file_name_at_add_counts_as_empty(h: Harness) -> None:
    """§1.3 / §4 step 3: fileName "" at add is empty, so the part's name is taken."""
    token = h.add(file_name="")
    assert token.file_name is None
    assert h.ok(h.upload(token, b"abc", final=False, name="a.mp4")).file_name == "a.mp4"


def test_step3_file_name_is_saved_even_when_the_request_then_fails(h: Harness) -> None:
    """§4 step 3: the fileName is saved before the part is validated or placed, so a
    request that fails afterwards (here CANNOT_RESUME on a PENDING token) still set it."""
    token = h.add()
    h.fails(
        h.upload(token, b"abc", resume=True, final=False, at=0, name="first.mp4", now=h.now + 9),
        "UPLOAD_TOKEN_CANNOT_RESUME",
    )
    view = h.view(token)
    assert view.status is PENDING
    assert view.file_name == "first.mp4"
    assert view.updated_at == int(h.now + 9)


# --- step 5: the empty-part rule -------------------------------------------------------


def test_step5_empty_non_final_part_above_zero_is_swallowed(h: Harness) -> None:
    """§4 step 5 (Q-EMPTY-PART): n = 0, finalChunk=false, r > 0: success, nothing changes."""
    token = h.add()
    h.open(token, 4)
    before = h.view(token)
    view = h.ok(h.upload(token, b"", resume=True, final=False, at=4, now=h.now + 5))
    assert view == before
    assert h.pending_of(token) == {}


def test_step5_empty_part_rule_on_a_pending_token_with_resume(h: Harness) -> None:
    """§4 step 5 / §5 precondition: the rule runs before the data step, so a PENDING token
    with resume=true answers success (still PENDING), not CANNOT_RESUME; fileName, taken in
    step 3, is the only change."""
    token = h.add()
    view = h.ok(h.upload(token, b"", resume=True, final=False, at=100, name="x.mp4"))
    assert view.status is PENDING
    assert view.uploaded_file_size is None
    assert view.file_name == "x.mp4"
    assert h.file_of(token) is None


def test_step5_empty_part_rule_needs_non_final(h: Harness) -> None:
    """§4 step 5: with finalChunk=true the empty part is not swallowed (a close at r = S)."""
    token = h.add()
    h.open(token, 4)
    assert h.ok(h.upload(token, b"", resume=True, final=True, at=4)).status is FULL


@pytest.mark.parametrize("at", [0, -1])
def test_step5_empty_part_rule_needs_r_above_zero(h: Harness, at: float) -> None:
    """§4 step 5: r = 0 and r = -1 empty parts go through the normal path (PARTIAL)."""
    token = h.add()
    view = h.ok(h.upload(token, b"", resume=False, final=False, at=at))
    assert view.status is PARTIAL
    assert view.uploaded_file_size == 0


# --- step 6: the data step -------------------------------------------------------------


def test_step6_resume_on_a_pending_token_cannot_resume(h: Harness) -> None:
    """§4 step 6 / §5 precondition: a PENDING token has no file: CANNOT_RESUME, PENDING."""
    token = h.add()
    h.fails(h.part(token, 0, 4), "UPLOAD_TOKEN_CANNOT_RESUME")
    view = h.view(token)
    assert view.status is PENDING
    assert view.uploaded_file_size is None
    assert h.file_of(token) is None


def test_step6_resume_false_replaces_the_file(h: Harness) -> None:
    """§4 step 6 / §9: a resume=false restart throws the assembled progress away."""
    token = h.add()
    h.open(token, 4)
    h.part(token, 4, 8)
    view = h.ok(h.upload(token, b"restart", resume=False, final=False))
    assert view.uploaded_file_size == 7
    assert h.file_of(token) == b"restart"


def test_step6_orphan_chunks_survive_a_restart(h: Harness) -> None:
    """§6.5 (Q-ORPHANS-SURVIVE): stale chunks stored before a resume=false restart stay and
    are drained into the new file when its EOF reaches them."""
    token = h.add()
    h.upload(token, b"AAAA", final=False)
    h.upload(token, b"XX", resume=True, final=False, at=6)  # stored ahead of the old file
    view = h.ok(h.upload(token, b"BBBBBB", resume=False, final=False))
    assert view.uploaded_file_size == 6  # resume=false does not drain
    assert h.pending_of(token) == {6.0: b"XX"}
    view = h.ok(h.upload(token, b"YY", resume=True, final=False, at=8))
    assert h.file_of(token) == b"BBBBBBXXYY"
    assert view.uploaded_file_size == 10


# --- steps 7–9: F, status, response ----------------------------------------------------


def test_steps7_to_9_non_final_sets_partial_and_f(h: Harness) -> None:
    """§4 steps 7–9: uploadedFileSize = F, status PARTIAL, the response is the saved row."""
    token = h.add()
    view = h.ok(h.upload(token, h.src[:5], final=False, now=h.now + 1))
    assert view.status is PARTIAL
    assert view.uploaded_file_size == 5
    assert view.updated_at == int(h.now + 1)
    assert h.view(token) == view


def test_steps7_to_9_resume_true_final_sets_full(h: Harness) -> None:
    """§4 step 8.2: a resume=true final part that matches sets FULL_UPLOAD under the lock."""
    token = h.add()
    h.open(token, 5)
    view = h.ok(h.part(token, 5, 9, final=True))
    assert (view.status, view.uploaded_file_size) == (FULL, 9)
    assert h.view(token) == view


def test_steps7_to_9_resume_false_final_needs_no_lock(h: Harness) -> None:
    """§4 step 8.3: resume=false final sets FULL_UPLOAD from PARTIAL too."""
    token = h.add()
    h.open(token, 5)
    view = h.ok(h.upload(token, h.src[:9], resume=False, final=True))
    assert (view.status, view.uploaded_file_size) == (FULL, 9)


# --- §3.5: order of error checks ----------------------------------------------------------


def test_order_missing_token_id_comes_before_file_data(h: Harness) -> None:
    """§3.5 step 3: arguments in declaration order: uploadTokenId, then fileData."""
    h.fails(h.upload(None, None), MISSING, PARAM_NAME="uploadTokenId")
    h.fails(h.upload(None, b"x"), MISSING, PARAM_NAME="uploadTokenId")


def test_order_missing_file_data(h: Harness) -> None:
    """§3.3: `fileData` absent → MISSING_MANDATORY_PARAMETER {PARAM_NAME: fileData}."""
    token = h.add()
    h.fails(h.upload(token, None), MISSING, PARAM_NAME="fileData")
    assert h.view(token).status is PENDING


def test_order_not_a_file_is_upload_error(h: Harness) -> None:
    """§3.3: `fileData` present but not an uploaded file → UPLOAD_ERROR, before lookup."""
    token = h.add()
    h.fails(h.upload_part(token, NotAFile("plain text field")), "UPLOAD_ERROR")
    h.fails(h.upload_part("no-such-token", NotAFile()), "UPLOAD_ERROR")
    assert h.view(token).file_name is None


def test_order_arguments_come_before_missing_ks(h: Harness) -> None:
    """§3.5: argument errors (step 3) win over MISSING_KS (step 4)."""
    token = h.add()
    h.fails(h.upload(token, None, caller=None), MISSING, PARAM_NAME="fileData")
    h.fails(h.upload_part(token, NotAFile(), caller=None), "UPLOAD_ERROR")
    h.fails(h.upload(None, None, caller=None), MISSING, PARAM_NAME="uploadTokenId")


def test_order_missing_ks_comes_before_lookup(h: Harness) -> None:
    """§3.5 step 4: no KS → MISSING_KS, even for a token that does not exist."""
    token = h.add()
    h.fails(h.upload(token, b"x", caller=None), "MISSING_KS")
    h.fails(h.upload("nope", b"x", caller=None), "MISSING_KS")
    assert h.view(token).status is PENDING


@pytest.mark.parametrize("bad", ["a\x01b", "\x00", "x\x1f", "\ud800", "\ufffe", "\uffff"])
def test_order_invalid_parameter_char(h: Harness, bad: str) -> None:
    """§3.4: a character XML cannot carry in uploadTokenId → INVALID_PARAMETER_CHAR
    {XML_FIELD: uploadTokenId}; it is raised while casting uploadTokenId, so it comes
    before the fileData check and before MISSING_KS."""
    h.fails(h.upload(bad, b"x"), "INVALID_PARAMETER_CHAR", XML_FIELD="uploadTokenId")
    h.fails(h.upload(bad, None, caller=None), "INVALID_PARAMETER_CHAR")


@pytest.mark.parametrize("fine", ["a\tb", "a\nb", "a\rb", "\u00e9", "\U0001f600"])
def test_order_xml_whitespace_and_unicode_are_fine(h: Harness, fine: str) -> None:
    """§3.4: tab, LF, CR and ordinary Unicode are valid XML: the id is just not found."""
    h.fails(h.upload(fine, b"x"), NOT_FOUND)


def test_order_full_upload_token_without_file_part(h: Harness) -> None:
    """§3.5 example: a FULL_UPLOAD token with no file part → MISSING_MANDATORY_PARAMETER,
    not INVALID_STATUS_FOR_UPLOAD."""
    token = h.add()
    h.open(token, 4, final=True)
    h.fails(h.upload(token, None), MISSING, PARAM_NAME="fileData")


def test_order_get_and_delete_check_id_then_ks(h: Harness) -> None:
    """§3.5 for get and delete: uploadTokenId missing / bad char, then MISSING_KS."""
    for call in (h.get, h.delete):
        h.fails(call(None), MISSING, PARAM_NAME="uploadTokenId")
        h.fails(call(None, caller=None), MISSING, PARAM_NAME="uploadTokenId")
        h.fails(call("\x01", caller=None), "INVALID_PARAMETER_CHAR", XML_FIELD="uploadTokenId")
        h.fails(call("nope", caller=None), "MISSING_KS")


def test_apply_refuses_a_non_event(h: Harness) -> None:
    """Model contract (errors.py): a caller bug raises ModelUsageError, not an API error."""
    with pytest.raises(ModelUsageError):
        h.model.apply(Caller(1))  # type: ignore[arg-type]
