"""What the recording proxy costs: round-trip overhead and memory (issue 14, item 6).

Usage: ``python benchmarks/proxy.py [--small 400] [--chunks 48] [--size-mib 256]``

The upstream (`KalturaEndpoint` on a `LoopbackServer`) and the proxy (`ProxyEndpoint` on a
`LoopbackServer`, shadow model and trace included) each run in a process of their own, so
neither shares a GIL with the other or with the client (httpx, keep-alive, in this
process). Everything is on 127.0.0.1. Printed, per kind of request, the median and p90
round trip straight to the upstream and through the proxy, and the overhead of the median:

1. `uploadToken.get` (a small request, a small answer), `--small` times each way;
2. a 1 MiB middle chunk (`uploadToken.upload`, multipart), `--chunks` times each way;
3. one `--size-mib` MiB upload in one request (streamed from a generator): its time each
   way, and the proxy process's memory: peak RSS growth during the upload (VmHWM), and,
   in a second run, the peak of Python allocations (tracemalloc, every thread).

Figures, not assertions: the 30 % target of the issue is read from here. The machine's
load moves them; run it on a quiet machine (`nice` shows it does not hurt others).

Measured 2026-12-03 (2 shared cores, load 5-7, so rough): `uploadToken.get` 0.60 → 1.23 ms
(+0.6 ms: one more Python HTTP hop, httpx's client side most of it); a 1 MiB middle chunk
12.4 → 20.6 ms (+65 %); 256 MiB in one request 1.95 → 4.80 s (137 → 53 MiB/s, +147 %: the
proxy stores and forwards, so its receive and the upstream's receive add up). The proxy
process's Python allocations peak at 11.0 MiB and its RSS grows by 11.3 MiB for 256 MiB, the
same as for 32 MiB: flat. The lever for the 30 %: forward while receiving (hold back only
the body's last piece until the fault decision, abort instead of sending it for a refused
request), at the price of sending a refused request's bytes to the account.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx

try:
    from conformance.endpoints import EndpointConfig, KalturaEndpoint
except ModuleNotFoundError:  # run from a checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from conformance.endpoints import EndpointConfig, KalturaEndpoint

from conformance.endpoints.server import LoopbackServer
from conformance.model import Caller
from conformance.proxy.endpoint import ProxyConfig, ProxyEndpoint

MIB = 1 << 20
UPLOAD = "/api_v3/service/uploadtoken/action/upload"
GET = "/api_v3/service/uploadtoken/action/get"
BOUNDARY = "bench-boundary"


# --- the two servers, each in a process of its own ------------------------------------------


def _memory() -> dict[str, int]:
    """This process's VmRSS and VmHWM in KiB (Linux)."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    return fields


