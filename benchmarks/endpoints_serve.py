"""Figure 5 of `benchmarks/endpoints.py`: memory of `kaltura-conformance serve` over many
small requests, in its own configuration (the process as a user starts it).

Two loads on one keep-alive connection, by a plain `http.client` client so the server is the
bottleneck: `get`, `uploadToken.get` of one token over and over (what a request costs), and
`sessions` of 4 requests (`uploadToken.add`, a 1 KiB upload that opens and closes the file,
`uploadToken.get`, `uploadToken.delete`: each leaves a deleted token in the model, as
Kaltura's database keeps its row). The server's VmRSS is read from /proc after a warm-up
tenth and at the end; the growth between the two, per request, is the figure (target
< 0.1 KB per request: flat memory for days). `json_burst_memory`: rounds of 16 concurrent
8 MiB JSON bodies, VmRSS after each round (target: back near the start, not growing).
"""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

BOUNDARY = "bench0boundary"
PAYLOAD = b"k" * 1024
STARTUP_TIMEOUT = 30.0


def _start() -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "conformance.cli", "serve", "--port", "0"]
    cwd = Path(__file__).resolve().parents[1]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=cwd)


def json_burst_memory(rounds: int = 4, clients: int = 16, size: int = 8 << 20) -> list[float]:
    """VmRSS of a `serve` process (MiB) at the start and after each round of `clients`
    concurrent JSON bodies of `size` bytes."""
    process = _start()
    try:
        port = int(_header(process)["service url"].rsplit(":", 1)[1])
        body = json.dumps({"ks": "x", "pad": "y" * (size - 40)}).encode()

        def one(_: int) -> None:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            connection.request("POST", "/api_v3/service/uploadtoken/action/get?format=1",
                               body, {"Content-Type": "application/json"})  # fmt: skip
            connection.getresponse().read()
            connection.close()

        readings = [_rss_kib(process.pid) / 1024]
        with ThreadPoolExecutor(clients) as pool:
            for _ in range(rounds):
                list(pool.map(one, range(clients)))
                readings.append(_rss_kib(process.pid) / 1024)
    finally:
        process.terminate()
        process.wait(timeout=10)
    return readings


def serve_memory(requests: int, load: str = "sessions") -> dict[str, float]:
    """VmRSS of a `serve` process (KiB) after a warm-up tenth and after `requests`."""
    run = _sessions if load == "sessions" else _gets
    process = _start()
    try:
        header = _header(process)
        port = int(header["service url"].rsplit(":", 1)[1])
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        ks = _call(connection, "session", "start", secret=header["admin secret"],
                   partnerId=header["partner id"], type="2")  # fmt: skip
        warmup = max(4, requests // 10)
        began = time.perf_counter()
        run(connection, str(ks), warmup)
        start_kib = _rss_kib(process.pid)
        run(connection, str(ks), requests - warmup)
        end_kib = _rss_kib(process.pid)
        seconds = time.perf_counter() - began
        connection.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
    return {
        "warmup": warmup,
        "requests": requests,
        "start_kib": start_kib,
        "end_kib": end_kib,
        "per_request_bytes": (end_kib - start_kib) * 1024 / (requests - warmup),
        "requests_per_s": requests / seconds,
    }


def _header(process: subprocess.Popen[str]) -> dict[str, str]:
    assert process.stdout is not None
    fields: dict[str, str] = {}
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while len(fields) < 4 and time.monotonic() < deadline:
        name, _, value = process.stdout.readline().partition(":")
        fields[name.strip()] = value.strip()
    return fields


def _sessions(connection: http.client.HTTPConnection, ks: str, requests: int) -> None:
    for _ in range(requests // 4):
        token = str(_call(connection, "uploadtoken", "add", ks=ks))
        fields = {"ks": ks, "uploadTokenId": token, "resume": "0", "finalChunk": "1"}
        body, content_type = _multipart(fields | {"resumeAt": "0", "format": "1"})
        answer = _post(connection, "uploadtoken", "upload", body, content_type)
        assert answer["status"] == 2, answer
        _call(connection, "uploadtoken", "get", ks=ks, uploadTokenId=token)
        _call(connection, "uploadtoken", "delete", ks=ks, uploadTokenId=token)


def _gets(connection: http.client.HTTPConnection, ks: str, requests: int) -> None:
    token = str(_call(connection, "uploadtoken", "add", ks=ks))
    for _ in range(requests - 1):
        _call(connection, "uploadtoken", "get", ks=ks, uploadTokenId=token)


def _call(
    connection: http.client.HTTPConnection, service: str, action: str, **params: str
) -> object:
    body = urlencode({**params, "format": "1"}).encode()
    answer = _post(connection, service, action, body, "application/x-www-form-urlencoded")
    return answer["id"] if isinstance(answer, dict) and "id" in answer else answer


def _post(
    connection: http.client.HTTPConnection,
    service: str,
    action: str,
    body: bytes,
    content_type: str,
) -> dict[str, object]:
    target = f"/api_v3/service/{service}/action/{action}"
    connection.request("POST", target, body, {"Content-Type": content_type})
    response = connection.getresponse()
    answer = json.loads(response.read())
    if isinstance(answer, dict) and answer.get("objectType") == "KalturaAPIException":
        raise RuntimeError(f"{service}.{action}: {answer.get('code')}")
    return answer if isinstance(answer, dict) else {"id": answer}


def _multipart(fields: dict[str, str]) -> tuple[bytes, str]:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    parts.append(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="fileData"; filename="c.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + PAYLOAD
        + b"\r\n"
    )
    body = b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()
    return body, f"multipart/form-data; boundary={BOUNDARY}"


def _rss_kib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    assert match is not None
    return float(match.group(1))


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    print(json.dumps(serve_memory(count, sys.argv[2] if len(sys.argv) > 2 else "sessions")))
