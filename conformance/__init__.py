"""kaltura-upload-conformance: a conformance suite for Kaltura's chunked upload protocol.

The reference model lives in `conformance.model`; the requirement catalogue in
`conformance.requirements`; deterministic file content in `conformance.content`.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
