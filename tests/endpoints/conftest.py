"""Shared fixtures for the endpoint tests: an endpoint with a short close wait, a partner and
its KS, the same client over three transports, and helpers that speak the upload protocol
in the shapes real clients use.

This directory is not a package (no `__init__.py`), so test modules cannot import this
file: they get the helpers from fixtures (`kit`, and the methods of `Transport`) and import
the types only under `TYPE_CHECKING`.

Every client has a timeout and every server is stopped (which also re-raises any error a
server thread hit), so no test can hang or leave a thread behind.
"""

from __future__ import annotations

import contextlib
import json
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from conformance.endpoints import EndpointConfig, KalturaEndpoint, Partner
from conformance.endpoints.bodies import BodyLimits
from conformance.endpoints.inprocess import ForgetfulRouter, mock_transport, respx_router
from conformance.endpoints.server import LoopbackServer
from conformance.faults import Fault, FaultPlan

BASE_URL = "http://kaltura.test"
FINAL_WAIT = 0.3  # seconds a close waits for missing chunks (Kaltura: 44)
TIMEOUT = 10.0  # every client's timeout: a broken endpoint fails a test, never hangs it
TRANSPORTS = ("inprocess", "respx", "loopback")
UPLOAD = "/api_v3/service/uploadtoken/action/upload"

# Made once: every client would otherwise load the CA bundle (~80 ms) for plain HTTP.
_TLS = ssl.create_default_context()


@dataclass
class Transport:
    """One way of reaching an endpoint: an httpx client and what serves it."""

    name: str
    endpoint: KalturaEndpoint
    client: httpx.Client
    server: LoopbackServer | None = None
    router: ForgetfulRouter | None = None

    def call(
        self,
        service: str,
        action: str,
        params: Mapping[str, object] | None = None,
        *,
        fmt: int | None = 1,
    ) -> httpx.Response:
        return call(self.client, service, action, params, fmt=fmt)

    def api(self, service: str, action: str, **params: object) -> Any:
        return api(self.client, service, action, **params)

    def add_token(self, ks: str, *, file_size: int | None = None) -> str:
        return add_token(self.client, ks, file_size=file_size)

    def send_chunk(self, ks: str, token_id: str, data: bytes, **options: Any) -> httpx.Response:
        return send_chunk(self.client, ks, token_id, data, **options)

    @staticmethod
    def upload_json(response: httpx.Response) -> Any:
        return upload_json(response)

    def upload(self, ks: str, token_id: str, data: bytes, **options: Any) -> Any:
        """`send_chunk`, and its JSON answer (HTTP 200 asserted)."""
        return upload_json(self.send_chunk(ks, token_id, data, **options))


def new_client(base_url: str = BASE_URL, **options: Any) -> httpx.Client:
    """An httpx client with the suite's timeout."""
    return httpx.Client(base_url=base_url, timeout=TIMEOUT, verify=_TLS, **options)


@contextlib.contextmanager
def open_transport(
    name: str, endpoint: KalturaEndpoint, *, limits: BodyLimits | None = None
) -> Iterator[Transport]:
    """`endpoint` behind transport `name`; the client closes before the server stops."""
    if name == "inprocess":
        with new_client(transport=mock_transport(endpoint)) as client:
            yield Transport(name, endpoint, client)
    elif name == "respx":
        router = respx_router(endpoint, BASE_URL)
        with router, new_client() as client:
            yield Transport(name, endpoint, client, router=router)
    elif name == "loopback":
        with (
            LoopbackServer(endpoint, limits=limits) as server,
            new_client(server.url) as client,
        ):
            yield Transport(name, endpoint, client, server=server)
    else:
        raise ValueError(f"name={name!r} is not one of {TRANSPORTS}")


@contextlib.contextmanager
def new_endpoint(final_wait: float = FINAL_WAIT) -> Iterator[KalturaEndpoint]:
    endpoint = KalturaEndpoint(EndpointConfig(final_wait=final_wait))
    try:
        yield endpoint
    finally:
        endpoint.close()


@pytest.fixture
def endpoint() -> Iterator[KalturaEndpoint]:
    with new_endpoint() as made:
        yield made


