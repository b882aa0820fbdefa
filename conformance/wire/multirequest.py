"""`service=multirequest`: numbered calls in one request, answered in one envelope
(`KalturaFrontController::handleMultiRequest`, KalturaFrontController.php:211-378).

* Only the exact service name `multirequest` (a loose `==` on the raw parameter, :108).
* Calls are numbered: `1:service`, `1:action`, `1:uploadToken:fileName`, or nested objects
  `{"1": {...}}` in a JSON body (:221-257); unnumbered parameters are common, and `ks`,
  `clientTag` and `partnerId` among them fill a call that lacks its own (:284-297). Each
  call loses its `format` (:305): the envelope's format answers for all.
* Calls run from the lowest number to the highest and stop at the first one without a
  service or an action (:272-277). Each is dispatched like a single request, so its errors
  sit in its own slot.
* `{N:result}` / `{N:result:a:b}` in a later call's string value is replaced, once call
  N has run, by that path into call N's result: a property, an array index, `_all` (every
  object's attribute joined with trailing commas); anything not found is "" (:153-209,
  :380-440).

A file travels as `N:fileData`: PHP puts it in `$_FILES` under that name and the call gets
it, so an `uploadToken.upload` may be part of a multirequest (nothing in the dispatcher
refuses it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.model import Deleted, Failed, TokenListed, TokenResult
from conformance.wire.encode import ApiResult, token_fields
from conformance.wire.php import is_numeric, php_int, php_string
from conformance.wire.profile import ResponseProfile, read_profile

__all__ = ["MultiRequest", "is_multirequest", "item_profiles", "split_multirequest"]

_COPIED = ("clientTag", "ks", "partnerId")
_FOUND = re.compile(r"\{[0-9]+:result:?(.*)?\}")  # :166
_WHOLE = re.compile(r"^\{([0-9]+):result:?(.*)?\}$")  # :185


def is_multirequest(params: Mapping[str, Any]) -> bool:
    return params.get("service") == "multirequest"


@dataclass
class MultiRequest:
    """The calls of one multirequest, by number, and what each refers to of the others."""

    common: dict[str, Any]
    calls: dict[int, Any]
    first: int = 1
    last: int = 1
    paths: dict[int, Any] = field(default_factory=dict)
    ran: int = 0

    def next_params(self, number: int) -> dict[str, Any] | None:
        """Call `number`'s parameters, or None where the run stops (:274-277)."""
        params = self.calls.get(number, {})
        if not isinstance(params, dict) or params.get("service") is None:
            return None
        if params.get("action") is None:
            return None
        params = dict(params)
        for name in _COPIED:
            if self.common.get(name) is not None and params.get(name) is None:
                params[name] = self.common[name]
        params["multirequest"] = True
        params.pop("format", None)
        self.ran += 1
        return params

    def record(self, number: int, result: ApiResult) -> None:
        """Fill `{ran:result…}` in the calls after `number` (:353-366), from the result as
        call `number`'s own `responseProfile` left it (KalturaObject.php:320-327)."""
        profile = read_profile(self.calls.get(number))
        for later in range(number + 1, len(self.calls) + 1):
            keys = self.paths.get(later)
            if keys is not None and isinstance(self.calls.get(later), dict):
                self.calls[later] = _replace(self.ran, keys, self.calls[later], result, profile)


def item_profiles(params: Mapping[str, Any]) -> tuple[ResponseProfile | None, ...]:
    """Each call's own `responseProfile`, from the first call to where the run stops: the
    common parameters' is not copied into the calls (:284-297)."""
    multi = split_multirequest(params)
    profiles: list[ResponseProfile | None] = []
    for number in range(multi.first, multi.last + 1):
        call = multi.next_params(number)
        if call is None:
            break
        profiles.append(read_profile(call))
    return tuple(profiles)


def split_multirequest(params: Mapping[str, Any]) -> MultiRequest:
    """Numbered calls and common parameters (:221-257); the parameters are grouped already,
    so `1:service` arrives as `params["1"]["service"]`."""
    multi = MultiRequest(common={}, calls={})
    for name, value in params.items():
        if is_numeric(name):
            number = php_int(name)
            multi.first, multi.last = min(multi.first, number), max(multi.last, number)
            multi.calls[number] = value
        else:
            multi.common[name] = value
    multi.paths = {
        number: paths
        for number, call in multi.calls.items()
        if isinstance(call, dict) and (paths := _paths(call))
    }
    return multi


def _paths(params: Mapping[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, dict):
            nested = _paths(value)
            if nested:
                found[key] = nested
        elif isinstance(value, str) and (match := _FOUND.search(value)):
            found[key] = match.group(0)
    return found


def _replace(
    index: int,
    keys: Mapping[str, Any],
    params: dict[str, Any],
    result: ApiResult,
    profile: ResponseProfile | None,
) -> Any:
    params = dict(params)
    for key, path in keys.items():
        if params.get(key) is None:
            continue
        if isinstance(path, dict):
            params[key] = _replace(index, path, params[key], result, profile)
            continue
        match = _WHOLE.match(path)
        if match and int(match.group(1)) == index and isinstance(params[key], str):
            value = _value_at(_as_object(result, profile), (match.group(2) or "").split(":"))
            params[key] = params[key].replace(path, "" if value is None else php_string(value))
    return params


def _value_at(node: object, path: list[str]) -> object:
    """`getValueFromObject` (:380-419) over our answers: objects are dicts here."""
    for position, name in enumerate(path):
        if name == "":
            return node if not isinstance(node, (dict, _TypedArray)) else None
        if isinstance(node, _TypedArray):
            if name == "_all":
                return node.joined(path[position + 1] if position + 1 < len(path) else "")
            node = node.item(name)
        elif isinstance(node, dict):
            if name not in node:
                return None
            node = node[name]
        else:
            return None
    return node if not isinstance(node, (dict, _TypedArray)) else None


class _TypedArray(list[dict[str, object]]):
    """A `KalturaTypedArray` of objects: indexed by position, `_all` joins an attribute."""

    def item(self, name: str) -> object:
        return self[int(name)] if name.isdigit() and int(name) < len(self) else None

    def joined(self, attribute: str) -> str | None:
        values = [php_string(item[attribute]) for item in self if item.get(attribute) is not None]
        return "".join(f"{value}," for value in values) or None


def _as_object(answer: object, profile: ResponseProfile | None) -> object:
    if isinstance(answer, TokenResult):
        return {"relatedObjects": None, **dict(token_fields(answer.token, profile))}
    if isinstance(answer, TokenListed):
        objects = _TypedArray(
            {"relatedObjects": None, **dict(token_fields(token, profile))}
            for token in answer.objects
        )
        return {"relatedObjects": None, "totalCount": answer.total_count, "objects": objects}
    if isinstance(answer, (Failed, Deleted)):
        return {}  # [I] an exception's properties are protected; nothing is read from it
    return answer
