"""§12: answers as Kaltura's serializers write them, in JSON (format=1) and XML (default).

Every XML document is parsed with both `xml.etree.ElementTree` and `lxml` to be sure it is
well-formed, not just that it looks right.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest
from lxml import etree

from conformance.model import (
    Deleted,
    ErrorCode,
    Failed,
    TokenListed,
    TokenResult,
    TokenStatus,
    TokenView,
    api_error,
)
from conformance.wire import FORMAT_JSON, FORMAT_XML, ApiResult, EncodedAnswer, encode_answer

TOKEN = TokenView(
    id="0_3f2a9c1e5b7d4f608a1b2c3d4e5f6a7b",
    partner_id=101,
    user_id="alice@example.com",
    status=TokenStatus.PARTIAL_UPLOAD,
    file_name="movie.mp4",
    file_size=1_048_576.0,
    uploaded_file_size=524_288,
    created_at=1_700_000_000,
    updated_at=1_700_000_100,
    upload_url=None,
    auto_finalize=False,
)
NEW_TOKEN = TokenView(
    id="0_00000000000000000000000000000001",
    partner_id=101,
    user_id="",
    status=TokenStatus.PENDING,
    file_name=None,
    file_size=None,
    uploaded_file_size=None,
    created_at=1_700_000_000,
    updated_at=1_700_000_000,
    upload_url="https://upload.example.com",
    auto_finalize=True,
    attached_object_type="KalturaMediaEntry",
    attached_object_id="0_entry",
)
NOT_FOUND = Failed(api_error(ErrorCode.UPLOAD_TOKEN_NOT_FOUND))
RESUME_TIME = Failed(
    api_error(ErrorCode.UPLOAD_PASSED_MAX_RESUME_TIME_ALLOWED, MAX_RESUME_TIME=604800)
)
BAD_ENUM = Failed(
    api_error(
        ErrorCode.INVALID_ENUM_VALUE,
        ENUM_VAL="maybe",
        PARAM_NAME="autoFinalize",
        ENUM_TYPE="KalturaNullableBoolean",
    )
)
LISTED = TokenListed((TOKEN, NEW_TOKEN), 7)
KS = "MmQ0ZTVm+/Tk=="
TOKEN_FIELDS = [
    "id",
    "partnerId",
    "userId",
    "status",
    "fileName",
    "fileSize",
    "uploadedFileSize",
    "createdAt",
    "updatedAt",
    "uploadUrl",
    "autoFinalize",
    "attachedObjectType",
    "attachedObjectId",
]
ANSWERS: list[ApiResult] = [
    TokenResult(TOKEN),
    TokenResult(NEW_TOKEN),
    LISTED,
    TokenListed((), 0),
    Deleted(),
    NOT_FOUND,
    RESUME_TIME,
    BAD_ENUM,
    KS,
]


def as_json(answer: ApiResult) -> EncodedAnswer:
    return encode_answer(answer, FORMAT_JSON)


def as_xml(answer: ApiResult, execution_time: float = 0.0) -> EncodedAnswer:
    return encode_answer(answer, FORMAT_XML, execution_time)


def xml_result(answer: ApiResult) -> ET.Element:
    """The `<result>` element, after checking the document parses with both parsers."""
    body = as_xml(answer).body
    etree.fromstring(body)
    root = ET.fromstring(body)
    assert root.tag == "xml"
    assert [child.tag for child in root] == ["result", "executionTime"]
    result = root.find("result")
    assert result is not None
    return result


def tags(element: ET.Element) -> list[str]:
    return [child.tag for child in element]


def text_of(element: ET.Element, name: str) -> str | None:
    found = element.find(name)
    assert found is not None, name
    return found.text


# --- HTTP status and content type (§12.1) -------------------------------------------------


@pytest.mark.parametrize("answer", ANSWERS, ids=lambda answer: type(answer).__name__)
def test_every_answer_is_http_200_with_its_content_type(answer: ApiResult) -> None:
    assert (as_json(answer).status, as_json(answer).content_type) == (200, "application/json")
    assert (as_xml(answer).status, as_xml(answer).content_type) == (200, "text/xml")


@pytest.mark.parametrize("answer", ANSWERS, ids=lambda answer: type(answer).__name__)
def test_every_answer_parses(answer: ApiResult) -> None:
    json.loads(as_json(answer).body)
    xml_result(answer)


@pytest.mark.parametrize("fmt", [0, 2, -1])
def test_any_format_but_1_3_and_9_is_xml(fmt: int) -> None:
    assert encode_answer(NOT_FOUND, fmt).content_type == "text/xml"


# --- JSON (§12.2) -------------------------------------------------------------------------


def test_json_token_in_declaration_order_nulls_omitted_object_type_last() -> None:
    body = as_json(TokenResult(TOKEN)).body
    decoded = json.loads(body)
    assert list(decoded) == [
        "id",
        "partnerId",
        "userId",
        "status",
        "fileName",
        "fileSize",
        "uploadedFileSize",
        "createdAt",
        "updatedAt",
        "autoFinalize",
        "objectType",
    ]
    assert decoded["objectType"] == "KalturaUploadToken"


def test_json_token_value_types() -> None:
    """§1.3: sizes are JSON strings; status, partnerId and times are ints; autoFinalize a bool."""
    body = as_json(TokenResult(TOKEN)).body
    assert b'"fileSize":"1048576"' in body
    assert b'"uploadedFileSize":"524288"' in body
    decoded = json.loads(body)
    assert decoded["status"] == 1
    assert decoded["partnerId"] == 101
    assert decoded["createdAt"] == 1_700_000_000
    assert decoded["updatedAt"] == 1_700_000_100
    assert decoded["autoFinalize"] is False
    assert all(type(decoded[name]) is int for name in ("status", "partnerId", "createdAt"))


def test_json_new_token_has_no_uploaded_size_and_shows_what_is_set() -> None:
    decoded = json.loads(as_json(TokenResult(NEW_TOKEN)).body)
    assert "uploadedFileSize" not in decoded
    assert "fileName" not in decoded
    assert "fileSize" not in decoded
    assert decoded["userId"] == ""  # empty, not null: kept
    assert decoded["uploadUrl"] == "https://upload.example.com"
    assert decoded["autoFinalize"] is True
    assert decoded["attachedObjectType"] == "KalturaMediaEntry"
    assert list(decoded)[-1] == "objectType"


def test_json_fractional_size_is_a_php_string() -> None:
    token = replace(TOKEN, file_size=1e20)
    assert json.loads(as_json(TokenResult(token)).body)["fileSize"] == "1.0E+20"


def test_json_error_without_args_is_exact() -> None:
    assert as_json(NOT_FOUND).body == (
        b'{"code":"UPLOAD_TOKEN_NOT_FOUND","message":"Upload token not found",'
        b'"objectType":"KalturaAPIException","args":[]}'
    )


def test_json_error_args_are_an_object_of_strings() -> None:
    assert json.loads(as_json(RESUME_TIME).body) == {
        "code": "UPLOAD_PASSED_MAX_RESUME_TIME_ALLOWED",
        "message": "Max resume time of 604800 seconds reached, cannot resume upload",
        "objectType": "KalturaAPIException",
        "args": {"MAX_RESUME_TIME": "604800"},
    }
    decoded = json.loads(as_json(BAD_ENUM).body)
    assert list(decoded) == ["code", "message", "objectType", "args"]
    assert list(decoded["args"].items()) == [
        ("ENUM_VAL", "maybe"),
        ("PARAM_NAME", "autoFinalize"),
        ("ENUM_TYPE", "KalturaNullableBoolean"),
    ]


def test_json_delete_is_null() -> None:
    assert as_json(Deleted()).body == b"null"


def test_json_list() -> None:
    decoded = json.loads(as_json(LISTED).body)
    assert list(decoded) == ["totalCount", "objects", "objectType"]
    assert decoded["totalCount"] == 7
    assert decoded["objectType"] == "KalturaUploadTokenListResponse"
    assert [token["id"] for token in decoded["objects"]] == [TOKEN.id, NEW_TOKEN.id]
    assert all(token["objectType"] == "KalturaUploadToken" for token in decoded["objects"])


def test_json_empty_list() -> None:
    assert as_json(TokenListed((), 0)).body == (
        b'{"totalCount":0,"objects":[],"objectType":"KalturaUploadTokenListResponse"}'
    )


def test_json_ks_is_a_json_string() -> None:
    assert as_json(KS).body == b'"MmQ0ZTVm+/Tk=="'


def test_json_non_ascii_is_utf8() -> None:
    token = replace(TOKEN, file_name="фильм 🎬.mp4")
    body = as_json(TokenResult(token)).body
    assert "фильм 🎬.mp4".encode() in body
    assert json.loads(body)["fileName"] == "фильм 🎬.mp4"


def test_json_never_fails_on_a_lone_surrogate() -> None:
    refused = Failed(
        api_error(ErrorCode.ACTION_DOES_NOT_EXISTS, ACTION_NAME="a\ud800", SERVICE_NAME="x")
    )
    assert json.loads(as_json(refused).body)["code"] == "ACTION_DOES_NOT_EXISTS"


# --- XML (§12.3) --------------------------------------------------------------------------

ENVELOPE = re.compile(
    rb'<\?xml version="1\.0" encoding="utf-8"\?><xml><result>(.*)</result>'
    rb"<executionTime>[0-9.]+</executionTime></xml>",
    re.DOTALL,
)


@pytest.mark.parametrize("answer", ANSWERS, ids=lambda answer: type(answer).__name__)
def test_xml_envelope(answer: ApiResult) -> None:
    assert ENVELOPE.fullmatch(as_xml(answer).body)


def test_xml_execution_time() -> None:
    assert b"<executionTime>0.250000</executionTime>" in as_xml(NOT_FOUND, 0.25).body


def test_xml_token_object_type_first_then_related_objects_then_properties() -> None:
    result = xml_result(TokenResult(TOKEN))
    assert tags(result) == ["objectType", "relatedObjects", *TOKEN_FIELDS]
    assert text_of(result, "objectType") == "KalturaUploadToken"


def test_xml_token_values() -> None:
    result = xml_result(TokenResult(TOKEN))
    assert text_of(result, "id") == TOKEN.id
    assert text_of(result, "status") == "1"
    assert text_of(result, "fileSize") == "1048576"
    assert text_of(result, "uploadedFileSize") == "524288"
    assert text_of(result, "autoFinalize") == "0"
    assert text_of(result, "createdAt") == "1700000000"


def test_xml_nulls_are_empty_elements() -> None:
    body = as_xml(TokenResult(NEW_TOKEN)).body
    for name in ("relatedObjects", "fileName", "fileSize", "uploadedFileSize"):
        assert f"<{name}></{name}>".encode() in body
    result = xml_result(TokenResult(NEW_TOKEN))
    assert text_of(result, "fileName") is None
    assert text_of(result, "userId") is None  # "" is an empty element too


def test_xml_booleans_are_1_and_0() -> None:
    assert b"<autoFinalize>1</autoFinalize>" in as_xml(TokenResult(NEW_TOKEN)).body
    assert b"<autoFinalize>0</autoFinalize>" in as_xml(TokenResult(TOKEN)).body


def test_xml_error_without_args() -> None:
    body = as_xml(NOT_FOUND).body
    assert (
        b"<result><error><code>UPLOAD_TOKEN_NOT_FOUND</code>"
        b"<message>Upload token not found</message>"
        b"<objectType>KalturaAPIException</objectType><args></args></error></result>"
    ) in body
    xml_result(NOT_FOUND)


def test_xml_error_args_are_items() -> None:
    result = xml_result(BAD_ENUM)
    error = result.find("error")
    assert error is not None
    assert tags(error) == ["code", "message", "objectType", "args"]
    args = error.find("args")
    assert args is not None
    items = [
        (text_of(item, "objectType"), text_of(item, "name"), text_of(item, "value"))
        for item in args.findall("item")
    ]
    assert items == [
        ("KalturaApiExceptionArg", "ENUM_VAL", "maybe"),
        ("KalturaApiExceptionArg", "PARAM_NAME", "autoFinalize"),
        ("KalturaApiExceptionArg", "ENUM_TYPE", "KalturaNullableBoolean"),
    ]
    assert tags(args.findall("item")[0]) == ["objectType", "name", "value"]
    assert text_of(error, "message") == (
        'Invalid enumeration value "maybe" for parameter "autoFinalize", '
        'expecting enumeration type "KalturaNullableBoolean"'
    )


def test_xml_list() -> None:
    result = xml_result(LISTED)
    assert tags(result) == ["objectType", "relatedObjects", "totalCount", "objects"]
    assert text_of(result, "objectType") == "KalturaUploadTokenListResponse"
    assert text_of(result, "totalCount") == "7"
    objects = result.find("objects")
    assert objects is not None
    assert tags(objects) == ["item", "item"]
    for item, token in zip(objects, (TOKEN, NEW_TOKEN), strict=True):
        assert tags(item) == ["objectType", "relatedObjects", *TOKEN_FIELDS]
        assert text_of(item, "id") == token.id


def test_xml_empty_list() -> None:
    assert b"<totalCount>0</totalCount><objects></objects>" in as_xml(TokenListed((), 0)).body


def test_xml_delete_is_an_empty_result() -> None:
    assert b"<result></result>" in as_xml(Deleted()).body


def test_xml_ks() -> None:
    assert b"<result>MmQ0ZTVm+/Tk==</result>" in as_xml(KS).body


def test_xml_escapes_markup_in_file_names() -> None:
    name = "a<b>&c \"d\" 'e'.mp4"
    token = replace(TOKEN, file_name=name)
    body = as_xml(TokenResult(token)).body
    assert b"<fileName>a&lt;b&gt;&amp;c" in body
    assert text_of(xml_result(TokenResult(token)), "fileName") == name
    assert etree.fromstring(body).findtext("result/fileName") == name


def test_xml_escapes_markup_in_error_messages_and_args() -> None:
    refused = Failed(
        api_error(ErrorCode.ACTION_DOES_NOT_EXISTS, ACTION_NAME="</error>&", SERVICE_NAME="x")
    )
    result = xml_result(refused)
    assert result.findtext("error/message") == 'Action "</error>&" does not exists for service "x"'
    assert result.findtext("error/args/item/value") == "</error>&"


def test_xml_drops_characters_xml_cannot_carry() -> None:
    """[I] e.g. an unknown action name with a control character, echoed in the message."""
    refused = Failed(
        api_error(
            ErrorCode.ACTION_DOES_NOT_EXISTS, ACTION_NAME="a\x01b\ud800\ufffe", SERVICE_NAME="x"
        )
    )
    result = xml_result(refused)
    assert result.findtext("error/args/item/value") == "ab"


def test_xml_non_ascii_is_utf8() -> None:
    token = replace(TOKEN, file_name="фильм 🎬.mp4")
    assert "<fileName>фильм 🎬.mp4</fileName>".encode() in as_xml(TokenResult(token)).body
