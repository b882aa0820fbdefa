"""Strategies for fault plans: which request is hit, and what happens to it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from conformance.faults import (
    ChunkAtOffset,
    CloseAttempt,
    Fault,
    FaultKind,
    FaultPlan,
    NthDataRequest,
    NthMiddleRequest,
    OpeningRequest,
    Selector,
)
from strategies._validation import (
    check_bool,
    check_float,
    check_int,
    check_ints,
    check_kinds,
    check_order,
)

__all__ = [
    "ALL_FAULT_KINDS",
    "DEFAULT_MAX_REQUESTS",
    "DEFAULT_MAX_SECONDS",
    "fault_plans",
    "faults",
    "selectors",
]

ALL_FAULT_KINDS = tuple(FaultKind)
DEFAULT_MAX_REQUESTS = 8
# A client retries its close a few times at most: later attempts are rarely reached.
_MAX_CLOSE_ATTEMPT = 3
_STATUSES = (503, 500, 502, 504)
# Delays and holds cost wall time in every example that draws them: keep the default short.
DEFAULT_MAX_SECONDS = 0.25
_SECONDS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)


def _check_selector_args(max_requests: object, offsets: object) -> tuple[int, tuple[int, ...]]:
    most = check_int("max_requests", max_requests, minimum=1)
    return most, tuple(sorted(set(check_ints("offsets", offsets, minimum=0))))


def _ordinal_selectors(max_requests: int) -> list[st.SearchStrategy[Selector]]:
    closes = min(_MAX_CLOSE_ATTEMPT, max_requests)
    return [
        st.builds(NthDataRequest, st.integers(1, max_requests)),
        st.builds(NthMiddleRequest, st.integers(1, max_requests)),
        st.builds(CloseAttempt, st.integers(1, closes)),
    ]


def _offset_selectors(offsets: tuple[int, ...]) -> list[st.SearchStrategy[Selector]]:
    return [st.builds(ChunkAtOffset, st.sampled_from(offsets))] if offsets else []


def selectors(
    *, max_requests: int = DEFAULT_MAX_REQUESTS, offsets: Iterable[int] = ()
) -> st.SearchStrategy[Selector]:
    """Request selectors: the opening, the n-th data or middle request (n <= max_requests),
    the k-th close attempt (k <= 3) or, if `offsets` are given, the middle chunk at one of them.

    Shrinks towards `OpeningRequest()`, then towards n = 1.
    """
    most, points = _check_selector_args(max_requests, offsets)
    return st.one_of(
        st.just(OpeningRequest()), *_ordinal_selectors(most), *_offset_selectors(points)
    )


def _selectors_for(
    kind: FaultKind, max_requests: int, offsets: tuple[int, ...]
) -> st.SearchStrategy[Selector]:
    if kind is FaultKind.CLOSE_CANNOT_MATCH:
        return st.builds(CloseAttempt, st.integers(1, min(_MAX_CLOSE_ATTEMPT, max_requests)))
    if kind is FaultKind.HOLD_CHUNK:
        middles = st.builds(NthMiddleRequest, st.integers(1, max_requests))
        return st.one_of(middles, *_offset_selectors(offsets))
    return selectors(max_requests=max_requests, offsets=offsets)


@st.composite
def _params_for(draw: st.DrawFn, kind: FaultKind, seconds: tuple[float, ...]) -> dict[str, Any]:
    # Same draws for every kind, so that shrinking the kind keeps the rest of the example.
    status = draw(st.sampled_from(_STATUSES))
    duration = draw(st.sampled_from(seconds))
    if kind is FaultKind.HTTP_ERROR:
        return {"status": status}
    if kind is FaultKind.DELAY:
        return {"delay_seconds": duration}
    if kind is FaultKind.HOLD_CHUNK:
        return {"hold_seconds": duration}
    return {}  # the Kaltura error keeps its real default code and message


def _check_fault_args(
    max_requests: object,
    offsets: object,
    max_times: object,
    allow_persistent: object,
    max_seconds: object,
) -> dict[str, Any]:
    """The arguments `faults` and `fault_plans` share, checked, as `_faults` keywords."""
    most, points = _check_selector_args(max_requests, offsets)
    limit = check_int("max_times", max_times, minimum=1)
    persistent = check_bool("allow_persistent", allow_persistent)
    seconds = _seconds_upto(check_float("max_seconds", max_seconds, minimum=_SECONDS[0]))
    times: st.SearchStrategy[int | None] = st.integers(1, limit)
    if persistent:
        times = st.one_of(times, st.none())  # after the integers: shrinks to transient
    return {"max_requests": most, "offsets": points, "times": times, "seconds": seconds}


def faults(
    *,
    kinds: Iterable[FaultKind] = ALL_FAULT_KINDS,
    max_requests: int = DEFAULT_MAX_REQUESTS,
    offsets: Iterable[int] = (),
    max_times: int = 3,
    allow_persistent: bool = False,
    max_seconds: float = DEFAULT_MAX_SECONDS,
) -> st.SearchStrategy[Fault]:
    """Single faults of one of `kinds`, on a selector that suits the kind.

    `times` is 1..max_times, or None (persistent) when `allow_persistent`; DELAY and HOLD_CHUNK
    last 0.01..max_seconds seconds; HTTP errors are 503, 500, 502 or 504. Shrinks towards the
    first of `kinds` (HTTP 503 by default), once, on the simplest selector that suits it (the
    opening request; the first middle for HOLD_CHUNK; the first close for CLOSE_CANNOT_MATCH).
    """
    kinds_ = check_kinds("kinds", kinds)
    if not kinds_:
        raise InvalidArgument(f"kinds={kinds!r} must name at least one FaultKind")
    shared = _check_fault_args(max_requests, offsets, max_times, allow_persistent, max_seconds)
    return _faults(kinds=kinds_, **shared)


def _seconds_upto(max_seconds: float) -> tuple[float, ...]:
    return tuple(s for s in _SECONDS if s <= max_seconds)


@st.composite
def _faults(
    draw: st.DrawFn,
    *,
    kinds: tuple[FaultKind, ...],
    max_requests: int,
    offsets: tuple[int, ...],
    times: st.SearchStrategy[int | None],
    seconds: tuple[float, ...],
) -> Fault:
    kind = draw(st.sampled_from(kinds))
    selector = draw(_selectors_for(kind, max_requests, offsets))
    params = draw(_params_for(kind, seconds))
    return Fault(selector, kind, draw(times), **params)


def fault_plans(
    *,
    kinds: Iterable[FaultKind] = ALL_FAULT_KINDS,
    min_faults: int = 0,
    max_faults: int = 3,
    max_requests: int = DEFAULT_MAX_REQUESTS,
    offsets: Iterable[int] = (),
    max_times: int = 3,
    allow_persistent: bool = False,
    max_seconds: float = DEFAULT_MAX_SECONDS,
) -> st.SearchStrategy[FaultPlan]:
    """Fault plans of min_faults..max_faults faults drawn by `faults` (same arguments).

    With no `kinds`, only the empty plan (min_faults must then be 0). Shrinks towards the empty
    plan, then towards one simple fault.
    """
    check_int("min_faults", min_faults, minimum=0)
    check_int("max_faults", max_faults, minimum=0)
    check_order("min_faults", min_faults, "max_faults", max_faults)
    kinds_ = check_kinds("kinds", kinds)
    shared = _check_fault_args(max_requests, offsets, max_times, allow_persistent, max_seconds)
    if not kinds_ or max_faults == 0:
        if min_faults:
            raise InvalidArgument(f"min_faults={min_faults!r} needs kinds and max_faults > 0")
        return st.just(FaultPlan())
    single = _faults(kinds=kinds_, **shared)
    plans = st.lists(single, min_size=min_faults, max_size=max_faults)
    return plans.map(lambda items: FaultPlan(tuple(items)))
