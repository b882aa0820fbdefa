"""Server conformance: judge a Kaltura endpoint against the reference model (UT-S*)."""

from __future__ import annotations

from conformance.server.answers import Observation, ServerAnswer, ServerAnswerKind
from conformance.server.checks import CHECKS, ServerUnderTest, run_check, run_checks
from conformance.server.concurrent import send_concurrently
from conformance.server.driver import ServerDriver, TokenPair
from conformance.server.listing import ListQuery
from conformance.server.sends import Send

__all__ = [
    "CHECKS",
    "ListQuery",
    "Observation",
    "Send",
    "ServerAnswer",
    "ServerAnswerKind",
    "ServerDriver",
    "ServerUnderTest",
    "TokenPair",
    "run_check",
    "run_checks",
    "send_concurrently",
]
