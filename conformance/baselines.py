"""The baseline file (`conformance-baseline.toml`, format version 1): read, write, and make.

    version = 1

    [[known]]
    id = "UT-C10"  # MUST, FAIL: The closing request is sent only after ...
    reason = "TODO: say why this failure is accepted, and who fixes it by when"
    expires = 2027-03-03

One `[[known]]` table per accepted failing requirement: `id` (a requirement ID, once per
file), `reason` (non-empty text) and `expires` (a TOML date, or a `"YYYY-MM-DD"` string).
No other keys. See docs/baseline.md.

Read with the standard library's `tomllib` (Python 3.11+; `tomli`, the same parser as a
package, on 3.10: that is why this lives here and not in `reports`, which must run on the
standard library alone); written here, since the format is small: strings are escaped as TOML
basic strings, so whatever `write_baseline` writes, `parse_baseline` reads back the same.
Every problem is one `BaselineError` naming the file, the line or entry, and the problem.
"""

from __future__ import annotations

import datetime
import re
import sys
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from reports.verdicts import BROKEN

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10: the same parser, packaged
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

__all__ = [
    "FORMAT_VERSION",
    "PLACEHOLDER_REASON",
    "Baseline",
    "BaselineError",
    "Entry",
    "baseline_from_results",
    "load_baseline",
    "parse_baseline",
    "render_baseline",
]

FORMAT_VERSION: Final = 1
PLACEHOLDER_REASON: Final = "TODO: say why this failure is accepted, and who fixes it by when"
_TABLE: Final = "known"
_KEYS: Final = ("id", "reason", "expires")
_HEADER = re.compile(r"^\s*\[\[\s*known\s*\]\]")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CONTROL = re.compile("[\x00-\x1f\x7f]")


class BaselineError(ValueError):
    """A baseline file cannot be used; the message is one line naming file, place, problem."""


@dataclass(frozen=True)
class Entry:
    """One accepted failure: its requirement, why, until when, and where it is written."""

    id: str
    reason: str
    expires: datetime.date
    lines: tuple[int, int] = (0, 0)
    """First and last line of its `[[known]]` table in the file (0, 0: not from a file)."""

    def to_dict(self) -> dict[str, Any]:
        """As the results document's `run.baseline.entries` keep it."""
        data: dict[str, Any] = {
            "id": self.id,
            "reason": self.reason,
            "expires": self.expires.isoformat(),
        }
        if self.lines != (0, 0):
            data["lines"] = list(self.lines)
        return data


@dataclass(frozen=True)
class Baseline:
    path: str
    entries: tuple[Entry, ...]

    def to_dict(self, *, strict: bool) -> dict[str, Any]:
        """The results document's `run.baseline`."""
        return {
            "path": self.path,
            "strict": strict,
            "entries": [entry.to_dict() for entry in self.entries],
        }


def load_baseline(path: str | Path, known_ids: Collection[str]) -> Baseline:
    """Read and check a baseline file; `known_ids` are the requirement IDs that exist."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or " ".join(str(error).split())
        raise BaselineError(f"{path}: cannot read: {reason}") from None
    return parse_baseline(text, str(path), known_ids)


def parse_baseline(text: str, path: str, known_ids: Collection[str]) -> Baseline:
    """The baseline `text` (read from `path`, named in errors) as data; BaselineError for
    bad TOML, a wrong or missing version, an unknown key, an unknown or repeated ID, a bad
    date, or a missing reason."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise BaselineError(f"{path}: not TOML: {' '.join(str(error).split())}") from None
    _check_top(data, path)
    tables = data.get(_TABLE, [])
    spans = _spans(text)
    entries: list[Entry] = []
    for number, table in enumerate(tables, start=1):
        lines = spans[number - 1] if number <= len(spans) else (0, 0)
        where = f"{path}:{lines[0]}: entry {number}" if lines[0] else f"{path}: entry {number}"
        entries.append(_entry(table, where, lines, known_ids))
    seen: dict[str, str] = {}
    for number, entry in enumerate(entries, start=1):
        if entry.id in seen:
            raise BaselineError(
                f"{path}:{entry.lines[0]}: entry {number}: {entry.id} is already listed "
                f"({seen[entry.id]}); one entry per requirement"
            )
        seen[entry.id] = f"entry {number}"
    return Baseline(path, tuple(entries))


