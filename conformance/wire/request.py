"""From a request line and a parsed body to one Kaltura API call (§3.1, §3.2).

Parameters come from four places, later ones replacing earlier ones, exactly as
`infraRequestUtils::getRequestParams` merges them: the POST body (form fields; or a JSON
object when the content type is exactly `application/json`; or the JSON in a multipart
`json` field), then `$_FILES`, then the query string, then key/value pairs in the path.
Nested object fields arrive either as JSON objects or as `uploadToken:fileName` keys; both
end up as nested dicts here.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from conformance.wire.formats import (
    FORMAT_JSON,
    FORMAT_XML,
    FormatRefused,
    ResponseFormat,
    choose_format,
)
from conformance.wire.multirequest import is_multirequest, item_profiles
from conformance.wire.php import ascii_lower, php_string
from conformance.wire.profile import read_profile
from conformance.wire.types import ParsedBody, UploadedPart

__all__ = ["FORMAT_JSON", "FORMAT_XML", "ApiCall", "decode_call"]

# The script's own path segments: PHP drops every path part equal to one of them (array_diff).
_SCRIPT_PARTS = frozenset({"", "api_v3", "index.php"})
# PHP's trim(): what is cut from both ends of a JSON body before its braces are looked for.
_PHP_TRIM = " \t\n\r\0\x0b"
_BRACKETS = re.compile(r"\[([^\]]*)\]")
# PHP's json_decode refuses an unpaired UTF-16 surrogate escape (JSON_ERROR_UTF16).
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_JSON_MAX_DEPTH = 512  # json_decode's default depth (JSON_ERROR_DEPTH beyond it)
_MAX_NESTING = 64  # PHP's max_input_nesting_level: deeper `a[b][c]…` variables are dropped
_INT64 = (-(2**63), 2**63 - 1)


@dataclass(frozen=True)
class ApiCall:
    """One decoded API call: service and action (lower-cased, §3.1), merged parameters,
    and the serializer asked for (`response`; `FormatRefused` when there is none)."""

    service: str | None
    action: str | None
    params: Mapping[str, Any] = field(repr=False)  # a KS, an admin secret: never in a repr
    response: ResponseFormat | FormatRefused = field(default_factory=ResponseFormat)
    notes: tuple[str, ...] = field(default=())

    @property
    def format(self) -> int:
        """The `KalturaResponseType` answered in (XML when the format was refused)."""
        return self.response.kind if isinstance(self.response, ResponseFormat) else FORMAT_XML

    def param(self, name: str) -> Any:
        """A parameter's value, or None when absent (JSON null counts as absent, like isset)."""
        return self.params.get(name)

    def has(self, name: str) -> bool:
        return self.params.get(name) is not None

    def present(self, name: str) -> bool:
        """`array_key_exists`: how action arguments are looked up, so a JSON null or a path
        key without a value is present (and cast: null → "", 0, false)."""
        return name in self.params

    def object_param(self, name: str) -> Mapping[str, Any]:
        """A nested object parameter (`uploadToken`, `filter`, `pager`), {} when absent."""
        value = self.params.get(name)
        return value if isinstance(value, Mapping) else {}


def decode_call(target: str, content_type: str | None, body: ParsedBody) -> ApiCall:
    """Merge every parameter source of one request (`target` is the raw path and query)."""
    path, _, query = target.partition("?")
    notes: list[str] = [body.problem] if body.problem else []
    merged = _post_params(content_type, body, notes)  # a new dict: the first source as is
    got = _query_params(query)  # parsed once: `$_GET` is merged and read by choose_format
    for source in (_file_params(body.files), got, _path_params(path)):
        _replace_recursive(merged, source)
    params = _grouped(merged)
    return call_from_params(params, choose_format(params, got), tuple(notes))


def call_from_params(
    params: dict[str, Any],
    response: ResponseFormat | FormatRefused,
    notes: tuple[str, ...] = (),
) -> ApiCall:
    """An `ApiCall` for already merged parameters (a request, or one multirequest item)."""
    service, action = _name(params.get("service")), _name(params.get("action"))
    if isinstance(response, ResponseFormat):
        response = dataclasses.replace(response, profile=read_profile(params))
        if is_multirequest(params):
            response = dataclasses.replace(response, item_profiles=item_profiles(params))
    return ApiCall(
        service=None if service == "0" else service,  # `if (!$service)`: "0" is falsy
        action=action,
        params=params,
        response=response,
        notes=notes,
    )


def _name(value: object) -> str | None:
    """Service and action ids are looked up lower-cased (`KalturaDispatcher::dispatch`,
    `strtolower`: ASCII only)."""
    text = php_string(value)
    return ascii_lower(text) if text else None


def _post_params(content_type: str | None, body: ParsedBody, notes: list[str]) -> dict[str, Any]:
    kind = (content_type or "").lower()
    decoded: object = None
    if kind == "application/json" and body.json_text is not None:
        # Trimmed, then read when it begins with "{" and ends with "}", over any number of
        # lines (infraRequestUtils.class.php:530-533).
        text = body.json_text.strip(_PHP_TRIM)
        if text.startswith("{") and text.endswith("}"):
            decoded = _json_object(text, notes)
    elif kind.startswith("multipart/form-data"):
        json_field = _last(body.fields, "json")
        if json_field is not None:
            decoded = _json_object(json_field, notes)
    if isinstance(decoded, dict) and decoded:
        return decoded
    return _form_params(body.fields)


