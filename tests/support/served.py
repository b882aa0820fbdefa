"""A server in a process of its own, standing in for a live account: the reference
(`kaltura-conformance serve`) or a mutant server (tests/server/serve_mutant.py), with what
its first lines say (service url, partner id, admin secret) and its tokens read back.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from conformance.clients.api import KalturaApi

SERVER_TESTS = Path(__file__).resolve().parent.parent / "server"


@dataclass(frozen=True)
class Served:
    url: str
    partner_id: str
    admin_secret: str

    def options(self) -> list[str]:
        """As `kaltura-conformance run` spells them."""
        return [
            "--service-url",
            self.url,
            "--partner-id",
            self.partner_id,
            "--admin-secret",
            self.admin_secret,
        ]

    def pytest_options(self) -> list[str]:
        """As the pytest plugin spells them."""
        return [
            "--kaltura-service-url",
            self.url,
            "--kaltura-partner-id",
            self.partner_id,
            "--kaltura-admin-secret",
            self.admin_secret,
        ]

    def token_names(self) -> list[str]:
        """Every token on the account, by file name (read with the account's own API)."""
        with httpx.Client(timeout=10, trust_env=False) as client:
            api = KalturaApi(client, self.url)
            api.start_session(int(self.partner_id), self.admin_secret)
            listed = api.call("uploadToken", "list", {"pager:pageSize": 500})
        return [str(token.get("fileName")) for token in listed.get("objects") or ()]


@contextmanager
def serving(command: list[str]) -> Iterator[Served]:
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(3)]
        values = [line.split(":", 1)[1].strip() for line in lines]
        yield Served(*values)
    finally:
        process.terminate()
        process.communicate(timeout=10)  # also closes its stdout


def reference_server() -> list[str]:
    return [sys.executable, "-m", "conformance.cli", "serve", "--final-wait", "0.2"]


def mutant_server(name: str) -> list[str]:
    return [sys.executable, str(SERVER_TESTS / "serve_mutant.py"), name]
