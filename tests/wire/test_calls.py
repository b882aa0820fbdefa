"""Route checks (§3.1, §3.5 step 1) and argument building (§3.3, §3.4, §11) into model events."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

import pytest

from conformance.model import (
    AddToken,
    Caller,
    DeleteToken,
    ErrorCode,
    Event,
    Failed,
    FilePart,
    GetToken,
    ListTokens,
    MemoryBlob,
    NotAFile,
    Pager,
    TokenFilter,
    TokenResult,
    Upload,
    UploadTokenModel,
)
from conformance.wire import ApiCall, ParsedBody, StartSession, UploadedPart
from conformance.wire.calls import build_event, build_start_session, check_route
from conformance.wire.request import decode_call

MULTIPART = "multipart/form-data; boundary=----kaltura"
FORM = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"
NOW = 1_700_000_000.0
ADMIN = Caller(101, "admin", is_admin=True)
UPLOAD = "/api_v3/service/uploadtoken/action/upload"
ADD = "/api_v3/service/uploadtoken/action/add"
LIST = "/api_v3/service/uploadtoken/action/list"


def part(field: str = "fileData", filename: str = "chunk_0", data: bytes = b"abc") -> UploadedPart:
    return UploadedPart(field, filename, "application/octet-stream", MemoryBlob(data), "")


def decode(
    target: str,
    content_type: str | None = None,
    *,
    fields: tuple[tuple[str, str], ...] = (),
    files: tuple[UploadedPart, ...] = (),
    json_text: str | None = None,
) -> ApiCall:
    return decode_call(target, content_type, ParsedBody(fields, files, json_text))


def event_of(call: ApiCall) -> Event | Failed:
    assert check_route(call) is None
    return build_event(call, ADMIN, NOW)


def upload(target: str = UPLOAD, **kwargs: object) -> Upload:
    event = event_of(decode(target, MULTIPART, **kwargs))  # type: ignore[arg-type]
    assert isinstance(event, Upload)
    return event


def json_call(target: str, params: Mapping[str, object]) -> Event | Failed:
    return event_of(decode(target, JSON_TYPE, json_text=json.dumps(params)))


def failed(outcome: object, code: ErrorCode, **args: str) -> None:
    assert isinstance(outcome, Failed), outcome
    assert outcome.code == code.name
    assert outcome.error.args_dict == args


# --- routes -------------------------------------------------------------------------------


def test_no_service() -> None:
    refused = check_route(decode("/api_v3/index.php"))
    failed(refused, ErrorCode.SERVICE_NOT_SPECIFIED)
    assert refused is not None
    assert refused.error.message == "Service name was not specified, please specify one"


@pytest.mark.parametrize(
    ("target", "name"),
    [
        ("/api_v3/service/media/action/add", "media"),
        ("/api_v3/index.php?service=partner&action=get", "partner"),
        ("/api_v3/service/baseEntry/action/list", "baseentry"),
        ("/api_v3/service/uploadTo\u212aen/action/upload", "uploadto\u212aen"),
    ],
)
def test_a_service_the_suite_does_not_serve(target: str, name: str) -> None:
    refused = check_route(decode(target))
    failed(refused, ErrorCode.SERVICE_DOES_NOT_EXISTS, SRV_NAME=name)
    assert refused is not None
    assert refused.error.message == f'Service "{name}" does not exists'


def test_service_zero_is_not_specified() -> None:
    failed(check_route(decode("/api_v3/index.php?service=0")), ErrorCode.SERVICE_NOT_SPECIFIED)


def test_no_action_is_an_unknown_empty_action() -> None:
    """The dispatcher looks the empty action name up and fails it as unknown [I]."""
    refused = check_route(decode("/api_v3/service/uploadtoken"))
    failed(refused, ErrorCode.ACTION_DOES_NOT_EXISTS, ACTION_NAME="", SERVICE_NAME="uploadtoken")


@pytest.mark.parametrize(
    ("target", "action", "service"),
    [
        ("/api_v3/service/uploadtoken/action/frobnicate", "frobnicate", "uploadtoken"),
        ("/api_v3/service/uploadToken/action/Frobnicate", "frobnicate", "uploadtoken"),
        ("/api_v3/service/session/action/end", "end", "session"),
        ("/api_v3/index.php?service=uploadtoken&action=0", "0", "uploadtoken"),
    ],
)
def test_an_action_the_service_does_not_have(target: str, action: str, service: str) -> None:
    refused = check_route(decode(target))
    failed(refused, ErrorCode.ACTION_DOES_NOT_EXISTS, ACTION_NAME=action, SERVICE_NAME=service)
    assert refused is not None
    assert refused.error.message == f'Action "{action}" does not exists for service "{service}"'


@pytest.mark.parametrize("action", ["add", "get", "list", "delete", "upload", "UPLOAD"])
def test_every_uploadtoken_action_is_served(action: str) -> None:
    assert check_route(decode(f"/api_v3/service/uploadToken/action/{action}")) is None


def test_session_start_is_served() -> None:
    assert check_route(decode("/api_v3/service/session/action/start")) is None


# --- upload: defaults and the file part (§3.3, §3.4) --------------------------------------


def test_upload_defaults_resume_false_final_chunk_true_resume_at_minus_one() -> None:
    chunk = part()
    event = upload(UPLOAD + "?uploadTokenId=0_abc", files=(chunk,))
    assert event == Upload(ADMIN, NOW, "0_abc", FilePart(chunk.blob, "chunk_0"), False, True, -1.0)
    assert isinstance(event.file, FilePart)
    assert event.file.blob is chunk.blob


def test_resume_without_final_chunk_is_finalising() -> None:
    """UT-S12: resume=true and resumeAt=N with finalChunk omitted is a final part."""
    event = upload(UPLOAD + "?uploadTokenId=0_abc&resume=1&resumeAt=4096", files=(part(),))
    assert (event.resume, event.final_chunk, event.resume_at) == (True, True, 4096.0)


@pytest.mark.parametrize(
    ("query", "flags"),
    [
        ("resume=false&finalChunk=FALSE&resumeAt=0", (False, False, 0.0)),
        ("resume=True&finalChunk=False&resumeAt=10240000.0", (True, False, 10_240_000.0)),
        ("resume=no&finalChunk=0&resumeAt=abc", (True, False, 0.0)),
        ("resume=0.0&finalChunk=&resumeAt=12abc", (True, False, 12.0)),
        ("resume=&finalChunk=yes&resumeAt=-5", (False, True, -5.0)),
        ("resumeAt=1e3", (False, True, 1000.0)),
    ],
)
def test_upload_flags_are_cast_as_php_does(query: str, flags: tuple[bool, bool, float]) -> None:
    event = upload(f"{UPLOAD}?uploadTokenId=0_abc&{query}", files=(part(),))
    assert (event.resume, event.final_chunk, event.resume_at) == flags


def test_upload_flags_from_the_json_field() -> None:
    text = json.dumps(
        {"uploadTokenId": "0_abc", "resume": True, "finalChunk": False, "resumeAt": 8}
    )
    event = upload(fields=(("json", text),), files=(part(),))
    assert (event.token_id, event.resume, event.final_chunk, event.resume_at) == (
        "0_abc",
        True,
        False,
        8.0,
    )


def test_upload_flags_from_plain_form_fields() -> None:
    fields = (("resume", "1"), ("resumeAt", "4096"), ("finalChunk", "0"))
    event = upload(UPLOAD + "?uploadTokenId=0_abc&ks=KS", fields=fields, files=(part(),))
    assert (event.resume, event.final_chunk, event.resume_at) == (True, False, 4096.0)


def test_file_data_absent_is_none() -> None:
    """MISSING_MANDATORY_PARAMETER fileData, which the model answers."""
    assert upload(UPLOAD + "?uploadTokenId=0_abc").file is None


def test_file_data_as_a_form_text_field_is_not_a_file() -> None:
    event = upload(UPLOAD + "?uploadTokenId=0_abc", fields=(("fileData", "AAAA"),))
    assert isinstance(event.file, NotAFile)


def test_file_data_in_the_query_is_not_a_file() -> None:
    assert isinstance(upload(UPLOAD + "?uploadTokenId=0_abc&fileData=x").file, NotAFile)


def test_file_data_with_an_empty_file_name_is_not_a_file() -> None:
    """`filename=""`: PHP's UPLOAD_ERR_NO_FILE, not an uploaded file (UPLOAD_ERROR)."""
    event = upload(UPLOAD + "?uploadTokenId=0_abc", files=(part(filename=""),))
    assert isinstance(event.file, NotAFile)


