"""Fault plans at run time: counting requests per token and deciding which fault fires.

`conformance.faults` says what a plan means (pure); this module keeps the counters an
endpoint needs to apply it — the n-th data request, middle and close of each token, and how
often each fault has hit — and records every firing, so a report can tell a fault that
fired from one the client never reached (NOT-EXERCISED).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field

from conformance.faults import Fault, FaultPlan, RequestFacts
from conformance.trace import FaultFiring

__all__ = ["FaultRuntime"]


@dataclass
class _TokenCounters:
    data: int = 0
    middles: int = 0
    closes: int = 0


@dataclass
class _PartnerState:
    plan: FaultPlan
    hits: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    tokens: dict[str, _TokenCounters] = field(default_factory=dict)  # least recent first
    firings: list[FaultFiring] = field(default_factory=list)


class FaultRuntime:
    """Counters and firings per partner; thread-safe.

    `token_window` None keeps every token's counters (a case's plan counts its whole
    upload); a number keeps those of that many most recently used tokens per partner, so a
    long-running server stays flat."""

    def __init__(self, token_window: int | None = None) -> None:
        self._lock = threading.Lock()
        self._partners: dict[int, _PartnerState] = {}
        self.token_window = token_window

    def attach(self, partner_id: int, plan: FaultPlan) -> None:
        """Give a partner its plan (replacing any earlier one and its counters)."""
        with self._lock:
            self._partners[partner_id] = _PartnerState(plan)

    def on_data_request(
        self,
        partner_id: int,
        token_id: str,
        *,
        resume: bool,
        final: bool,
        resume_at: float,
        exchange_id: int,
    ) -> tuple[RequestFacts, Fault | None]:
        """Count one upload request and return its facts and the fault to apply, if any."""
        with self._lock:
            state = self._partners.get(partner_id)
            counters = self._counters(state, token_id)
            facts = _count(counters, resume=resume, final=final, resume_at=resume_at)
            if state is None or not state.plan:
                return facts, None
            matched = state.plan.match(facts, state.hits)
            if matched is None:
                return facts, None
            index, fault = matched
            state.hits[index] += 1
            state.firings.append(FaultFiring(index, fault, token_id, facts.data_index, exchange_id))
            return facts, fault

    def _counters(self, state: _PartnerState | None, token_id: str) -> _TokenCounters:
        if state is None:
            return _TokenCounters()
        counters = state.tokens.pop(token_id, None) or _TokenCounters()
        state.tokens[token_id] = counters  # now the most recent
        if self.token_window is not None and len(state.tokens) > self.token_window:
            del state.tokens[next(iter(state.tokens))]
        return counters

    def forget(self, partner_id: int) -> None:
        with self._lock:
            self._partners.pop(partner_id, None)

    def firings(self, partner_id: int) -> tuple[FaultFiring, ...]:
        with self._lock:
            state = self._partners.get(partner_id)
            return tuple(state.firings) if state is not None else ()

    def plan(self, partner_id: int) -> FaultPlan:
        with self._lock:
            state = self._partners.get(partner_id)
            return state.plan if state is not None else FaultPlan()


def _count(
    counters: _TokenCounters, *, resume: bool, final: bool, resume_at: float
) -> RequestFacts:
    counters.data += 1
    middle = resume and not final
    counters.middles += middle
    counters.closes += final
    return RequestFacts(
        data_index=counters.data,
        middle_index=counters.middles if middle else None,
        close_attempt=counters.closes if final else None,
        resume_at=resume_at,
        is_opening=not resume,
    )