def _json_object(text: str, notes: list[str]) -> object:
    """`json_decode($text, true)`: NaN and Infinity are not JSON to PHP; anything that does
    not decode is null, and the form fields are used instead."""
    try:
        decoded = json.loads(text, parse_constant=_reject_constant, parse_int=_json_int)
        _check_php_json(decoded)
    except (ValueError, RecursionError) as error:
        notes.append(f"JSON parameters ignored: {error}")
        return None
    return decoded


def _check_php_json(decoded: object) -> None:
    """What json_decode refuses and Python's json accepts: nesting deeper than 512, and
    unpaired surrogate escapes. Walked without recursion."""
    stack = [(decoded, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str) and _LONE_SURROGATE.search(value):
            raise ValueError("an unpaired UTF-16 surrogate is not valid JSON to PHP")
        if isinstance(value, (dict, list)):
            if depth >= _JSON_MAX_DEPTH:
                raise ValueError(f"JSON nested deeper than {_JSON_MAX_DEPTH}")
            items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)


def _json_int(text: str) -> int | float:
    """json_decode reads an integer beyond 64 bits as a float (1e400 → INF)."""
    if len(text) > 20:  # past 64 bits, and int() refuses more than 4300 digits
        return float(text)
    number = int(text)
    return number if _INT64[0] <= number <= _INT64[1] else float(text)


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


def _last(pairs: tuple[tuple[str, str], ...], name: str) -> str | None:
    values = [value for key, value in pairs if key == name]
    return values[-1] if values else None


def _form_params(pairs: tuple[tuple[str, str], ...] | list[tuple[str, str]]) -> dict[str, Any]:
    """`$_POST` / `$_GET`: later duplicates win; `a[b]=c` nests like PHP's parse_str."""
    params: dict[str, Any] = {}
    for key, value in pairs:
        _set_bracketed(params, key, value)
    return params


def _set_bracketed(params: dict[str, Any], key: str, value: str) -> None:
    head, _, rest = key.partition("[")
    if not rest:
        params[key] = value
        return
    path = [head, *_BRACKETS.findall("[" + rest)]
    if len(path) > _MAX_NESTING + 1:
        return
    node = params
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    leaf = path[-1] or str(len(node))  # `a[]=x` appends
    node[leaf] = value


def _file_params(files: tuple[UploadedPart, ...]) -> dict[str, Any]:
    return {part.field: part for part in files}


# PHP's `max_input_vars` for the query string: `php_default_treat_data` (main/
# php_variables.c) counts each non-empty `&` piece before registering it and stops at the
# 1001st, so exactly 1000 are read (a url-encoded body keeps 1001: endpoints/bodies.py).
MAX_QUERY_VARS = 1000


def _query_params(query: str) -> dict[str, Any]:
    pieces = [piece for piece in query.split("&") if piece]  # strtok: empties skipped
    kept = "&".join(pieces[:MAX_QUERY_VARS])
    pairs = parse_qsl(kept, keep_blank_values=True, errors="ignore")
    return _form_params(pairs)


def _path_params(path: str) -> dict[str, Any]:
    """Key/value pairs after the script: `/service/uploadtoken/action/upload/format/1`.

    PHP drops every segment equal to one of the script's (so a doubled slash is harmless),
    reads pairs until a falsy key, and keeps the first value of a repeated key.
    """
    parts = [unquote(part, errors="ignore") for part in path.split("/")]
    parts = [part for part in parts if part not in _SCRIPT_PARTS]
    params: dict[str, Any] = {}
    for index in range(0, len(parts), 2):
        key = parts[index]
        if key in ("", "0"):
            break
        value = parts[index + 1] if index + 1 < len(parts) else None
        params.setdefault(key, value)
    return params


def _grouped(params: Mapping[str, Any]) -> dict[str, Any]:
    """`KalturaRequestDeserializer::groupParams` on the merged parameters, in their order:
    `uploadToken:fileName` keys become nested dicts, and a later plain key replaces the
    whole group (`setElementByPath`); `name__null` markers are dropped [I]."""
    grouped: dict[str, Any] = {}
    for key, raw in params.items():
        value = _without_null_markers(raw) if isinstance(raw, dict) else raw
        if ":" not in key:  # nearly every key: no group to walk
            if not key.endswith("__null"):
                grouped[key] = value
            continue
        *parents, leaf = path = key.split(":")
        if len(path) > _MAX_NESTING + 1 or any(part.endswith("__null") for part in path):
            continue  # [I] no served object nests deeper; PHP's bound for `[]` keys
        node = grouped
        for parent in parents:
            child = node.get(parent)
            if not isinstance(child, dict):
                child = node[parent] = {}
            node = child
        node[leaf] = value
    return grouped


def _without_null_markers(params: dict[str, Any]) -> dict[str, Any]:
    """Nested values are at most 512 (JSON) or 64 (`[]` keys) deep: recursion is safe."""
    return {
        key: _without_null_markers(value) if isinstance(value, dict) else value
        for key, value in params.items()
        if not key.endswith("__null")
    }


def _replace_recursive(target: dict[str, Any], source: Mapping[str, Any]) -> None:
    """PHP's array_replace_recursive: nested arrays merge, everything else is replaced."""
    for key, value in source.items():
        current = target.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            _replace_recursive(current, value)
        else:
            target[key] = value
