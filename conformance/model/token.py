"""One upload token: its database row, its bytes, and its autoFinalize cache entries."""

from __future__ import annotations

from dataclasses import dataclass, field

from conformance.model.assembly import Assembly
from conformance.model.outcomes import TokenView
from conformance.model.status import TokenStatus, Trigger, next_status

__all__ = ["AutoFinalizeCache", "TokenRecord"]


@dataclass
class AutoFinalizeCache:
    """The memcache keys of §8.1 for one token: `<id>.autoFinalize`, `.size`, `.retries`,
    `.lock`, each with its expiry time."""

    flag_expires: float
    size: int = 0
    retries: int | None = None
    retries_expire: float = 0.0
    lock_expires: float = 0.0

    def enabled(self, now: float) -> bool:
        return now < self.flag_expires


def _born() -> TokenStatus:
    """A new row's status: where the table's ADD row leads from no token (§2.2)."""
    return next_status(None, Trigger.ADD)


@dataclass
class TokenRecord:
    """The `upload_token` row (§1.1) plus what sits beside it on disk and in the cache."""

    id: str
    partner_id: int
    user_id: str
    created_at: int
    updated_at: int
    sequence: int
    status: TokenStatus = field(default_factory=_born)
    file_name: str | None = None
    file_size: float | None = None
    uploaded_file_size: int | None = None
    assembly: Assembly | None = None
    auto_finalize: AutoFinalizeCache | None = None
    _saved: tuple[object, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        self._saved = self._columns()

    def _columns(self) -> tuple[object, ...]:
        return (self.status, self.file_name, self.file_size, self.uploaded_file_size)

    def save(self, now: float) -> None:
        """Persist: `updatedAt` moves only when a column really changed (Propel, §1.1)."""
        if self._columns() != self._saved:
            self.updated_at = int(now)
            self._saved = self._columns()

    def move(self, trigger: Trigger) -> None:
        """Change status as the transition table says (§2.2)."""
        self.status = next_status(self.status, trigger)

    @property
    def visible(self) -> bool:
        """DELETED rows are filtered out of every query (§2.2)."""
        return self.status is not TokenStatus.DELETED

    def view(self, now: float) -> TokenView:
        cache = self.auto_finalize
        return TokenView(
            id=self.id,
            partner_id=self.partner_id,
            user_id=self.user_id,
            status=self.status,
            file_name=self.file_name,
            file_size=self.file_size,
            uploaded_file_size=self.uploaded_file_size,
            created_at=self.created_at,
            updated_at=self.updated_at,
            upload_url=None,
            # §1.3: the raw cache value, `false` on a miss or once the 30-day flag expired.
            auto_finalize=cache is not None and cache.enabled(now),
        )
