"""Budgets for traffic to an account the suite does not own (live mode).

A conformance run against a real Kaltura account must never turn into a load test. Every
request the suite itself sends there goes through `BudgetedTransport`, which enforces four
limits with safe defaults a user can raise:

* `max_requests`: requests in the whole run (per pytest process);
* `max_bytes`: request bytes sent (bodies and their multipart framing);
* `max_concurrency`: requests in flight at once;
* `max_rps`: requests started per second (spaced evenly, not in bursts).

A request over the request or byte budget is not sent: `BudgetExceeded` says which option
raises the limit. Concurrency and rate limits make requests wait, never fail. Deleting is
never refused (only spaced): cleaning up after a run must stay possible when its budget
is spent, and deletes are bounded by the adds, which were counted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from conformance.optiontable import CLI, DEFAULTS, OPTION, PYTEST

__all__ = ["Budget", "BudgetExceeded", "BudgetUse", "BudgetedTransport"]


class BudgetExceeded(Exception):  # noqa: N818 - reads as what happened
    """A request would go over the run's budget; it was not sent."""


@dataclass(frozen=True)
class Budget:
    """The limits; the defaults fit the server suite's `default` profile with room to spare."""

    max_requests: int = DEFAULTS["max_requests"]
    max_bytes: int = DEFAULTS["max_bytes"]
    max_concurrency: int = DEFAULTS["max_concurrency"]
    max_rps: float = DEFAULTS["max_rps"]

    def __post_init__(self) -> None:
        for name in ("max_requests", "max_bytes", "max_concurrency", "max_rps"):
            OPTION[name].refuse(getattr(self, name), PYTEST)  # an OptionError is a ValueError

    def describe(self) -> str:
        return (
            f"at most {self.max_requests} requests, {self.max_bytes >> 20} MiB sent, "
            f"{self.max_concurrency} at once, {self.max_rps:g} per second"
        )


@dataclass(frozen=True)
class BudgetUse:
    """What a run has spent so far."""

    requests: int
    bytes_sent: int


class BudgetedTransport(httpx.BaseTransport):
    """Wraps a transport; counts, spaces and caps the requests that go through it."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        budget: Budget,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._inner = inner
        self.budget = budget
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(budget.max_concurrency)
        self._requests = 0
        self._bytes = 0
        self._next_start = 0.0
        self._exempt = False

    @property
    def used(self) -> BudgetUse:
        with self._lock:
            return BudgetUse(self._requests, self._bytes)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        size = _request_size(request)
        wait = self._reserve(size, capped=not (self._exempt or _is_delete(request)))
        with self._slots:
            if wait > 0:
                self._sleep(wait)
            return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()

    @contextmanager
    def exempt(self) -> Iterator[None]:
        """Requests made meanwhile are spaced but never refused: the end-of-run sweep that
        deletes what a run left behind must work when the budget is spent."""
        self._exempt = True
        try:
            yield
        finally:
            self._exempt = False

    def _reserve(self, size: int, *, capped: bool) -> float:
        """Count the request against the budget; how long to wait before starting it."""
        budget = self.budget
        with self._lock:
            if capped and self._requests + 1 > budget.max_requests:
                raise BudgetExceeded(
                    f"request budget used up: {self._requests} requests sent "
                    f"({_raise('max_requests', budget.max_requests)})"
                )
            if capped and self._bytes + size > budget.max_bytes:
                raise BudgetExceeded(
                    f"byte budget used up: {self._bytes} bytes sent, the next request has "
                    f"{size} ({_raise('max_bytes', budget.max_bytes)})"
                )
            self._requests += 1
            self._bytes += size
            now = self._clock()
            start = max(now, self._next_start)
            self._next_start = start + 1.0 / budget.max_rps
            return start - now


def _raise(option: str, now: int) -> str:
    """How to raise a limit, in both front ends: the run's own code cannot tell which one
    the user typed (`kaltura-conformance run` forwards to pytest)."""
    return f"raise {CLI.flag(option)}, {PYTEST.flag(option)} in pytest: now {now}"


def _request_size(request: httpx.Request) -> int:
    """The body's size as the request announces it (every body httpx builds from data,
    files or content has a Content-Length), plus the URL."""
    length = request.headers.get("content-length")
    body = int(length) if length is not None and length.isdigit() else 0
    return body + len(request.url.raw_path)


def _is_delete(request: httpx.Request) -> bool:
    return request.url.path.lower().endswith("/action/delete")
