"""One benchmark configuration in one process, for `benchmarks/endpoints.py`.

    python benchmarks/endpoints_workers.py '[<json spec>, ...]'   # prints a JSON list

Running each configuration in a fresh process keeps peak RSS (`ru_maxrss`) per
configuration and stops one configuration's heap from slowing the next
(transport-measurements.md, "Method"); `--quick` runs several cells of one configuration in
one process (same kind and transport or server). Spec kinds:

* `inprocess`: `transport` respx | mock | bare | keep, `size`, `threads`, `requests`,
  `warmup` (keep: the bare handler that also hashes and stores the file bytes).
* `loopback`: `server` ours | raw | keep, `mode` thread | process, and the same load keys
  (keep: the raw server that also hashes and stores the file bytes).
* `large`: `server` ours | raw | raw-store (always in its own process), `total`, `chunk`,
  `seed`.
* `memory`: respx endpoint, `size`, `checkpoints`, `clear_trace`, `tracemalloc`.

Upload requests follow the protocol: each client thread owns tokens made before the clock
starts and sends `CHUNKS_PER_TOKEN` chunks to each (the opening `resume=false`, then
`resume=true` at the current end of file) and checks `uploadedFileSize` after every one.
Against the raw limits (which answer a fixed JSON) the same requests are sent and their
JSON decoded, without the check.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

try:
    import conformance  # noqa: F401
except ModuleNotFoundError:  # run from a checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from endpoints_servers import FIXED_JSON, RawServer, bare_parse

from conformance.content import SourceFile
from conformance.endpoints import EndpointConfig, KalturaEndpoint
from conformance.endpoints.inprocess import mock_transport, respx_router
from conformance.endpoints.server import LoopbackServer

CHUNKS_PER_TOKEN = 32
MIB = 1 << 20
API = "/api_v3/service"
JSON_FORMAT = {"format": "1"}
SERVERS_SCRIPT = Path(__file__).with_name("endpoints_servers.py")
IN_PROCESS_URL = "http://kaltura.test"
# `endpoints_servers.py` arguments for each loopback server in a process of its own.
SERVER_ARGS = {"ours": ("ours", "--final-wait", "5"), "raw": ("raw",), "keep": ("raw", "--keep")}
RAW_KS = "x" * 100  # what raw limits get instead of a KS: the same body size as ours


# -- the client side --------------------------------------------------------------------


@dataclass
class Api:
    """Kaltura calls over one httpx client (a dummy KS and no tokens against a raw limit)."""

    client: httpx.Client
    base: str
    ks: str = RAW_KS
    real: bool = True

    def start(self, partner_id: int, secret: str) -> None:
        data = {"secret": secret, "partnerId": str(partner_id), "type": "2", **JSON_FORMAT}
        answer = self._post("session/action/start", data).json()
        assert isinstance(answer, str), answer
        self.ks = answer

    def add_token(self, size: int | None = None) -> str:
        if not self.real:
            return "0_raw"
        data = {"ks": self.ks, "uploadToken:fileName": "bench.bin", **JSON_FORMAT}
        if size is not None:
            data["uploadToken:fileSize"] = str(size)
        return str(self._post("uploadtoken/action/add", data).json()["id"])

    def get_token(self, token: str) -> dict[str, Any]:
        data = {"ks": self.ks, "uploadTokenId": token, **JSON_FORMAT}
        answer: dict[str, Any] = self._post("uploadtoken/action/get", data).json()
        return answer

    def delete_token(self, token: str) -> None:
        self._post("uploadtoken/action/delete", {"ks": self.ks, "uploadTokenId": token})

    def upload(self, token: str, at: int, payload: bytes, *, final: bool = False) -> None:
        """One chunk at `at` (the opening when 0); checks the answer against ours."""
        fields = _upload_fields(self.ks, token, at, final)
        response = self.client.post(
            f"{self.base}{API}/uploadtoken/action/upload",
            params=JSON_FORMAT,
            data=fields,
            files={"fileData": ("chunk.bin", payload)},
        )
        answer = response.json()
        if self.real and int(float(answer["uploadedFileSize"])) != at + len(payload):
            raise AssertionError(f"chunk at {at}: {answer}")

    def _post(self, path: str, data: dict[str, str]) -> httpx.Response:
        response = self.client.post(f"{self.base}{API}/{path}", data=data)
        response.raise_for_status()
        return response


def _upload_fields(ks: str, token: str, at: int, final: bool) -> dict[str, str]:
    return {
        "ks": ks,
        "uploadTokenId": token,
        "resume": "true" if at else "false",
        "resumeAt": str(at),
        "finalChunk": "true" if final else "false",
    }


def _upload_loop(api: Api, tokens: Iterator[str], payload: bytes, count: int) -> None:
    token, at = "", 0
    for index in range(count):
        if index % CHUNKS_PER_TOKEN == 0:
            token, at = next(tokens), 0
        api.upload(token, at, payload)
        at += len(payload)


def _load(api: Api, spec: dict[str, Any]) -> dict[str, Any]:
    """Warm up, then time `requests` uploads spread over `threads` threads."""
    payload = SourceFile(spec["size"], 1).read(0, spec["size"])
    threads, requests = spec["threads"], spec["requests"]
    per_thread = [requests // threads + (i < requests % threads) for i in range(threads)]
    warm_tokens = iter([api.add_token() for _ in range(-(-spec["warmup"] // CHUNKS_PER_TOKEN))])
    _upload_loop(api, warm_tokens, payload, spec["warmup"])
    tokens = [iter([api.add_token() for _ in range(-(-n // CHUNKS_PER_TOKEN))]) for n in per_thread]
    cpu, began = _cpu(), time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        runs = [
            pool.submit(_upload_loop, api, t, payload, n)
            for t, n in zip(tokens, per_thread, strict=True)
        ]
        for run in runs:
            run.result()
    seconds, cpu = time.perf_counter() - began, _cpu() - cpu
    return {"rps": requests / seconds, "cpu_us": cpu / requests * 1e6, "seconds": seconds}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _proc_status_mib(pid: int | str, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(key)


# -- servers ----------------------------------------------------------------------------


class ServerProcess:
    """`endpoints_servers.py` in a subprocess, with its stdin/stdout control channel."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(SERVERS_SCRIPT), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.hello = self._read()

    def command(self, line: str) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return self._read()

    def peak_rss_mib(self) -> float:
        return _proc_status_mib(self.process.pid, "VmHWM")

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            assert self.process.stdin is not None
            self.process.stdin.write("quit\n")
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("server process ended without answering")
        answer: dict[str, Any] = json.loads(line)
        return answer


