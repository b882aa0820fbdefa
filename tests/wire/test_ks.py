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
    with pytest.raises(KsError, match="INVALID_PARTNER"):
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


def test_a_ks_valid_until_this_second_is_still_valid() -> None:
    """[I] expired means `expiry < now`."""
    session = Session(PARTNER, "alice", USER, int(NOW))
    assert parse_ks(issue_ks(session, SECRETS[PARTNER], 1), SECRETS, NOW) == session


# --- refusals -----------------------------------------------------------------------------


def test_unknown_partner() -> None:
    session = Session(303, "x", ADMIN, int(NOW) + 60)
    refused(issue_ks(session, "whatever", 1), -2, "INVALID_PARTNER")


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
        signed(f"101;101;--{int(NOW)};2;1;admin;*;;"),
        signed("101;101;²;2;1;admin;*;;"),
        signed("101;101;soon;2;1;admin;*;;"),
        b64(f"é|{FIELDS}"),  # a non-ASCII signature
        b64(f"|{FIELDS}"),
    ],
)
def test_malformed(ks: str) -> None:
    refused(ks, -1, "INVALID_STR")


def test_a_garbage_type_reads_as_a_user_ks() -> None:
    session = parse_ks(signed(f"101;101;{int(NOW) + 60};²;1;u;;;"), SECRETS, NOW)
    assert (session.type, session.is_admin) == (USER, False)


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
