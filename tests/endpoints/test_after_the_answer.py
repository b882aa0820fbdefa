"""`Reply.after`: work the answer does not depend on runs once the answer is sent (the
proxy's shadow hashes the bytes a chunk appended there), on the connection's thread."""

from __future__ import annotations

import threading

import httpx

from conformance.endpoints import IncomingRequest, Reply
from conformance.endpoints.server import LoopbackServer
from conformance.model import BlobFactory, MemoryBlobFactory


class Answering:
    """Answers "ok" and leaves `after` for once the client holds the answer."""

    def __init__(self) -> None:
        self.blobs: BlobFactory = MemoryBlobFactory()
        self.answered = threading.Event()  # set by the client once it holds its answer
        self.ran_after_the_answer = threading.Event()

    def handle(self, request: IncomingRequest) -> Reply:
        return Reply(200, "text/plain", b"ok", after=self._after)

    def _after(self) -> None:
        if self.answered.wait(10):  # never set if the answer were held until this returns
            self.ran_after_the_answer.set()


def test_after_runs_once_the_answer_is_sent() -> None:
    handler = Answering()
    with LoopbackServer(handler) as server, httpx.Client(timeout=5, trust_env=False) as client:
        response = client.get(server.url + "/api_v3/service/system/action/ping")
        handler.answered.set()
        assert response.text == "ok"
        assert handler.ran_after_the_answer.wait(10)
        again = client.get(server.url + "/api_v3/service/system/action/ping")
        assert again.text == "ok"  # the connection is still kept alive afterwards
