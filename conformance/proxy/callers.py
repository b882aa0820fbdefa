"""Whose session each KS is, for the proxy's shadow and faults: the ones it was told (the
KS given to the client), the ones learned from `session.start` answers that went through
the proxy, or one it can crack with a known admin secret. Never holds a KS in a repr."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Final, Literal

from conformance.ks import KsError, crack_ks
from conformance.model import Caller

__all__ = ["UNREADABLE", "Callers", "Resolved"]

UNREADABLE: Final = "unreadable"
Resolved = Caller | None | Literal["unreadable"]


class Callers:
    """Whose session each KS is. Never holds a KS in a repr or a message."""

    def __init__(
        self,
        known: Mapping[str, Caller] | None = None,
        secrets: Mapping[int, str] | None = None,
    ) -> None:
        self._known: dict[str, Caller] = dict(known or {})
        self._secrets = dict(secrets or {})
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Callers({len(self._known)} known, {len(self._secrets)} secrets)"

    def learn(self, ks: str, caller: Caller) -> None:
        with self._lock:
            self._known[ks] = caller

    def resolve(self, ks: object) -> Resolved:
        """The caller; None for no KS at all (the model answers MISSING_KS); `UNREADABLE`
        when the KS is one nobody here can read."""
        if ks is None or ks == "":
            return None
        text = str(ks)
        with self._lock:
            caller = self._known.get(text)
        if caller is not None:
            return caller
        try:
            session = crack_ks(text, self._secrets).session
        except (KsError, ValueError):
            return UNREADABLE
        return Caller(session.partner_id, session.user_id, session.is_admin)
