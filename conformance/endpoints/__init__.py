"""Endpoints: the reference model on the wire.

`core.KalturaEndpoint` is the one request handler (partners, model, faults, trace); the
transports around it are the in-process httpx transport and the loopback HTTP server. What
they record is `conformance.trace`.
"""

from __future__ import annotations

from conformance.endpoints.core import (
    KALTURA_FINAL_WAIT,
    EndpointConfig,
    IncomingRequest,
    KalturaEndpoint,
    Reply,
)
from conformance.endpoints.partners import Partner, Partners
from conformance.endpoints.trace import TraceLog

__all__ = [
    "KALTURA_FINAL_WAIT",
    "EndpointConfig",
    "IncomingRequest",
    "KalturaEndpoint",
    "Partner",
    "Partners",
    "Reply",
    "TraceLog",
]
