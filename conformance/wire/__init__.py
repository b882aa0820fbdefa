"""The Kaltura wire codec (pure): requests in every encoding real clients use, answers as
Kaltura's serializers write them. See `wire-encodings.md` and §3, §12 of the semantics.

    call = decode_call(target, content_type, parsed_body)   # request.py
    refused = check_route(call)                             # calls.py
    event = build_event(call, caller, now)                  # calls.py → the model
    encode_answer(outcome, call.format)                     # encode.py
"""

from __future__ import annotations

from conformance.wire.calls import (
    SERVICES,
    StartSession,
    UploadFlags,
    build_event,
    build_start_session,
    check_route,
    upload_flags,
)
from conformance.wire.encode import (
    ApiResult,
    EncodedAnswer,
    encode_answer,
    encode_multi,
    token_fields,
)
from conformance.wire.formats import FormatRefused, ResponseFormat, die_headers
from conformance.wire.php import php_bool, php_float, php_int, php_string
from conformance.wire.request import FORMAT_JSON, FORMAT_XML, ApiCall, decode_call
from conformance.wire.types import ParsedBody, UploadedPart

__all__ = [
    "FORMAT_JSON",
    "FORMAT_XML",
    "SERVICES",
    "ApiCall",
    "ApiResult",
    "EncodedAnswer",
    "FormatRefused",
    "ParsedBody",
    "ResponseFormat",
    "StartSession",
    "UploadFlags",
    "UploadedPart",
    "build_event",
    "build_start_session",
    "check_route",
    "decode_call",
    "die_headers",
    "encode_answer",
    "encode_multi",
    "php_bool",
    "php_float",
    "php_int",
    "php_string",
    "token_fields",
    "upload_flags",
]
