"""Which serializer answers a request: `KalturaFrontController::setSerializerByFormat`
(KalturaFrontController.php:616-658), run before anything else of the request.

* `format` is compared with PHP's loose `switch`, cases in the source's order: 2 XML,
  3 PHP `serialize()`, 1 JSON, 9 JSONP (`KalturaResponseType`); absent is XML. Anything else
  goes to the plugin serializers, none of which this suite serves, so it is refused with
  UNKNOWN_RESPONSE_FORMAT (:654-655) — as a `kRendererDieError` (:102-106): HTTP 200, an
  empty body and the error in `X-Kaltura` headers only (kRendererDieError.php:33-36).
* JSONP reads `callback` from the query string only (`$_GET`); missing it is
  MANDATORY_PARAMETER_MISSING, a character outside `[0-9_a-zA-Z.]` INVALID_FIELD_VALUE, both
  refused the same way (KalturaJsonProcSerializer.php:8-21).
* `ignoreNull` is on only for the string "1" or a JSON `true` (identity comparison, :642);
  only the XML serializer reads it (KalturaXmlSerializer.php:170).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conformance.model import ApiError, ErrorCode, api_error
from conformance.wire.php import is_numeric, php_float, php_string
from conformance.wire.profile import ResponseProfile

__all__ = [
    "FORMAT_JSON",
    "FORMAT_JSONP",
    "FORMAT_PHP",
    "FORMAT_XML",
    "FormatRefused",
    "ResponseFormat",
    "choose_format",
    "die_headers",
]

FORMAT_JSON = 1
FORMAT_XML = 2  # the default when no format is asked for (§3.2)
FORMAT_PHP = 3
FORMAT_JSONP = 9
# `switch ($format)` tries the cases in this order (KalturaFrontController.php:619-634).
_CASES = (FORMAT_XML, FORMAT_PHP, FORMAT_JSON, FORMAT_JSONP)
_CALLBACK = re.compile(r"[0-9_a-zA-Z.]*")


@dataclass(frozen=True)
class ResponseFormat:
    """A serializer: its `KalturaResponseType`, `ignoreNull`, and a JSONP callback; the
    call's `responseProfile`, and in a multirequest each call's, from the first call on."""

    kind: int = FORMAT_XML
    ignore_null: bool = False
    callback: str = ""
    profile: ResponseProfile | None = None
    item_profiles: tuple[ResponseProfile | None, ...] = ()


@dataclass(frozen=True)
class FormatRefused:
    """No serializer: the request dies with this error before it is dispatched."""

    error: ApiError


def choose_format(
    params: Mapping[str, Any], query: Mapping[str, Any]
) -> ResponseFormat | FormatRefused:
    """The serializer for merged `params`; `query` is `$_GET` (for JSONP's callback)."""
    ignore = params.get("ignoreNull")
    ignore_null = ignore == "1" or ignore is True
    value = params.get("format")
    kind = FORMAT_XML if value is None else _switch(value)
    if kind is None:
        return FormatRefused(api_error(ErrorCode.UNKNOWN_RESPONSE_FORMAT, FORMAT=_shown(value)))
    if kind != FORMAT_JSONP:
        return ResponseFormat(kind, ignore_null)
    callback = query.get("callback")
    if callback is None:
        return FormatRefused(
            api_error(ErrorCode.MANDATORY_PARAMETER_MISSING, PARAM_NAME="callback")
        )
    text = php_string(callback)
    if not _CALLBACK.fullmatch(text):
        return FormatRefused(api_error(ErrorCode.INVALID_FIELD_VALUE, FIELD_NAME="callback"))
    return ResponseFormat(kind, ignore_null, text)


def _switch(value: object) -> int | None:
    """PHP 8's `==` against each case: numbers and numeric strings by value, `true` equals
    any non-zero case (so XML, the first), anything else matches nothing."""
    if value is True:
        return FORMAT_XML
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    if isinstance(value, str) and not is_numeric(value):
        return None
    number = php_float(value)
    return next((case for case in _CASES if number == case), None)


def _shown(value: object) -> str:
    return php_string(value)


def die_headers(error: ApiError) -> tuple[tuple[str, str], ...]:
    """`kRendererDieError::output` (kRendererDieError.php:35-36): note the space after the
    dash, which the SERVICE_FORBIDDEN header (KalturaBaseService.php:162) has not."""
    return (
        ("X-Kaltura", f"error- {error.code}"),
        ("X-Kaltura-App", f"exiting on error {error.code} - {error.message}"),
    )
