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


def redact(text: str, *secrets: str) -> str:
    """`text` with every occurrence of each non-empty secret replaced by `<redacted>`,
    also as it appears percent-encoded in a URL (a KS's `+`, `/`, `=`). Longer forms go
    first, so a secret that contains another one is hidden whole."""
    forms = {form for secret in secrets if secret for form in _spellings(secret)}
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, REDACTED)
    return text


def _spellings(secret: str) -> tuple[str, ...]:
    return (secret, quote(secret, safe=""), quote_plus(secret, safe=""))
