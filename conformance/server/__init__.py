"""Server conformance: judge a Kaltura endpoint against the reference model (UT-S*)."""

from __future__ import annotations

from conformance.server.answers import AnswerKind, Observation, ServerAnswer
from conformance.server.checks import CHECKS, ServerUnderTest, run_check, run_checks
from conformance.server.concurrent import send_concurrently
from conformance.server.driver import ServerDriver, TokenPair
from conformance.server.listing import ListQuery
from conformance.server.sends import Send

__all__ = [
    "CHECKS",
    "AnswerKind",
    "ListQuery",
    "Observation",
    "Send",
    "ServerAnswer",
    "ServerDriver",
    "ServerUnderTest",
    "TokenPair",
    "run_check",
    "run_checks",
    "send_concurrently",
]