@pytest.fixture
def partner(endpoint: KalturaEndpoint) -> Partner:
    return endpoint.add_partner()


@pytest.fixture
def ks(endpoint: KalturaEndpoint, partner: Partner) -> str:
    return endpoint.start_session(partner)


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest, endpoint: KalturaEndpoint) -> Iterator[Transport]:
    with open_transport(request.param, endpoint) as made:
        yield made


@pytest.fixture
def loopback(endpoint: KalturaEndpoint) -> Iterator[Transport]:
    with open_transport("loopback", endpoint) as made:
        yield made


# -- speaking the protocol ---------------------------------------------------------------


def call(
    client: httpx.Client,
    service: str,
    action: str,
    params: Mapping[str, object] | None = None,
    *,
    fmt: int | None = 1,
) -> httpx.Response:
    """One API call with form fields (`fmt` None: no format, so XML)."""
    data = {name: str(value) for name, value in (params or {}).items()}
    if fmt is not None:
        data["format"] = str(fmt)
    return client.post(f"/api_v3/service/{service}/action/{action}", data=data)


def api(client: httpx.Client, service: str, action: str, **params: object) -> Any:
    """One JSON API call; the decoded answer (a Kaltura error is a dict with `code`)."""
    response = call(client, service, action, params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


def add_token(
    client: httpx.Client, ks: str, *, file_size: int | None = None, file_name: str = "file.bin"
) -> str:
    params: dict[str, object] = {"ks": ks, "uploadToken:fileName": file_name}
    if file_size is not None:
        params["uploadToken:fileSize"] = file_size
    answer = api(client, "uploadtoken", "add", **params)
    assert answer["objectType"] == "KalturaUploadToken", answer
    token_id: str = answer["id"]
    return token_id


def send_chunk(
    client: httpx.Client,
    ks: str,
    token_id: str,
    data: bytes,
    *,
    resume: bool,
    final: bool | None,
    resume_at: object,
    shape: str = "json",
    filename: str = "chunk.bin",
    query: Mapping[str, str] | None = None,
) -> httpx.Response:
    """One `uploadToken.upload`. `shape` "json" is the official clients' wire shape (every
    parameter, as strings, in a multipart `json` field, then `fileData`); "form" sends plain
    form fields. `final` None omits `finalChunk` (the server then reads true)."""
    params: dict[str, str] = {"ks": ks, "format": "1", "uploadTokenId": token_id}
    params["resume"] = str(resume) if shape == "json" else str(resume).lower()
    if final is not None:
        params["finalChunk"] = str(final) if shape == "json" else str(final).lower()
    params["resumeAt"] = str(resume_at)
    if shape == "json":
        fields = {"json": json.dumps(params)}
    elif shape == "form":
        fields = params
    else:
        raise ValueError(f"shape={shape!r} is not 'json' or 'form'")
    files = {"fileData": (filename, data, "application/octet-stream")}
    return client.post(UPLOAD, params=query, data=fields, files=files)


def upload_json(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    """Poll `predicate` until it holds; fail (naming `what`) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


def with_faults(endpoint: KalturaEndpoint, *faults: Fault) -> tuple[Partner, str]:
    """A fresh partner with `faults` as its plan, and an admin KS for it."""
    partner = endpoint.add_partner(faults=FaultPlan(faults))
    return partner, endpoint.start_session(partner)


class Kit:
    """The module-level helpers, handed to test modules by the `kit` fixture."""

    base_url = BASE_URL
    final_wait = FINAL_WAIT
    transports = TRANSPORTS
    upload_path = UPLOAD
    client = staticmethod(new_client)
    new_endpoint = staticmethod(new_endpoint)
    open_transport = staticmethod(open_transport)
    call = staticmethod(call)
    api = staticmethod(api)
    add_token = staticmethod(add_token)
    send_chunk = staticmethod(send_chunk)
    upload_json = staticmethod(upload_json)
    wait_until = staticmethod(wait_until)
    with_faults = staticmethod(with_faults)


@pytest.fixture(scope="session")
def kit() -> Kit:
    return Kit()