def test_a_file_part_overridden_by_a_query_value_is_not_a_file() -> None:
    event = upload(UPLOAD + "?uploadTokenId=0_abc&fileData=x", files=(part(),))
    assert isinstance(event.file, NotAFile)


def test_a_file_part_beats_a_form_text_field() -> None:
    chunk = part()
    event = upload(UPLOAD + "?uploadTokenId=0_abc", fields=(("fileData", "text"),), files=(chunk,))
    assert event.file == FilePart(chunk.blob, "chunk_0")


def test_an_empty_file_with_a_name_is_a_file() -> None:
    """§3.3: a 0-byte part with a file name reaches the action."""
    event = upload(UPLOAD + "?uploadTokenId=0_abc", files=(part(data=b""),))
    assert isinstance(event.file, FilePart)
    assert event.file.size == 0


def test_upload_token_id_absent_present_empty() -> None:
    assert upload(files=(part(),)).token_id is None
    assert upload(UPLOAD + "?uploadTokenId=", files=(part(),)).token_id == ""


def test_json_nulls_are_present_arguments() -> None:
    """`array_key_exists`: a JSON null is a given argument, cast like any value."""
    text = json.dumps(
        {
            "uploadTokenId": None,
            "fileData": None,
            "resume": None,
            "finalChunk": None,
            "resumeAt": None,
        }
    )
    event = upload(fields=(("json", text),))
    assert event.token_id == ""
    assert isinstance(event.file, NotAFile)
    assert (event.resume, event.final_chunk, event.resume_at) == (False, False, 0.0)


