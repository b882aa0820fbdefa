"""results.json: the document itself, pretty and byte-for-byte reproducible."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reports.files import write_text
from reports.schema import check

__all__ = ["render_json", "write_json"]


def render_json(doc: Mapping[str, Any]) -> str:
    """The document as JSON text: two-space indents, keys in document order (the order is
    part of the format: `run` before `requirements` before `cases`), UTF-8 characters kept
    as they are, strict numbers, a trailing newline."""
    valid = check(dict(doc))
    return json.dumps(valid, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_json(doc: Mapping[str, Any], path: str | Path) -> Path:
    return write_text(path, render_json(doc))
