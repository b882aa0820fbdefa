"""The life-cycle machine's requests, metered: a run's request budget, or the allowance
shrinking may spend, ends the machine at once instead of failing a step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.budget import BudgetExceeded
from conformance.clients.api import KalturaApi

__all__ = ["MeteredApi", "OutOfRequests"]


class OutOfRequests(KeyboardInterrupt):
    """Ends the Hypothesis run at once. Hypothesis takes any other exception for a failing
    example: it would shrink it, and replay sequences that now stop at other steps (a
    `FlakyStrategyDefinition`). An interrupt is the one thing it passes straight through;
    `run_lifecycle` catches this one, so it never reaches pytest."""


@dataclass
class MeteredApi(KalturaApi):
    """The machine's API: counts requests; `allowance` (once set) caps the ones left.
    Deletes always go out (the teardown must clean up), and the run's budget saying no
    stops the machine rather than failing a step."""

    sent: int = 0
    allowance: int | None = None

    @classmethod
    def over(cls, api: KalturaApi) -> MeteredApi:
        """A metered session sharing `api`'s client, URL and KS."""
        return cls(api.client, api.service_url, api.ks)

    def call(self, service: str, action: str, *args: Any, **kwargs: Any) -> Any:
        if action != "delete" and self.allowance is not None:
            if self.allowance <= 0:
                raise OutOfRequests(f"shrinking used up its requests ({self.sent} sent in all)")
            self.allowance -= 1
        self.sent += 1
        try:
            return super().call(service, action, *args, **kwargs)
        except BudgetExceeded as error:
            raise OutOfRequests(str(error)) from None