def test_a_json_upload_token_id_number_is_a_string() -> None:
    event = upload(fields=(("json", '{"uploadTokenId": 12.0}'),), files=(part(),))
    assert event.token_id == "12"


def test_an_upload_token_id_that_xml_cannot_carry() -> None:
    """§3.4: INVALID_PARAMETER_CHAR, the first argument, so before the missing file."""
    outcome = event_of(decode(UPLOAD + "?uploadTokenId=0_a%01b"))
    failed(outcome, ErrorCode.INVALID_PARAMETER_CHAR, XML_FIELD="uploadTokenId")


def test_upload_events_reach_the_model() -> None:
    with UploadTokenModel() as model:
        add = event_of(decode(ADD + "?uploadToken:fileName=a.bin"))
        assert isinstance(add, AddToken)
        added = model.apply(add)
        assert isinstance(added, TokenResult)
        event = upload(f"{UPLOAD}?uploadTokenId={added.token.id}", files=(part(data=b"xyz"),))
        done = model.apply(event)
        assert isinstance(done, TokenResult)
        assert done.token.uploaded_file_size == 3


def test_the_model_answers_the_missing_and_invalid_file() -> None:
    with UploadTokenModel() as model:
        failed(
            model.apply(upload(UPLOAD + "?uploadTokenId=0_abc")),
            ErrorCode.MISSING_MANDATORY_PARAMETER,
            PARAM_NAME="fileData",
        )
        failed(
            model.apply(upload(UPLOAD + "?uploadTokenId=0_abc&fileData=x")),
            ErrorCode.UPLOAD_ERROR,
        )
        failed(
            model.apply(upload(files=(part(),))),
            ErrorCode.MISSING_MANDATORY_PARAMETER,
            PARAM_NAME="uploadTokenId",
        )


# --- add (§11.1) --------------------------------------------------------------------------

EXPECTED_ADD = AddToken(ADMIN, NOW, "a.mp4", 1_048_576.0, 1, ())


