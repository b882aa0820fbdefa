"""Kaltura sessions (KS): issued by `session.start`, checked on every other call.

The format is Kaltura's KS v1: base64 of `sha1(admin_secret + fields) | fields`, the fields
being `partnerId;partnerId;expiry;type;random;userId;privileges;;`. Type 2 is an admin KS
(sees all of the partner's tokens), type 0 a user KS (sees only its user's, §3.6).

A KS is a credential: it never appears in a trace, a report or an exception message
(`redact`).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

__all__ = [
    "ADMIN",
    "USER",
    "KsError",
    "Session",
    "issue_ks",
    "parse_ks",
    "redact",
]

USER = 0
ADMIN = 2
_FIELD_COUNT = 9
REDACTED = "<redacted>"
_INTEGER = re.compile(r"-?[0-9]+")  # ASCII digits: "²".isdigit() is true, int("²") fails


@dataclass(frozen=True)
class Session:
    """What a valid KS says: whose it is and until when."""

    partner_id: int
    user_id: str
    type: int
    expiry: int
    privileges: str = ""

    @property
    def is_admin(self) -> bool:
        return self.type == ADMIN


class KsError(Exception):
    """Why a KS was refused, as `ks::getErrorStr` names it (code, description)."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(f"{code},{description}")
        self.code = code
        self.description = description


def _invalid_str() -> KsError:
    return KsError(-1, "INVALID_STR")


def _invalid_partner() -> KsError:
    return KsError(-2, "INVALID_PARTNER")


def _expired() -> KsError:
    return KsError(-5, "EXPIRED")


def issue_ks(session: Session, admin_secret: str, random_part: int) -> str:
    """A KS for `session`, signed with the partner's admin secret."""
    fields = ";".join(
        (
            str(session.partner_id),
            str(session.partner_id),
            str(session.expiry),
            str(session.type),
            str(random_part),
            session.user_id,
            session.privileges,
            "",
            "",
        )
    )
    signature = hashlib.sha1((admin_secret + fields).encode(), usedforsecurity=False).hexdigest()
    return base64.b64encode(f"{signature}|{fields}".encode()).decode("ascii")


def parse_ks(ks: str, secret_of: Mapping[int, str], now: float) -> Session:
    """The session a KS stands for; `KsError` when it is malformed, foreign, forged or expired."""
    session, signature, fields = _decoded(ks)
    secret = secret_of.get(session.partner_id)
    if secret is None:
        raise _invalid_partner()
    if not _signed(secret, fields, signature):
        raise _invalid_str()
    if session.expiry < now:
        raise _expired()
    return session


# Every request carries its KS: decoding it and checking its signature are pure functions
# of their arguments, so they are remembered (about 4 -> 1 us a request). The partner's
# secret and the expiry are still looked up on every call.
_CACHE_SIZE = 1024


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _decoded(ks: str) -> tuple[Session, str, str]:
    """What the KS says (not yet checked), its signature and its signed fields."""
    signature, fields = _split(ks)
    parts = fields.split(";")
    if (
        len(parts) < _FIELD_COUNT
        or not parts[0].isascii()
        or not parts[0].isdigit()
        or not _is_integer(parts[2])
    ):
        raise _invalid_str()
    session = Session(int(parts[0]), parts[5], _int(parts[3]), int(parts[2]), parts[6])
    return session, signature, fields


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _signed(secret: str, fields: str, signature: str) -> bool:
    expected = hashlib.sha1((secret + fields).encode(), usedforsecurity=False).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode())  # str must be ASCII


def _split(ks: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(ks.encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise _invalid_str() from None
    signature, bar, fields = decoded.partition("|")
    if not bar:
        raise _invalid_str()
    return signature, fields


def _is_integer(text: str) -> bool:
    return _INTEGER.fullmatch(text) is not None


def _int(text: str) -> int:
    return int(text) if _is_integer(text) else USER


# A run of this many characters of a secret is hidden wherever it appears: a client's
# output cut inside a secret, or wrapped across lines, must not give half of it away.
FRAGMENT = 8
_LINE_BREAKS = frozenset("\r\n")


def redact(text: str, *secrets: str) -> str:
    """`text` with every run of at least `FRAGMENT` characters of a non-empty secret
    replaced by `<redacted>` (a shorter secret: every whole occurrence), in every form it
    takes: as it is, percent-encoded (a KS's `+`, `/`, `=` in a URL), JSON-escaped,
    base64-encoded (at any alignment), and wrapped across lines (line breaks inside a run
    are hidden with it). Overlapping runs become one `<redacted>`."""
    grams = _fragments(secrets)
    if not grams:
        return text
    kept = [i for i, char in enumerate(text) if char not in _LINE_BREAKS]
    flat = "".join(text[i] for i in kept)
    hidden = _covered(flat, grams)
    if not hidden:
        return text
    return _replace(text, [(kept[start], kept[end - 1] + 1) for start, end in hidden])


def _fragments(secrets: tuple[str, ...]) -> dict[int, frozenset[str]]:
    """{length: every substring of that length of some form of some secret}."""
    found: dict[int, set[str]] = {}
    for secret in secrets:
        if not secret:
            continue
        for form in _spellings(secret):
            size = min(FRAGMENT, len(form))
            found.setdefault(size, set()).update(
                form[i : i + size] for i in range(len(form) - size + 1)
            )
    return {size: frozenset(grams) for size, grams in found.items()}


def _covered(text: str, grams: dict[int, frozenset[str]]) -> list[tuple[int, int]]:
    """The spans of `text` made of secret fragments, merged where they overlap."""
    spans: list[tuple[int, int]] = []
    for size, wanted in sorted(grams.items(), reverse=True):
        for start in range(len(text) - size + 1):
            if text[start : start + size] in wanted:
                spans.append((start, start + size))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _replace(text: str, spans: list[tuple[int, int]]) -> str:
    parts, last = [], 0
    for start, end in spans:
        parts += [text[last:start], REDACTED]
        last = end
    return "".join([*parts, text[last:]])


def _spellings(secret: str) -> set[str]:
    forms = {
        secret,
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        quote(secret, safe="").lower(),  # %2b as some encoders write it
        json.dumps(secret)[1:-1],
        json.dumps(secret)[1:-1].replace("/", "\\/"),  # PHP's json_encode escapes /
    }
    # Base64 forms only where at least a fragment of the secret survives whole: a short
    # secret's would be a few letters found everywhere.
    return forms | {form for form in _base64_forms(secret) if len(form) >= FRAGMENT}


def _base64_forms(secret: str) -> set[str]:
    """The characters that encode `secret` in base64 (standard and URL-safe) wherever it
    starts in the encoded data: each of the three alignments, without the characters that
    also carry the bytes before it; at the end of the data (with its padding) or not
    (without the last character, which also carries the bytes after it)."""
    data = secret.encode()
    forms = set()
    for offset in range(3):
        padded = base64.b64encode(bytes(offset) + data).decode("ascii")
        encoded = padded.rstrip("=")
        skip = (offset * 4 + 2) // 3  # characters touched by the bytes in front
        whole = len(encoded) - (1 if (offset + len(data)) % 3 else 0)
        for body in (encoded[skip:whole], padded[skip:]):
            forms |= {body, body.replace("+", "-").replace("/", "_")}
    return forms
