"""Call-time argument checks for the strategies, raising InvalidArgument that echoes name=value."""

from __future__ import annotations

from collections.abc import Iterable

from hypothesis.errors import InvalidArgument

from conformance.faults import FaultKind


def check_int(name: str, value: object, *, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{name}={value!r} must be an int")
    if minimum is not None and value < minimum:
        raise InvalidArgument(f"{name}={value!r} must be >= {minimum}")
    return value


def check_optional_int(name: str, value: object, *, minimum: int) -> int | None:
    return None if value is None else check_int(name, value, minimum=minimum)


def check_order(low_name: str, low: int, high_name: str, high: int) -> None:
    if low > high:
        raise InvalidArgument(f"{low_name}={low!r} must be <= {high_name}={high!r}")


def check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidArgument(f"{name}={value!r} must be a bool")
    return value


def check_float(name: str, value: object, *, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgument(f"{name}={value!r} must be a number")
    if not value >= minimum:  # also rejects NaN
        raise InvalidArgument(f"{name}={value!r} must be >= {minimum}")
    return float(value)


def check_ints(name: str, values: object, *, minimum: int) -> tuple[int, ...]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise InvalidArgument(f"{name}={values!r} must be an iterable of ints")
    result = tuple(values)
    for index, value in enumerate(result):
        check_int(f"{name}[{index}]", value, minimum=minimum)
    return result


def check_kinds(name: str, kinds: object) -> tuple[FaultKind, ...]:
    if isinstance(kinds, (str, bytes)) or not isinstance(kinds, Iterable):
        raise InvalidArgument(f"{name}={kinds!r} must be an iterable of FaultKind")
    result = tuple(kinds)
    for kind in result:
        if not isinstance(kind, FaultKind):
            raise InvalidArgument(f"{name}={kinds!r}: {kind!r} is not a FaultKind")
    return tuple(dict.fromkeys(result))  # dedupe, keep the caller's order (it sets shrinking)