def test_add_with_a_nested_json_object() -> None:
    params = {"uploadToken": {"fileName": "a.mp4", "fileSize": 1048576, "autoFinalize": 1}}
    assert json_call(ADD, params) == EXPECTED_ADD


def test_add_with_colon_fields() -> None:
    fields = (
        ("uploadToken:fileName", "a.mp4"),
        ("uploadToken:fileSize", "1048576"),
        ("uploadToken:autoFinalize", "1"),
        ("uploadToken:objectType", "KalturaUploadToken"),
    )
    assert event_of(decode(ADD, FORM, fields=fields)) == EXPECTED_ADD


def test_add_with_bracket_fields() -> None:
    target = ADD + "?uploadToken[fileName]=a.mp4&uploadToken[fileSize]=1048576"
    assert event_of(decode(target + "&uploadToken[autoFinalize]=true")) == EXPECTED_ADD


def test_add_without_a_token_object() -> None:
    assert event_of(decode(ADD)) == AddToken(ADMIN, NOW)


def test_add_file_size_is_float_cast() -> None:
    event = event_of(decode(ADD + "?uploadToken:fileSize=abc"))
    assert isinstance(event, AddToken)
    assert event.file_size == 0.0
    event = event_of(decode(ADD + "?uploadToken:fileSize=-5"))
    assert isinstance(event, AddToken)
    assert event.file_size == -5.0


def test_add_lists_every_readonly_field_set() -> None:
    query = "&".join(
        f"uploadToken:{name}=1"
        for name in ("attachedObjectId", "status", "id", "createdAt", "uploadUrl", "partnerId")
    )
    event = event_of(decode(f"{ADD}?{query}&uploadToken:fileName=a&uploadToken:unknown=1"))
    assert isinstance(event, AddToken)
    assert event.readonly_fields == (
        "id",
        "partnerId",
        "status",
        "createdAt",
        "uploadUrl",
        "attachedObjectId",
    )


@pytest.mark.parametrize(
    "name",
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
def test_add_each_readonly_field_is_refused_by_the_model(name: str) -> None:
    event = json_call(ADD, {"uploadToken": {name: "1"}})
    assert isinstance(event, AddToken)
    assert event.readonly_fields == (name,)
    with UploadTokenModel() as model:
        failed(
            model.apply(event),
            ErrorCode.PROPERTY_VALIDATION_NOT_UPDATABLE,
            PROP_NAME=f"KalturaUploadToken::{name}",
        )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", 1),
        ("TRUE", 1),
        ("True", 1),
        ("false", 0),
        ("FALSE", 0),
        ("1", 1),
        ("0", 0),
        ("-1", -1),
        ("1.0", 1),
        (" 1", 1),
    ],
)
def test_add_auto_finalize_words_and_ints(value: str, expected: int) -> None:
    event = event_of(decode(ADD, FORM, fields=(("uploadToken:autoFinalize", value),)))
    assert isinstance(event, AddToken)
    assert event.auto_finalize == expected


@pytest.mark.parametrize(("value", "expected"), [(True, 1), (False, 0), (1, 1), (-1, -1)])
def test_add_auto_finalize_json_values(value: object, expected: int) -> None:
    event = json_call(ADD, {"uploadToken": {"autoFinalize": value, "fileSize": 1}})
    assert isinstance(event, AddToken)
    assert event.auto_finalize == expected


@pytest.mark.parametrize(
    "value", ["maybe", "yes", "", "1abc", "--1", "²", "١", "0x1", "1.5", " true", "Array"]
)
def test_add_auto_finalize_garbage_is_an_invalid_enum_value(value: str) -> None:
    outcome = event_of(decode(ADD, FORM, fields=(("uploadToken:autoFinalize", value),)))
    failed(
        outcome,
        ErrorCode.INVALID_ENUM_VALUE,
        ENUM_VAL=value,
        PARAM_NAME="autoFinalize",
        ENUM_TYPE="KalturaNullableBoolean",
    )