def _check_top(data: Mapping[str, Any], path: str) -> None:
    unknown = [name for name in data if name not in ("version", _TABLE)]
    if unknown:
        raise BaselineError(
            f"{path}: unknown key {unknown[0]!r} at the top; only version and [[known]]"
        )
    version = data.get("version")
    if version is None:
        raise BaselineError(f"{path}: missing 'version = {FORMAT_VERSION}' at the top")
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise BaselineError(
            f"{path}: version {version!r} is not supported (this tool reads version "
            f"{FORMAT_VERSION})"
        )
    tables = data.get(_TABLE, [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise BaselineError(f"{path}: 'known' must be tables written [[known]]")


def _entry(
    table: Mapping[str, Any], where: str, lines: tuple[int, int], known_ids: Collection[str]
) -> Entry:
    unknown = [name for name in table if name not in _KEYS]
    if unknown:
        raise BaselineError(f"{where}: unknown key {unknown[0]!r} (keys: {', '.join(_KEYS)})")
    missing = [name for name in _KEYS if name not in table]
    if missing:
        raise BaselineError(f"{where}: missing {missing[0]!r}")
    rid, reason = table["id"], table["reason"]
    if not isinstance(rid, str) or rid not in known_ids:
        raise BaselineError(f"{where}: id {rid!r} is not a requirement ID of this suite")
    if not isinstance(reason, str) or not reason.strip():
        raise BaselineError(f"{where} ({rid}): missing reason (say why the failure is accepted)")
    return Entry(rid, reason, _date(table["expires"], f"{where} ({rid})"), lines)


def _date(value: object, where: str) -> datetime.date:
    if isinstance(value, datetime.datetime):
        raise BaselineError(f"{where}: expires {value.isoformat()} is not a date (YYYY-MM-DD)")
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            pass
    raise BaselineError(f"{where}: expires {value!r} is not a date (YYYY-MM-DD)")


def _spans(text: str) -> list[tuple[int, int]]:
    """(first, last) line of each `[[known]]` table: its header to its last line that is
    neither blank nor a comment, before the next table."""
    lines = text.splitlines()
    headers = [n for n, line in enumerate(lines, start=1) if _HEADER.match(line)]
    spans: list[tuple[int, int]] = []
    for i, first in enumerate(headers):
        end = headers[i + 1] - 1 if i + 1 < len(headers) else len(lines)
        last = first
        for number in range(first + 1, end + 1):
            stripped = lines[number - 1].strip()
            if stripped and not stripped.startswith("#"):
                last = number
        spans.append((first, last))
    return spans


# --- writing --------------------------------------------------------------------------


def baseline_from_results(
    doc: Mapping[str, Any], expires: datetime.date, reason: str = PLACEHOLDER_REASON
) -> str:
    """A baseline file accepting every requirement a results document FAILs or finds
    NON-STRICT, each with `reason` (a placeholder to fill in) until `expires`."""
    requirements: Sequence[Mapping[str, Any]] = doc["requirements"]
    broken = [entry for entry in requirements if entry["verdict"] in BROKEN]
    entries = [Entry(entry["id"], reason, expires) for entry in broken]
    notes = {e["id"]: f"{e['level']}, {e['verdict']}: {e['rule']}" for e in broken}
    run = doc["run"]
    source = f"from a {run['direction']} run of {run['target']} started {run['started_at']}"
    return render_baseline(entries, notes=notes, header=source)


def render_baseline(
    entries: Sequence[Entry], *, notes: Mapping[str, str] | None = None, header: str = ""
) -> str:
    """The file text of `entries`; `notes` (by ID) become a comment after each ID."""
    lines = [
        "# Known failures of the client under test: a kaltura-conformance baseline",
        "# (docs/baseline.md).",
        "# Fill in each reason; an entry past its expires date fails the run.",
    ]
    if header:
        lines.append(_comment(header))
    lines += ["", f"version = {FORMAT_VERSION}"]
    for entry in entries:
        note = (notes or {}).get(entry.id)
        lines += [
            "",
            f"[[{_TABLE}]]",
            f"id = {quote(entry.id)}" + (f"  {_comment(note)}" if note else ""),
            f"reason = {quote(entry.reason)}",
            f"expires = {entry.expires.isoformat()}",
        ]
    return "\n".join(lines) + "\n"


def quote(text: str) -> str:
    """`text` as a TOML basic string: backslash, quote and control characters escaped."""
    out = []
    for char in text:
        code = ord(char)
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif code < 0x20 or code == 0x7F:
            out.append(_ESCAPES.get(char, f"\\u{code:04X}"))
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


_ESCAPES: Final = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _comment(text: str) -> str:
    """One comment line (a newline in the text would end it and start TOML)."""
    return "# " + " ".join(_CONTROL.sub(" ", text).split())
