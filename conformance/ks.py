"""Kaltura sessions (KS): issued by `session.start`, checked on every other call.

Two formats, as `kSessionBase` reads them (kaltura/server
alpha/apps/kaltura/lib/request/kSessionBase.class.php, cited `kSessionBase:N`):

* **v1**: base64 of `sha1(admin_secret + fields) | fields`, the fields being
  `partnerId;partnerPattern;expiry;type;random;userId;privileges;masterPartnerId;data`.
  Only the first three are required (`parseKsV1`, :236); the official clients'
  `generateSession` writes seven, `session.start` nine.
* **v2**: URL-safe base64 of `v2|<partnerId>|` + AES-128-CBC (key: the first 16 bytes of
  `sha1(admin_secret)`, IV zero, zero padding; :526-537) of `sha1(rest) + 16 random bytes +
  query string` with `_e` expiry, `_t` type, `_u` user and the privileges as keys (:540-573).

Cracking a KS (`crack_ks`) fails the same way for every reason — not base64, no `|`, too
few fields, an unknown partner (no secret: `parseKsV1` :243 answers null), a signature that
does not match — because `ks::fromSecureString` turns them all into INVALID_STR
(kSessionUtils.class.php:331-333). Expiry is a separate, later check (`Cracked.expired`; the
dispatcher runs it after the arguments, kPermissionManager.php:522).

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
from urllib.parse import parse_qsl, quote, quote_plus, urlencode

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = [
    "ADMIN",
    "USER",
    "Cracked",
    "KsError",
    "Session",
    "crack_ks",
    "issue_ks",
    "parse_ks",
    "redact",
]

USER = 0
ADMIN = 2
REDACTED = "<redacted>"
_V1_MIN_FIELDS = 3  # kSessionBase:236
_V2_PREFIX = b"v2|"
_SHA1_SIZE = 20  # kSessionBase:85
_RANDOM_SIZE = 16  # kSessionBase:86
_AES_BLOCK = 16
_ZERO_IV = bytes(_AES_BLOCK)  # kSessionBase:87
_V2_FIELDS = {"_e": "expiry", "_t": "type", "_u": "user", "_m": "master", "_d": "data"}
_PARTNER_ID = re.compile(r"[0-9]+")  # [I] MySQL would also match "0101"; ASCII digits only
# PHP 8's numeric strings (surrounding whitespace allowed), as `<=` and `>=` see them.
_NUMERIC = re.compile(r"[ \t\n\r\v\f]*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*")
# PHP's strict base64_decode: the alphabet, `=` padding, whitespace skipped (ext/standard).
_B64_CHARS = re.compile(r"[A-Za-z0-9+/]*")
_B64_SKIPPED = str.maketrans("", "", " \t\r\n")


@dataclass(frozen=True)
class Session:
    """What a valid KS says: whose it is and until when. `version` 1 or 2 is how it is
    written when issued."""

    partner_id: int
    user_id: str
    type: int
    expiry: int
    privileges: str = ""
    version: int = 1

    @property
    def is_admin(self) -> bool:
        """`isAdmin`: type >= 1 (kSessionBase:289), so a widget type 1 counts too."""
        return self.type >= 1


class KsError(Exception):
    """Why a KS was refused, as `ks::getErrorStr` names it (code, description)."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(f"{code},{description}")
        self.code = code
        self.description = description


def _invalid_str() -> KsError:
    return KsError(-1, "INVALID_STR")


def _expired() -> KsError:
    return KsError(-5, "EXPIRED")


# --- issue --------------------------------------------------------------------------------


def issue_ks(session: Session, admin_secret: str, random_part: int) -> str:
    """A KS for `session` in its `version`, signed with the partner's admin secret."""
    if session.version == 2:
        return _issue_v2(session, admin_secret, random_part)
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


