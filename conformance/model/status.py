"""Token statuses and the transition table (kaltura-server-semantics.md §2).

The table is data, in the style of h11: the machine moves a token only through
`next_status`, which reads the table, so every row is a transition the machine makes (a new
row is born by ADD, an autoFinalize completion fires AUTO_FINALIZE) and a move the table
does not list is a bug that raises. What the spec's table has and the model does not copy
(CLOSED, from entry services; DELETED after a failed single-shot upload) is not a row.
"""

from __future__ import annotations

from enum import Enum, IntEnum
from types import MappingProxyType

__all__ = [
    "TRANSITIONS",
    "UPLOADABLE",
    "TokenStatus",
    "Trigger",
    "allows",
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

# trigger -> (statuses it may start from, status it leads to). None is "no token yet".
TRANSITIONS: MappingProxyType[Trigger, tuple[frozenset[TokenStatus | None], TokenStatus]] = (
    MappingProxyType(
        {
            Trigger.ADD: (frozenset({None}), TokenStatus.PENDING),
            Trigger.UPLOAD_PARTIAL: (UPLOADABLE, TokenStatus.PARTIAL_UPLOAD),
            Trigger.UPLOAD_FINAL: (UPLOADABLE, TokenStatus.FULL_UPLOAD),
            Trigger.AUTO_FINALIZE: (UPLOADABLE, TokenStatus.FULL_UPLOAD),
            Trigger.DELETE: (_VISIBLE, TokenStatus.DELETED),
        }
    )
)


def allows(current: TokenStatus | None, trigger: Trigger) -> bool:
    """Whether the table has a row for `trigger` from `current` (None: no token yet)."""
    return current in TRANSITIONS[trigger][0]


def next_status(current: TokenStatus | None, trigger: Trigger) -> TokenStatus:
    """The status `trigger` leads to from `current`; `ValueError` if the table forbids it.

    A forbidden transition here is a bug in the machine, not a client error: the machine
    answers clients with API errors before it ever asks for an illegal transition.
    """
    if not allows(current, trigger):
        name = "(none)" if current is None else current.name
        raise ValueError(f"illegal transition {name} --{trigger.value}-->")
    return TRANSITIONS[trigger][1]
