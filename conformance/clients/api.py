"""A small Kaltura API client on httpx: just the calls an uploader makes, JSON answers.

Kept apart from the upload logic so that the reference client, the server-conformance
driver and the live-account code share one way of putting a call on the wire.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from conformance.ks import redact

__all__ = ["KalturaApi", "KalturaCallError", "KalturaTransportError"]

_JSON = "1"


class KalturaCallError(Exception):
    """The server answered a Kaltura error object (HTTP 200, `objectType` KalturaAPIException)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class KalturaTransportError(Exception):
    """No usable answer: the connection failed, the answer was lost, or HTTP was not 200."""


@dataclass
class KalturaApi:
    """Calls on `service_url` with `ks` (set by `start_session` or given)."""

    client: httpx.Client
    service_url: str
    ks: str | None = None

    def call(
        self,
        service: str,
        action: str,
        params: Mapping[str, object],
        files: Mapping[str, tuple[str, bytes]] | None = None,
        timeout: float | None = None,
    ) -> Any:
        """One API call; the decoded JSON result, `KalturaCallError` or `KalturaTransportError`."""
        url = f"{self.service_url.rstrip('/')}/api_v3/service/{service}/action/{action}"
        data = {name: _text(value) for name, value in params.items() if value is not None}
        data["format"] = _JSON
        if self.ks is not None:
            data["ks"] = self.ks
        try:
            response = self.client.post(url, data=data, files=files, timeout=timeout)
        except httpx.TransportError as error:
            raise KalturaTransportError(f"{service}.{action}: {type(error).__name__}") from None
        return _result(service, action, response, secrets=(self.ks or "",))

    def start_session(self, partner_id: int, admin_secret: str, user_id: str = "") -> str:
        params = {"partnerId": partner_id, "secret": admin_secret, "type": 2, "userId": user_id}
        self.ks = None
        ks = self.call("session", "start", params)
        if not isinstance(ks, str):
            raise KalturaTransportError("session.start did not answer a KS")
        self.ks = ks
        return ks


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _result(service: str, action: str, response: httpx.Response, secrets: tuple[str, ...]) -> Any:
    if response.status_code != 200:
        raise KalturaTransportError(f"{service}.{action}: HTTP {response.status_code}")
    try:
        result = response.json()
    except ValueError:
        raise KalturaTransportError(f"{service}.{action}: the answer is not JSON") from None
    if isinstance(result, dict) and result.get("objectType") == "KalturaAPIException":
        # INVALID_KS quotes the KS back: never let it into an exception message.
        message = redact(str(result.get("message")), *secrets)
        raise KalturaCallError(str(result.get("code")), message)
    return result
