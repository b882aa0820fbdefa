"""The reference model of Kaltura's uploadToken service (pure: standard library, no I/O).

Start at `UploadTokenModel.apply`; see `machine.py` for the design and
`kaltura-server-semantics.md` for the behaviour it copies, section by section.
"""

from __future__ import annotations

from conformance.model.blobs import Blob, BlobFactory, MemoryBlob, MemoryBlobFactory
from conformance.model.config import ModelConfig
from conformance.model.errors import ApiError, ErrorCode, ModelUsageError, api_error
from conformance.model.events import (
    AbandonClose,
    AddToken,
    Caller,
    ContinueClose,
    DeleteToken,
    Event,
    FilePart,
    GetToken,
    ListTokens,
    NotAFile,
    Pager,
    TokenFilter,
    Upload,
)
from conformance.model.machine import READONLY_FIELDS, UploadTokenModel
from conformance.model.outcomes import (
    CloseWaiting,
    Deleted,
    Failed,
    Outcome,
    TokenListed,
    TokenResult,
    TokenView,
    failed,
)
from conformance.model.status import TRANSITIONS, UPLOADABLE, TokenStatus, Trigger

__all__ = [
    "READONLY_FIELDS",
    "TRANSITIONS",
    "UPLOADABLE",
    "AbandonClose",
    "AddToken",
    "ApiError",
    "Blob",
    "BlobFactory",
    "Caller",
    "CloseWaiting",
    "ContinueClose",
    "DeleteToken",
    "Deleted",
    "ErrorCode",
    "Event",
    "Failed",
    "FilePart",
    "GetToken",
    "ListTokens",
    "MemoryBlob",
    "MemoryBlobFactory",
    "ModelConfig",
    "ModelUsageError",
    "NotAFile",
    "Outcome",
    "Pager",
    "TokenFilter",
    "TokenListed",
    "TokenResult",
    "TokenStatus",
    "TokenView",
    "Trigger",
    "Upload",
    "UploadTokenModel",
    "api_error",
    "failed",
]
