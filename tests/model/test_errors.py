"""§10: every error code's arg names and message template, and how a message is filled in.

The expected table is copied from the spec (§10.1, §10.2), not from the model, so a typo in
either shows up here. SERVICE_NOT_SPECIFIED and SERVICE_DOES_NOT_EXISTS are named in §3.1
without their text; their text is Kaltura's `KalturaErrors.php` [I: not quoted by the spec].
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from conformance.model import ApiError, ErrorCode, ModelUsageError, api_error

if TYPE_CHECKING:
    from conftest import Harness

SPEC: dict[str, tuple[tuple[str, ...], str]] = {
    # §10.1
    "UPLOAD_TOKEN_NOT_FOUND": ((), "Upload token not found"),
    "UPLOAD_TOKEN_INVALID_STATUS_FOR_UPLOAD": (
        (),
        "Upload token is in an invalid status for uploading a file, "
        "maybe the file was already uploaded",
    ),
    "UPLOAD_TOKEN_INVALID_STATUS_FOR_ADD_ENTRY": (
        (),
        "Upload token is in an invalid status for adding entry, "
        "maybe the a file was not uploaded or the token was used",
    ),
    "UPLOAD_TOKEN_CANNOT_RESUME": ((), "Cannot resume the upload, original file was not found"),
    "UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE": ((), "Failed to match expected file size"),
    "UPLOAD_TOKEN_FILE_TYPE_RESTRICTED_FOR_UPLOAD": (
        (),
        "Upload token is restricted due to the file type",
    ),
    "UPLOAD_TOKEN_MISSING_FILE_SIZE": ((), "FileSize is mandatory when enabling autoFinalize"),
    "MAX_ALLOWED_CHUNK_COUNT_EXCEEDED": (
        (),
        "Max allowed waiting chunks to be concatenated has exceeded allowed limit",
    ),
    "UPLOAD_PASSED_MAX_RESUME_TIME_ALLOWED": (
        ("MAX_RESUME_TIME",),
        "Max resume time of @MAX_RESUME_TIME@ seconds reached, cannot resume upload",
    ),
    "UPLOAD_ERROR": ((), "Upload failed"),
    "UPLOADED_FILE_NOT_FOUND_BY_TOKEN": (
        (),
        "The uploaded file was not found by the given token id, or was already used",
    ),
    "INVALID_UPLOAD_TOKEN_ID": ((), "Invalid upload token id"),
    "UPLOAD_PARTIAL_ERROR": ((), "File was uploaded partially"),
    # §10.2
    "MISSING_MANDATORY_PARAMETER": (("PARAM_NAME",), 'Missing parameter "@PARAM_NAME@"'),
    "PROPERTY_VALIDATION_NOT_UPDATABLE": (
        ("PROP_NAME",),
        'The property "@PROP_NAME@" cannot be updated',
    ),
    "INVALID_ENUM_VALUE": (
        ("ENUM_VAL", "PARAM_NAME", "ENUM_TYPE"),
        'Invalid enumeration value "@ENUM_VAL@" for parameter "@PARAM_NAME@", '
        'expecting enumeration type "@ENUM_TYPE@"',
    ),
    "MISSING_KS": ((), "Missing KS, session not established"),
    "INVALID_KS": (
        ("KSID", "ERR_CODE", "ERR_DESC"),
        'Invalid KS "@KSID@", Error "@ERR_CODE@,@ERR_DESC@"',
    ),
    "SERVICE_FORBIDDEN": (("SERVICE",), "The access to service [@SERVICE@] is forbidden"),
    "ACTION_DOES_NOT_EXISTS": (
        ("ACTION_NAME", "SERVICE_NAME"),
        'Action "@ACTION_NAME@" does not exists for service "@SERVICE_NAME@"',
    ),
    "INTERNAL_SERVERL_ERROR": ((), "Internal server error occurred"),
    "INVALID_PARAMETER_CHAR": (("XML_FIELD",), 'Invalid char in "@XML_FIELD@" field'),
    # §3.1 names these codes only; the texts are KalturaErrors.php's (api_v3/lib) [I]
    "SERVICE_NOT_SPECIFIED": ((), "Service name was not specified, please specify one"),
    "SERVICE_DOES_NOT_EXISTS": (("SRV_NAME",), 'Service "@SRV_NAME@" does not exists'),
    "ACTION_NOT_SPECIFIED": ((), "Action name was not specified, please specify one"),
    # session.start with a wrong secret (APIErrors.class.php) [I]
    "START_SESSION_ERROR": (("PID",), "Error while starting session for partner [@PID@]"),
    # The front door (docs/front-door.md), alpha/apps/kaltura/lib/webservices/
    # APIErrors.class.php:267, :468, :148, :310 [I]
    "SERVICE_FORBIDDEN_CONTENT_BLOCKED": (
        (),
        "The access to this service is forbidden since the specified partner is blocked",
    ),
    "UNKNOWN_RESPONSE_FORMAT": (
        ("FORMAT",),
        "Response format provided [@FORMAT@] is not recognized by server",
    ),
    "MANDATORY_PARAMETER_MISSING": (("PARAM_NAME",), "Mandatory parameter missing [@PARAM_NAME@]"),
    "INVALID_FIELD_VALUE": (("FIELD_NAME",), "value in field [@FIELD_NAME@] is not valid"),
}

# Historical codes, removed in 2016 (§10.1): the model must not answer them.
HISTORICAL = {"UPLOAD_TOKEN_RESUMING_NOT_ALLOWED", "UPLOAD_TOKEN_RESUMING_INVALID_POSITION"}


def test_every_code_of_the_spec_is_known_and_nothing_else() -> None:
    """§10.1 / §10.2: the model knows exactly the spec's codes, no historical ones."""
    assert {code.name for code in ErrorCode} == set(SPEC)
    assert not HISTORICAL & {code.name for code in ErrorCode}


