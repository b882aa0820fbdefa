"""Item 6 of issue 14, memory only: a large upload passes through the proxy with flat
memory (the body is spooled to disk on the way in and streamed from there on the way out).
The precise figures, and the round-trip overhead, are printed by benchmarks/proxy.py;
here a bound generous enough never to flake, and still far below the body's size."""

from __future__ import annotations

import hashlib
import tracemalloc
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import Site

SIZE = 64 << 20
PIECE = 1 << 20
BOUNDARY = "proxy-stream-boundary"
UPLOAD = "/api_v3/service/uploadtoken/action/upload"


def _pieces(size: int) -> Iterator[bytes]:
    """`size` bytes made a piece at a time (never all at once): piece n is byte n repeated."""
    for number, start in enumerate(range(0, size, PIECE)):
        yield bytes([number % 251]) * min(PIECE, size - start)


def _digest(size: int) -> str:
    digest = hashlib.sha256()
    for piece in _pieces(size):
        digest.update(piece)
    return digest.hexdigest()


def _body(size: int) -> tuple[int, Iterator[bytes]]:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="fileData"; '
        'filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()

    def stream() -> Iterator[bytes]:
        yield head
        yield from _pieces(size)
        yield tail

    return len(head) + size + len(tail), stream()


def test_a_large_upload_passes_through_with_flat_memory(site: Site) -> None:
    token = site.api().call("uploadToken", "add", {"uploadToken:fileName": "big"})["id"]
    length, stream = _body(SIZE)
    params = {"ks": site.ks, "uploadTokenId": token, "format": 1, "resume": 0, "finalChunk": 1}
    client = site.client()
    tracemalloc.start()
    try:
        response = client.post(
            site.url + UPLOAD,
            params=params,
            content=stream,
            headers={
                "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                "Content-Length": str(length),
            },
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.json()["uploadedFileSize"] == str(SIZE)
    pid = site.partner.partner_id
    expected = _digest(SIZE)
    assert site.upstream.file_digest(pid, token) == expected
    assert site.proxy.shadow.file_digest(pid, token) == expected
    assert site.proxy.shadow.disagreements() == ()
    # Client, proxy, upstream and the shadow model all in this process: a few pieces each.
    assert peak < 32 << 20, f"peak {peak / 2**20:.1f} MiB for a {SIZE >> 20} MiB upload"
