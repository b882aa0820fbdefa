"""Live mode: the suite talks to an account it does not own (a real Kaltura account, a
self-hosted or third-party server, or `kaltura-conformance serve` in another process).

Nothing is sent anywhere unless a service URL was given. Credentials come from options or
the environment (`KALTURA_SERVICE_URL`, `KALTURA_PARTNER_ID`, `KALTURA_ADMIN_SECRET`,
`KALTURA_KS`) and never appear in a repr, a message or a report. Every request the suite
sends goes through a `BudgetedTransport`; every token it creates carries the run's prefix
in its `fileName`, and `sweep` deletes what a run left behind.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.budget import Budget, BudgetedTransport, BudgetExceeded
from conformance.clients.api import KalturaApi, KalturaCallError, KalturaTransportError
from conformance.ks import redact
from conformance.optiontable import DEFAULTS, OPTIONS, PYTEST, FrontEnd, Option, OptionError

__all__ = [
    "ENVIRONMENT",
    "KALTURA_CLOSE_WAIT",
    "LiveError",
    "LiveTarget",
    "connect",
    "live_target",
    "sweep",
]

_LIVE = tuple(option for option in OPTIONS if option.live)
# Option name -> environment variable read when the option is not given.
ENVIRONMENT = {option.name: option.env for option in _LIVE if option.env}
# How long the real server holds a close that misses chunks (§7: 45 one-second passes).
KALTURA_CLOSE_WAIT: float = DEFAULTS["close_wait"]
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
    proxy_host: str = DEFAULTS["proxy_host"]
    """Where the proxy a client run goes through listens (`suite.proxied`)."""

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
    front: FrontEnd = PYTEST,
) -> LiveTarget | None:
    """The live target from the options given (by canonical name: `conformance.optiontable`)
    or the environment; None when no service URL is given at all.

    Wrong values raise `OptionError` with one line naming the option as typed in `front`.
    """
    env = os.environ if environ is None else environ
    values = {o.name: o.value(_given_or_env(o, given, env), front) for o in _LIVE}
    url = values["service_url"]
    if not url:
        return None
    for option in _LIVE:
        option.refuse(values[option.name], front)
    secret, ks = _credentials(values, front)
    partner_id = values["partner_id"]
    return LiveTarget(
        service_url=str(url).rstrip("/"),
        partner_id=None if partner_id is None else int(partner_id),
        admin_secret=secret,
        ks=ks,
        budget=Budget(**{name: values[name] for name in _BUDGET}),
        close_wait=float(values["close_wait"]),
        slow_closes=bool(values["slow_closes"]),
        proxy_host=str(values["proxy_host"]),
    )


_BUDGET = ("max_requests", "max_bytes", "max_concurrency", "max_rps")


def _given_or_env(option: Option, given: Mapping[str, Any], env: Mapping[str, str]) -> Any:
    """The option as given; the credentials from the environment when not (or empty)."""
    if option.env is None:
        return given.get(option.name)
    return given.get(option.name) or env.get(option.env) or None


def _credentials(values: Mapping[str, Any], front: FrontEnd) -> tuple[str | None, str | None]:
    secret, ks = values["admin_secret"] or None, values["ks"] or None
    flag, env = front.flag, ENVIRONMENT
    if ks is None and secret is None:
        raise OptionError(
            f"{flag('service_url')} needs {flag('admin_secret')} (with {flag('partner_id')}) "
            f"or {flag('ks')} (or {env['admin_secret']} / {env['ks']})"
        )
    if ks is None and values["partner_id"] is None:
        raise OptionError(
            f"{flag('admin_secret')} needs {flag('partner_id')} (or {env['partner_id']})"
        )
    return secret, ks


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


def sweep(api: KalturaApi, prefix: str, *, also: Iterable[str] = ()) -> int:
    """Delete every token whose `fileName` starts with `prefix` among the newest ones, and
    the tokens `also` names (those a client created through the proxy, whatever it named
    them); how many were deleted. Errors are ignored: this is the safety net after a run."""
    leftovers = list(dict.fromkeys([*_named(api, prefix), *also]))
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