def test_add_auto_finalize_json_infinity_is_an_invalid_enum_value() -> None:
    text = '{"uploadToken": {"autoFinalize": 1' + "0" * 400 + "}}"
    failed(
        event_of(decode(ADD, JSON_TYPE, json_text=text)),
        ErrorCode.INVALID_ENUM_VALUE,
        ENUM_VAL="INF",
        PARAM_NAME="autoFinalize",
        ENUM_TYPE="KalturaNullableBoolean",
    )


def test_add_auto_finalize_out_of_range_is_refused_by_the_model() -> None:
    event = event_of(decode(ADD + "?uploadToken:autoFinalize=2"))
    assert isinstance(event, AddToken)
    assert event.auto_finalize == 2
    with UploadTokenModel() as model:
        failed(
            model.apply(event),
            ErrorCode.INVALID_ENUM_VALUE,
            ENUM_VAL="2",
            PARAM_NAME="autoFinalize",
            ENUM_TYPE="KalturaNullableBoolean",
        )


def test_add_file_name_that_xml_cannot_carry() -> None:
    outcome = event_of(decode(ADD + "?uploadToken:fileName=a%00b"))
    failed(outcome, ErrorCode.INVALID_PARAMETER_CHAR, XML_FIELD="fileName")


def test_add_file_name_number_is_a_string() -> None:
    event = json_call(ADD, {"uploadToken": {"fileName": 123}})
    assert isinstance(event, AddToken)
    assert event.file_name == "123"


# --- list (§11.3) -------------------------------------------------------------------------


def test_list_filter_and_pager_from_colon_fields() -> None:
    query = (
        "filter:idEqual=0_a&filter:idIn=0_a,0_b&filter:userIdEqual=alice&filter:statusEqual=1"
        "&filter:statusIn=0,1,2&filter:fileNameEqual=a.mp4&filter:fileSizeEqual=1048576"
        "&filter:orderBy=-createdAt&pager:pageSize=10&pager:pageIndex=2"
    )
    assert event_of(decode(f"{LIST}?{query}")) == ListTokens(
        ADMIN,
        NOW,
        TokenFilter("0_a", "0_a,0_b", "alice", 1, "0,1,2", "a.mp4", 1_048_576.0, "-createdAt"),
        Pager(10, 2),
    )


def test_list_filter_and_pager_from_json() -> None:
    params = {
        "filter": {
            "objectType": "KalturaUploadTokenFilter",
            "fileNameEqual": "a",
            "statusEqual": 2,
        },
        "pager": {"pageSize": 5, "pageIndex": 1},
    }
    assert json_call(LIST, params) == ListTokens(
        ADMIN, NOW, TokenFilter(status_equal=2, file_name_equal="a"), Pager(5, 1)
    )


def test_list_without_filter_or_pager() -> None:
    assert event_of(decode(LIST)) == ListTokens(ADMIN, NOW)


@pytest.mark.parametrize(
    ("size", "index", "pager"),
    [
        ("abc", "abc", Pager(0, 0)),  # the model reads index 0 as 1
        ("0", "0", Pager(0, None)),
        ("600", "-3", Pager(600, -3)),
        ("10.9", "2.5", Pager(10, 2)),
    ],
)
def test_list_pager_is_int_cast(size: str, index: str, pager: Pager) -> None:
    event = event_of(decode(f"{LIST}?pager:pageSize={size}&pager:pageIndex={index}"))
    assert isinstance(event, ListTokens)
    assert event.pager == pager


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", 0), (" 2", 2), ("1.0", 1), ("9", 9), ("true", 1), ("FALSE", 0), ("True", 1)],
)
def test_list_status_equal_numbers(value: str, expected: int) -> None:
    """An enum property takes "true"/"false" (any case) as 1/0
    (KalturaRequestDeserializer.php:365-368), then numbers as `in_array` compares them."""
    event = event_of(decode(LIST, FORM, fields=(("filter:statusEqual", value),)))
    assert isinstance(event, ListTokens)
    assert event.filter.status_equal == expected


