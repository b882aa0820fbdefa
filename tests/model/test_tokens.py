"""§11 (with §1 and §3.6): add, get, list and delete."""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING

import pytest

from conformance.model import Deleted, Pager, TokenFilter, TokenStatus, TokenView

if TYPE_CHECKING:
    from conftest import Harness

PENDING = TokenStatus.PENDING
PARTIAL = TokenStatus.PARTIAL_UPLOAD
FULL = TokenStatus.FULL_UPLOAD
NOT_FOUND = "UPLOAD_TOKEN_NOT_FOUND"
WEEK = 604_800


def _make_statuses(h: Harness, file_name: str = "same.mp4") -> dict[TokenStatus, str]:
    """One token per visible status 0–4 (CLOSED and TIMED_OUT set on the record: nothing in
    the model produces them) and one DELETED, all with the same fileName."""
    ids: dict[TokenStatus, str] = {}
    for status in TokenStatus:
        token = h.add(file_name=file_name)
        if status is not PENDING:
            h.open(token, 4, final=status is not PARTIAL)
        if status in (TokenStatus.CLOSED, TokenStatus.TIMED_OUT):
            h.record(token).status = status
        if status is TokenStatus.DELETED:
            h.delete(token)
        ids[status] = token.id
    return ids


# --- §11.1 add -------------------------------------------------------------------------


def test_add_result(h: Harness) -> None:
    """§11.1: status 0, uploadedFileSize null, partner and user from the KS, new id,
    timestamps = now, fileName/fileSize as given."""
    view = h.add(file_name="a.mp4", file_size=1234, caller=h.ALICE, now=h.now + 0.7)
    assert view.status is PENDING
    assert view.uploaded_file_size is None
    assert (view.partner_id, view.user_id) == (h.PARTNER, "alice")
    assert (view.file_name, view.file_size) == ("a.mp4", 1234)
    assert view.created_at == view.updated_at == int(h.now)
    assert view.upload_url is None
    assert view.auto_finalize is False
    assert view.attached_object_type is None
    assert view.attached_object_id is None


def test_add_ids_look_like_kalturas_and_are_unique(h: Harness) -> None:
    """§1.2: `<dcId>_<32 hex digits>`, a new one per token."""
    ids = {h.add().id for _ in range(20)}
    assert len(ids) == 20
    assert all(re.fullmatch(r"0_[0-9a-f]{32}", token_id) for token_id in ids)


def test_add_without_a_token_object(h: Harness) -> None:
    """§11.1: `uploadToken` is optional; absent means an empty token."""
    view = h.add()
    assert (view.file_name, view.file_size) == (None, None)


def test_add_accepts_a_negative_file_size(h: Harness) -> None:
    """§11.1 [I]: fileSize is not validated, negative values are accepted."""
    assert h.add(file_size=-5).file_size == -5


def test_token_fields_are_in_declaration_order() -> None:
    """§1.3: the `KalturaUploadToken` properties, in declaration order."""
    names = [f.name for f in dataclasses.fields(TokenView)]
    assert names == [
        "id",
        "partner_id",
        "user_id",
        "status",
        "file_name",
        "file_size",
        "uploaded_file_size",
        "created_at",
        "updated_at",
        "upload_url",
        "auto_finalize",
        "attached_object_type",
        "attached_object_id",
    ]


@pytest.mark.parametrize(
    "field",
    [
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
    ],
)
def test_add_with_a_readonly_field(h: Harness, field: str) -> None:
    """§11.1 / §10.2: any readonly field → PROPERTY_VALIDATION_NOT_UPDATABLE with
    PROP_NAME `KalturaUploadToken::<field>`; nothing is created."""
    outcome = h.add_outcome(file_name="x", readonly_fields=(field,))
    h.fails(outcome, "PROPERTY_VALIDATION_NOT_UPDATABLE", PROP_NAME=f"KalturaUploadToken::{field}")
    assert h.listed_ids() == []


