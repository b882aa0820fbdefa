"""Throughput of ``conformance.content`` beside raw limits measured in the same run.

Usage: ``python benchmarks/content_speed.py [--size-mib 1024] [--dir DIR]``

Every figure is printed next to the same operation on an already-made buffer
of the same size (memcpy, hashlib, plain writes), so the ratio says how much
the generator itself costs on this machine, whatever its disk and CPU.
Temporary files are written under ``--dir`` (default: the system temp dir)
and deleted.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

try:
    from conformance.content import DEFAULT_CHUNK_SIZE, SourceFile
except ModuleNotFoundError:  # run from a checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from conformance.content import DEFAULT_CHUNK_SIZE, SourceFile

MIB = 1 << 20
WRITE_CHUNK = 4 * MIB  # same write size as SourceFile.write_to


def timed(action: Callable[[], object]) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def drain(chunks: Iterable[bytes]) -> None:
    for _ in chunks:
        pass


def copy_slices(buffer: memoryview) -> None:
    for pos in range(0, len(buffer), DEFAULT_CHUNK_SIZE):
        bytes(buffer[pos : pos + DEFAULT_CHUNK_SIZE])


def hash_chunks(chunks: Iterable[bytes | memoryview]) -> str:
    h = hashlib.sha256()
    for chunk in chunks:
        h.update(chunk)
    return h.hexdigest()


def slices(buffer: memoryview, size: int) -> list[memoryview]:
    return [buffer[pos : pos + size] for pos in range(0, len(buffer), size)]


def write_buffer(buffer: memoryview, path: Path) -> None:
    with open(path, "wb") as f:
        for piece in slices(buffer, WRITE_CHUNK):
            f.write(piece)


def timed_write(action: Callable[[Path], object], directory: Path) -> float:
    path = directory / "content_speed.bin"
    try:
        return timed(lambda: action(path))
    finally:
        path.unlink(missing_ok=True)  # also drops its page-cache pages


def row(name: str, seconds: float, raw_seconds: float, size: int, raw: str) -> None:
    mine, limit = size / MIB / seconds, size / MIB / raw_seconds
    print(f"{name:<26}{mine:>10.0f}{limit:>12.0f}{mine / limit:>8.2f}   {raw}")


def small_costs() -> None:
    began = time.perf_counter()
    SourceFile(size=10, seed=987_654_321).read(0, 10)
    first_read = time.perf_counter() - began
    big = SourceFile(size=1 << 30, seed=123_456_789)
    whole_pool = timed(lambda: big.read(0, 2 * MIB))  # 512 blocks touch all 16 segments
    payload = big.read(777_777_777, 777_777_777 + 256 * 1024)
    reps = 200
    locate = timed(lambda: [big.locate(payload) for _ in range(reps)]) / reps
    print(f"first 10-byte read of a new seed: {first_read * 1e6:.0f} us")
    print(f"first 2 MiB read of a new seed (builds the whole pool): {whole_pool * 1e3:.1f} ms")
    print(f"locate() of a 256 KiB payload: {locate * 1e6:.0f} us")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="bytes per figure, in MiB")
    parser.add_argument("--dir", type=Path, default=None, help="where temp files go")
    args = parser.parse_args(argv)
    size = args.size_mib * MIB
    print(
        f"content_speed: {args.size_mib} MiB per figure, {DEFAULT_CHUNK_SIZE // MIB} MiB chunks,"
        f" Python {platform.python_version()}, {os.cpu_count()} CPUs"
    )
    buffer = memoryview(os.urandom(MIB) * args.size_mib)  # the "already made" bytes
    seeds = iter(range(1, 100))  # a fresh seed per figure: no warm digest cache
    print(f"{'figure':<26}{'MiB/s':>10}{'raw MiB/s':>12}{'ratio':>8}   raw limit")

    def source() -> SourceFile:
        return SourceFile(size=size, seed=next(seeds))

    gen = source()
    row(
        "generate (iter_chunks)",
        timed(lambda: drain(gen.iter_chunks())),
        timed(lambda: copy_slices(buffer)),
        size,
        "copying 1 MiB slices of a ready buffer",
    )
    hashed = source()
    row(
        "generate + sha256",
        timed(lambda: hash_chunks(hashed.iter_chunks())),
        timed(lambda: hash_chunks(slices(buffer, DEFAULT_CHUNK_SIZE))),
        size,
        "sha256 of a ready buffer, 1 MiB updates",
    )
    with tempfile.TemporaryDirectory(dir=args.dir) as name:
        directory = Path(name)
        raw_write = timed_write(lambda path: write_buffer(buffer, path), directory)
        written = source()
        row(
            "write_to (temp file)",
            timed_write(written.write_to, directory),
            raw_write,
            size,
            "writing a ready buffer, 4 MiB writes",
        )
    digested = source()
    row(
        "digest()",
        timed(digested.digest),
        timed(lambda: hashlib.sha256(buffer).hexdigest()),
        size,
        "hashlib.sha256 of a ready buffer, one call",
    )
    small_costs()


if __name__ == "__main__":
    main()
