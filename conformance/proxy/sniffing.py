"""The form fields before a multipart body's first file: read from the body's head so the
proxy can decide, by their KS, whether the body may stream on before the file arrives."""

from __future__ import annotations

import io

from conformance.endpoints.bodies import read_body
from conformance.model import BlobFactory
from conformance.wire import ParsedBody

__all__ = ["FACTS_WITHIN", "fields_before_file"]

FACTS_WITHIN = 64 << 10  # bytes of a multipart body searched for the fields before a file


def fields_before_file(
    prefix: bytes, delimiter: bytes, content_type: str | None, blobs: BlobFactory
) -> ParsedBody | None:
    """The text fields before the first file part of a multipart body, parsed as the whole
    body will be; None until that part's headers are in `prefix`."""
    position = 0
    while (start := prefix.find(delimiter, position)) >= 0:
        headers_at = start + len(delimiter)
        end = prefix.find(b"\r\n\r\n", headers_at)
        if end < 0:
            return None
        if b"filename=" in prefix[headers_at:end].lower():
            before = prefix[:start] + delimiter + b"--\r\n"
            parsed = read_body(
                io.BytesIO(before).read,
                content_type=content_type,
                content_length=len(before),
                blobs=blobs,
            )
            for part in parsed.files:  # none: the cut is before the first file
                part.blob.release()
            return parsed
        position = end
    return None