def _issue_v2(session: Session, admin_secret: str, random_part: int) -> str:
    """`generateKsV2` (kSessionBase:540-573); the random bytes come from `random_part`."""
    fields: dict[str, str] = {}
    for written in session.privileges.split(","):
        privilege = written.strip()
        if privilege:
            name, _, value = ("all:*" if privilege == "*" else privilege).partition(":")
            fields[name] = value
    fields.update(_e=str(session.expiry), _t=str(session.type), _u=session.user_id)
    body = urlencode(fields).encode()
    rand = hashlib.sha1(str(random_part).encode(), usedforsecurity=False).digest()[:_RANDOM_SIZE]
    plain = _sha1(rand + body) + rand + body
    plain += bytes(-len(plain) % _AES_BLOCK)  # zero padding (KCryptoWrapper.class.php:89-92)
    encrypted = _aes(admin_secret, plain, encrypt=True)
    raw = _V2_PREFIX + str(session.partner_id).encode() + b"|" + encrypted
    return base64.urlsafe_b64encode(raw).decode("ascii")


# --- check --------------------------------------------------------------------------------


def parse_ks(ks: str, secret_of: Mapping[int, str], now: float) -> Session:
    """The session a KS stands for; `KsError` when it is malformed, foreign, forged or expired."""
    cracked = crack_ks(ks, secret_of)
    if cracked.expired(now):
        raise _expired()
    return cracked.session


@dataclass(frozen=True)
class Cracked:
    """A KS whose signature holds: its session and its raw `valid_until`."""

    session: Session
    valid_until: str | None

    def expired(self, now: float) -> bool:
        """`valid_until <= time()` with PHP 8's comparison (kSessionBase:441): a missing
        expiry (a v2 KS without `_e`) is always expired, a non-numeric one compares as
        text with the time's digits."""
        text = self.valid_until
        if text is None:
            return True
        if _NUMERIC.fullmatch(text):
            return float(text) <= int(now)
        return text <= str(int(now))


def crack_ks(ks: str, secret_of: Mapping[int, str]) -> Cracked:
    """`ks::fromSecureString`: the session, or INVALID_STR for every reason it cannot be read
    (including an unknown partner and a bad signature). Expiry is not checked here."""
    decoded = _decoded(ks)
    secret = secret_of.get(decoded.partner_id)
    if secret is None:
        raise _invalid_str()
    return _verify(decoded, secret)


@dataclass(frozen=True)
class _Decoded:
    """What a KS says before its signature is checked."""

    version: int
    partner_id: int
    signed: bytes  # v1: the signed fields; v2: the encrypted block
    signature: str  # v1 only


# Every request carries its KS: decoding it and checking it (base64, AES, SHA-1) are pure
# functions of the KS and the secret, so they are remembered. The partner's secret and the
# expiry are still looked up on every call.
@functools.lru_cache(maxsize=1024)
def _decoded(ks: str) -> _Decoded:
    """`parseKS` up to the secret lookup (kSessionBase:151-171, 224-242, 596-605)."""
    raw = _php_base64(ks.replace("-", "+").replace("_", "/"))
    if not raw or raw == b"0":  # `if (!$decodedKs)`
        raise _invalid_str()
    if raw.startswith(_V2_PREFIX):
        parts = raw.split(b"|", 2)
        if len(parts) != 3:
            raise _invalid_str()
        return _Decoded(2, _partner(parts[1]), parts[2], "")
    signature, bar, fields = raw.partition(b"|")
    if not bar or len(fields.split(b";")) < _V1_MIN_FIELDS:
        raise _invalid_str()
    return _Decoded(1, _partner(fields.split(b";")[0]), fields, signature.decode("latin-1"))


def _partner(text: bytes) -> int:
    decoded = text.decode("latin-1")
    if not _PARTNER_ID.fullmatch(decoded):
        raise _invalid_str()
    return int(decoded)


