"""Kaltura's front door on every transport: KS v1/v2, the order of errors (§3.5 as the
source has it), session.start's arguments, formats, CORS and multirequest.

Each test names the line of kaltura/server it follows; without that behaviour it fails.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import pytest

from conformance.ks import ADMIN, USER, Session, issue_ks, parse_ks

if TYPE_CHECKING:
    from conftest import Transport

    from conformance.endpoints import KalturaEndpoint, Partner

UPLOAD = "/api_v3/service/uploadtoken/action/upload"
ADD = "/api_v3/service/uploadtoken/action/add"


def _error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert isinstance(body, dict), body
    assert body.get("objectType") == "KalturaAPIException", body
    return body


def _ks(partner: Partner, *, version: int = 1, expiry: int = 3600, type_: int = ADMIN) -> str:
    session = Session(partner.partner_id, "u", type_, int(time.time()) + expiry, "", version)
    return issue_ks(session, partner.admin_secret, 9)


# --- KS --------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [1, 2])
def test_a_v1_or_v2_ks_opens_a_session(
    transport: Transport, partner: Partner, version: int
) -> None:
    ks = _ks(partner, version=version)
    token = transport.api("uploadtoken", "add", ks=ks, **{"uploadToken:fileName": "a"})
    assert token["objectType"] == "KalturaUploadToken"
    assert token["partnerId"] == partner.partner_id


def test_a_v2_partner_gets_a_v2_ks_from_session_start(
    transport: Transport, endpoint: KalturaEndpoint
) -> None:
    """`toSecureString` writes the partner's `ks_version` (kSessionUtils.class.php:344-363)."""
    partner = endpoint.add_partner(ks_version=2)
    ks = transport.api(
        "session", "start", secret=partner.admin_secret, partnerId=partner.partner_id, type=2
    )
    secrets = {partner.partner_id: partner.admin_secret}
    assert parse_ks(ks, secrets, time.time()).version == 2


@pytest.mark.parametrize("kind", ["forged", "unknown-partner", "garbage"])
def test_an_uncrackable_ks_is_invalid_ks_before_the_arguments(
    transport: Transport, partner: Partner, kind: str
) -> None:
    """INVALID_KS with (KS, -1, INVALID_STR) at `initKsPartnerUser`, before the arguments
    are built (kCurrentContext.class.php:233-237, KalturaFrontController.php:499-500): an
    upload without its uploadTokenId still gets INVALID_KS."""
    session = Session(partner.partner_id, "", ADMIN, int(time.time()) + 60)
    ks = {
        "forged": issue_ks(session, "not-the-secret", 1),
        "unknown-partner": issue_ks(Session(999_999, "", ADMIN, 2**40), "s", 1),
        "garbage": "bm90IGEga3M",
    }[kind]
    response = transport.client.post(UPLOAD, data={"ks": ks, "format": "1"})
    error = _error(response)
    assert error["code"] == "INVALID_KS"
    assert error["args"] == {"KSID": ks, "ERR_CODE": "-1", "ERR_DESC": "INVALID_STR"}


def test_an_expired_ks_comes_after_the_arguments(transport: Transport, partner: Partner) -> None:
    """Expiry is checked by `kPermissionManager::init` after the arguments
    (KalturaDispatcher.php:96-108), and the reason takes the KS's place in the args
    (kPermissionManager.php:897)."""
    expired = _ks(partner, expiry=-5)
    missing = _error(transport.client.post(UPLOAD, data={"ks": expired, "format": "1"}))
    assert missing["code"] == "MISSING_MANDATORY_PARAMETER"
    form = {"ks": expired, "format": "1", "uploadTokenId": "0_x"}
    error = _error(transport.client.post(UPLOAD, data=form, files={"fileData": ("c", b"x")}))
    assert error["code"] == "INVALID_KS"
    assert error["args"] == {"KSID": "EXPIRED", "ERR_CODE": "-1", "ERR_DESC": "INVALID_STR"}