def _serve(pipe: Connection, make: Callable[[], tuple[LoopbackServer[Any], object]]) -> None:
    import tracemalloc  # noqa: PLC0415 - the child's own

    server, extra = make()
    server.start()
    pipe.send((server.url, extra))
    while (command := pipe.recv()) != "stop":
        if command == "memory":
            pipe.send(_memory())
        elif command == "trace":
            tracemalloc.start()
            pipe.send(None)
        elif command == "peak":
            pipe.send(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
    server.stop()


def _upstream(pipe: Connection) -> None:
    def make() -> tuple[LoopbackServer[Any], object]:
        endpoint = KalturaEndpoint(EndpointConfig(final_wait=1.0))
        partner = endpoint.add_partner()
        return LoopbackServer(endpoint), (partner.partner_id, endpoint.start_session(partner))

    _serve(pipe, make)


def _proxy(pipe: Connection, upstream_url: str, partner_id: int, ks: str) -> None:
    def make() -> tuple[LoopbackServer[Any], object]:
        proxy = ProxyEndpoint(ProxyConfig(upstream_url))
        proxy.tell(ks, Caller(partner_id))
        return LoopbackServer(proxy), None

    _serve(pipe, make)


class Child:
    def __init__(self, target: Callable[..., None], *args: object) -> None:
        self.pipe, theirs = multiprocessing.Pipe()
        self.process = multiprocessing.Process(target=target, args=(theirs, *args), daemon=True)
        self.process.start()
        self.url, self.extra = self.pipe.recv()

    def ask(self, command: str) -> Any:
        self.pipe.send(command)
        return self.pipe.recv()

    def stop(self) -> None:
        self.pipe.send("stop")
        self.process.join(10)


# --- the client ---------------------------------------------------------------------------


def _pieces(size: int) -> Iterator[bytes]:
    for number, start in enumerate(range(0, size, MIB)):
        yield bytes([number % 251]) * min(MIB, size - start)


def _multipart(size: int) -> tuple[int, Iterator[bytes]]:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="fileData"; '
        'filename="b.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()

    def stream() -> Iterator[bytes]:
        yield head
        yield from _pieces(size)
        yield tail

    return len(head) + size + len(tail), stream()


def _upload(client: httpx.Client, url: str, params: dict[str, object], size: int) -> float:
    length, body = _multipart(size)
    started = time.perf_counter()
    response = client.post(
        url + UPLOAD,
        params=params,
        content=body,
        headers={
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Content-Length": str(length),
        },
    )
    elapsed = time.perf_counter() - started
    answer = response.json()
    if answer.get("objectType") != "KalturaUploadToken":
        raise SystemExit(f"upload refused: {answer}")
    return elapsed


def _new_token(client: httpx.Client, url: str, ks: str) -> str:
    answer = client.post(
        url + "/api_v3/service/uploadtoken/action/add",
        data={"ks": ks, "format": 1, "uploadToken:fileName": "bench"},
    ).json()
    return str(answer["id"])


def _timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def _row(name: str, direct: list[float], proxied: list[float]) -> None:
    def p90(values: list[float]) -> float:
        return sorted(values)[int(len(values) * 0.9) - 1] if len(values) > 1 else values[0]

    d, p = statistics.median(direct), statistics.median(proxied)
    print(
        f"{name:<28} direct {d * 1e3:8.2f} ms (p90 {p90(direct) * 1e3:8.2f})   "
        f"proxy {p * 1e3:8.2f} ms (p90 {p90(proxied) * 1e3:8.2f})   "
        f"overhead {100 * (p - d) / d:6.1f} %"
    )


def _small(client: httpx.Client, urls: tuple[str, str], ks: str, count: int) -> None:
    tokens = [_new_token(client, url, ks) for url in urls]
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(count):
        for side, url in enumerate(urls):  # interleaved: a load change hits both alike
            params = {"ks": ks, "format": 1, "uploadTokenId": tokens[side]}
            times[side].append(_timed(lambda u=url, q=params: client.get(u + GET, params=q)))
    _row("uploadToken.get", *times)


def _chunks(client: httpx.Client, urls: tuple[str, str], ks: str, count: int) -> None:
    tokens = [_new_token(client, url, ks) for url in urls]
    times: tuple[list[float], list[float]] = ([], [])
    for number in range(count + 1):
        for side, url in enumerate(urls):
            params = {
                "ks": ks,
                "format": 1,
                "uploadTokenId": tokens[side],
                "resume": int(number > 0),
                "finalChunk": 0,
                "resumeAt": number * MIB,
            }
            elapsed = _upload(client, url, params, MIB)
            if number > 0:  # the opening is not a middle chunk
                times[side].append(elapsed)
    _row("1 MiB middle chunk", *times)


def _large(client: httpx.Client, urls: tuple[str, str], ks: str, size: int, proxy: Child) -> None:
    def once(url: str) -> float:
        token = _new_token(client, url, ks)
        params = {"ks": ks, "format": 1, "uploadTokenId": token, "resume": 0, "finalChunk": 1}
        return _upload(client, url, params, size)

    direct = once(urls[0])
    before = proxy.ask("memory")
    proxied = once(urls[1])
    after = proxy.ask("memory")
    mib = size / MIB
    _row(f"{mib:.0f} MiB in one request", [direct], [proxied])
    print(f"{'':<28} direct {mib / direct:8.0f} MiB/s            proxy {mib / proxied:8.0f} MiB/s")
    growth = (after["VmHWM"] - before["VmHWM"]) / 1024
    print(
        f"proxy process: peak RSS {after['VmHWM'] / 1024:.1f} MiB, grown by {growth:.1f} MiB "
        f"during the {mib:.0f} MiB upload (RSS now {after['VmRSS'] / 1024:.1f} MiB)"
    )
    proxy.ask("trace")
    once(urls[1])
    peak = proxy.ask("peak")
    print(f"proxy process: peak of Python allocations {peak / MIB:.1f} MiB (tracemalloc)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=400, help="uploadToken.get each way")
    parser.add_argument("--chunks", type=int, default=48, help="1 MiB chunks each way")
    parser.add_argument("--size-mib", type=int, default=256, help="the large upload")
    args = parser.parse_args()
    upstream = Child(_upstream)
    partner_id, ks = upstream.extra
    proxy = Child(_proxy, upstream.url, partner_id, ks)
    urls = (upstream.url, proxy.url)
    try:
        with httpx.Client(timeout=600, trust_env=False) as client:
            _small(client, urls, ks, args.small)
            _chunks(client, urls, ks, args.chunks)
            _large(client, urls, ks, args.size_mib * MIB, proxy)
    finally:
        proxy.stop()
        upstream.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
