"""`responseProfile`: which properties of the answered objects are filled.

* Read for every action, after the arguments and before the permission checks
  (`KalturaDispatcher::dispatch`, KalturaDispatcher.php:96-108), from the `responseProfile`
  parameter group (KalturaRequestDeserializer.php:203-224). A stored profile by `id` or
  `systemName` is looked up first; this suite stores none, so the group is always built as
  a `KalturaDetachedResponseProfile` (:222-223) with `buildObject` (:301-446).
* A value that is not an object is PROPERTY_VALIDATION_WRONG_FORMAT (:303-304); `type` is a
  `KalturaResponseProfileType` enum, 1 INCLUDE_FIELDS or 2 EXCLUDE_FIELDS, and takes
  "true"/"false" as 1/0 (:363-371); `name` and `fields` are strings that XML must carry
  (:351-359); a `filter` is an abstract `KalturaRelatedFilter` unless its `objectType` names
  another class (:320-321); `relatedProfiles` and `mappings` items must be objects.
* Applied when `fields` is true to PHP (KalturaObject.php:320): the comma list, each item
  trimmed (:321), keeps (type 1) or drops (any other type, also none) the properties
  `fromObject` maps (:322-327). Those are KalturaUploadToken.php:106-120; `uploadUrl` is set
  by `doFromObject` (:125-131) and `relatedObjects` is not mapped, so neither is filtered.
  A filtered property is null: JSON leaves it out, XML writes it empty.
* add, get and upload answer one token, list its `objects` (UploadTokenService.php:45, 64,
  130, 210); the list response's own `totalCount` and `objects` are not filtered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conformance.model import ApiError, ErrorCode, Failed, failed
from conformance.wire.php import ascii_lower, is_numeric, php_float, php_string, xml_valid

__all__ = ["FILTERABLE", "PROFILE_PARAM", "ResponseProfile", "check_profile", "read_profile"]

PROFILE_PARAM = "responseProfile"
INCLUDE_FIELDS = 1  # ResponseProfileType.php:8
_TYPES = frozenset({1, 2})
_WORDS = {"true": 1, "false": 0}
_STRINGS = ("name", "fields")
_PHP_TRIM = " \t\n\r\0\x0b"
_ABSTRACT_FILTER = "KalturaRelatedFilter"  # KalturaRelatedFilter.php:6
# KalturaErrors.php:86 and :72: codes the model does not list, built here.
_WRONG_FORMAT = "PROPERTY_VALIDATION_WRONG_FORMAT"
_WRONG_FORMAT_TEXT = 'The property "@PROP_NAME@" must match format @FORMAT@'
_ABSTRACT = "OBJECT_TYPE_ABSTRACT"
_ABSTRACT_TEXT = 'The object type "@OBJ_TYPE@" is abstract, use one of the object implementations'
# `KalturaUploadToken::$map_between_objects` (KalturaUploadToken.php:106-120).
FILTERABLE = frozenset(
    {
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
        "attachedObjectType",
        "attachedObjectId",
    }
)


@dataclass(frozen=True)
class ResponseProfile:
    """A detached profile as it filters: keep (`include`) or drop the named properties."""

    include: bool
    fields: frozenset[str]

    def hides(self, name: str) -> bool:
        if name not in FILTERABLE:
            return False
        return (name not in self.fields) if self.include else (name in self.fields)


def read_profile(params: object) -> ResponseProfile | None:
    """The profile a call's answer is filtered with (None: not filtered). Only for calls
    whose profile `check_profile` accepted; anything else reads as no profile."""
    raw = params.get(PROFILE_PARAM) if isinstance(params, Mapping) else None
    if not isinstance(raw, Mapping) or raw.get("fields") is None:
        return None
    text = php_string(raw["fields"])
    if text in ("", "0"):  # `if ($responseProfile->fields)` (KalturaObject.php:320)
        return None
    kind = _type_number(raw.get("type"))
    fields = frozenset(item.strip(_PHP_TRIM) for item in text.split(","))
    return ResponseProfile(include=kind == INCLUDE_FIELDS, fields=fields)


def check_profile(params: Mapping[str, Any]) -> Failed | None:
    """`buildObject` on the group (KalturaRequestDeserializer.php:301-446): the first
    property, in the order sent, that it refuses."""
    raw = params.get(PROFILE_PARAM)
    if raw is None:  # `isset` (:204)
        return None
    return _check_object(raw, PROFILE_PARAM)


def _check_object(raw: object, name: str) -> Failed | None:
    if not isinstance(raw, Mapping):
        return _wrong_format(name)
    for key, value in raw.items():
        refused = _check_property(str(key), value, name)
        if refused is not None:
            return refused
    return None


def _check_property(key: str, value: object, owner: str) -> Failed | None:
    if value is None:
        return None  # [I] a JSON null: the request decoder drops `__null` markers too
    if key in _STRINGS:
        return None if xml_valid(php_string(value)) else _bad_char(key)
    if key == "type":
        if _type_number(value) in _TYPES:
            return None
        return failed(
            ErrorCode.INVALID_ENUM_VALUE,
            ENUM_VAL=php_string(_with_words(value)),
            PARAM_NAME="type",
            ENUM_TYPE="KalturaResponseProfileType",
        )
    if key == "filter" and isinstance(value, Mapping):
        return _check_filter(value)
    if key in ("relatedProfiles", "mappings"):
        return _check_items(key, value, f"{owner}:{key}")
    return None  # `pager` only casts ints; unknown names are skipped (:336-339)


def _check_filter(value: Mapping[str, Any]) -> Failed | None:
    """Only a concrete class named by `objectType` can be built (:306-321). [I] Which names
    are concrete is not checked: a related filter has nothing to filter on a token."""
    named = value.get("objectType")
    if named is None or ascii_lower(php_string(named)) == ascii_lower(_ABSTRACT_FILTER):
        return Failed(_error(_ABSTRACT, _ABSTRACT_TEXT, OBJ_TYPE=_ABSTRACT_FILTER))
    return None


def _check_items(key: str, value: object, name: str) -> Failed | None:
    """An array property of objects: skipped unless an array; items in key order (`ksort`,
    :411) up to a `-` key; each must be an object."""
    if isinstance(value, list):
        items: list[tuple[str, object]] = [(str(i), item) for i, item in enumerate(value)]
    elif isinstance(value, Mapping):
        items = sorted(((str(k), v) for k, v in value.items()), key=lambda kv: _key_order(kv[0]))
    else:
        return None
    for item_key, item in items:
        if item_key == "-":
            break
        refused = _check_item(key, item, name)
        if refused is not None:
            return refused
    return None


def _check_item(key: str, item: object, name: str) -> Failed | None:
    if key == "relatedProfiles":
        return _check_object(item, name)
    if not isinstance(item, Mapping):
        return _wrong_format(name)
    for prop in ("parentProperty", "filterProperty"):  # KalturaResponseProfileMapping.php
        text = item.get(prop)
        if text is not None and not xml_valid(php_string(text)):
            return _bad_char(prop)
    return None


def _key_order(key: str) -> tuple[int, float, str]:
    """`ksort`: numeric keys by value, before the others [I: PHP 8 compares mixed keys]."""
    return (0, php_float(key), "") if is_numeric(key) else (1, 0.0, key)


def _with_words(value: object) -> object:
    """The words "true" and "false", in any case, are 1 and 0 (:365-368)."""
    if isinstance(value, str) and ascii_lower(value) in _WORDS:
        return _WORDS[ascii_lower(value)]
    return value


def _type_number(raw: object) -> int | None:
    """An enum value as `buildObject` reads it: the words, then `in_array`'s loose match of
    an integral number; None when it is not one."""
    value = _with_words(raw)
    numeric = isinstance(value, (int, float)) or (isinstance(value, str) and is_numeric(value))
    number = php_float(value)
    return int(number) if numeric and number.is_integer() else None


def _bad_char(name: str) -> Failed:
    return failed(ErrorCode.INVALID_PARAMETER_CHAR, XML_FIELD=name)


def _wrong_format(name: str) -> Failed:
    return Failed(_error(_WRONG_FORMAT, _WRONG_FORMAT_TEXT, PROP_NAME=name, FORMAT="array"))


def _error(code: str, template: str, **args: str) -> ApiError:
    """A `KalturaAPIException` filled in as `APIErrors::getErrorData` does."""
    message = template
    for name, value in args.items():
        message = message.replace(f"@{name}@", value)
    return ApiError(code, message, tuple(args.items()))