def test_add_reports_the_first_readonly_field_in_declaration_order(h: Harness) -> None:
    """§11.1 / §1.3: `validateForInsert` walks the properties in declaration order, so the
    first declared readonly field that is set is the one named [I: order of the walk]."""
    outcome = h.add_outcome(readonly_fields=("attachedObjectId", "status", "id"))
    h.fails(outcome, "PROPERTY_VALIDATION_NOT_UPDATABLE", PROP_NAME="KalturaUploadToken::id")
    outcome = h.add_outcome(readonly_fields=("updatedAt", "createdAt"))
    h.fails(outcome, "PROPERTY_VALIDATION_NOT_UPDATABLE", PROP_NAME="KalturaUploadToken::createdAt")


@pytest.mark.parametrize("value", [2, -2, 7])
def test_add_with_a_bad_auto_finalize(h: Harness, value: int) -> None:
    """§11.1 / §10.2: autoFinalize outside -1/0/1 → INVALID_ENUM_VALUE."""
    h.fails(
        h.add_outcome(auto_finalize=value, file_size=10),
        "INVALID_ENUM_VALUE",
        ENUM_VAL=str(value),
        PARAM_NAME="autoFinalize",
        ENUM_TYPE="KalturaNullableBoolean",
    )


@pytest.mark.parametrize("value", [-1, 0])
def test_add_with_auto_finalize_off_needs_no_file_size(h: Harness, value: int) -> None:
    """§11.1: -1 (null) and 0 (false) are valid and leave autoFinalize off."""
    assert h.add(auto_finalize=value).auto_finalize is False


def test_add_auto_finalize_without_file_size(h: Harness) -> None:
    """§1.3 / §8.1: autoFinalize=1 without fileSize → UPLOAD_TOKEN_MISSING_FILE_SIZE."""
    h.fails(h.add_outcome(auto_finalize=1), "UPLOAD_TOKEN_MISSING_FILE_SIZE")
    assert h.listed_ids() == []


def test_add_without_ks(h: Harness) -> None:
    """§3.5 step 4: no KS → MISSING_KS."""
    h.fails(h.add_outcome(caller=None), "MISSING_KS")


def test_add_checks_the_enum_before_the_ks_and_the_ks_before_the_action(h: Harness) -> None:
    """§3.5: the enum is validated while the argument object is built (step 3), before
    MISSING_KS (step 4); readonly fields and the missing fileSize are checked by the action
    (`validateForInsert`, step 5), after it."""
    h.fails(h.add_outcome(auto_finalize=3, caller=None), "INVALID_ENUM_VALUE")
    h.fails(h.add_outcome(readonly_fields=("status",), caller=None), "MISSING_KS")
    h.fails(h.add_outcome(auto_finalize=1, caller=None), "MISSING_KS")


# --- §11.2 get ---------------------------------------------------------------------------


def test_get_returns_every_visible_status(h: Harness) -> None:
    """§11.2: any status except DELETED is returned; DELETED is NOT_FOUND."""
    ids = _make_statuses(h)
    for status, token_id in ids.items():
        if status is TokenStatus.DELETED:
            h.fails(h.get(token_id), NOT_FOUND)
        else:
            assert h.ok(h.get(token_id)).status is status


def test_get_unknown_and_empty_ids(h: Harness) -> None:
    """§11.2: an unknown (or empty) id is NOT_FOUND."""
    h.fails(h.get("0_" + "f" * 32), NOT_FOUND)
    h.fails(h.get(""), NOT_FOUND)


def test_get_other_partners_token_is_not_found(h: Harness) -> None:
    """§3.6 partner filter: another partner's token, even with its admin KS, is NOT_FOUND."""
    token = h.add()
    h.fails(h.get(token, caller=h.STRANGER), NOT_FOUND)
    h.fails(h.delete(token, caller=h.STRANGER), NOT_FOUND)
    assert h.model.record(h.OTHER_PARTNER, token.id) is None