def test_no_ks_is_service_forbidden_with_its_header(transport: Transport) -> None:
    """Partner 0's no-session role may not call uploadToken (KalturaBaseService.php:159-165)."""
    response = transport.client.post(ADD, data={"format": "1"})
    error = _error(response)
    assert error["code"] == "SERVICE_FORBIDDEN"
    assert error["args"] == {"SERVICE": "uploadtoken->add"}
    assert response.headers["X-Kaltura"] == "error-SERVICE_FORBIDDEN"
    assert response.headers["X-Kaltura-App"].startswith("exiting on error SERVICE_FORBIDDEN - ")


def test_no_ks_still_checks_the_arguments_first(transport: Transport) -> None:
    response = transport.client.post(UPLOAD, data={"format": "1"})
    assert _error(response)["code"] == "MISSING_MANDATORY_PARAMETER"
    assert "X-Kaltura" not in response.headers


def test_a_ks_only_in_a_header_is_not_read(transport: Transport, partner: Partner) -> None:
    """api_v3 reads the `ks` parameter only (KalturaDispatcher.php:38)."""
    headers = {"Authorization": f"KS {_ks(partner)}", "X-Kaltura-Ks": _ks(partner)}
    response = transport.client.post(ADD, data={"format": "1"}, headers=headers)
    assert _error(response)["code"] == "SERVICE_FORBIDDEN"


def test_an_unknown_requested_partner_is_content_blocked(
    transport: Transport, partner: Partner
) -> None:
    """`partnerId` names a partner that does not exist (kPermissionManager.php:729-737)."""
    for form in ({}, {"ks": _ks(partner)}):
        response = transport.client.post(ADD, data={"format": "1", "partnerId": "424242", **form})
        assert _error(response)["code"] == "SERVICE_FORBIDDEN_CONTENT_BLOCKED"


def test_another_partner_than_the_ks_is_forbidden(
    transport: Transport, endpoint: KalturaEndpoint, partner: Partner
) -> None:
    """The KS's partner may not act for another (kPermissionManager.php:956-960); partner 0
    means the KS's own (kCurrentContext.class.php:251-252)."""
    other = endpoint.add_partner()
    form = {"format": "1", "ks": _ks(partner), "partnerId": str(other.partner_id)}
    assert _error(transport.client.post(ADD, data=form))["code"] == "SERVICE_FORBIDDEN"
    form["partnerId"] = "0"
    assert transport.client.post(ADD, data=form).json()["objectType"] == "KalturaUploadToken"


def test_an_unknown_service_comes_before_a_bad_ks(transport: Transport) -> None:
    """Service and action lookup is the first check (KalturaDispatcher.php:48-60)."""
    response = transport.client.post(
        "/api_v3/service/media/action/add", data={"format": "1", "ks": "garbage"}
    )
    assert _error(response)["code"] == "SERVICE_DOES_NOT_EXISTS"


# --- session.start -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"type": "1"}, "INVALID_ENUM_VALUE"),
        ({"type": "abc"}, "INVALID_ENUM_VALUE"),
        ({"partnerId": "424242"}, "SERVICE_FORBIDDEN_CONTENT_BLOCKED"),
        ({"partnerId": "424242", "type": "7"}, "INVALID_ENUM_VALUE"),
        ({"partnerId": ""}, "START_SESSION_ERROR"),
    ],
)
def test_session_start_checks_its_arguments_then_the_partner(
    transport: Transport, partner: Partner, extra: dict[str, str], code: str
) -> None:
    """`type` is a `KalturaSessionType` (SessionService.php:30); arguments come before the
    partner check (KalturaDispatcher.php:96-108), which comes before the secret."""
    form = {"format": "1", "secret": partner.admin_secret, **extra}
    response = transport.client.post("/api_v3/service/session/action/start", data=form)
    assert _error(response)["code"] == code


