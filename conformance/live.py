"""Live mode: the suite talks to an account it does not own (a real Kaltura account, a
self-hosted or third-party server, or `kaltura-conformance serve` in another process).

Nothing is sent anywhere unless a service URL was given. Credentials come from options or
the environment (`KALTURA_SERVICE_URL`, `KALTURA_PARTNER_ID`, `KALTURA_ADMIN_SECRET`,
`KALTURA_KS`) and never appear in a repr, a message or a report. Every request the suite
sends goes through a `BudgetedTransport`; every token it creates carries the run's prefix
in its `fileName`, and `sweep` deletes what a run left behind.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from conformance.budget import Budget, BudgetedTransport, BudgetExceeded
from conformance.clients.api import KalturaApi, KalturaCallError, KalturaTransportError
from conformance.ks import redact
from conformance.options import OptionError

__all__ = [
    "ENVIRONMENT",
    "KALTURA_CLOSE_WAIT",
    "LiveError",
    "LiveTarget",
    "connect",
    "live_target",
    "sweep",
]

# Option name -> environment variable read when the option is not given.
ENVIRONMENT = {
    "service_url": "KALTURA_SERVICE_URL",
    "partner_id": "KALTURA_PARTNER_ID",
    "admin_secret": "KALTURA_ADMIN_SECRET",
    "ks": "KALTURA_KS",
}
# How long the real server holds a close that misses chunks (§7: 45 one-second passes).
KALTURA_CLOSE_WAIT = 45.0
_SWEEP_PAGE_SIZE = 500
_SWEEP_PAGES = 4  # the newest 2,000 tokens: a run's own are among the newest


class LiveError(Exception):
    """The live endpoint could not be used at all (no session, unreachable)."""


@dataclass(frozen=True)
class LiveTarget:
    """Where live traffic goes and how much of it is allowed."""

    service_url: str
    partner_id: int | None
    admin_secret: str | None = field(default=None, repr=False)
    ks: str | None = field(default=None, repr=False)
    budget: Budget = field(default_factory=Budget)
    close_wait: float = KALTURA_CLOSE_WAIT
    slow_closes: bool = False

    def describe(self) -> str:
        """For headers and reports: never the secret or the KS."""
        partner = f" partner {self.partner_id}" if self.partner_id is not None else ""
        how = "KS given" if self.ks else "admin secret"
        return f"{self.service_url}{partner} ({how})"

    def secrets(self) -> tuple[str, ...]:
        return tuple(secret for secret in (self.admin_secret, self.ks) if secret)


def live_target(
    given: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
) -> LiveTarget | None:
    """The live target from options (`given`, by the names of `ENVIRONMENT` plus the budget
    and wait names) or the environment; None when no service URL is given at all.

    Wrong values raise `OptionError` with one line naming the option.
    """
    env = os.environ if environ is None else environ
    values = {name: given.get(name) or env.get(variable) for name, variable in ENVIRONMENT.items()}
    url = values["service_url"]
    if not url:
        return None
    return LiveTarget(
        service_url=_service_url(str(url)),
        partner_id=_partner_id(values["partner_id"]),
        admin_secret=_credentials(values)[0],
        ks=_credentials(values)[1],
        budget=_budget(given),
        close_wait=_close_wait(given.get("close_wait")),
        slow_closes=bool(given.get("slow_closes")),
    )


def _service_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OptionError(
            f"--kaltura-service-url={url!r}: an http(s) URL such as https://www.kaltura.com"
        )
    return url.rstrip("/")


def _partner_id(value: object) -> int | None:
    if value in (None, ""):
        return None
    text = str(value)
    if not text.isdigit() or int(text) <= 0:
        raise OptionError(f"--kaltura-partner-id={text!r}: a positive integer")
    return int(text)


def _credentials(values: Mapping[str, Any]) -> tuple[str | None, str | None]:
    secret, ks = values["admin_secret"] or None, values["ks"] or None
    if ks is None and secret is None:
        raise OptionError(
            "--kaltura-service-url needs --kaltura-admin-secret (with --kaltura-partner-id) "
            "or --kaltura-ks (or KALTURA_ADMIN_SECRET / KALTURA_KS)"
        )
    if ks is None and values["partner_id"] in (None, ""):
        raise OptionError(
            "--kaltura-admin-secret needs --kaltura-partner-id (or KALTURA_PARTNER_ID)"
        )
    return secret, ks


def _budget(given: Mapping[str, Any]) -> Budget:
    defaults = Budget()

    def value(name: str, kind: type[float] | type[int]) -> Any:
        chosen = given.get(name)
        if chosen is None:
            return getattr(defaults, name)
        try:
            return kind(chosen)
        except ValueError:
            option = f"--kaltura-{name.replace('_', '-')}"
            raise OptionError(f"{option}={chosen!r}: a number, please") from None

    try:
        return Budget(
            max_requests=value("max_requests", int),
            max_bytes=value("max_bytes", int),
            max_concurrency=value("max_concurrency", int),
            max_rps=value("max_rps", float),
        )
    except ValueError as error:
        raise OptionError(str(error)) from None


def _close_wait(value: object) -> float:
    if value is None:
        return KALTURA_CLOSE_WAIT
    seconds = float(str(value))
    if not 0 <= seconds <= 600 or math.isnan(seconds):
        raise OptionError(f"--kaltura-close-wait={value}: 0 to 600 seconds")
    return seconds


@contextmanager
def connect(target: LiveTarget) -> Iterator[tuple[KalturaApi, BudgetedTransport]]:
    """An API session on the target, every request through the run's budget.

    The read timeout covers the server holding a close for `close_wait` seconds (§7), so
    that a faithful server's wait is never mistaken for a lost answer.
    """
    transport = BudgetedTransport(httpx.HTTPTransport(retries=0), target.budget)
    timeout = httpx.Timeout(target.close_wait + 30.0, connect=15.0)
    with httpx.Client(transport=transport, timeout=timeout) as client:
        api = KalturaApi(client, target.service_url, ks=target.ks)
        if target.ks is None:
            _start_session(api, target)
        else:
            _try_ks(api, target)
        yield api, transport


def _start_session(api: KalturaApi, target: LiveTarget) -> None:
    assert target.partner_id is not None
    assert target.admin_secret is not None
    try:
        api.start_session(target.partner_id, target.admin_secret)
    except (KalturaCallError, KalturaTransportError) as error:
        message = redact(str(error), *target.secrets())
        raise LiveError(f"session.start on {target.describe()} failed: {message}") from None


def _try_ks(api: KalturaApi, target: LiveTarget) -> None:
    """One cheap call, so that a KS the account refuses stops the run at once."""
    try:
        api.call("uploadToken", "list", {"pager:pageSize": 1})
    except (KalturaCallError, KalturaTransportError) as error:
        message = redact(str(error), *target.secrets())
        raise LiveError(f"the KS given for {target.describe()} was refused: {message}") from None


def sweep(api: KalturaApi, prefix: str) -> int:
    """Delete every token whose `fileName` starts with `prefix` among the newest ones;
    how many were deleted. Errors are ignored: this is the safety net after a run."""
    leftovers = list(_named(api, prefix))
    deleted = 0
    for token_id in leftovers:
        with suppress(KalturaCallError, KalturaTransportError):
            api.call("uploadToken", "delete", {"uploadTokenId": token_id})
            deleted += 1
    return deleted


def _named(api: KalturaApi, prefix: str) -> Iterator[str]:
    """Ids of the newest tokens whose `fileName` starts with `prefix` (all pages are read
    before anything is deleted, so that no deletion shifts a page)."""
    for index in range(1, _SWEEP_PAGES + 1):
        params = {
            "filter:objectType": "KalturaUploadTokenFilter",
            "filter:orderBy": "-createdAt",
            "pager:objectType": "KalturaFilterPager",
            "pager:pageSize": _SWEEP_PAGE_SIZE,
            "pager:pageIndex": index,
        }
        try:
            listed = api.call("uploadToken", "list", params)
        except (KalturaCallError, KalturaTransportError, BudgetExceeded):
            return
        objects = listed.get("objects") if isinstance(listed, dict) else None
        for token in objects or ():
            if str(token.get("fileName", "")).startswith(prefix):
                yield str(token.get("id"))
        if not objects or len(objects) < _SWEEP_PAGE_SIZE:
            return