def test_user_ks_sees_only_its_own_tokens(h: Harness) -> None:
    """§3.6 user filter: a user KS gets NOT_FOUND for another user's token on get, delete
    and upload, and list leaves it out; the partner's admin KS sees every token."""
    alices = h.add(caller=h.ALICE)
    bobs = h.add(caller=h.BOB)
    admins = h.add()
    h.fails(h.get(bobs, caller=h.ALICE), NOT_FOUND)
    h.fails(h.delete(bobs, caller=h.ALICE), NOT_FOUND)
    assert h.ok(h.get(alices, caller=h.ALICE)).id == alices.id
    assert h.listed_ids(caller=h.ALICE) == [alices.id]
    assert h.listed_ids(caller=h.BOB) == [bobs.id]
    assert h.listed_ids() == [alices.id, bobs.id, admins.id]
    assert h.ok(h.get(bobs)).user_id == "bob"


def test_get_does_not_touch_updated_at(h: Harness) -> None:
    """§1.1: reading saves nothing."""
    token = h.add()
    h.now += 100
    assert h.ok(h.get(token)).updated_at == token.updated_at


# --- §11.3 list ---------------------------------------------------------------------------


def test_list_filter_id_equal_and_id_in(h: Harness) -> None:
    """§11.3: idEqual and idIn (a comma list; unknown ids match nothing)."""
    a, b, c = (h.add().id for _ in range(3))
    assert h.listed_ids(TokenFilter(id_equal=b)) == [b]
    assert h.listed_ids(TokenFilter(id_in=f"{a},{c},nope")) == [a, c]


def test_list_filter_user_id_equal(h: Harness) -> None:
    """§11.3: userIdEqual; an unknown user gives an empty result."""
    alices = h.add(caller=h.ALICE)
    h.add(caller=h.BOB)
    assert h.listed_ids(TokenFilter(user_id_equal="alice")) == [alices.id]
    assert h.listed_ids(TokenFilter(user_id_equal="nobody")) == []


def test_list_filter_status_equal_and_status_in(h: Harness) -> None:
    """§11.3: statusEqual (enum) and statusIn (a raw comma string, not validated)."""
    ids = _make_statuses(h, file_name="f")
    assert h.listed_ids(TokenFilter(status_equal=1)) == [ids[PARTIAL]]
    assert h.listed_ids(TokenFilter(status_equal=3)) == [ids[TokenStatus.CLOSED]]
    assert h.listed_ids(TokenFilter(status_in="2,9")) == [ids[FULL]]


@pytest.mark.parametrize(
    ("status_in", "statuses"),
    [
        (" 1, 2 ", {PARTIAL, FULL}),
        ("1,", {PENDING, PARTIAL}),
        ("1,,2", {PENDING, PARTIAL, FULL}),
        ("x", {PENDING}),
        ("2abc", {FULL}),
        ("1.0", {PARTIAL}),
        ("1.5", set()),
    ],
)
def test_list_status_in_items_are_numbers_to_mysql(
    h: Harness, status_in: str, statuses: set[TokenStatus]
) -> None:
    """`createSqlIn` neither trims nor drops items (filters.class.php:895-898); MySQL casts
    each against the INT column: whitespace skipped, the numeric prefix read, "" and words
    are 0 (PENDING)."""
    ids = _make_statuses(h, file_name="f")
    expected = [ids[s] for s in TokenStatus if s in statuses]
    assert h.listed_ids(TokenFilter(status_in=status_in)) == expected


def test_list_in_lists_stop_at_500_items(h: Harness) -> None:
    """`array_slice($in_values, 0, getMaxInValues())` (filters.class.php:898): 500 items."""
    token = h.add()
    h.open(token, 4, final=True)  # FULL_UPLOAD: 2
    assert h.listed_ids(TokenFilter(status_in="9," * 499 + "2")) == [token.id]
    assert h.listed_ids(TokenFilter(status_in="9," * 500 + "2")) == []
    assert h.listed_ids(TokenFilter(id_in="x," * 500 + token.id)) == []


