"""How the proxy is set up (`ProxyConfig`): where it forwards to and how it behaves."""

from __future__ import annotations

from dataclasses import dataclass

from conformance.budget import Budget
from conformance.proxy.shadow import DEFAULT_CLOSE_GRACE
from conformance.trace import Disconnect

__all__ = ["ProxyConfig"]

_LOST: frozenset[Disconnect] = frozenset({"dropped", "reset"})


@dataclass(frozen=True)
class ProxyConfig:
    """Where the proxy forwards to and how it behaves."""

    service_url: str
    budget: Budget | None = None  # live mode: the run's limits on forwarded traffic
    timeout: float = 120.0  # seconds for one upstream answer (a close may wait 45 s, §7)
    lost_answer: Disconnect = "dropped"  # how DROP_AFTER_APPLY loses it: closed, or reset
    close_grace: float = DEFAULT_CLOSE_GRACE
    trace_window: int | None = None

    def __post_init__(self) -> None:
        if not self.service_url.startswith(("http://", "https://")):
            raise ValueError(f"service_url={self.service_url!r} must be an http(s) URL")
        if self.lost_answer not in _LOST:
            raise ValueError(f"lost_answer={self.lost_answer!r} must be 'dropped' or 'reset'")
        if not 0 < self.timeout <= 3600:
            raise ValueError(f"timeout={self.timeout} must be in (0, 3600] seconds")

    def __repr__(self) -> str:  # the URL may carry credentials in its userinfo
        return f"ProxyConfig(upstream={self.service_url.split('@')[-1]!r})"
