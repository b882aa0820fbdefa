"""Whose fault plan a proxied request falls under, when cases share one live partner.

A plan is attached per partner (`attach`), or per case (`attach_case`): a case's plan
applies to the data requests on its token, counted as if it had a partner of its own
(a negative key, never a partner id), and to every request of its own session (by the
session's user id). Every partner seen gets an empty plan, so data requests are counted
(`data_index`) for every partner, as the endpoint counts them. A case's trace is picked
from the proxy's by the same keys (`case_exchanges`). Thread-safe.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Collection, Sequence

from conformance.endpoints.fault_runtime import FaultRuntime
from conformance.faults import FaultPlan
from conformance.model import Caller
from conformance.proxy.refusals import refuses
from conformance.trace import Exchange

__all__ = ["CasePlans"]


class CasePlans:
    """The plans of partners and of cases, over one `FaultRuntime`."""

    def __init__(self, faults: FaultRuntime) -> None:
        self.faults = faults
        self._lock = threading.Lock()
        self._partners: set[int] = set()  # those with counters (a plan, maybe empty)
        self._cases: dict[str, int] = {}  # token id -> the key its case's plan is under
        self._claimed: set[str] = set()  # every token a case was given
        self._case_users: dict[str, int] = {}  # a case's own session's user id -> its key
        self._users: dict[int, str] = {}  # exchange id -> the user id of a case's session
        self._case_keys = itertools.count(-1, -1)  # never a partner id (those are > 0)

    def attach(self, partner_id: int, plan: FaultPlan) -> None:
        with self._lock:  # with the counting of `key_for`: no request counted in between
            self._partners.add(partner_id)
            self.faults.attach(partner_id, plan)

    def attach_case(self, token_id: str, plan: FaultPlan, user_id: str | None) -> int:
        with self._lock:
            key = next(self._case_keys)
            self._cases[token_id] = key
            self._claimed.add(token_id)
            if user_id is not None:
                self._case_users[user_id] = key
            self._partners.add(key)
            self.faults.attach(key, plan)
        return key

    def forget_case(self, key: int, token_id: str) -> None:
        with self._lock:
            if self._cases.get(token_id) == key:
                del self._cases[token_id]
            for user, its in list(self._case_users.items()):
                if its == key:
                    del self._case_users[user]
            self._partners.discard(key)
            self.faults.forget(key)

    def note_caller(self, exchange_id: int, caller: Caller) -> None:
        """The exchange was sent with a case's own session: it belongs to that case."""
        with self._lock:
            if caller.user_id in self._case_users:
                self._users[exchange_id] = caller.user_id

    def key_for(self, token_id: str, caller: Caller) -> int:
        """The key whose plan and counters a data request on `token_id` falls under: its
        token's case, else its session's case, else its partner (given an empty plan the
        first time it is seen)."""
        with self._lock:
            key = self._cases.get(token_id)
            if key is None:
                key = self._case_users.get(caller.user_id, caller.partner_id)
            if key not in self._partners:
                self._partners.add(key)
                self.faults.attach(key, FaultPlan())
        return key

    def refusing(self) -> set[int]:
        """The keys whose plans have a fault that answers without forwarding."""
        with self._lock:
            partners = tuple(self._partners)
        return {p for p in partners if refuses(self.faults.plan(p))}

    def unrefused(self, caller: object, refusing: set[int] | None = None) -> bool:
        """No plan has a refusing fault, or `caller` is under none that has (an unknown
        caller is of no known partner: it may be refused). `refusing`: as `refusing()`
        answered it just now."""
        if refusing is None:
            refusing = self.refusing()
        if not refusing:
            return True
        if not isinstance(caller, Caller):
            return False
        with self._lock:
            case = self._case_users.get(caller.user_id)
        if case is not None:  # a case's own session: its case's plan is the one that applies
            return case not in refusing
        if any(key < 0 for key in refusing):  # a case's plan, by a token not known from here
            return False
        return caller.partner_id not in refusing

    def case_exchanges(
        self,
        exchanges: Sequence[Exchange],
        created: Collection[str],
        token_id: str,
        *,
        after: int,
        user_id: str | None,
    ) -> list[Exchange]:
        """See `ProxyEndpoint.case_exchanges`; `created`: the tokens made through the proxy."""
        with self._lock:
            claimed = self._claimed | set(created)
            users = dict(self._users) if user_id is not None else {}
        ours = {e.id for e in exchanges if user_id is not None and users.get(e.id) == user_id}
        tokens = {token_id} | {
            e.answer.token_id
            for e in exchanges
            if e.id in ours and e.answer is not None and e.answer.token_id
        }
        return [
            e
            for e in exchanges
            if e.id in ours
            or e.token_id in tokens
            or (e.answer is not None and e.answer.token_id in tokens)
            or (e.id > after and e.token_id is not None and e.token_id not in claimed)
        ]