@pytest.mark.parametrize("field", ["id_equal", "id_in", "status_in", "file_name_equal"])
def test_list_empty_string_filters_nothing(h: Harness, field: str) -> None:
    """`if ($value === "") continue;` (filters.class.php:607): "" adds no criterion."""
    ids = _make_statuses(h, file_name="f")
    everything = [ids[s] for s in TokenStatus if s is not TokenStatus.DELETED]
    assert h.listed_ids(TokenFilter(**{field: ""})) == everything


def test_list_file_name_rules_test_php_truth(h: Harness) -> None:
    """UploadTokenService.php:188 and :198 test `$filter->fileNameEqual` for truth ("0" is
    false: no forced statusIn, no resume window) and `statusIn == null` loosely ("" is null:
    the forced statusIn applies)."""
    ids = _make_statuses(h, file_name="0")
    named = [ids[s] for s in TokenStatus if s is not TokenStatus.DELETED]
    assert h.listed_ids(TokenFilter(file_name_equal="0")) == named
    assert h.listed_ids(TokenFilter(file_name_equal="0", status_equal=1), now=h.now + 9 * WEEK) == [
        ids[PARTIAL]
    ]
    lookup = TokenFilter(file_name_equal="0", status_in="")
    assert h.listed_ids(lookup) == named  # "0" is false: nothing forced
    other = _make_statuses(h, file_name="g")
    forced = TokenFilter(file_name_equal="g", status_in="")
    assert h.listed_ids(forced) == [other[PENDING], other[PARTIAL], other[FULL]]


def test_list_filter_file_name_and_file_size_equal(h: Harness) -> None:
    """§11.3: fileNameEqual and fileSizeEqual."""
    a = h.add(file_name="a.mp4", file_size=10)
    b = h.add(file_name="b.mp4", file_size=10)
    h.add(file_name="a.mp4", file_size=20)
    assert h.listed_ids(TokenFilter(file_size_equal=10)) == [a.id, b.id]
    assert h.listed_ids(TokenFilter(file_name_equal="a.mp4", file_size_equal=10)) == [a.id]


def test_list_file_name_equal_forces_status_in_0_1_2(h: Harness) -> None:
    """§11.3: fileNameEqual without a status filter forces statusIn = "0,1,2"; an explicit
    status filter lifts it."""
    ids = _make_statuses(h)
    assert h.listed_ids() == [ids[s] for s in TokenStatus if s is not TokenStatus.DELETED]
    by_name = h.listed_ids(TokenFilter(file_name_equal="same.mp4"))
    assert by_name == [ids[PENDING], ids[PARTIAL], ids[FULL]]
    closed = TokenFilter(file_name_equal="same.mp4", status_equal=3)
    assert h.listed_ids(closed) == [ids[TokenStatus.CLOSED]]
    timed_out = TokenFilter(file_name_equal="same.mp4", status_in="4")
    assert h.listed_ids(timed_out) == [ids[TokenStatus.TIMED_OUT]]


def test_list_partial_file_name_lookup_has_a_resume_window(h: Harness) -> None:
    """§11.3: fileNameEqual + statusEqual=PARTIAL adds updatedAt ≥ now − 604800; no other
    combination does."""
    old = h.add(file_name="v.mp4")
    h.open(old, 4)
    fresh = h.add(file_name="v.mp4", now=h.now + 2 * WEEK)
    h.upload(fresh, h.src[:4], final=False, now=h.now + 2 * WEEK)
    later = h.now + 2 * WEEK + 10
    lookup = TokenFilter(file_name_equal="v.mp4", status_equal=1)
    assert h.listed_ids(lookup, now=later) == [fresh.id]
    edge = h.now + WEEK  # updatedAt == now − 604800 is still inside
    assert h.listed_ids(lookup, now=edge) == [old.id, fresh.id]
    assert h.listed_ids(TokenFilter(status_equal=1), now=later) == [old.id, fresh.id]
    assert h.listed_ids(TokenFilter(file_name_equal="v.mp4"), now=later) == [old.id, fresh.id]
    in_filter = TokenFilter(file_name_equal="v.mp4", status_in="1")
    assert h.listed_ids(in_filter, now=later) == [old.id, fresh.id]


