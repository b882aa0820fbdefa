"""From a decoded API call to a model event, with Kaltura's argument rules (§3.3–§3.5).

Arguments are built in declaration order and can fail here, before the model checks the
KS (§3.5 step 3 before step 4): a missing `uploadTokenId`, a `fileData` that is absent or
not an uploaded file, an enum value that is not in its enum.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conformance.model import (
    READONLY_FIELDS,
    AddToken,
    Caller,
    DeleteToken,
    ErrorCode,
    Event,
    Failed,
    FilePart,
    GetToken,
    ListTokens,
    NotAFile,
    Pager,
    TokenFilter,
    Upload,
    failed,
)
from conformance.model.listing import validate_filter
from conformance.wire.php import (
    ascii_lower,
    is_numeric,
    php_bool,
    php_float,
    php_int,
    php_string,
    truthy,
    xml_valid,
)
from conformance.wire.profile import check_profile
from conformance.wire.request import ApiCall
from conformance.wire.types import UploadedPart

__all__ = [
    "SERVICES",
    "StartSession",
    "build_event",
    "build_start_session",
    "check_route",
    "upload_flags",
]

# What the suite serves: every other service or action is a well-formed Kaltura error.
SERVICES: Mapping[str, frozenset[str]] = {
    "session": frozenset({"start"}),
    "uploadtoken": frozenset({"add", "get", "list", "delete", "upload"}),
}
_NULLABLE_BOOLEAN_WORDS = {"true": 1, "false": 0}
_FILTER_STRINGS = ("idEqual", "idIn", "userIdEqual", "statusIn", "fileNameEqual", "orderBy")
_DEFAULT_EXPIRY = 86_400
_SESSION_TYPES = frozenset({0, 2})  # KalturaSessionType: USER, ADMIN

UploadFlags = tuple[bool, bool, float]  # resume, finalChunk, resumeAt


@dataclass(frozen=True)
class StartSession:
    """`session.start(secret, userId, type, partnerId, expiry, privileges)`."""

    secret: str
    user_id: str
    type: int
    partner_id: int | None
    expiry: int
    privileges: str


def check_route(call: ApiCall) -> Failed | None:
    """§3.1 / §3.5 step 1: the service and the action must exist. A missing action is an
    unknown action named "" (`KalturaDispatcher::dispatch` looks up the empty name)."""
    if call.service is None:
        return failed(ErrorCode.SERVICE_NOT_SPECIFIED)
    actions = SERVICES.get(call.service)
    if actions is None:
        return failed(ErrorCode.SERVICE_DOES_NOT_EXISTS, SRV_NAME=call.service)
    if call.action is None or call.action not in actions:
        return failed(
            ErrorCode.ACTION_DOES_NOT_EXISTS,
            ACTION_NAME=call.action or "",
            SERVICE_NAME=call.service,
        )
    return None


def build_start_session(call: ApiCall) -> StartSession | Failed:
    """`startAction($secret, $userId = "", $type = 0, $partnerId = null, $expiry = 86400,
    $privileges = null)` (SessionService.php:40): arguments in that order, `type` checked
    against `KalturaSessionType` (0 USER, 2 ADMIN). The expiry is capped at the partner's
    `ks_max_expiry_in_seconds`, one day by default (Partner.php:150-164,
    kSessionUtils.class.php:106-109); 0 or less gives a KS that has expired already."""
    if not call.present("secret"):
        return failed(ErrorCode.MISSING_MANDATORY_PARAMETER, PARAM_NAME="secret")
    strings = {name: php_string(call.param(name)) for name in ("secret", "userId")}
    for name, text in strings.items():
        if not xml_valid(text):
            return failed(ErrorCode.INVALID_PARAMETER_CHAR, XML_FIELD=name)
    session_type = _session_type(call.param("type"))
    if isinstance(session_type, Failed):
        return session_type
    partner = call.param("partnerId")
    expiry = call.param("expiry")
    privileges = php_string(call.param("privileges"))
    if not xml_valid(privileges):
        return failed(ErrorCode.INVALID_PARAMETER_CHAR, XML_FIELD="privileges")
    refused = check_profile(call.params)  # after the arguments (KalturaDispatcher.php:100)
    if refused is not None:
        return refused
    return StartSession(
        secret=strings["secret"],
        user_id=strings["userId"],
        type=session_type,
        partner_id=php_int(partner) if partner is not None else None,
        expiry=min(php_int(expiry) if expiry is not None else _DEFAULT_EXPIRY, _DEFAULT_EXPIRY),
        privileges=privileges,
    )


def _session_type(value: object) -> int | Failed:
    if value is None:
        return 0
    number = _enum_int(value, "type", "KalturaSessionType")
    if isinstance(number, Failed) or number in _SESSION_TYPES:
        return number
    return failed(
        ErrorCode.INVALID_ENUM_VALUE,
        ENUM_VAL=php_string(value),
        PARAM_NAME="type",
        ENUM_TYPE="KalturaSessionType",
    )


def build_event(
    call: ApiCall, caller: Caller | None, now: float, flags: UploadFlags | None = None
) -> Event | Failed:
    """The model event for an uploadToken action (the route was checked already), or the
    first refusal of its arguments, then of its `responseProfile` (KalturaDispatcher.php:
    96-100). The model's own argument errors (a missing id or file) come before the
    profile's, so an event that will meet them is returned as it is.

    `flags`: `upload_flags(call)`, when the caller has cast them already."""
    event = _event(call, caller, now, flags)
    if isinstance(event, Failed) or _arguments_refused_by_model(event):
        return event
    refused = check_profile(call.params)
    return event if refused is None else refused


def _arguments_refused_by_model(event: Event) -> bool:
    """MISSING_MANDATORY_PARAMETER, UPLOAD_ERROR and a `statusEqual` outside its enum are
    argument errors the model answers (KalturaRequestDeserializer.php:195, :292-299, :370)."""
    if isinstance(event, ListTokens):
        return validate_filter(event.filter) is not None
    if isinstance(event, (GetToken, DeleteToken)):
        return event.token_id is None
    if isinstance(event, Upload):
        return event.token_id is None or not isinstance(event.file, FilePart)
    return False


def _event(
    call: ApiCall, caller: Caller | None, now: float, flags: UploadFlags | None
) -> Event | Failed:
    action = call.action
    if action == "upload":
        return _upload(call, caller, now, flags or upload_flags(call))
    if action == "add":
        return _add(call, caller, now)
    if action == "list":
        return _list(call, caller, now)
    token_id = _token_id(call)
    if isinstance(token_id, Failed):
        return token_id
    if action == "get":
        return GetToken(caller, now, token_id)
    return DeleteToken(caller, now, token_id)


def _token_id(call: ApiCall) -> str | Failed | None:
    """The first argument of get, delete and upload: absent → None (the model answers
    MISSING_MANDATORY_PARAMETER); present, even as a JSON null → a string (§3.4)."""
    if not call.present("uploadTokenId"):
        return None
    text = php_string(call.param("uploadTokenId"))
    if not xml_valid(text):
        return failed(ErrorCode.INVALID_PARAMETER_CHAR, XML_FIELD="uploadTokenId")
    return text


def upload_flags(call: ApiCall) -> UploadFlags:
    """`resume`, `finalChunk`, `resumeAt` as the server reads them, with its defaults
    false, **true**, -1 when absent (§3.4). Arguments are looked up with
    `array_key_exists`, so a JSON null is present and cast: false, false, 0."""
    return (
        php_bool(call.param("resume")) if call.present("resume") else False,
        php_bool(call.param("finalChunk")) if call.present("finalChunk") else True,
        php_float(call.param("resumeAt")) if call.present("resumeAt") else -1.0,
    )


def _upload(
    call: ApiCall, caller: Caller | None, now: float, flags: UploadFlags
) -> Upload | Failed:
    token_id = _token_id(call)  # the first argument: its INVALID_PARAMETER_CHAR comes first
    if isinstance(token_id, Failed):
        return token_id
    resume, final_chunk, resume_at = flags
    file_argument = _file_argument(call)
    return Upload(caller, now, token_id, file_argument, resume, final_chunk, resume_at)


def _file_argument(call: ApiCall) -> FilePart | NotAFile | None:
    """§3.3: absent → None (MISSING_MANDATORY_PARAMETER); a real file part → FilePart; a
    text value, a JSON null, or a part without a file name → NotAFile (UPLOAD_ERROR)."""
    if not call.present("fileData"):
        return None
    value = call.param("fileData")
    if isinstance(value, UploadedPart) and value.filename:
        return FilePart(value.blob, value.filename)
    if isinstance(value, UploadedPart):
        return NotAFile("a part with an empty file name (UPLOAD_ERR_NO_FILE)")
    return NotAFile("a plain form value, not an uploaded file")


def _add(call: ApiCall, caller: Caller | None, now: float) -> AddToken | Failed:
    token = call.object_param("uploadToken")
    file_name = _optional_string(token, "fileName")
    if isinstance(file_name, Failed):
        return file_name
    auto = _nullable_boolean(token.get("autoFinalize"))
    if isinstance(auto, Failed):
        return auto
    size = token.get("fileSize")
    return AddToken(
        caller,
        now,
        file_name=file_name,
        file_size=php_float(size) if size is not None else None,
        auto_finalize=auto,
        readonly_fields=tuple(name for name in READONLY_FIELDS if token.get(name) is not None),
    )


def _nullable_boolean(value: object) -> int | Failed | None:
    """KalturaNullableBoolean: -1, 0, 1, or the words "true" and "false" (§11.1)."""
    if value is None:
        return None
    word = _NULLABLE_BOOLEAN_WORDS.get(ascii_lower(php_string(value)))
    if word is not None:
        return word
    return _enum_int(value, "autoFinalize", "KalturaNullableBoolean")


def _enum_int(value: object, param: str, enum_type: str) -> int | Failed:
    """An int enum value as `in_array($value, $constants)` accepts it [I: PHP 8 loose
    comparison]: an integral number or numeric string ("1", " 1", "1.0"); anything else is
    not in the enum. The model checks the range."""
    numeric = isinstance(value, (int, float)) or (isinstance(value, str) and is_numeric(value))
    number = php_float(value)
    if numeric and number.is_integer():
        return int(number)
    return failed(
        ErrorCode.INVALID_ENUM_VALUE,
        ENUM_VAL=php_string(value),
        PARAM_NAME=param,
        ENUM_TYPE=enum_type,
    )


def _list(call: ApiCall, caller: Caller | None, now: float) -> ListTokens | Failed:
    raw = call.object_param("filter")
    strings: dict[str, str | None] = {}
    for name in _FILTER_STRINGS:
        text = _optional_string(raw, name)
        if isinstance(text, Failed):
            return text
        strings[name] = text
    status = _status_equal(raw.get("statusEqual"))
    if isinstance(status, Failed):
        return status
    token_filter = TokenFilter(
        id_equal=strings["idEqual"],
        id_in=strings["idIn"],
        user_id_equal=strings["userIdEqual"],
        status_equal=status,
        status_in=strings["statusIn"],
        file_name_equal=strings["fileNameEqual"],
        file_size_equal=php_float(raw["fileSizeEqual"]) if _present(raw, "fileSizeEqual") else None,
        order_by=strings["orderBy"],
    )
    return ListTokens(caller, now, token_filter, _pager(call.object_param("pager")))


def _present(raw: Mapping[str, Any], name: str) -> bool:
    """Inside an object a null property counts as not set [I]."""
    return raw.get(name) is not None


def _optional_string(raw: Mapping[str, Any], name: str) -> str | Failed | None:
    """A string property; a character XML forbids is INVALID_PARAMETER_CHAR (§3.4)."""
    if not _present(raw, name):
        return None
    text = php_string(raw[name])
    if not xml_valid(text):
        return failed(ErrorCode.INVALID_PARAMETER_CHAR, XML_FIELD=name)
    return text


def _status_equal(value: object) -> int | Failed | None:
    """`statusEqual` is an int enum (§11.3); the model checks the range. An enum property
    of an object also takes the words "true" and "false" as 1 and 0
    (KalturaRequestDeserializer.php:365-368)."""
    if value is None:
        return None
    word = _NULLABLE_BOOLEAN_WORDS.get(ascii_lower(value)) if isinstance(value, str) else None
    if word is not None:
        return word
    return _enum_int(value, "statusEqual", "KalturaUploadTokenStatus")


def _pager(raw: Mapping[str, Any]) -> Pager:
    size, index = raw.get("pageSize"), raw.get("pageIndex")
    return Pager(
        page_size=php_int(size) if size is not None else None,
        page_index=php_int(index) if index is not None and truthy(index) else None,
    )
