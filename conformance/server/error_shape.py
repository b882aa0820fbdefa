"""UT-S11's evidence: what an error looks like on the wire, read over raw HTTP, because
`KalturaApi` hides the error's shape. Each function lists the problems it found (none: the
answer is well formed)."""

from __future__ import annotations

import json
from xml.etree import ElementTree

import httpx

from conformance.clients.api import KalturaApi
from conformance.model import ErrorCode
from conformance.server.driver import MISSING

__all__ = ["json_error_problems", "xml_error_problems"]

_NOT_FOUND = ErrorCode.UPLOAD_TOKEN_NOT_FOUND.name


def _raw_get(api: KalturaApi, fmt: str | None) -> httpx.Response:
    url = f"{api.service_url.rstrip('/')}/api_v3/service/uploadToken/action/get"
    data = {"ks": api.ks or "", "uploadTokenId": MISSING.server_id}
    if fmt is not None:
        data["format"] = fmt
    return api.client.post(url, data=data)


def json_error_problems(api: KalturaApi) -> list[str]:
    """`format=1`: HTTP 200 and a `KalturaAPIException` object with code, message, args."""
    response = _raw_get(api, "1")
    where = "get of an unknown token with format=1"
    if response.status_code != 200:
        return [f"{where}: HTTP {response.status_code}, expected 200"]
    try:
        body = json.loads(response.content)
    except ValueError:
        return [f"{where}: the answer is not JSON"]
    if not isinstance(body, dict):
        return [f"{where}: expected an error object, got {body!r}"]
    problems = [f"{where}: no {key!r}" for key in ("code", "message", "args") if key not in body]
    if body.get("objectType") != "KalturaAPIException":
        problems.append(f"{where}: objectType {body.get('objectType')!r}")
    if body.get("code") != _NOT_FOUND:
        problems.append(f"{where}: code {body.get('code')!r}, expected {_NOT_FOUND}")
    return problems


def xml_error_problems(api: KalturaApi) -> list[str]:
    """The default format: HTTP 200 and an XML `<error><code>`."""
    response = _raw_get(api, None)
    where = "get of an unknown token, default format"
    if response.status_code != 200:
        return [f"{where}: HTTP {response.status_code}, expected 200"]
    try:
        root = ElementTree.fromstring(response.content)  # our own test traffic, 127.0.0.1
    except ElementTree.ParseError:
        return [f"{where}: the answer is not XML"]
    code = root.findtext(".//error/code")
    if code != _NOT_FOUND:
        return [f"{where}: <error><code> is {code!r}, expected {_NOT_FOUND}"]
    return []