@pytest.mark.parametrize(("expiry", "lasts"), [("60", 60), ("999999", 86_400)])
def test_session_start_expiry_is_capped_at_a_day(
    transport: Transport, partner: Partner, expiry: str, lasts: int
) -> None:
    """Partner.php:150-164, kSessionUtils.class.php:106-109."""
    ks = transport.api(
        "session",
        "start",
        secret=partner.admin_secret,
        partnerId=partner.partner_id,
        type=USER,
        expiry=expiry,
    )
    session = parse_ks(ks, {partner.partner_id: partner.admin_secret}, time.time())
    assert abs(session.expiry - (time.time() + lasts)) < 5


def test_session_start_expiry_0_gives_an_expired_ks(transport: Transport, partner: Partner) -> None:
    ks = transport.api(
        "session", "start", secret=partner.admin_secret, partnerId=partner.partner_id, expiry=0
    )
    form = {"format": "1", "ks": ks, "uploadToken:fileName": "a"}
    assert _error(transport.client.post(ADD, data=form))["args"]["KSID"] == "EXPIRED"


# --- formats and bodies --------------------------------------------------------------------


def test_an_unknown_format_dies_with_headers_only(transport: Transport, ks: str) -> None:
    """kRendererDieError: HTTP 200, empty body (KalturaFrontController.php:101-106,
    kRendererDieError.php:33-36)."""
    response = transport.client.post(ADD, data={"format": "7", "ks": ks})
    assert (response.status_code, response.content) == (200, b"")
    assert response.headers["X-Kaltura"] == "error- UNKNOWN_RESPONSE_FORMAT"


def test_format_3_is_php_serialized(transport: Transport, ks: str) -> None:
    response = transport.client.post("/api_v3/service/uploadtoken/action/get?format=3&ks=" + ks)
    assert response.content.startswith(b'a:4:{s:4:"code";s:27:"MISSING_MANDATORY_PARAMETER";')
    token = transport.client.post(ADD, data={"format": "3", "ks": ks})
    assert token.content.startswith(b'O:18:"KalturaUploadToken":14:{s:14:"relatedObjects";N;')


def test_format_9_is_jsonp(transport: Transport, ks: str) -> None:
    response = transport.client.post(f"{ADD}?format=9&callback=cb&ks={ks}")
    assert response.headers["content-type"] == "application/javascript"
    assert response.text.startswith("cb({")
    assert response.text.endswith("});")


def test_an_indented_json_body_is_read(transport: Transport, ks: str) -> None:
    """infraRequestUtils.class.php:528-537."""
    body = json.dumps({"ks": ks, "format": 1, "uploadToken": {"fileName": "x.mp4"}}, indent=2)
    response = transport.client.post(
        ADD, content=f"\n{body}\n", headers={"Content-Type": "application/json"}
    )
    assert response.json()["fileName"] == "x.mp4"


def test_ignore_null_drops_empty_xml_elements(transport: Transport, ks: str) -> None:
    """KalturaXmlSerializer.php:170."""
    with_nulls = transport.client.post(ADD, data={"ks": ks}).text
    without = transport.client.post(ADD, data={"ks": ks, "ignoreNull": "1"}).text
    assert "<fileName></fileName>" in with_nulls
    assert "<fileName>" not in without
    assert "<id>" in without


# --- CORS ----------------------------------------------------------------------------------