@pytest.mark.parametrize("name", sorted(SPEC))
def test_arg_names_and_template(name: str) -> None:
    """§10: each code's arg names (in order) and message template, verbatim."""
    code = ErrorCode[name]
    assert (code.arg_names, code.template) == SPEC[name]
    assert set(re.findall(r"@([A-Z_]+)@", code.template)) == set(code.arg_names)


@pytest.mark.parametrize("name", sorted(SPEC))
def test_message_with_every_arg_given(name: str) -> None:
    """§10.1: `@ARG@` is replaced by the arg's value; args come back as (name, str(value))
    pairs in declaration order."""
    code = ErrorCode[name]
    values = {arg: f"v{i}-{arg.lower()}" for i, arg in enumerate(code.arg_names)}
    error = api_error(code, **values)
    expected = code.template
    for arg, value in values.items():
        expected = expected.replace(f"@{arg}@", value)
    assert error == ApiError(name, expected, tuple(values.items()))
    assert "@" not in error.message
    assert error.args_dict == values


@pytest.mark.parametrize("name", sorted(n for n, (args, _) in SPEC.items() if args))
def test_missing_args_become_na(name: str) -> None:
    """§10.1: missing args become "N/A", in the message and in `args`."""
    code = ErrorCode[name]
    error = api_error(code)
    assert error.args == tuple((arg, "N/A") for arg in code.arg_names)
    assert error.message == re.sub(r"@[A-Z_]+@", "N/A", code.template)


def test_arg_values_are_stringified() -> None:
    """§12.2: arg values are strings on the wire (`{"MAX_RESUME_TIME":"604800"}`)."""
    error = api_error(ErrorCode.UPLOAD_PASSED_MAX_RESUME_TIME_ALLOWED, MAX_RESUME_TIME=604800)
    assert error.args == (("MAX_RESUME_TIME", "604800"),)
    assert error.message == "Max resume time of 604800 seconds reached, cannot resume upload"


def test_some_args_given_others_na() -> None:
    """§10.1: a partial set of args: the given ones substituted, the rest N/A."""
    error = api_error(ErrorCode.INVALID_KS, KSID="abc")
    assert error.message == 'Invalid KS "abc", Error "N/A,N/A"'
    assert error.args_dict == {"KSID": "abc", "ERR_CODE": "N/A", "ERR_DESC": "N/A"}


def test_no_arg_error_has_empty_args() -> None:
    """§12.2: no args → an empty `args` (JSON `[]` on the wire)."""
    error = api_error(ErrorCode.UPLOAD_TOKEN_NOT_FOUND)
    assert error.args == ()
    assert error.args_dict == {}


def test_unknown_arg_is_a_usage_error() -> None:
    """Model contract (errors.py): an arg the code does not take is the caller's bug."""
    with pytest.raises(ModelUsageError, match="takes no args"):
        api_error(ErrorCode.UPLOAD_ERROR, PARAM_NAME="x")


def test_errors_the_model_answers_carry_their_args(h: Harness) -> None:
    """§10: errors as the model answers them, with the arg names the wire will serialise."""
    token = h.add()
    missing = h.fails(h.upload(token, None), "MISSING_MANDATORY_PARAMETER")
    assert missing.error.message == 'Missing parameter "fileData"'
    bad_char = h.fails(h.upload("\x07", b"x"), "INVALID_PARAMETER_CHAR")
    assert bad_char.error.message == 'Invalid char in "uploadTokenId" field'
    not_found = h.fails(h.get("nope"), "UPLOAD_TOKEN_NOT_FOUND")
    assert (not_found.error.message, not_found.error.args) == ("Upload token not found", ())
