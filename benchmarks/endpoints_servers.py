"""Servers for `benchmarks/endpoints.py`: the raw limit, and either server in its own process.

* `RawServer`: the minimal server the loopback figures are compared with —
  `ThreadingHTTPServer`, HTTP/1.1 keep-alive, Nagle off, Content-Length on every answer.
  It reads the body in 1 MiB pieces (the piece size `read_body` uses), pushes them through
  the same `multipart.PushMultipartParser` the endpoint uses and answers a fixed JSON.
  With `hash_files` it also runs one SHA-256 over the `fileData` bytes of every request in
  arrival order (for the 2 GiB figure: a sequential upload hashes to the source digest);
  with `store` it also appends them to one temporary file. With `keep` it does per request
  what any server that keeps an upload must: one SHA-256 of that request's file bytes and
  an append of them to one shared temporary file, with no lock of its own (requests run
  concurrently, as ours do) — the equal-work limit of figures 1 and 2 (on this VM,
  first-touch page-cache memory is expensive; see figure 3).
* `python benchmarks/endpoints_servers.py ours|raw [--hash] [--store] [--keep] [--final-wait S]`
  serves one of them on 127.0.0.1 in this process (a subprocess of the benchmark), prints one JSON
  line `{"url", "partner_id", "secret"}`, then answers commands read from stdin, one per
  line, with one JSON line each: `digest <partner_id> <token_id>` (ours: the endpoint's
  `file_digest`; raw: the running hash) and `quit`. "ours" is what
  `kaltura-conformance serve` runs (KalturaEndpoint + LoopbackServer, one partner); the
  control channel is what the CLI lacks, so the benchmark can check the file's digest.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

import multipart  # type: ignore[import-untyped]

try:
    import conformance  # noqa: F401
except ModuleNotFoundError:  # run from a checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conformance.endpoints import EndpointConfig, KalturaEndpoint
from conformance.endpoints.server import LoopbackServer

__all__ = ["FIXED_JSON", "PIECE_SIZE", "RawServer", "bare_parse"]

PIECE_SIZE = 1 << 20
FIXED_JSON = b'{"objectType":"KalturaUploadToken","id":"0_raw","status":1,"uploadedFileSize":"0"}'


def boundary_of(content_type: str) -> bytes:
    return content_type.partition("boundary=")[2].strip('"').encode("latin-1")


class _Sink:
    """Counts (and optionally hashes, and appends to a file) the `fileData` bytes."""

    def __init__(self, digest: Any | None, store: IO[bytes] | None) -> None:
        self.digest = digest
        self.store = store
        self.in_file = False
        self.size = 0

    def on_event(self, event: object) -> None:
        if event is None:
            self.in_file = False
        elif isinstance(event, multipart.MultipartSegment):
            self.in_file = event.name == "fileData"
        elif self.in_file:
            self.size += len(event)  # type: ignore[arg-type]
            if self.digest is not None:
                self.digest.update(event)
            if self.store is not None:
                self.store.write(event)  # type: ignore[arg-type]


def bare_parse(
    pieces: Any, content_type: str, digest: Any | None = None, store: IO[bytes] | None = None
) -> int:
    """Push body pieces (an iterable ending with b"") through the parser; file bytes seen."""
    parser = multipart.PushMultipartParser(boundary_of(content_type))
    sink = _Sink(digest, store)
    for piece in pieces:
        for event in parser.parse(piece):
            sink.on_event(event)
    return sink.size


class _RawHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: RawServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silent."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        server = self.server
        if server.digest is not None:
            with server.digest_lock:  # one running hash: requests are sequential there
                pieces = self._pieces(length)
                bare_parse(pieces, self.headers["Content-Type"], server.digest, server.store)
        else:  # keep: a digest of this request's bytes; no lock (the file has its own)
            digest = None if server.keep is None else hashlib.sha256()
            bare_parse(self._pieces(length), self.headers["Content-Type"], digest, server.keep)
        self.send_response_only(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(FIXED_JSON)))
        self.end_headers()
        self.wfile.write(FIXED_JSON)

    def _pieces(self, length: int) -> Any:
        left = length
        while left > 0:
            piece = self.rfile.read(min(PIECE_SIZE, left))
            if not piece:
                raise ConnectionError("client went away mid-body")
            left -= len(piece)
            yield piece
        yield b""


class RawServer(ThreadingHTTPServer):
    """The raw limit: parse, (hash,) answer a fixed JSON. `start()` serves in a thread."""

    daemon_threads = True
    block_on_close = False

    def __init__(
        self, *, hash_files: bool = False, store: bool = False, keep: bool = False
    ) -> None:
        super().__init__(("127.0.0.1", 0), _RawHandler)
        self.digest = hashlib.sha256() if hash_files or store else None
        self.store = tempfile.TemporaryFile() if store else None  # noqa: SIM115 - closed in stop()
        # A buffered file is safe to append to from many threads (it has its own lock).
        self.keep = tempfile.TemporaryFile() if keep else None  # noqa: SIM115 - closed in stop()
        self.digest_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> RawServer:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
        self.server_close()
        for file in (self.store, self.keep):
            if file is not None:
                file.close()


def _serve_ours(final_wait: float) -> None:
    endpoint = KalturaEndpoint(EndpointConfig(final_wait=final_wait))
    partner = endpoint.add_partner()
    with LoopbackServer(endpoint) as server:
        hello = {"url": server.url, "partner_id": partner.partner_id}
        _say({**hello, "secret": partner.admin_secret})
        for line in sys.stdin:
            words = line.split()
            if words[:1] == ["digest"]:
                _say({"digest": endpoint.file_digest(int(words[1]), words[2])})
            elif words[:1] == ["quit"]:
                break
    endpoint.close()


def _serve_raw(hash_files: bool, store: bool, keep: bool) -> None:
    server = RawServer(hash_files=hash_files, store=store, keep=keep).start()
    _say({"url": server.url, "partner_id": 0, "secret": ""})
    for line in sys.stdin:
        if line.startswith("digest"):
            _say({"digest": None if server.digest is None else server.digest.hexdigest()})
        elif line.startswith("quit"):
            break
    server.stop()


def _say(message: dict[str, Any]) -> None:
    print(json.dumps(message), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=("ours", "raw"))
    parser.add_argument("--hash", action="store_true", help="raw: hash the fileData bytes")
    parser.add_argument(
        "--store", action="store_true", help="raw: also append them to one temporary file"
    )
    parser.add_argument(
        "--keep", action="store_true", help="raw: hash each request's bytes and append them"
    )
    parser.add_argument("--final-wait", type=float, default=5.0)
    args = parser.parse_args()
    if args.kind == "ours":
        _serve_ours(args.final_wait)
    else:
        _serve_raw(args.hash, args.store, args.keep)


if __name__ == "__main__":
    main()
