"""Answers as Kaltura's serializers write them (§12).

* HTTP 200 for every API answer, errors included (§12.1).
* JSON (`format=1`): object properties in declaration order, null properties left out,
  `objectType` last; sizes as JSON strings (§1.3); errors as a 4-key object with `args`
  `[]` when empty; delete answers the literal `null`.
* XML (default): `<xml><result>…</result><executionTime>…</executionTime></xml>`,
  `objectType` first then every property (nulls as empty elements unless `ignoreNull=1`,
  KalturaXmlSerializer.php:170), booleans as 1/0.
* PHP (`format=3`): `serialize()` (`phpserial`), PHP's default content type.
* JSONP (`format=9`): `callback(` JSON `);` as `application/javascript`
  (KalturaJsonProcSerializer.php:23-36).
* A multirequest (`encode_multi`): each item serialized alone, then wrapped per format —
  JSON `[a,b]`, XML `<item>a</item><item>b</item>` inside `<result>`, PHP `a:N:{i:0;…}`
  (KalturaFrontController.php:693-709 and each serializer's item header and footer).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from xml.sax.saxutils import escape as _escape_markup

from conformance.model import (
    ApiError,
    Deleted,
    Failed,
    TokenListed,
    TokenResult,
    TokenView,
)
from conformance.wire.formats import (
    FORMAT_JSON,
    FORMAT_JSONP,
    FORMAT_PHP,
    ResponseFormat,
)
from conformance.wire.php import php_string
from conformance.wire.phpserial import php_serialize
from conformance.wire.profile import ResponseProfile

__all__ = ["ApiResult", "EncodedAnswer", "encode_answer", "encode_multi", "token_fields"]

# What one API call returns, before a serializer writes it into an HTTP answer (Kaltura's
# `<result>`): a model outcome, or the KS that `session.start` returns.
ApiResult = TokenResult | TokenListed | Deleted | Failed | str

_JSON = "application/json"
# What XML 1.0 cannot carry at all (`kXml::stripXMLInvalidChars`): dropped from XML answers.
_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_XML = "text/xml"
_JAVASCRIPT = "application/javascript"
_PHP_DEFAULT = "text/html; charset=UTF-8"  # PHP's default_mimetype: the serializer sets none
_XML_HEAD = '<?xml version="1.0" encoding="utf-8"?><xml><result>'
_API_EXCEPTION = "KalturaAPIException"


@dataclass(frozen=True)
class EncodedAnswer:
    """An HTTP answer: status, content type and body."""

    status: int
    content_type: str
    body: bytes


def token_fields(
    token: TokenView, profile: ResponseProfile | None = None
) -> list[tuple[str, object]]:
    """`KalturaUploadToken`'s properties in declaration order (§1.3); None is null, and so
    is every property the call's `responseProfile` hides (`profile`)."""
    fields = _all_token_fields(token)
    if profile is None:
        return fields
    return [(name, None if profile.hides(name) else value) for name, value in fields]


def _all_token_fields(token: TokenView) -> list[tuple[str, object]]:
    return [
        ("id", token.id),
        ("partnerId", token.partner_id),
        ("userId", token.user_id),
        ("status", int(token.status)),
        ("fileName", token.file_name),
        ("fileSize", _size(token.file_size)),
        ("uploadedFileSize", _size(token.uploaded_file_size)),
        ("createdAt", token.created_at),
        ("updatedAt", token.updated_at),
        ("uploadUrl", token.upload_url),
        ("autoFinalize", token.auto_finalize),
        ("attachedObjectType", token.attached_object_type),
        ("attachedObjectId", token.attached_object_id),
    ]


def _size(value: float | None) -> str | None:
    """BIGINT columns are PHP strings, so JSON shows `"1048576"` (§1.3)."""
    return None if value is None else php_string(value)


def encode_answer(
    answer: ApiResult, fmt: int | ResponseFormat, execution_time: float = 0.0
) -> EncodedAnswer:
    """One call's answer, whole, in the format asked for."""
    response = fmt if isinstance(fmt, ResponseFormat) else ResponseFormat(fmt)
    return _envelope(_item(answer, response, response.profile), response, execution_time)


def encode_multi(
    answers: list[ApiResult], fmt: int | ResponseFormat, execution_time: float = 0.0
) -> EncodedAnswer:
    """A multirequest's answers, each serialized alone, in one envelope."""
    response = fmt if isinstance(fmt, ResponseFormat) else ResponseFormat(fmt)
    profiles = response.item_profiles
    items = [
        _item(answer, response, profiles[i] if i < len(profiles) else None)
        for i, answer in enumerate(answers)
    ]
    if response.kind in (FORMAT_JSON, FORMAT_JSONP):
        body = "[" + ",".join(items) + "]"
    elif response.kind == FORMAT_PHP:
        body = f"a:{len(items)}:{{" + "".join(f"i:{i};{item}" for i, item in enumerate(items))
        body += "}"
    else:
        body = "".join(f"<item>{item}</item>" for item in items)
    return _envelope(body, response, execution_time)