@pytest.mark.parametrize(
    "token_filter",
    [TokenFilter(), TokenFilter(status_equal=5), TokenFilter(status_in="5")],
)
def test_list_never_shows_deleted(h: Harness, token_filter: TokenFilter) -> None:
    """§11.3: DELETED is always excluded, even with statusEqual=5."""
    token = h.add()
    h.delete(token)
    listed = h.listed(token_filter)
    assert listed.objects == ()
    assert listed.total_count == 0


@pytest.mark.parametrize("value", [6, -1, 99])
def test_list_with_an_invalid_status_equal(h: Harness, value: int) -> None:
    """§11.3 / §10.2: statusEqual outside the API enum (0–5) → INVALID_ENUM_VALUE; it is
    checked while building the filter, before MISSING_KS."""
    expected = {
        "ENUM_VAL": str(value),
        "PARAM_NAME": "statusEqual",
        "ENUM_TYPE": "KalturaUploadTokenStatus",
    }
    h.fails(h.list_tokens(TokenFilter(status_equal=value)), "INVALID_ENUM_VALUE", **expected)
    h.fails(h.list_tokens(TokenFilter(status_equal=value), caller=None), "INVALID_ENUM_VALUE")


def test_list_without_ks(h: Harness) -> None:
    """§3.5 step 4: no KS → MISSING_KS."""
    h.fails(h.list_tokens(caller=None), "MISSING_KS")


def test_list_pager_defaults_and_clamps(h: Harness) -> None:
    """§11.3: pageSize defaults to 30 and is clamped to [0, 500]; totalCount counts every
    match before paging."""
    ids = [h.add().id for _ in range(502)]
    default = h.listed()
    assert default.total_count == 502
    assert [v.id for v in default.objects] == ids[:30]
    assert len(h.listed(pager=Pager(page_size=1000)).objects) == 500
    assert h.listed_ids(pager=Pager(page_size=500, page_index=2)) == ids[500:]


@pytest.mark.parametrize("size", [0, -3])
@pytest.mark.parametrize("index", [None, 1, 3])
def test_list_page_size_zero_or_less_is_no_limit(h: Harness, size: int, index: int | None) -> None:
    """Source over §11.3: pageSize 0 (a negative one is clamped to 0) sets no LIMIT, so every
    match comes back whatever the pageIndex (KalturaFilterPager.php:22-30, Propel
    BasePeer.php:1023, DBMySQL.php:141-145)."""
    ids = [h.add().id for _ in range(35)]
    listed = h.listed(pager=Pager(page_size=size, page_index=index))
    assert ([v.id for v in listed.objects], listed.total_count) == (ids, 35)


@pytest.mark.parametrize("index", [None, 0, -2, 1])
def test_list_page_index_below_one_is_one(h: Harness, index: int | None) -> None:
    """§11.3: pageIndex defaults to 1, with a minimum of 1."""
    ids = [h.add().id for _ in range(3)]
    assert h.listed_ids(pager=Pager(page_size=2, page_index=index)) == ids[:2]


def test_list_pages_and_total_count(h: Harness) -> None:
    """§11.3: later pages, a page past the end, and totalCount before paging."""
    ids = [h.add().id for _ in range(5)]
    assert h.listed_ids(pager=Pager(page_size=2, page_index=3)) == ids[4:]
    past = h.listed(pager=Pager(page_size=2, page_index=4))
    assert (past.objects, past.total_count) == ((), 5)


def test_list_order_by_created_at(h: Harness) -> None:
    """§11.3: orderBy +createdAt / -createdAt. [I] Ties, and a list without orderBy (the
    spec: "whatever the DB returns"), come in creation order, the DB's insertion order."""
    b = h.add(now=h.now + 20).id
    a = h.add(now=h.now + 10).id
    c = h.add(now=h.now + 30).id
    d = h.add(now=h.now + 30).id
    assert h.listed_ids(TokenFilter(order_by="+createdAt")) == [a, b, c, d]
    assert h.listed_ids(TokenFilter(order_by="-createdAt")) == [d, c, b, a]
    assert h.listed_ids() == [b, a, c, d]


