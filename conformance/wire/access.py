"""Who is calling: the KS and the requested partner, checked where and as the real front
door checks them (`KalturaDispatcher::dispatch`, KalturaDispatcher.php:33-132).

Two moments, with the arguments between them:

1. **Before the arguments** (`kCurrentContext::initKsPartnerUser`, kCurrentContext.class.php:
   217-256, called at KalturaDispatcher.php:87): a KS that cannot be cracked — malformed,
   unknown partner, forged — is INVALID_KS at once, with args (the KS, -1, "INVALID_STR")
   (kCurrentContext.class.php:233-237, KalturaFrontController.php:499-500). `open_session`
   answers that `Failed`.
2. **After the arguments** (`kPermissionManager::init`, KalturaDispatcher.php:108, then
   `KalturaBaseService::initService`, :132), in this order:
   * an expired KS: INVALID_KS with args ("EXPIRED", -1, "INVALID_STR") — the reason sits
     where the KS would (kPermissionManager.php:897, KalturaFrontController.php:500);
   * a requested partner (`p`, else `partnerId`) that does not exist:
     SERVICE_FORBIDDEN_CONTENT_BLOCKED (kPermissionManager.php:729-737, 491-492);
   * no session allowed to call the action: SERVICE_FORBIDDEN with SERVICE
     `service->action` and the `X-Kaltura: error-SERVICE_FORBIDDEN` header
     (KalturaBaseService.php:159-165). That is every uploadToken action without a KS (the
     partner-0 no-session role does not hold them), and any action for another partner
     than the KS's (kPermissionManager.php:956-960).
   `Access.refusal` is that answer; the endpoint gives it once the arguments are built.

The KS is read from the `ks` parameter only (KalturaDispatcher.php:38), from any source; no
HTTP header carries it to api_v3.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from conformance.ks import KsError, Session, crack_ks
from conformance.model import ErrorCode, Failed, failed
from conformance.wire.php import php_int, php_string, truthy
from conformance.wire.request import ApiCall

__all__ = ["Access", "forbidden_headers", "open_session"]

# What a caller without a KS may call (partner 0's no-session role; `@ksIgnored` actions).
_WITHOUT_SESSION = frozenset({("session", "start")})


@dataclass(frozen=True)
class Access:
    """A request's session (None: no KS) and what step 2 of §3.5 refuses, if anything."""

    session: Session | None
    refusal: Failed | None = None


def open_session(call: ApiCall, secret_of: Mapping[int, str], now: float) -> Access | Failed:
    """The caller's session, or the INVALID_KS answered before the arguments."""
    ks = _ks_text(call.param("ks"))
    requested = _requested_partner(call, ks)
    if ks is None:
        return Access(None, _refusal(call, None, requested, secret_of))
    try:
        cracked = crack_ks(ks, secret_of)
    except KsError:
        return failed(ErrorCode.INVALID_KS, KSID=ks, ERR_CODE=-1, ERR_DESC="INVALID_STR")
    session = cracked.session
    if requested == 0 and session.partner_id > 0:
        requested = None  # kCurrentContext.class.php:251-252
    if cracked.expired(now):
        expired = failed(ErrorCode.INVALID_KS, KSID="EXPIRED", ERR_CODE=-1, ERR_DESC="INVALID_STR")
        return Access(session, expired)
    return Access(session, _refusal(call, session, requested, secret_of))


def _ks_text(value: object) -> str | None:
    """`if (!$ksString)`: absent, "" and "0" are no KS; anything else is read as a string
    (an array as "Array", kSessionBase:156)."""
    if value is None or not truthy(value):
        return None
    return php_string(value)


def _requested_partner(call: ApiCall, ks: str | None) -> int | None:
    """`$p`: `p`, else `partnerId`, each only when truthy or a KS is given
    (KalturaDispatcher.php:42-44)."""
    for name in ("p", "partnerId"):
        value = call.param(name)
        if value is not None and (truthy(value) or ks is not None):
            return php_int(value)
    return None


def _refusal(
    call: ApiCall,
    session: Session | None,
    requested: int | None,
    secret_of: Mapping[int, str],
) -> Failed | None:
    if requested is not None and requested not in secret_of:
        return failed(ErrorCode.SERVICE_FORBIDDEN_CONTENT_BLOCKED)
    foreign = session is not None and requested is not None and requested != session.partner_id
    if foreign or (session is None and (call.service, call.action) not in _WITHOUT_SESSION):
        return failed(ErrorCode.SERVICE_FORBIDDEN, SERVICE=f"{call.service}->{call.action}")
    return None


def forbidden_headers(answer: object) -> tuple[tuple[str, str], ...]:
    """The headers `initService` sends with SERVICE_FORBIDDEN (KalturaBaseService.php:162-163)."""
    if not isinstance(answer, Failed) or answer.code != ErrorCode.SERVICE_FORBIDDEN.name:
        return ()
    error = answer.error
    return (
        ("X-Kaltura", f"error-{error.code}"),
        ("X-Kaltura-App", f"exiting on error {error.code} - {error.message}"),
    )
