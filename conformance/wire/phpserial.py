"""Answers as `KalturaPhpSerializer` writes them (format=3): PHP's own `serialize()` of the
result after `prepareSerializedObject` (KalturaPhpSerializer.php:8-13,
KalturaSerializer.php:9-57): an error becomes an array of code, message, objectType and
args; typed arrays become plain arrays; objects keep every property, nulls included, the
inherited `relatedObjects` first (PHP lays out a parent's properties before a child's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import conformance.wire.encode as _encode  # circular: read at call time only
from conformance.model import ApiError, Deleted, Failed, TokenListed, TokenView

if TYPE_CHECKING:
    from conformance.wire.encode import ApiResult
    from conformance.wire.profile import ResponseProfile

__all__ = ["php_serialize"]

_API_EXCEPTION = "KalturaAPIException"


def php_serialize(answer: ApiResult, profile: ResponseProfile | None = None) -> str:
    """`serialize()` of one answer (the body of a single call or one multirequest item)."""
    if isinstance(answer, str):
        return _value(answer)
    if isinstance(answer, Failed):
        return _error(answer.error)
    if isinstance(answer, Deleted):
        return "N;"
    if isinstance(answer, TokenListed):
        objects = "".join(
            f"i:{index};{_token(token, profile)}" for index, token in enumerate(answer.objects)
        )
        return _object(
            "KalturaUploadTokenListResponse",
            [
                ("relatedObjects", None),
                ("totalCount", answer.total_count),
                ("objects", _Raw(f"a:{len(answer.objects)}:{{{objects}}}")),
            ],
        )
    return _token(answer.token, profile)


class _Raw(str):
    """An already serialized value."""


def _token(token: TokenView, profile: ResponseProfile | None) -> str:
    fields = _encode.token_fields(token, profile)
    return _object("KalturaUploadToken", [("relatedObjects", None), *fields])


def _object(name: str, properties: list[tuple[str, object]]) -> str:
    inner = "".join(_value(key) + _value(value) for key, value in properties)
    return f'O:{_length(name)}:"{name}":{len(properties)}:{{{inner}}}'


def _error(error: ApiError) -> str:
    args = "".join(_value(key) + _value(value) for key, value in error.args)
    entries = (
        _value("code") + _value(error.code),
        _value("message") + _value(error.message),
        _value("objectType") + _value(_API_EXCEPTION),
        _value("args") + f"a:{len(error.args)}:{{{args}}}",
    )
    return f"a:4:{{{''.join(entries)}}}"


def _value(value: object) -> str:
    if isinstance(value, _Raw):
        return str(value)
    if value is None:
        return "N;"
    if isinstance(value, bool):
        return f"b:{int(value)};"
    if isinstance(value, int):
        return f"i:{value};"
    if isinstance(value, float):
        return f"d:{value!r};"
    text = str(value)
    return f's:{_length(text)}:"{text}";'


def _length(text: str) -> int:
    """PHP counts bytes, not characters."""
    return len(text.encode("utf-8", errors="replace"))