@pytest.mark.parametrize(
    ("order_by", "order"),
    [
        ("+createdAt,-createdAt", "asc"),
        ("-createdAt,+createdAt", "desc"),
        ("name,-createdAt", "desc"),
        ("-createdAt,", "desc"),
        ("createdAt", "none"),
        (" -createdAt", "none"),
        ("-CREATEDAT", "none"),
        ("", "none"),
    ],
)
def test_list_order_by_is_a_comma_list_of_known_items(
    h: Harness, order_by: str, order: str
) -> None:
    """KalturaFilter.php:64-74: items outside the order map (KalturaUploadTokenBaseFilter.php:
    20-24) are dropped, untrimmed and case-sensitive; the first known one decides, a second
    on the same column changes nothing (filters.class.php:770-780)."""
    b = h.add(now=h.now + 20).id
    a = h.add(now=h.now + 10).id
    c = h.add(now=h.now + 30).id
    expected = {"asc": [a, b, c], "desc": [c, b, a], "none": [b, a, c]}[order]
    assert h.listed_ids(TokenFilter(order_by=order_by)) == expected


def test_list_other_partner_sees_nothing(h: Harness) -> None:
    """§3.6: list is filtered by partner."""
    h.add()
    assert h.listed_ids(caller=h.STRANGER) == []


# --- §11.4 delete ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status",
    [s for s in TokenStatus if s is not TokenStatus.DELETED],
)
def test_delete_from_every_visible_status(h: Harness, status: TokenStatus) -> None:
    """§11.4: any visible status can be deleted; afterwards get, upload, delete and list
    treat the token as missing."""
    token_id = _make_statuses(h)[status]
    assert isinstance(h.delete(token_id), Deleted)
    h.fails(h.get(token_id), NOT_FOUND)
    h.fails(h.upload(token_id, b"x"), NOT_FOUND)
    h.fails(h.delete(token_id), NOT_FOUND)
    assert token_id not in h.listed_ids()
    assert h.record(token_id).status is TokenStatus.DELETED


def test_delete_unknown_token(h: Harness) -> None:
    """§11.4: a missing token is NOT_FOUND."""
    h.fails(h.delete("nope"), NOT_FOUND)


def test_delete_bumps_updated_at(h: Harness) -> None:
    """§11.4 / §1.1: delete changes the status column, so updatedAt moves."""
    token = h.add()
    h.delete(token, now=h.now + 42)
    assert h.record(token).updated_at == int(h.now + 42)


# --- §1.1 updatedAt -------------------------------------------------------------------------


def test_updated_at_moves_only_when_a_column_changed(h: Harness) -> None:
    """§1.1: updatedAt is bumped on a save that actually changes a column, else not."""
    token = h.add()
    assert h.ok(h.upload(token, h.src[:4], final=False, now=h.now + 1)).updated_at == int(h.now + 1)
    # a no-op re-send: status and uploadedFileSize unchanged
    assert h.ok(h.part(token, 0, 4, now=h.now + 2)).updated_at == int(h.now + 1)
    # a stored-ahead part: F unchanged
    assert h.ok(h.part(token, 8, 12, now=h.now + 3)).updated_at == int(h.now + 1)
    # a swallowed empty part
    view = h.ok(h.upload(token, b"", resume=True, final=False, at=4, now=h.now + 4))
    assert view.updated_at == int(h.now + 1)
    # a failed close (CANNOT_MATCH) saves nothing
    waiting = h.waits(h.part(token, 20, 22, final=True, now=h.now + 5))
    h.abandon_close(waiting.ticket, now=h.now + 6)
    assert h.view(token).updated_at == int(h.now + 1)
    # a part that grows the file
    assert h.ok(h.part(token, 4, 8, now=h.now + 7)).updated_at == int(h.now + 7)
    # the close: status and size change
    assert h.ok(h.part(token, 12, 14, final=True, now=h.now + 8)).updated_at == int(h.now + 8)
