"""JSON paths (`$.cases[3].verdicts["UT-C10"]`) and a walk over plain JSON data."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

__all__ = ["ROOT", "item", "key", "walk"]

ROOT = "$"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def key(path: str, name: str) -> str:
    """The path of `name` inside the object at `path`; odd names are quoted."""
    if _IDENTIFIER.fullmatch(name):
        return f"{path}.{name}"
    return f"{path}[{json.dumps(name, ensure_ascii=False)}]"


def item(path: str, index: int) -> str:
    return f"{path}[{index}]"


def walk(value: object, path: str = ROOT) -> Iterator[tuple[str, object]]:
    """Every node under `value` (the root included) as `(path, node)`, in document order."""
    yield path, value
    if isinstance(value, dict):
        for name, child in value.items():
            yield from walk(child, key(path, str(name)))
    elif isinstance(value, (list, tuple)):
        for index, child in enumerate(value):
            yield from walk(child, item(path, index))