@pytest.mark.parametrize("value", ["abc", "", "1.5", "1abc", "--1", "²", "PARTIAL_UPLOAD"])
def test_list_status_equal_garbage_is_an_invalid_enum_value(value: str) -> None:
    outcome = event_of(decode(LIST, FORM, fields=(("filter:statusEqual", value),)))
    failed(
        outcome,
        ErrorCode.INVALID_ENUM_VALUE,
        ENUM_VAL=value,
        PARAM_NAME="statusEqual",
        ENUM_TYPE="KalturaUploadTokenStatus",
    )


def test_list_status_equal_out_of_range_is_refused_by_the_model() -> None:
    event = event_of(decode(LIST + "?filter:statusEqual=9"))
    assert isinstance(event, ListTokens)
    with UploadTokenModel() as model:
        failed(
            model.apply(event),
            ErrorCode.INVALID_ENUM_VALUE,
            ENUM_VAL="9",
            PARAM_NAME="statusEqual",
            ENUM_TYPE="KalturaUploadTokenStatus",
        )


def test_list_string_filter_that_xml_cannot_carry() -> None:
    outcome = event_of(decode(LIST + "?filter:fileNameEqual=a%08"))
    failed(outcome, ErrorCode.INVALID_PARAMETER_CHAR, XML_FIELD="fileNameEqual")


# --- get and delete (§11.2, §11.4) --------------------------------------------------------


TokenEvent = Callable[[str | None], Event]


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("get", lambda token_id: GetToken(ADMIN, NOW, token_id)),
        ("delete", lambda token_id: DeleteToken(ADMIN, NOW, token_id)),
    ],
)
def test_get_and_delete_take_the_token_id(action: str, expected: TokenEvent) -> None:
    target = f"/api_v3/service/uploadtoken/action/{action}"
    assert event_of(decode(f"{target}/uploadTokenId/0_abc")) == expected("0_abc")
    assert event_of(decode(target)) == expected(None)
    assert json_call(target, {"uploadTokenId": None}) == expected("")
    failed(
        event_of(decode(f"{target}?uploadTokenId=%1F")),
        ErrorCode.INVALID_PARAMETER_CHAR,
        XML_FIELD="uploadTokenId",
    )


def test_without_a_caller_the_event_still_builds() -> None:
    """The KS comes after the arguments (§3.5): the model answers MISSING_KS."""
    call = decode(ADD + "?uploadToken:fileName=a")
    assert build_event(call, None, NOW) == AddToken(None, NOW, "a")


# --- session.start ------------------------------------------------------------------------

START = "/api_v3/service/session/action/start"


def test_session_start_without_secret() -> None:
    failed(
        build_start_session(decode(START + "?partnerId=101")),
        ErrorCode.MISSING_MANDATORY_PARAMETER,
        PARAM_NAME="secret",
    )


def test_session_start_defaults() -> None:
    assert build_start_session(decode(START + "?secret=s3cr3t")) == StartSession(
        secret="s3cr3t", user_id="", type=0, partner_id=None, expiry=86_400, privileges=""
    )


def test_session_start_with_every_argument() -> None:
    query = "secret=s&userId=alice&type=2&partnerId=101&expiry=3600&privileges=edit:*"
    assert build_start_session(decode(f"{START}?{query}")) == StartSession(
        "s", "alice", 2, 101, 3600, "edit:*"
    )


def test_session_start_from_the_json_field() -> None:
    text = json.dumps({"secret": "s", "partnerId": 101, "type": 2, "userId": "admin"})
    assert build_start_session(decode(START, MULTIPART, fields=(("json", text),))) == (
        StartSession("s", "admin", 2, 101, 86_400, "")
    )


def test_session_start_null_secret_is_present() -> None:
    start = build_start_session(decode(START, JSON_TYPE, json_text='{"secret": null}'))
    assert isinstance(start, StartSession)
    assert start.secret == ""


def test_session_start_user_id_that_xml_cannot_carry() -> None:
    failed(
        build_start_session(decode(START + "?secret=s&userId=a%02")),
        ErrorCode.INVALID_PARAMETER_CHAR,
        XML_FIELD="userId",
    )
