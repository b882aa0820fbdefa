"""Server conformance: judge a Kaltura endpoint against the reference model (UT-S*)."""

from __future__ import annotations

from conformance.server.checks import CHECKS, Finding, run_checks
from conformance.server.concurrent import send_concurrently
from conformance.server.driver import (
    Answer,
    Observation,
    Send,
    ServerDriver,
    TokenPair,
)
from conformance.server.listing import ListQuery

__all__ = [
    "CHECKS",
    "Answer",
    "Finding",
    "ListQuery",
    "Observation",
    "Send",
    "ServerDriver",
    "TokenPair",
    "run_checks",
    "send_concurrently",
]
