"""Kaltura sessions (KS v1): issued by `session.start`, checked on every other call.

`parse_ks` answers a `Session` or raises `KsError(code, description)` as `ks::getErrorStr`
names it; nothing a client sends may raise anything else.
"""

from __future__ import annotations

import base64
import hashlib
import json
from urllib.parse import quote, quote_plus

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from conformance.ks import ADMIN, REDACTED, USER, KsError, Session, issue_ks, parse_ks, redact

NOW = 1_700_000_000.0
PARTNER, OTHER = 101, 202
SECRETS = {PARTNER: "admin-secret-101", OTHER: "admin-secret-202"}
ADMIN_SESSION = Session(PARTNER, "admin@example.com", ADMIN, int(NOW) + 3600, "*")
USER_SESSION = Session(PARTNER, "alice", USER, int(NOW) + 60, "edit:0_abc,sview:*")


def b64(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return base64.b64encode(raw).decode("ascii")


def signed(fields: str, secret: str = SECRETS[PARTNER]) -> str:
    """A KS with the given fields, signed as Kaltura signs them."""
    signature = hashlib.sha1((secret + fields).encode(), usedforsecurity=False).hexdigest()
    return b64(f"{signature}|{fields}")


def refused(ks: str, code: int, description: str) -> None:
    with pytest.raises(KsError) as caught:
        parse_ks(ks, SECRETS, NOW)
    assert (caught.value.code, caught.value.description) == (code, description)
    assert str(caught.value) == f"{code},{description}"


# --- issue and parse ----------------------------------------------------------------------


@pytest.mark.parametrize("session", [ADMIN_SESSION, USER_SESSION], ids=["admin", "user"])
def test_round_trip(session: Session) -> None:
    ks = issue_ks(session, SECRETS[PARTNER], 12345)
    assert parse_ks(ks, SECRETS, NOW) == session


def test_admin_and_user_types() -> None:
    assert parse_ks(issue_ks(ADMIN_SESSION, SECRETS[PARTNER], 1), SECRETS, NOW).is_admin
    assert not parse_ks(issue_ks(USER_SESSION, SECRETS[PARTNER], 1), SECRETS, NOW).is_admin


def test_a_ks_seen_before_is_checked_again_on_every_call() -> None:
    """Decoding and the signature are remembered; the partner and the expiry are not."""
    ks = issue_ks(USER_SESSION, SECRETS[PARTNER], 99)
    assert parse_ks(ks, SECRETS, NOW) == USER_SESSION
    with pytest.raises(KsError, match="EXPIRED"):
        parse_ks(ks, SECRETS, USER_SESSION.expiry + 1)
    with pytest.raises(KsError, match="INVALID_STR"):
        parse_ks(ks, {OTHER: SECRETS[OTHER]}, NOW)
    with pytest.raises(KsError, match="INVALID_STR"):
        parse_ks(ks, {PARTNER: "a-new-secret"}, NOW)
    assert parse_ks(ks, SECRETS, NOW) == USER_SESSION


def test_round_trip_with_a_non_ascii_user_id_and_no_privileges() -> None:
    session = Session(OTHER, "józef 🎬", USER, int(NOW) + 10)
    assert parse_ks(issue_ks(session, SECRETS[OTHER], 7), SECRETS, NOW) == session


def test_the_ks_v1_layout() -> None:
    ks = issue_ks(USER_SESSION, SECRETS[PARTNER], 4242)
    signature, bar, fields = base64.b64decode(ks).decode().partition("|")
    assert bar == "|"
    assert fields == f"101;101;{int(NOW) + 60};0;4242;alice;edit:0_abc,sview:*;;"
    expected = hashlib.sha1((SECRETS[PARTNER] + fields).encode(), usedforsecurity=False).hexdigest()
    assert signature == expected


def test_the_random_part_makes_each_ks_different() -> None:
    assert issue_ks(ADMIN_SESSION, SECRETS[PARTNER], 1) != issue_ks(
        ADMIN_SESSION, SECRETS[PARTNER], 2
    )


def test_a_ks_valid_until_this_second_has_expired() -> None:
    """`valid_until <= time()` (kSessionBase.class.php:441)."""
    session = Session(PARTNER, "alice", USER, int(NOW))
    refused(issue_ks(session, SECRETS[PARTNER], 1), -5, "EXPIRED")
    later = Session(PARTNER, "alice", USER, int(NOW) + 1)
    assert parse_ks(issue_ks(later, SECRETS[PARTNER], 1), SECRETS, NOW) == later


# --- refusals -----------------------------------------------------------------------------


def test_unknown_partner() -> None:
    """No secret: `parseKsV1` answers null, `fromSecureString` INVALID_STR
    (kSessionBase.class.php:243-247, kSessionUtils.class.php:331-333)."""
    session = Session(303, "x", ADMIN, int(NOW) + 60)
    refused(issue_ks(session, "whatever", 1), -1, "INVALID_STR")


def test_expired() -> None:
    session = Session(PARTNER, "alice", USER, int(NOW) - 1)
    refused(issue_ks(session, SECRETS[PARTNER], 1), -5, "EXPIRED")


def test_a_forged_expired_ks_is_invalid_before_expired() -> None:
    session = Session(PARTNER, "alice", USER, int(NOW) - 1)
    refused(issue_ks(session, "not the secret", 1), -1, "INVALID_STR")


def test_forged_signature() -> None:
    ks = issue_ks(USER_SESSION, SECRETS[PARTNER], 1)
    signature, _, fields = base64.b64decode(ks).decode().partition("|")
    refused(b64(f"{signature}|{fields.replace(';alice;', ';mallory;')}"), -1, "INVALID_STR")
    refused(b64(f"{signature}|{fields.replace(';0;', ';2;', 1)}"), -1, "INVALID_STR")
    refused(b64(f"{'0' * 40}|{fields}"), -1, "INVALID_STR")


def test_another_partners_secret() -> None:
    refused(issue_ks(ADMIN_SESSION, SECRETS[OTHER], 1), -1, "INVALID_STR")


def test_a_ks_signed_for_another_partner_id() -> None:
    """Partner 202's own KS re-labelled as partner 101: the signature no longer holds."""
    ks = issue_ks(Session(OTHER, "x", ADMIN, int(NOW) + 60), SECRETS[OTHER], 1)
    signature, _, fields = base64.b64decode(ks).decode().partition("|")
    refused(b64(f"{signature}|{fields.replace('202;202', '101;101')}"), -1, "INVALID_STR")


FIELDS = f"101;101;{int(NOW) + 60};2;1;admin;*;;"


@pytest.mark.parametrize(
    "ks",
    [
        "",
        "garbage",
        "not base64!",
        "abc",  # bad padding
        "ksé",  # not ASCII
        "%%%%",
        b64(b"\xff\xfe|101;101"),  # not UTF-8
        b64(FIELDS),  # no "|"
        b64("sig|101;101;1"),  # too few fields
        signed("x;101;1;2;1;admin;*;;"),  # partner not a number
        signed("-1;-1;1;2;1;admin;*;;"),
        signed("²;101;1;2;1;admin;*;;"),  # "²".isdigit() is true
        signed("١٠١;101;1;2;1;admin;*;;"),
        signed(""),  # one field
        signed("101;101"),  # two: three are required (kSessionBase.class.php:236)
        b64(f"é|{FIELDS}"),  # a non-ASCII signature
        b64(f"|{FIELDS}"),
    ],
)
def test_malformed(ks: str) -> None:
    refused(ks, -1, "INVALID_STR")


@pytest.mark.parametrize(("text", "admin"), [("²", True), ("0", False), ("", False), ("1", True)])
def test_the_type_is_compared_with_1_as_php_8_does(text: str, admin: bool) -> None:
    """`isAdmin` is `type >= 1` (kSessionBase.class.php:289): a non-numeric type compares
    as text with "1", so "²" is an admin KS and "" is not."""
    session = parse_ks(signed(f"101;101;{int(NOW) + 60};{text};1;u;;;"), SECRETS, NOW)
    assert session.is_admin is admin


@pytest.mark.parametrize(
    ("expiry", "valid"),
    [(f"--{int(NOW)}", False), ("soon", True), ("²", True), ("", False), (" 9999999999 ", True)],
)
def test_a_non_numeric_expiry_compares_as_text(expiry: str, valid: bool) -> None:
    """PHP 8: a non-numeric string against an int compares as strings, so "soon" never
    expires and "" always has (kSessionBase.class.php:441)."""
    ks = signed(f"101;101;{expiry};2;1;admin;*;;")
    if valid:
        assert parse_ks(ks, SECRETS, NOW).is_admin
    else:
        refused(ks, -5, "EXPIRED")


def test_three_fields_are_enough() -> None:
    """Only partner, pattern and expiry are required (kSessionBase.class.php:236-259): no
    type is a user KS, no user is the anonymous user."""
    session = parse_ks(signed(f"101;101;{int(NOW) + 60}"), SECRETS, NOW)
    assert (session.partner_id, session.user_id, session.is_admin) == (PARTNER, "", False)


def test_the_official_clients_v1_ks_of_seven_fields() -> None:
    """`generateSession` writes partner;partner;expiry;type;rand;user;privileges."""
    ks = signed(f"101;101;{int(NOW) + 60};2;4321;alice;")
    session = parse_ks(ks, SECRETS, NOW)
    assert (session.user_id, session.type, session.version) == ("alice", ADMIN, 1)


def test_url_safe_base64_whitespace_and_missing_padding_are_read() -> None:
    """`base64_decode(str_replace(['-','_'], ['+','/'], $ks), true)` (kSessionBase:158):
    strict, but whitespace is skipped and padding may be left out."""
    ks = issue_ks(USER_SESSION, SECRETS[PARTNER], 3)
    variants = [ks.rstrip("="), ks.replace("+", "-").replace("/", "_"), f" {ks[:8]}\n{ks[8:]}"]
    for variant in variants:
        assert parse_ks(variant, SECRETS, NOW) == USER_SESSION
    for broken in (ks + "=", ks.rstrip("=") + "A", ks + "x"):
        refused(broken, -1, "INVALID_STR")


# --- KS v2 --------------------------------------------------------------------------------


V2_SESSION = Session(PARTNER, "alice", ADMIN, int(NOW) + 600, "edit:*,sview:1_x", 2)


def test_v2_round_trip() -> None:
    ks = issue_ks(V2_SESSION, SECRETS[PARTNER], 77)
    assert base64.urlsafe_b64decode(ks).startswith(b"v2|101|")
    assert parse_ks(ks, SECRETS, NOW) == V2_SESSION


def test_v2_star_privilege_is_all() -> None:
    """`*` is written `all:*` and read back as `*` (kSessionBase.class.php:549, 655-656)."""
    session = Session(PARTNER, "", USER, int(NOW) + 60, "*", 2)
    assert parse_ks(issue_ks(session, SECRETS[PARTNER], 1), SECRETS, NOW) == session


def test_v2_forged_other_partner_and_expired() -> None:
    ks = issue_ks(V2_SESSION, SECRETS[PARTNER], 5)
    raw = base64.urlsafe_b64decode(ks)
    refused(issue_ks(V2_SESSION, "not the secret", 5), -1, "INVALID_STR")
    relabelled = base64.urlsafe_b64encode(raw.replace(b"v2|101|", b"v2|202|", 1)).decode()
    refused(relabelled, -1, "INVALID_STR")
    flipped = raw[:-1] + bytes([raw[-1] ^ 1])
    refused(base64.urlsafe_b64encode(flipped).decode(), -1, "INVALID_STR")
    refused(base64.urlsafe_b64encode(raw[:-3]).decode(), -1, "INVALID_STR")  # not whole blocks
    refused(base64.urlsafe_b64encode(b"v2|101").decode(), -1, "INVALID_STR")
    with pytest.raises(KsError, match="EXPIRED"):
        parse_ks(ks, SECRETS, V2_SESSION.expiry)


def test_v2_without_an_expiry_has_always_expired() -> None:
    """`null <= time()` is true in PHP (kSessionBase.class.php:441)."""
    body = b"x" * 16 + b"_t=2&_u=bob"
    plain = hashlib.sha1(body).digest() + body
    plain += bytes(-len(plain) % 16)
    key = hashlib.sha1(SECRETS[PARTNER].encode()).digest()[:16]
    encryptor = Cipher(algorithms.AES(key), modes.CBC(bytes(16))).encryptor()
    blob = encryptor.update(plain) + encryptor.finalize()
    ks = base64.urlsafe_b64encode(b"v2|101|" + blob).decode()
    refused(ks, -5, "EXPIRED")


def test_the_official_clients_v2_ks_is_read() -> None:
    client = pytest.importorskip("KalturaClient").KalturaClient
    pytest.importorskip("Crypto.Cipher.AES")
    ks = client.generateSessionV2(SECRETS[PARTNER], "bob", 2, PARTNER, 3600, "edit:*").decode()
    session = parse_ks(ks, SECRETS, 0)
    assert (session.user_id, session.is_admin, session.privileges) == ("bob", True, "edit:*")


# --- redact -------------------------------------------------------------------------------


def test_redact_hides_every_occurrence() -> None:
    text = "ks=SECRET&again=SECRET, and SECRETSECRET"
    assert redact(text, "SECRET") == (f"ks={REDACTED}&again={REDACTED}, and {REDACTED}{REDACTED}")


def test_redact_several_secrets() -> None:
    assert redact("a=one b=two c=three", "one", "three") == f"a={REDACTED} b=two c={REDACTED}"


def test_redact_ignores_empty_secrets() -> None:
    assert redact("nothing to hide", "", "") == "nothing to hide"
    assert redact("abc", "", "b") == f"a{REDACTED}c"


def test_redact_without_secrets_or_matches() -> None:
    assert redact("text") == "text"
    assert redact("text", "absent") == "text"


def test_redact_hides_a_secret_that_contains_another_whole() -> None:
    assert redact("token=abcd", "ab", "abcd") == f"token={REDACTED}"


def test_redact_hides_a_ks_as_it_appears_in_a_url() -> None:
    ks = issue_ks(ADMIN_SESSION, SECRETS[PARTNER], 1) + "+/="
    for spelled in (quote(ks, safe=""), quote_plus(ks, safe="")):
        assert ks not in (url := f"/api_v3/index.php?ks={spelled}&x=1")
        assert redact(url, ks) == f"/api_v3/index.php?ks={REDACTED}&x=1"


def test_redact_a_real_ks() -> None:
    ks = issue_ks(ADMIN_SESSION, SECRETS[PARTNER], 1)
    secret = SECRETS[PARTNER]
    text = f"INVALID_KS {ks} signed with {secret}"
    hidden = redact(text, ks, secret)
    assert ks not in hidden
    assert secret not in hidden


# --- redact: fragments and encodings (issue 12 row 3) -------------------------------------

_SECRET = "0123456789abcdef0123456789abcdeF"


def _encodings(secret: str) -> dict[str, str]:
    return {
        "raw": secret,
        "percent": quote(secret, safe=""),
        "json": json.dumps(secret)[1:-1].replace("/", "\\/"),
        "base64": base64.b64encode(secret.encode()).decode(),
        "base64-shifted": base64.b64encode(b"k=" + secret.encode()).decode(),
        "wrapped": secret[:11] + "\n" + secret[11:23] + "\r\n" + secret[23:],
    }


def _leaks(text: str, secret: str) -> list[str]:
    """Every run of 8 characters of any encoding of `secret` still in `text`."""
    flat = text.replace("\r", "").replace("\n", "")
    encodings = _encodings(secret)
    encodings["base64-shifted"] = encodings["base64-shifted"][3:]  # those carry "k=" too
    forms = [form.replace("\r", "").replace("\n", "") for form in encodings.values()]
    grams = {form[i : i + 8] for form in forms for i in range(len(form) - 7)}
    return sorted(g for g in grams if g in flat)


@pytest.mark.parametrize("encoding", list(_encodings(_SECRET)))
def test_redact_hides_every_cut_of_every_encoding(encoding: str) -> None:
    """Output kept from any offset (a client's output tail cut inside the secret)."""
    ks = issue_ks(Session(100, "", ADMIN, 2_000_000_000), _SECRET, 7)
    for secret in (_SECRET, ks):
        output = f"log: {_encodings(secret)[encoding]} done"
        for cut in range(len(output)):
            hidden = redact(output[cut:], ks, _SECRET)
            assert not _leaks(hidden, secret), (encoding, cut, hidden)


def test_redact_keeps_what_is_not_a_secret_run() -> None:
    text = f"0123456 {_SECRET[:7]} abcdef0 upload ok"
    assert redact(text, _SECRET) == text  # runs of 7: too short to give a secret away
