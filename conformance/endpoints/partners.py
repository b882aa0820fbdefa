"""Partners on an endpoint: each with its own admin secret, fault plan and tokens.

Every conformance case gets a fresh partner, so cases never see each other's tokens or
faults, and a client that starts its own session (`session.start` with the partner id and
admin secret it was given) lands in the right place.
"""

from __future__ import annotations

import itertools
import secrets
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from conformance.faults import FaultPlan

__all__ = ["Partner", "PartnerSecrets", "Partners"]

_FIRST_PARTNER_ID = 100_000


@dataclass(frozen=True)
class Partner:
    """A partner account: id, admin secret (a credential: never logged), its faults, and
    the KS version `session.start` issues for it (the partner's `ks_version`, 1 or 2;
    kSessionUtils.class.php:344-363)."""

    partner_id: int
    admin_secret: str = field(repr=False)
    faults: FaultPlan = field(default_factory=FaultPlan)
    ks_version: int = 1


class Partners:
    """A thread-safe registry of partners."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_id: dict[int, Partner] = {}
        self._ids = itertools.count(_FIRST_PARTNER_ID)

    def create(
        self,
        partner_id: int | None = None,
        admin_secret: str | None = None,
        faults: FaultPlan | None = None,
        ks_version: int = 1,
    ) -> Partner:
        """Register a partner; the id and a random 32-hex secret are chosen when not given."""
        if ks_version not in (1, 2):
            raise ValueError(f"ks_version={ks_version} must be 1 or 2")
        with self._lock:
            if partner_id is None:
                partner_id = next(pid for pid in self._ids if pid not in self._by_id)
            if partner_id in self._by_id:
                raise ValueError(f"partner_id={partner_id} is already registered")
            secret = admin_secret if admin_secret is not None else secrets.token_hex(16)
            partner = Partner(partner_id, secret, faults or FaultPlan(), ks_version)
            self._by_id[partner_id] = partner
            return partner

    def remove(self, partner_id: int) -> None:
        """Unregister a partner: its KS no longer opens a session (INVALID_KS)."""
        with self._lock:
            self._by_id.pop(partner_id, None)

    def get(self, partner_id: int) -> Partner | None:
        with self._lock:
            return self._by_id.get(partner_id)

    def secrets_by_id(self) -> dict[int, str]:
        """Partner id → admin secret, for checking a KS signature."""
        with self._lock:
            return {pid: partner.admin_secret for pid, partner in self._by_id.items()}

    def secrets(self) -> PartnerSecrets:
        """Partner id → admin secret, looked up one id at a time (a KS names one partner)."""
        return PartnerSecrets(self)

    def all_secrets(self) -> tuple[str, ...]:
        """Every admin secret, so that traces and errors can be scrubbed of them."""
        with self._lock:
            return tuple(partner.admin_secret for partner in self._by_id.values())


class PartnerSecrets(Mapping[int, str]):
    """Partner id -> admin secret, looked up one id at a time (a KS names one partner)."""

    def __init__(self, partners: Partners) -> None:
        self._partners = partners

    def __getitem__(self, partner_id: int) -> str:
        partner = self._partners.get(partner_id)
        if partner is None:
            raise KeyError(partner_id)
        return partner.admin_secret

    def __iter__(self) -> Iterator[int]:
        return iter(self._partners.secrets_by_id())

    def __len__(self) -> int:
        return len(self._partners.secrets_by_id())
