"""`session.start` as the reference server answers it, and the KS it issues (§3.5)."""

from __future__ import annotations

from collections.abc import Callable

from conformance.endpoints.partners import Partner, Partners
from conformance.ks import ADMIN, USER, Session, issue_ks
from conformance.model import ErrorCode, Failed, api_error
from conformance.trace import Exchange
from conformance.wire import ApiCall, ApiResult, build_start_session
from conformance.wire.access import Access

__all__ = ["SESSION_SECONDS", "session_for", "start_session"]

SESSION_SECONDS = 86_400


def session_for(partner: Partner, user_id: str, *, admin: bool, now: float, serial: int) -> str:
    """A KS for `partner`, as `session.start` would give it."""
    expiry = int(now) + SESSION_SECONDS
    session = Session(
        partner.partner_id, user_id, ADMIN if admin else USER, expiry, "", partner.ks_version
    )
    return issue_ks(session, partner.admin_secret, serial)


def start_session(
    call: ApiCall,
    access: Access,
    exchange: Exchange,
    partners: Partners,
    *,
    now: float,
    serial: Callable[[], int],
) -> ApiResult:
    """Arguments, then the front door's refusal, then the secret (§3.5)."""
    request = build_start_session(call)
    if isinstance(request, Failed):
        return request
    if access.refusal is not None:
        return access.refusal
    pid = request.partner_id
    partner = partners.get(pid) if pid is not None else None
    if partner is None or request.secret != partner.admin_secret:
        return Failed(api_error(ErrorCode.START_SESSION_ERROR, PID="" if pid is None else pid))
    exchange.partner_id = partner.partner_id
    expiry = int(now) + request.expiry
    session = Session(
        partner.partner_id,
        request.user_id,
        request.type,
        expiry,
        request.privileges,
        partner.ks_version,
    )
    return issue_ks(session, partner.admin_secret, serial())
