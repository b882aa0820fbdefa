"""Token statuses and the transition table (kaltura-server-semantics.md §2).

The table is data, in the style of h11: the machine asks it whether a transition is
legal instead of scattering status checks through the upload algorithm.
"""

from __future__ import annotations

from enum import Enum, IntEnum
from types import MappingProxyType

__all__ = [
    "TRANSITIONS",
    "UPLOADABLE",
    "TokenStatus",
    "Trigger",
    "next_status",
]


class TokenStatus(IntEnum):
    """`KalturaUploadTokenStatus` (§2.1). TIMED_OUT is defined but never assigned (§2.1)."""

    PENDING = 0
    PARTIAL_UPLOAD = 1
    FULL_UPLOAD = 2
    CLOSED = 3
    TIMED_OUT = 4
    DELETED = 5


class Trigger(Enum):
    """What moves a token from one status to another (§2.2)."""

    ADD = "add"
    UPLOAD_PARTIAL = "upload, finalChunk=false"
    UPLOAD_FINAL = "upload, finalChunk=true"
    AUTO_FINALIZE = "autoFinalize detects completion"
    DELETE = "delete"


# Statuses that accept an upload (§2.2: a strict in-array check on {0, 1}).
UPLOADABLE: frozenset[TokenStatus] = frozenset({TokenStatus.PENDING, TokenStatus.PARTIAL_UPLOAD})

_VISIBLE = frozenset(set(TokenStatus) - {TokenStatus.DELETED})

# trigger -> (statuses it may start from, status it leads to). ADD starts from "no token".
TRANSITIONS: MappingProxyType[Trigger, tuple[frozenset[TokenStatus], TokenStatus]] = (
    MappingProxyType(
        {
            Trigger.ADD: (frozenset(), TokenStatus.PENDING),
            Trigger.UPLOAD_PARTIAL: (UPLOADABLE, TokenStatus.PARTIAL_UPLOAD),
            Trigger.UPLOAD_FINAL: (UPLOADABLE, TokenStatus.FULL_UPLOAD),
            Trigger.AUTO_FINALIZE: (UPLOADABLE, TokenStatus.FULL_UPLOAD),
            Trigger.DELETE: (_VISIBLE, TokenStatus.DELETED),
        }
    )
)


def next_status(current: TokenStatus, trigger: Trigger) -> TokenStatus:
    """The status `trigger` leads to from `current`; `ValueError` if the table forbids it.

    A forbidden transition here is a bug in the machine, not a client error: the machine
    answers clients with API errors before it ever asks for an illegal transition.
    """
    allowed_from, target = TRANSITIONS[trigger]
    if current not in allowed_from:
        raise ValueError(f"illegal transition {current.name} --{trigger.value}-->")
    return target