def _item(answer: ApiResult, response: ResponseFormat, profile: ResponseProfile | None) -> str:
    if response.kind in (FORMAT_JSON, FORMAT_JSONP):
        return _JSON_ENCODER.encode(_json_value(answer, profile))
    if response.kind == FORMAT_PHP:
        return php_serialize(answer, profile)
    return _xml_value(answer, response.ignore_null, profile)


def _envelope(body: str, response: ResponseFormat, execution_time: float) -> EncodedAnswer:
    # A lone surrogate cannot be UTF-8: written as "?" rather than failing the answer [I].
    if response.kind == FORMAT_JSON:
        return EncodedAnswer(200, _JSON, body.encode("utf-8", errors="replace"))
    if response.kind == FORMAT_JSONP:
        text = f"{response.callback}({body});"
        return EncodedAnswer(200, _JAVASCRIPT, text.encode("utf-8", errors="replace"))
    if response.kind == FORMAT_PHP:
        return EncodedAnswer(200, _PHP_DEFAULT, body.encode("utf-8", errors="replace"))
    document = (
        f"{_XML_HEAD}{body}</result><executionTime>{execution_time:.6f}</executionTime></xml>"
    )
    return EncodedAnswer(200, _XML, document.encode("utf-8"))


# One encoder for every answer: `json.dumps` with options builds a new one each call.
_JSON_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _text(text: str) -> str:
    """XML text: `&`, `<`, `>` escaped, characters XML forbids dropped [I] (the request
    side refuses them in string arguments, INVALID_PARAMETER_CHAR, §3.4; echoes such as
    an unknown action's name would otherwise make the document unreadable)."""
    return _escape_markup(_XML_INVALID.sub("", text))


# --- JSON ---------------------------------------------------------------------------------


def _json_value(answer: ApiResult, profile: ResponseProfile | None = None) -> object:
    if isinstance(answer, str):
        return answer
    if isinstance(answer, Failed):
        return _json_error(answer.error)
    if isinstance(answer, Deleted):
        return None
    if isinstance(answer, TokenListed):
        return {
            "totalCount": answer.total_count,
            "objects": [_json_token(token, profile) for token in answer.objects],
            "objectType": "KalturaUploadTokenListResponse",
        }
    return _json_token(answer.token, profile)


def _json_token(token: TokenView, profile: ResponseProfile | None) -> dict[str, object]:
    fields = {name: value for name, value in token_fields(token, profile) if value is not None}
    fields["objectType"] = "KalturaUploadToken"
    return fields


def _json_error(error: ApiError) -> dict[str, object]:
    return {
        "code": error.code,
        "message": error.message,
        "objectType": _API_EXCEPTION,
        "args": dict(error.args) if error.args else [],
    }


# --- XML ----------------------------------------------------------------------------------


def _xml_value(
    answer: ApiResult, ignore_null: bool = False, profile: ResponseProfile | None = None
) -> str:
    if isinstance(answer, str):
        return _text(answer)
    if isinstance(answer, Failed):
        return _xml_error(answer.error)
    if isinstance(answer, Deleted):
        return ""
    if isinstance(answer, TokenListed):
        items = "".join(
            f"<item>{_xml_token(token, ignore_null, profile)}</item>" for token in answer.objects
        )
        related = "" if ignore_null else "<relatedObjects></relatedObjects>"
        return (
            f"<objectType>KalturaUploadTokenListResponse</objectType>{related}"
            f"<totalCount>{answer.total_count}</totalCount><objects>{items}</objects>"
        )
    return _xml_token(answer.token, ignore_null, profile)


def _xml_token(token: TokenView, ignore_null: bool, profile: ResponseProfile | None) -> str:
    # The inherited `relatedObjects` comes first, before `id` (§12.3).
    fields: Iterable[tuple[str, object]] = [
        ("relatedObjects", None),
        *token_fields(token, profile),
    ]
    inner = "".join(
        _xml_element(name, value) for name, value in fields if not (ignore_null and value is None)
    )
    return f"<objectType>KalturaUploadToken</objectType>{inner}"


def _xml_element(name: str, value: object) -> str:
    if value is None:
        return f"<{name}></{name}>"
    if isinstance(value, bool):
        value = 1 if value else 0
    return f"<{name}>{_text(str(value))}</{name}>"


def _xml_error(error: ApiError) -> str:
    args = "".join(
        "<item><objectType>KalturaApiExceptionArg</objectType>"
        f"<name>{_text(name)}</name><value>{_text(value)}</value></item>"
        for name, value in error.args
    )
    return (
        f"<error><code>{_text(error.code)}</code><message>{_text(error.message)}</message>"
        f"<objectType>{_API_EXCEPTION}</objectType><args>{args}</args></error>"
    )