@functools.lru_cache(maxsize=1024)
def _verify(decoded: _Decoded, secret: str) -> Cracked:
    if decoded.version == 2:
        return _verify_v2(decoded, secret)
    expected = hashlib.sha1(secret.encode() + decoded.signed, usedforsecurity=False).hexdigest()
    if not hmac.compare_digest(expected.encode(), decoded.signature.encode("latin-1")):
        raise _invalid_str()  # `matchAdminSecretV1` (kSessionBase:739-751)
    try:
        parts = decoded.signed.decode("utf-8").split(";")
    except UnicodeError:
        raise _invalid_str() from None  # [I] PHP would take the bytes; no client sends them
    field = dict(enumerate(parts))
    return _cracked(decoded, parts[2], field.get(3), field.get(5), field.get(6, ""))


def _verify_v2(decoded: _Decoded, secret: str) -> Cracked:
    """`matchAdminSecretV2` and the field parse (kSessionBase:606-658, 714-731)."""
    encrypted = decoded.signed
    if not encrypted or len(encrypted) % _AES_BLOCK:
        raise _invalid_str()  # openssl_decrypt answers false: nothing can match
    plain = _aes(secret, encrypted, encrypt=False).rstrip(b"\0")
    digest, rest = plain[:_SHA1_SIZE], plain[_SHA1_SIZE:]
    if not hmac.compare_digest(digest, _sha1(rest)):
        raise _invalid_str()
    pairs = parse_qsl(rest[_RANDOM_SIZE:].decode("latin-1"), keep_blank_values=True)
    known = {key: value for key, value in pairs if key in _V2_FIELDS}
    privileges = ",".join(f"{k}:{v}" if v else k for k, v in pairs if k not in _V2_FIELDS)
    if privileges == "all:*":
        privileges = "*"
    return _cracked(decoded, known.get("_e"), known.get("_t"), known.get("_u"), privileges)


def _cracked(
    decoded: _Decoded,
    expiry: str | None,
    type_text: str | None,
    user: str | None,
    privileges: str,
) -> Cracked:
    session = Session(
        partner_id=decoded.partner_id,
        user_id=user or "",
        type=_type(type_text),
        expiry=int(float(expiry)) if expiry and _NUMERIC.fullmatch(expiry) else 0,
        privileges=privileges,
        version=decoded.version,
    )
    return Cracked(session, expiry)


def _type(text: str | None) -> int:
    """The type as an int, with PHP's `type >= 1` preserved: a non-numeric text that sorts
    at or after "1" is an admin KS on the real server, so it reads as ADMIN here."""
    if text is None:
        return USER
    if _NUMERIC.fullmatch(text):
        return int(float(text))
    return ADMIN if text >= "1" else USER


def _php_base64(text: str) -> bytes | None:
    """`base64_decode($text, true)`: whitespace is skipped, padding is optional but must be
    right when present, nothing may follow it, and a lone last character fails."""
    compact = text.translate(_B64_SKIPPED)
    data = compact.rstrip("=")
    padding = len(compact) - len(data)
    if not data.isascii() or not _B64_CHARS.fullmatch(data) or len(data) % 4 == 1:
        return None
    if padding and (padding > 2 or (len(data) + padding) % 4):
        return None
    try:
        return base64.b64decode(data + "=" * (-len(data) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _sha1(data: bytes) -> bytes:
    return hashlib.sha1(data, usedforsecurity=False).digest()


def _aes(secret: str, data: bytes, *, encrypt: bool) -> bytes:
    """AES-128-CBC without padding, key `sha1(secret)[:16]`, IV zero (kSessionBase:526-537)."""
    cipher = Cipher(algorithms.AES(_sha1(secret.encode())[:16]), modes.CBC(_ZERO_IV))
    worker = cipher.encryptor() if encrypt else cipher.decryptor()
    return worker.update(data) + worker.finalize()


# --- credentials --------------------------------------------------------------------------


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


@functools.lru_cache(maxsize=32)
def _fragments(secrets: tuple[str, ...]) -> Mapping[int, frozenset[str]]:
    """{length: every substring of that length of some form of some secret}. Cached: a
    session redacts every error answer with the same KS and secret, and a KS's grams in
    every spelling cost about a millisecond each time (a quarter of a server run's CPU)."""
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


def _covered(text: str, grams: Mapping[int, frozenset[str]]) -> list[tuple[int, int]]:
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