def test_a_preflight_allows_any_origin(transport: Transport) -> None:
    """api_v3/web/index.php:5-12."""
    response = transport.client.options(
        ADD,
        headers={
            "Origin": "http://elsewhere.test",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert (response.status_code, response.content) == (200, b"")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Content-Type" in response.headers["Access-Control-Allow-Headers"]
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Max-Age"] == "86400"


def test_every_api_answer_allows_any_origin(transport: Transport, ks: str) -> None:
    """KalturaResponseCacher.php:152, index.php:3."""
    for form in ({"ks": ks}, {}):
        response = transport.client.post(ADD, data={"format": "1", **form})
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "X-Kaltura" in response.headers["Access-Control-Expose-Headers"]
        assert response.headers["Pragma"] == "no-cache"


# --- multirequest --------------------------------------------------------------------------


MULTI = "/api_v3/service/multirequest"


def test_a_multirequest_in_json(transport: Transport, ks: str) -> None:
    """Numbered calls, common ks, `{1:result:id}`, errors in their slots
    (KalturaFrontController.php:211-378; JSON envelope KalturaJsonSerializer.php:55-71)."""
    form = {
        "format": "1",
        "ks": ks,
        "1:service": "uploadToken",
        "1:action": "add",
        "1:uploadToken:fileName": "m.mp4",
        "2:service": "uploadToken",
        "2:action": "get",
        "2:uploadTokenId": "{1:result:id}",
        "3:service": "uploadToken",
        "3:action": "get",
        "3:uploadTokenId": "nope",
    }
    results = transport.client.post(MULTI, data=form).json()
    assert [r["objectType"] for r in results] == [
        "KalturaUploadToken",
        "KalturaUploadToken",
        "KalturaAPIException",
    ]
    assert results[1]["id"] == results[0]["id"]
    assert results[1]["fileName"] == "m.mp4"
    assert results[2]["code"] == "UPLOAD_TOKEN_NOT_FOUND"
    traced = [e for e in transport.endpoint.trace.exchanges() if e.service == "uploadtoken"]
    assert [e.action for e in traced][-3:] == ["add", "get", "get"]


def test_a_multirequest_in_xml_starting_a_session(transport: Transport, partner: Partner) -> None:
    """`{1:result}` is the KS itself; XML items (KalturaXmlSerializer.php:204-212)."""
    form = {
        "1:service": "session",
        "1:action": "start",
        "1:secret": partner.admin_secret,
        "1:partnerId": str(partner.partner_id),
        "1:type": "2",
        "2:service": "uploadtoken",
        "2:action": "add",
        "2:ks": "{1:result}",
    }
    text = transport.client.post(MULTI, data=form).text
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?><xml><result><item>')
    assert text.count("<item>") == 2
    assert "<objectType>KalturaUploadToken</objectType>" in text


def test_an_upload_inside_a_multirequest(transport: Transport, ks: str) -> None:
    token = transport.api("uploadtoken", "add", ks=ks)["id"]
    form = {
        "format": "1",
        "ks": ks,
        "1:service": "uploadtoken",
        "1:action": "upload",
        "1:uploadTokenId": token,
        "1:resume": "false",
        "1:finalChunk": "true",
        "1:resumeAt": "0",
    }
    response = transport.client.post(MULTI, data=form, files={"1:fileData": ("f", b"abc")})
    (result,) = response.json()
    assert (result["status"], result["uploadedFileSize"]) == (2, "3")


# --- responseProfile -----------------------------------------------------------------------


def test_a_response_profile_filters_add_get_list_and_upload(transport: Transport, ks: str) -> None:
    """`fromObject($db, $this->getResponseProfile())` in add, get, upload and list
    (UploadTokenService.php:45, 64, 130, 210) keeps type 1's fields (KalturaObject.php:
    320-327); the list response's totalCount is not filtered."""
    include = {"responseProfile:type": "1", "responseProfile:fields": "id,status"}
    token = transport.api("uploadtoken", "add", ks=ks, **{"uploadToken:fileName": "p"}, **include)
    assert sorted(token) == ["id", "objectType", "status"]
    got = transport.api("uploadtoken", "get", ks=ks, uploadTokenId=token["id"], **include)
    assert got == token
    listed = transport.api("uploadtoken", "list", ks=ks, **include)
    assert listed["totalCount"] == 1
    assert listed["objects"] == [token]
    exclude = {"responseProfile:type": "2", "responseProfile:fields": "fileName"}
    uploaded = transport.upload(
        ks, token["id"], b"abc", resume=False, final=True, resume_at=0, query=exclude
    )
    assert "fileName" not in uploaded
    assert (uploaded["status"], uploaded["uploadedFileSize"]) == (2, "3")


def test_a_response_profile_in_xml_and_a_multirequest(transport: Transport, ks: str) -> None:
    """Filtered properties are null: empty XML elements; each multirequest call has its own
    profile (KalturaFrontController.php:284-305 copies only ks, clientTag, partnerId)."""
    form = {
        "ks": ks,
        "responseProfile:type": "1",
        "responseProfile:fields": "id",
        "1:service": "uploadtoken",
        "1:action": "add",
        "1:uploadToken:fileName": "x.mp4",
        "2:service": "uploadtoken",
        "2:action": "get",
        "2:uploadTokenId": "{1:result:id}",
        "2:responseProfile:type": "1",
        "2:responseProfile:fields": "id",
    }
    text = transport.client.post(MULTI, data=form).text
    first, second = text.split("</item><item>")
    assert "<fileName>x.mp4</fileName>" in first
    assert "<fileName></fileName>" in second
    assert "<status></status>" in second
    assert "<id>0_" in second


def test_a_malformed_response_profile_after_the_arguments_before_the_refusals(
    transport: Transport, partner: Partner
) -> None:
    """The profile is built after the arguments and before `kPermissionManager::init`
    (KalturaDispatcher.php:96-108); a scalar is PROPERTY_VALIDATION_WRONG_FORMAT
    (KalturaRequestDeserializer.php:303-304)."""
    expired = _ks(partner, expiry=-5)
    missing = _error(transport.client.post(UPLOAD, data={"ks": expired, "format": "1"}))
    assert missing["code"] == "MISSING_MANDATORY_PARAMETER"
    form = {"ks": expired, "format": "1", "responseProfile": "x"}
    error = _error(transport.client.post(ADD, data=form))
    assert error["code"] == "PROPERTY_VALIDATION_WRONG_FORMAT"
    assert error["args"] == {"PROP_NAME": "responseProfile", "FORMAT": "array"}
    enum = {"format": "1", "responseProfile:type": "5"}
    assert _error(transport.client.post(ADD, data=enum))["code"] == "INVALID_ENUM_VALUE"


# --- uploadToken.list: pager and filter ----------------------------------------------------


@pytest.mark.parametrize("size", ["0", "-1", "abc"])
def test_a_page_size_of_0_or_less_lists_everything(
    transport: Transport, ks: str, size: str
) -> None:
    """`(int)` cast, then `max(min(size, 500), 0)`: 0 is no LIMIT (KalturaFilterPager.php:
    22-29, Propel BasePeer.php:1023)."""
    for _ in range(3):
        transport.add_token(ks)
    listed = transport.api("uploadtoken", "list", ks=ks, **{"pager:pageSize": size})
    assert (len(listed["objects"]), listed["totalCount"]) == (3, 3)


def test_list_filters_as_the_source_reads_them(transport: Transport, ks: str) -> None:
    """An empty string filters nothing (filters.class.php:607); `statusIn` items are MySQL
    numbers, "" being 0 (:895-898); `statusEqual=true` is 1 (KalturaRequestDeserializer.php:
    365-368); `orderBy` keeps its known items (KalturaFilter.php:64-74)."""
    first = transport.add_token(ks)
    second = transport.add_token(ks)
    transport.upload(ks, second, b"ab", resume=False, final=False, resume_at=0)

    def ids(**params: str) -> list[str]:
        listed = transport.api("uploadtoken", "list", ks=ks, **params)
        return [token["id"] for token in listed["objects"]]

    assert ids(**{"filter:idEqual": ""}) == [first, second]
    assert ids(**{"filter:statusIn": "1,"}) == [first, second]
    assert ids(**{"filter:statusIn": " 1"}) == [second]
    assert ids(**{"filter:statusEqual": "true"}) == [second]
    assert ids(**{"filter:orderBy": "nope,-createdAt"}) == [second, first]
