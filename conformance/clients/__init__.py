"""How clients are run against an endpoint, and the suite's own reference client."""

from __future__ import annotations

from conformance.clients.api import KalturaApi, KalturaCallError, KalturaTransportError
from conformance.clients.reference import (
    FileSource,
    Source,
    UploadError,
    UploadOptions,
    UploadResult,
    upload_file,
)

__all__ = [
    "FileSource",
    "KalturaApi",
    "KalturaCallError",
    "KalturaTransportError",
    "Source",
    "UploadError",
    "UploadOptions",
    "UploadResult",
    "upload_file",
]
