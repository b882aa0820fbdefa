"""`responseProfile`: the fields filter on answered tokens (KalturaObject.php:320-327) and
what `buildObject` refuses in the profile (KalturaRequestDeserializer.php:301-446)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conformance.model import (
    Caller,
    ErrorCode,
    Failed,
    GetToken,
    ListTokens,
    TokenListed,
    TokenResult,
    TokenStatus,
    TokenView,
    api_error,
)
from conformance.wire import (
    ApiCall,
    ParsedBody,
    ResponseFormat,
    build_event,
    build_start_session,
    encode_answer,
)
from conformance.wire.encode import encode_multi
from conformance.wire.multirequest import split_multirequest
from conformance.wire.request import decode_call

JSON_TYPE = "application/json"
GET = "/api_v3/service/uploadtoken/action/get"
LIST = "/api_v3/service/uploadtoken/action/list"
UPLOAD = "/api_v3/service/uploadtoken/action/upload"
START = "/api_v3/service/session/action/start"
MULTI = "/api_v3/service/multirequest"
ADMIN = Caller(partner_id=101, user_id="admin", is_admin=True)
TOKEN = TokenView(
    id="0_3f2a9c1e5b7d4f608a1b2c3d4e5f6a7b",
    partner_id=101,
    user_id="alice",
    status=TokenStatus.PARTIAL_UPLOAD,
    file_name="movie.mp4",
    file_size=1_048_576.0,
    uploaded_file_size=524_288,
    created_at=1_700_000_000,
    updated_at=1_700_000_100,
    upload_url="https://upload.example.com",
    auto_finalize=False,
)


def call_of(params: dict[str, Any], target: str = GET) -> ApiCall:
    body = ParsedBody(json_text=json.dumps({"format": 1, **params}))
    return decode_call(target, JSON_TYPE, body)


def answered(profile: object, answer: object = None, fmt: int = 1) -> Any:
    call = call_of({"format": fmt, "uploadTokenId": TOKEN.id, "responseProfile": profile})
    encoded = encode_answer(answer or TokenResult(TOKEN), call.response)  # type: ignore[arg-type]
    return json.loads(encoded.body) if fmt == 1 else encoded.body.decode()


# --- the filter ---------------------------------------------------------------------------


def test_include_fields_keeps_the_named_properties_and_the_unmapped_ones() -> None:
    """Type 1 keeps the listed mapped properties (KalturaObject.php:322-323); `uploadUrl`
    is set by `doFromObject`, outside the map (KalturaUploadToken.php:125-131)."""
    token = answered({"type": 1, "fields": "id, status ,nope"})
    assert token == {
        "id": TOKEN.id,
        "status": 1,
        "uploadUrl": "https://upload.example.com",
        "objectType": "KalturaUploadToken",
    }


@pytest.mark.parametrize("kind", [2, None, "2"])
def test_exclude_fields_drops_the_named_properties(kind: object) -> None:
    """Any type but 1, none too, excludes (`else` of KalturaObject.php:322-327)."""
    profile: dict[str, object] = {"fields": "fileName,uploadedFileSize,uploadUrl,unknownField"}
    if kind is not None:
        profile["type"] = kind
    token = answered(profile)
    assert "fileName" not in token
    assert "uploadedFileSize" not in token
    assert token["uploadUrl"] == "https://upload.example.com"  # not mapped: never filtered
    assert token["id"] == TOKEN.id
    assert token["fileSize"] == "1048576"


@pytest.mark.parametrize("fields", ["", "0", None])
def test_fields_false_to_php_filters_nothing(fields: object) -> None:
    """`if ($responseProfile && $responseProfile->fields)` (KalturaObject.php:320)."""
    assert answered({"type": 1, "fields": fields})["fileName"] == "movie.mp4"


def test_xml_writes_a_filtered_property_empty() -> None:
    """A filtered property stays null: XML writes null elements (KalturaXmlSerializer)."""
    text = answered({"type": "1", "fields": "id"}, fmt=2)
    assert f"<id>{TOKEN.id}</id>" in text
    assert "<fileName></fileName>" in text
    assert "<status></status>" in text


def test_php_serialize_writes_a_filtered_property_null() -> None:
    text = answered({"type": 2, "fields": "fileName"}, fmt=3)
    assert 's:8:"fileName";N;' in text


def test_list_filters_each_object_not_the_list_response() -> None:
    """`KalturaUploadTokenArray::fromDbArray($list, $this->getResponseProfile())`
    (UploadTokenService.php:210): the objects; totalCount is set directly (:213)."""
    listed = answered({"type": 1, "fields": "id"}, TokenListed((TOKEN, TOKEN), 7))
    assert listed["totalCount"] == 7
    assert [sorted(o) for o in listed["objects"]] == [["id", "objectType", "uploadUrl"]] * 2
    text = answered({"type": 1, "fields": "totalCount"}, TokenListed((TOKEN,), 7), fmt=2)
    assert "<totalCount>7</totalCount>" in text
    assert "<id></id>" in text


def test_errors_are_not_filtered() -> None:
    error = Failed(api_error(ErrorCode.UPLOAD_TOKEN_NOT_FOUND))
    assert answered({"type": 1, "fields": "code"}, error)["code"] == "UPLOAD_TOKEN_NOT_FOUND"


def test_a_multirequest_filters_each_call_with_its_own_profile() -> None:
    """Each call is dispatched with its own parameters; the common ones give only ks,
    clientTag and partnerId (KalturaFrontController.php:284-297)."""
    params = {
        "responseProfile": {"type": 1, "fields": "id"},  # common: applies to no call
        "1": {"service": "uploadtoken", "action": "get", "uploadTokenId": "x"},
        "2": {
            "service": "uploadtoken",
            "action": "get",
            "uploadTokenId": "x",
            "responseProfile": {"type": 2, "fields": "fileName"},
        },
    }
    call = call_of({"service": "multirequest", **params}, MULTI)
    assert isinstance(call.response, ResponseFormat)
    body = json.loads(encode_multi([TokenResult(TOKEN)] * 2, call.response).body)
    assert body[0]["fileName"] == "movie.mp4"
    assert body[0]["status"] == 1
    assert "fileName" not in body[1]
    assert body[1]["status"] == 1


def test_a_result_reference_reads_the_filtered_result() -> None:
    """`{1:result:fileName}` reads the object call 1 answered (KalturaFrontController.php:
    353-366), whose property the profile left null: ""."""
    calls = {
        "1": {"service": "uploadtoken", "action": "get", "responseProfile": {"fields": "fileName"}},
        "2": {"service": "uploadtoken", "action": "get", "uploadTokenId": "{1:result:fileName}"},
    }
    multi = split_multirequest(calls)
    assert multi.next_params(1) is not None
    multi.record(1, TokenResult(TOKEN))
    assert multi.calls[2]["uploadTokenId"] == ""


# --- what buildObject refuses -------------------------------------------------------------


def refused(profile: object, target: str = GET, **params: Any) -> Failed:
    call = call_of({"uploadTokenId": "0_x", "responseProfile": profile, **params}, target)
    outcome = build_event(call, ADMIN, 0.0)
    assert isinstance(outcome, Failed), outcome
    return outcome


@pytest.mark.parametrize("profile", ["abc", 1, ["x"], True])
def test_a_profile_that_is_not_an_object_is_wrong_format(profile: object) -> None:
    """KalturaRequestDeserializer.php:303-304, KalturaErrors.php:86."""
    error = refused(profile).error
    assert error.code == "PROPERTY_VALIDATION_WRONG_FORMAT"
    assert error.args_dict == {"PROP_NAME": "responseProfile", "FORMAT": "array"}
    assert error.message == 'The property "responseProfile" must match format array'


@pytest.mark.parametrize(
    ("kind", "shown"), [(3, "3"), ("0", "0"), ("false", "0"), ("1.5", "1.5"), ("x", "x")]
)
def test_an_unknown_type_is_an_invalid_enum_value(kind: object, shown: str) -> None:
    """KalturaRequestDeserializer.php:365-371: the words first, then `in_array`."""
    error = refused({"type": kind, "fields": "id"}).error
    assert error.code == ErrorCode.INVALID_ENUM_VALUE.name
    assert error.args_dict == {
        "ENUM_VAL": shown,
        "PARAM_NAME": "type",
        "ENUM_TYPE": "KalturaResponseProfileType",
    }


@pytest.mark.parametrize("name", ["fields", "name"])
def test_a_string_xml_cannot_carry_is_an_invalid_char(name: str) -> None:
    """KalturaRequestDeserializer.php:355-357."""
    error = refused({name: "id\x01"}).error
    assert (error.code, error.args_dict) == ("INVALID_PARAMETER_CHAR", {"XML_FIELD": name})


def test_the_first_bad_property_in_the_order_sent_is_refused() -> None:
    """`foreach($params as $name => $value)` (:327)."""
    assert refused({"fields": "\x01", "type": 9}).code == "INVALID_PARAMETER_CHAR"
    assert refused({"type": 9, "fields": "\x01"}).code == "INVALID_ENUM_VALUE"


def test_a_related_filter_without_a_concrete_type_is_abstract() -> None:
    """KalturaRelatedFilter is abstract (KalturaRelatedFilter.php:6, :320-321)."""
    error = refused({"filter": {"idEqual": "1"}}).error
    assert error.code == "OBJECT_TYPE_ABSTRACT"
    assert error.args_dict == {"OBJ_TYPE": "KalturaRelatedFilter"}
    ok = call_of({"uploadTokenId": "0_x", "responseProfile": {"filter": {"objectType": "K"}}})
    assert isinstance(build_event(ok, ADMIN, 0.0), GetToken)


@pytest.mark.parametrize("name", ["relatedProfiles", "mappings"])
def test_array_items_must_be_objects(name: str) -> None:
    """Array properties build each item (:395-421), nested names joined with ":"."""
    error = refused({name: ["x"]}).error
    assert error.code == "PROPERTY_VALIDATION_WRONG_FORMAT"
    assert error.args_dict["PROP_NAME"] == f"responseProfile:{name}"
    nested = refused({"relatedProfiles": [{"type": 7}]})
    assert nested.code == "INVALID_ENUM_VALUE"


def test_unknown_properties_and_a_scalar_array_property_are_skipped() -> None:
    """Unknown names are skipped (:336-339); a non-array array property too (:395)."""
    profile = {"id": 5, "systemName": "x", "relatedProfiles": "x", "pager": {"pageSize": "a"}}
    call = call_of({"uploadTokenId": "0_x", "responseProfile": profile})
    assert isinstance(build_event(call, ADMIN, 0.0), GetToken)


def test_the_arguments_come_before_the_profile() -> None:
    """Arguments at KalturaDispatcher.php:96, the profile at :100: a missing id or file is
    the model's error, not the profile's."""
    for target in (GET, UPLOAD):
        call = call_of({"responseProfile": "abc"}, target)
        assert not isinstance(build_event(call, ADMIN, 0.0), Failed)
    bad_list = call_of({"filter": {"statusEqual": 9}, "responseProfile": "abc"}, LIST)
    assert isinstance(build_event(bad_list, ADMIN, 0.0), ListTokens)  # the model refuses it
    good_list = call_of({"filter": {"statusEqual": 2}, "responseProfile": "abc"}, LIST)
    assert isinstance(build_event(good_list, ADMIN, 0.0), Failed)


def test_session_start_checks_the_profile_after_its_arguments() -> None:
    """The dispatcher reads the profile for every action (KalturaDispatcher.php:100)."""
    missing = build_start_session(call_of({"responseProfile": "abc"}, START))
    assert isinstance(missing, Failed)
    assert missing.code == "MISSING_MANDATORY_PARAMETER"
    bad = build_start_session(call_of({"secret": "s", "responseProfile": "abc"}, START))
    assert isinstance(bad, Failed)
    assert bad.code == "PROPERTY_VALIDATION_WRONG_FORMAT"