@contextlib.contextmanager
def _loopback(server: str, mode: str) -> Iterator[tuple[Api, Callable[[], float | None]]]:
    """An `Api` on a loopback server and a function giving the server's peak RSS (process
    mode) or None (thread mode: it shares the client's)."""
    client = httpx.Client(timeout=120)
    if mode == "process":
        child = ServerProcess(*SERVER_ARGS[server])
        api = Api(client, child.hello["url"], real=server == "ours")
        if api.real:
            api.start(child.hello["partner_id"], child.hello["secret"])
        try:
            yield api, child.peak_rss_mib
        finally:
            client.close()
            child.stop()
        return
    if server in ("raw", "keep"):
        raw = RawServer(keep=server == "keep").start()
        try:
            yield Api(client, raw.url, real=False), lambda: None
        finally:
            client.close()
            raw.stop()
        return
    endpoint = KalturaEndpoint(EndpointConfig(final_wait=5))
    partner = endpoint.add_partner()
    with LoopbackServer(endpoint) as ours:
        api = Api(client, ours.url)
        api.start(partner.partner_id, partner.admin_secret)
        yield api, lambda: None
        client.close()
    endpoint.close()


# -- the figures ------------------------------------------------------------------------


def bare_handler(request: httpx.Request) -> httpx.Response:
    """The in-process raw limit: parse the multipart body, answer a fixed JSON."""
    bare_parse((request.read(), b""), request.headers["content-type"])
    return httpx.Response(200, headers={"content-type": "application/json"}, content=FIXED_JSON)


class KeepingHandler:
    """The bare handler doing the least a server that keeps an upload must: a SHA-256 of
    each request's file bytes and an append of them to one shared temporary file (a
    buffered file has its own lock), requests running concurrently as ours do. The
    equal-work limit beside the bare one: on this VM, memory the page cache takes for the
    first time costs about 1.8 ms a MiB (freed pages go back to the host within a second
    or two)."""

    def __init__(self) -> None:
        self.store = tempfile.TemporaryFile()  # noqa: SIM115 - closed on leaving the `with`

    def __call__(self, request: httpx.Request) -> httpx.Response:
        content_type = request.headers["content-type"]
        bare_parse((request.read(), b""), content_type, hashlib.sha256(), self.store)
        return httpx.Response(200, headers={"content-type": "application/json"}, content=FIXED_JSON)

    def __enter__(self) -> KeepingHandler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.store.close()


