"""Kaltura API errors as values (kaltura-server-semantics.md §10).

The model reports a misbehaving peer with an `ApiError` value inside an outcome, never
with an exception; `ModelUsageError` is for callers who misuse the model itself (h11's
split between "the peer broke the protocol" and "you called me wrongly").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

__all__ = ["ApiError", "ErrorCode", "ModelUsageError", "api_error"]


class ModelUsageError(Exception):
    """The caller used the model wrongly (bad types, unknown ticket): a bug in the caller."""


class ErrorCode(Enum):
    """Every error code the uploadToken service can answer, with its arg names and template.

    Values are `(arg names, message template)` exactly as in `KalturaErrors.php` (§10.1,
    §10.2); `@NAME@` is replaced by the arg value and missing args become "N/A".
    """

    UPLOAD_TOKEN_NOT_FOUND = ((), "Upload token not found")
    UPLOAD_TOKEN_INVALID_STATUS_FOR_UPLOAD = (
        (),
        "Upload token is in an invalid status for uploading a file, "
        "maybe the file was already uploaded",
    )
    UPLOAD_TOKEN_INVALID_STATUS_FOR_ADD_ENTRY = (
        (),
        "Upload token is in an invalid status for adding entry, "
        "maybe the a file was not uploaded or the token was used",
    )
    UPLOAD_TOKEN_CANNOT_RESUME = ((), "Cannot resume the upload, original file was not found")
    UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE = ((), "Failed to match expected file size")
    UPLOAD_TOKEN_FILE_TYPE_RESTRICTED_FOR_UPLOAD = (
        (),
        "Upload token is restricted due to the file type",
    )
    UPLOAD_TOKEN_MISSING_FILE_SIZE = ((), "FileSize is mandatory when enabling autoFinalize")
    MAX_ALLOWED_CHUNK_COUNT_EXCEEDED = (
        (),
        "Max allowed waiting chunks to be concatenated has exceeded allowed limit",
    )
    UPLOAD_PASSED_MAX_RESUME_TIME_ALLOWED = (
        ("MAX_RESUME_TIME",),
        "Max resume time of @MAX_RESUME_TIME@ seconds reached, cannot resume upload",
    )
    UPLOAD_ERROR = ((), "Upload failed")
    UPLOADED_FILE_NOT_FOUND_BY_TOKEN = (
        (),
        "The uploaded file was not found by the given token id, or was already used",
    )
    INVALID_UPLOAD_TOKEN_ID = ((), "Invalid upload token id")
    UPLOAD_PARTIAL_ERROR = ((), "File was uploaded partially")
    MISSING_MANDATORY_PARAMETER = (("PARAM_NAME",), 'Missing parameter "@PARAM_NAME@"')
    PROPERTY_VALIDATION_NOT_UPDATABLE = (
        ("PROP_NAME",),
        'The property "@PROP_NAME@" cannot be updated',
    )
    INVALID_ENUM_VALUE = (
        ("ENUM_VAL", "PARAM_NAME", "ENUM_TYPE"),
        'Invalid enumeration value "@ENUM_VAL@" for parameter "@PARAM_NAME@", '
        'expecting enumeration type "@ENUM_TYPE@"',
    )
    MISSING_KS = ((), "Missing KS, session not established")
    INVALID_KS = (
        ("KSID", "ERR_CODE", "ERR_DESC"),
        'Invalid KS "@KSID@", Error "@ERR_CODE@,@ERR_DESC@"',
    )
    SERVICE_FORBIDDEN = (("SERVICE",), "The access to service [@SERVICE@] is forbidden")
    SERVICE_NOT_SPECIFIED = ((), "Service name was not specified, please specify one")
    SERVICE_DOES_NOT_EXISTS = (("SRV_NAME",), 'Service "@SRV_NAME@" does not exists')
    ACTION_NOT_SPECIFIED = ((), "Action name was not specified, please specify one")
    ACTION_DOES_NOT_EXISTS = (
        ("ACTION_NAME", "SERVICE_NAME"),
        'Action "@ACTION_NAME@" does not exists for service "@SERVICE_NAME@"',
    )
    START_SESSION_ERROR = (("PID",), "Error while starting session for partner [@PID@]")
    SERVICE_FORBIDDEN_CONTENT_BLOCKED = (
        (),
        "The access to this service is forbidden since the specified partner is blocked",
    )
    UNKNOWN_RESPONSE_FORMAT = (
        ("FORMAT",),
        "Response format provided [@FORMAT@] is not recognized by server",
    )
    MANDATORY_PARAMETER_MISSING = (("PARAM_NAME",), "Mandatory parameter missing [@PARAM_NAME@]")
    INVALID_FIELD_VALUE = (("FIELD_NAME",), "value in field [@FIELD_NAME@] is not valid")
    INTERNAL_SERVERL_ERROR = ((), "Internal server error occurred")  # sic: Kaltura's spelling
    INVALID_PARAMETER_CHAR = (("XML_FIELD",), 'Invalid char in "@XML_FIELD@" field')

    @property
    def arg_names(self) -> tuple[str, ...]:
        names: tuple[str, ...] = self.value[0]
        return names

    @property
    def template(self) -> str:
        text: str = self.value[1]
        return text


@dataclass(frozen=True)
class ApiError:
    """A `KalturaAPIException` as the server sends it: code, message and named args."""

    code: str
    message: str
    args: tuple[tuple[str, str], ...] = field(default=())

    @property
    def args_dict(self) -> dict[str, str]:
        return dict(self.args)


def api_error(code: ErrorCode, **args: object) -> ApiError:
    """Build the error `code` with its message filled in as `APIErrors::getErrorData` does."""
    unknown = set(args) - set(code.arg_names)
    if unknown:
        raise ModelUsageError(f"{code.name} takes no args {sorted(unknown)}")
    values = {name: str(args[name]) if name in args else "N/A" for name in code.arg_names}
    message = code.template
    for name, value in values.items():
        message = message.replace(f"@{name}@", value)
    return ApiError(code.name, message, tuple(values.items()))
