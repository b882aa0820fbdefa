"""Small composable field rules for validating plain JSON data.

A rule takes `(value, path)` and returns its problems, each one line that starts with the
JSON path. `fields` checks an object against a table of rules.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import TypeGuard

from reports.paths import item, key

__all__ = [
    "BOOL",
    "COUNT",
    "DATE",
    "DURATION",
    "NONEMPTY",
    "OBJECT",
    "POSITIVE",
    "STRING",
    "TIMESTAMP",
    "Rule",
    "describe",
    "fields",
    "list_of",
    "map_of",
    "matching",
    "nullable",
    "obj",
    "one_of",
]

Rule = Callable[[object, str], list[str]]


def describe(value: object) -> str:
    """A JSON-flavoured description of `value` for messages: `string "abc"`, `null`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"string {json.dumps(shown, ensure_ascii=False)}"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return f"a Python {type(value).__name__}"


def _check(test: Callable[[object], bool], wanted: str) -> Rule:
    def rule(value: object, path: str) -> list[str]:
        return [] if test(value) else [f"{path}: expected {wanted}, got {describe(value)}"]

    return rule


def _is_int(value: object) -> TypeGuard[int]:
    # bool is an int to Python but not a number to JSON.
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> TypeGuard[int | float]:
    return _is_int(value) or (isinstance(value, float) and math.isfinite(value))


# RFC 3339 (ISO 8601 with a zone), read the same way on every Python version.
_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})"
)


def _is_timestamp(value: object) -> bool:
    if not isinstance(value, str) or not _TIMESTAMP.fullmatch(value):
        return False
    try:  # the pattern knows the shape, strptime knows the calendar
        datetime.strptime(value[:19].replace("t", "T").replace(" ", "T"), "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return False
    return True


def _is_date(value: object) -> bool:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return False
    try:
        datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        return False
    return True


STRING = _check(lambda v: isinstance(v, str), "a string")
NONEMPTY = _check(lambda v: isinstance(v, str) and v.strip() != "", "a non-empty string")
BOOL = _check(lambda v: isinstance(v, bool), "true or false")
COUNT = _check(lambda v: _is_int(v) and v >= 0, "an integer >= 0")
POSITIVE = _check(lambda v: _is_int(v) and v >= 1, "an integer >= 1")
DURATION = _check(lambda v: _is_number(v) and v >= 0, "a number >= 0")
OBJECT = _check(lambda v: isinstance(v, dict), "an object")
TIMESTAMP = _check(_is_timestamp, "an ISO 8601 time with a time zone (RFC 3339)")
DATE = _check(_is_date, "a date YYYY-MM-DD")


def one_of(*choices: object) -> Rule:
    shown = ", ".join(json.dumps(choice) for choice in choices)
    # Same type as well as equal: 1.0 and true are not the exit code 1.
    return _check(lambda v: any(type(v) is type(c) and v == c for c in choices), f"one of {shown}")


def matching(pattern: str, wanted: str) -> Rule:
    compiled = re.compile(pattern)
    return _check(lambda v: isinstance(v, str) and bool(compiled.fullmatch(v)), wanted)


def nullable(rule: Rule) -> Rule:
    def check(value: object, path: str) -> list[str]:
        return [] if value is None else rule(value, path)

    return check


def list_of(rule: Rule, *, most: int | None = None) -> Rule:
    def check(value: object, path: str) -> list[str]:
        if not isinstance(value, list):
            return [f"{path}: expected an array, got {describe(value)}"]
        problems = [p for i, v in enumerate(value) for p in rule(v, item(path, i))]
        if most is not None and len(value) > most:
            problems.append(f"{path}: at most {most} items allowed, got {len(value)}")
        return problems

    return check


def map_of(name_rule: Rule, value_rule: Rule) -> Rule:
    """An object whose keys follow `name_rule` (checked as if they were values)."""

    def check(value: object, path: str) -> list[str]:
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {describe(value)}"]
        problems: list[str] = []
        for name, child in value.items():
            here = key(path, str(name))
            problems += name_rule(name, here)
            problems += value_rule(child, here)
        return problems

    return check


def fields(
    value: object,
    path: str,
    table: Mapping[str, Rule],
    *,
    optional: Collection[str] = (),
    extra: bool = False,
) -> list[str]:
    """Check an object against `table`; unknown keys are problems unless `extra`."""
    if not isinstance(value, dict):
        return [f"{path}: expected an object, got {describe(value)}"]
    problems: list[str] = []
    for name, rule in table.items():
        if name in value:
            problems += rule(value[name], key(path, name))
        elif name not in optional:
            problems.append(f"{key(path, name)}: missing")
    if not extra:
        problems += [
            f"{key(path, str(name))}: unknown field" for name in value if name not in table
        ]
    return problems


def obj(table: Mapping[str, Rule], *, optional: Collection[str] = (), extra: bool = False) -> Rule:
    """`fields` as a rule, for nesting."""

    def check(value: object, path: str) -> list[str]:
        return fields(value, path, table, optional=optional, extra=extra)

    return check