def run_inprocess(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Cells sharing one transport (and one endpoint) in this process."""
    transport = specs[0]["transport"]
    if transport in ("bare", "keep"):
        with contextlib.ExitStack() as stack:
            handler = stack.enter_context(KeepingHandler()) if transport == "keep" else bare_handler
            client = stack.enter_context(httpx.Client(transport=httpx.MockTransport(handler)))
            return [_load(Api(client, IN_PROCESS_URL, real=False), spec) for spec in specs]
    endpoint = KalturaEndpoint()
    partner = endpoint.add_partner()
    try:
        with contextlib.ExitStack() as stack:
            if transport == "mock":
                client = stack.enter_context(httpx.Client(transport=mock_transport(endpoint)))
            else:
                stack.enter_context(respx_router(endpoint, IN_PROCESS_URL))
                client = stack.enter_context(httpx.Client())
            api = Api(client, IN_PROCESS_URL)
            api.start(partner.partner_id, partner.admin_secret)
            return [_load(api, spec) for spec in specs]
    finally:
        endpoint.close()


def run_loopback(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Cells sharing one server (ours or raw, in a thread or in its own process)."""
    results = []
    with _loopback(specs[0]["server"], specs[0]["mode"]) as (api, server_rss):
        for spec in specs:
            results.append(_load(api, spec))
        peak = server_rss()
    for result in results:
        result["server_rss_mib"] = peak
    return results


def run_large(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [_large(spec) for spec in specs]


def _large(spec: dict[str, Any]) -> dict[str, Any]:
    """A sequential three-stage upload of `total` bytes in `chunk`-byte requests, each
    body streamed from `SourceFile` in 1 MiB pieces, to a server in its own process."""
    source = SourceFile(spec["total"], spec["seed"])
    real = spec["server"] == "ours"
    args = {"ours": ("ours", "--final-wait", "5"), "raw": ("raw", "--hash")}
    child = ServerProcess(*args.get(spec["server"], ("raw", "--hash", "--store")))
    try:
        with httpx.Client(timeout=120) as client:
            api = Api(client, child.hello["url"], real=real)
            token = "0_raw"
            if real:
                api.start(child.hello["partner_id"], child.hello["secret"])
                token = api.add_token(source.size)
            server_cpu, began = child.cpu_seconds(), time.perf_counter()
            for at in range(0, source.size, spec["chunk"]):
                end = min(at + spec["chunk"], source.size)
                _stream_chunk(api, token, source, at, end, final=end == source.size)
            seconds = time.perf_counter() - began
            result: dict[str, Any] = {
                "seconds": seconds,
                "mib_s": source.size / MIB / seconds,
                "server_cpu_s": child.cpu_seconds() - server_cpu,
            }
            if real:
                got = api.get_token(token)
                result["status"] = got["status"]
                result["uploaded"] = int(float(got["uploadedFileSize"]))
        result["server_rss_mib"] = child.peak_rss_mib()
        digest = child.command(f"digest {child.hello['partner_id']} {token}")["digest"]
        result["digest_ok"] = digest == source.digest()
    finally:
        child.stop()
    return result


def _stream_chunk(
    api: Api, token: str, source: SourceFile, at: int, end: int, *, final: bool
) -> None:
    boundary = f"bench{os.urandom(12).hex()}"
    fields = _upload_fields(api.ks, token, at, final)
    head = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in fields.items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="fileData"; '
        'filename="chunk.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
    )
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body() -> Iterator[bytes]:
        yield head.encode()
        yield from source.iter_chunks(MIB, start=at, end=end)
        yield tail

    length = len(head) + (end - at) + len(tail)
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(length),
    }
    url = f"{api.base}{API}/uploadtoken/action/upload"
    response = api.client.post(url, params=JSON_FORMAT, content=body(), headers=headers)
    answer = response.json()
    if api.real:
        expected = 2 if final else 1
        if answer.get("status") != expected or int(float(answer["uploadedFileSize"])) != end:
            raise AssertionError(f"chunk [{at}, {end}): {answer}")


def run_memory(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [_memory(spec) for spec in specs]


def _memory(spec: dict[str, Any]) -> dict[str, Any]:
    """Sessions of 25 requests (add, opening, 22 middles, close, delete) through the respx
    endpoint; RSS or tracemalloc's current total at each checkpoint (a request count)."""
    endpoint = KalturaEndpoint()
    partner = endpoint.add_partner()
    payload = SourceFile(spec["size"], 2).read(0, spec["size"])
    readings: dict[str, float] = {}
    try:
        with respx_router(endpoint, IN_PROCESS_URL), httpx.Client() as client:
            api = Api(client, IN_PROCESS_URL)
            api.start(partner.partner_id, partner.admin_secret)
            _memory_session(api, payload)  # warm-up
            if spec["tracemalloc"]:
                tracemalloc.start()
            sent = 0
            for checkpoint in spec["checkpoints"]:
                while sent < checkpoint:
                    sent += _memory_session(api, payload)
                    if spec["clear_trace"]:
                        endpoint.trace.clear()
                readings[str(sent)] = _memory_now(spec["tracemalloc"])
            readings_trace = len(endpoint.trace)
    finally:
        endpoint.close()
    return {"readings": readings, "trace_len": readings_trace}


def _memory_session(api: Api, payload: bytes) -> int:
    chunks = 23
    token = api.add_token(chunks * len(payload))
    for index in range(chunks):
        api.upload(token, index * len(payload), payload, final=index == chunks - 1)
    api.delete_token(token)
    return chunks + 2


def _memory_now(traced: bool) -> float:
    if traced:
        return tracemalloc.get_traced_memory()[0] / MIB
    return _proc_status_mib("self", "VmRSS")


RUNNERS: dict[str, Callable[[list[dict[str, Any]]], list[dict[str, Any]]]] = {
    "inprocess": run_inprocess,
    "loopback": run_loopback,
    "large": run_large,
    "memory": run_memory,
}


def main() -> None:
    specs: list[dict[str, Any]] = json.loads(sys.argv[1])
    results = RUNNERS[specs[0]["kind"]](specs)
    for result in results:
        result["rss_mib"] = _peak_rss_mib()  # the process's peak: per cell when run alone
    print(json.dumps(results), flush=True)


if __name__ == "__main__":
    main()
