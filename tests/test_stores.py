"""Blobs: the in-memory one in the model and the file-backed one for large uploads."""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest

from conformance.model import (
    AddToken,
    Blob,
    Caller,
    FilePart,
    MemoryBlob,
    TokenResult,
    Upload,
    UploadTokenModel,
)
from conformance.model.blobs import copy_into
from conformance.stores import FileBlob, TempFileBlobFactory

BlobMaker = Callable[[bytes], Blob]


@pytest.fixture(params=["memory", "held", "spooled", "file"])
def make_blob(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobMaker]:
    """held: the first bytes kept as they are, no file until written again; spooled: past
    4 bytes a file (written in one piece, every blob here is); file: a file at once."""
    made: list[Blob] = []
    if request.param == "memory":
        factory: Callable[[bytes], Blob] = MemoryBlob
    else:
        threshold = {"held": 1 << 20, "spooled": 4, "file": 0}[request.param]
        factory = TempFileBlobFactory(tmp_path, spool_threshold=threshold).new

    def make(data: bytes) -> Blob:
        blob = factory(data)
        made.append(blob)
        return blob

    yield make
    for blob in made:
        blob.release()


def test_blob_reads_back_what_was_written(make_blob: BlobMaker) -> None:
    blob = make_blob(b"hello world")
    assert blob.size == 11
    assert blob.read() == b"hello world"
    assert blob.read(6) == b"world"
    assert blob.read(3, 5) == b"lo"
    assert blob.read(5, 3) == b""
    assert blob.read(8, 100) == b"rld"


def test_write_overwrites_and_grows_but_never_truncates(make_blob: BlobMaker) -> None:
    blob = make_blob(b"abcdef")
    blob.write_at(2, b"XY")
    assert blob.read() == b"abXYef"
    blob.write_at(5, b"123")
    assert blob.read() == b"abXYe123"
    blob.write_at(8, b"!")
    assert blob.size == 9


@pytest.mark.parametrize("offset", [-1, 7])
def test_write_past_the_end_is_refused(make_blob: BlobMaker, offset: int) -> None:
    blob = make_blob(b"abcdef")
    with pytest.raises(ValueError, match=f"offset={offset}"):
        blob.write_at(offset, b"x")


def test_pieces_and_digest_cover_the_whole_content(make_blob: BlobMaker) -> None:
    data = bytes(range(256)) * 40
    blob = make_blob(data)
    assert b"".join(blob.pieces(1000)) == data
    assert blob.sha256() == hashlib.sha256(data).hexdigest()


def test_copy_into_writes_a_blob_at_an_offset(make_blob: BlobMaker) -> None:
    target = make_blob(b"0123456789")
    copy_into(target, 4, make_blob(b"abcdefghij"))
    assert target.read() == b"0123abcdefghij"


def test_empty_blob(make_blob: BlobMaker) -> None:
    blob = make_blob(b"")
    assert blob.size == 0
    assert blob.read() == b""
    assert list(blob.pieces()) == []
    assert blob.sha256() == hashlib.sha256(b"").hexdigest()


def test_spooled_blob_rolls_over_to_a_file_in_the_chosen_directory(tmp_path: Path) -> None:
    blob = TempFileBlobFactory(tmp_path, spool_threshold=8).new(b"x" * 4)
    assert isinstance(blob, FileBlob)
    blob.write_at(4, b"y" * 100)
    assert blob.read(0, 6) == b"xxxxyy"
    blob.release()
    assert list(tmp_path.iterdir()) == []  # anonymous files leave nothing behind


def test_negative_spool_threshold_is_refused() -> None:
    with pytest.raises(ValueError, match="spool_threshold=-1"):
        TempFileBlobFactory(spool_threshold=-1)


def test_the_model_assembles_into_file_blobs(tmp_path: Path) -> None:
    """The model only sees the Blob protocol: file-backed blobs assemble the same file."""
    factory = TempFileBlobFactory(tmp_path, spool_threshold=16)
    with UploadTokenModel(blobs=factory) as model:
        _upload_in_four_parts(model, factory)


def _upload_in_four_parts(model: UploadTokenModel, factory: TempFileBlobFactory) -> None:
    caller = Caller(partner_id=7)
    added = model.apply(AddToken(caller, now=0))
    assert isinstance(added, TokenResult)
    token = added.token.id
    source = bytes(range(200)) * 3

    def send(start: int, end: int, *, resume: bool, final: bool) -> None:
        part = FilePart(factory.new(source[start:end]), "chunk")
        outcome = model.apply(Upload(caller, 1, token, part, resume, final, float(start)))
        assert isinstance(outcome, TokenResult), outcome

    send(0, 100, resume=False, final=False)
    send(300, 450, resume=True, final=False)
    send(100, 300, resume=True, final=False)
    send(450, 600, resume=True, final=True)
    assert model.read_file(7, token) == source
    assert model.file_digest(7, token) == hashlib.sha256(source).hexdigest()


KINDS = ["memory", "held", "spooled", "file"]


@pytest.mark.parametrize("target_kind", KINDS)
@pytest.mark.parametrize("source_kind", KINDS)
def test_copy_into_across_every_kind_of_blob(
    tmp_path: Path, target_kind: str, source_kind: str
) -> None:
    """`FileBlob.copy_from` takes a kernel copy or a buffer write when it can; every pair of
    blob kinds must give the same bytes as a piece-by-piece copy."""

    def blob(kind: str, data: bytes) -> Blob:
        if kind == "memory":
            return MemoryBlob(data)
        if kind == "file":
            return TempFileBlobFactory(tmp_path, spool_threshold=0).new(data)
        factory = TempFileBlobFactory(tmp_path, spool_threshold=4 << 20)
        if kind == "held":
            return factory.new(data)
        made = factory.new(data[:1])  # written twice: a spooled file, still in memory
        made.write_at(1, data[1:])
        return made

    head, body = bytes(range(256)) * 8, bytes(reversed(range(256))) * 4097
    for offset in (0, 100, len(head)):
        target, source = blob(target_kind, head), blob(source_kind, body)
        copy_into(target, offset, source)
        expected = head[:offset] + body + head[offset + len(body) :]
        assert target.read() == expected
        target.release()
        source.release()


def test_a_failed_kernel_copy_falls_back_to_pieces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> int:
        raise OSError(errno.EXDEV, "cross-device")

    monkeypatch.setattr(os, "copy_file_range", refuse, raising=False)
    factory = TempFileBlobFactory(tmp_path, spool_threshold=0)
    target, source = factory.new(b"abc"), factory.new(b"0123456789" * 1000)
    copy_into(target, 3, source)
    assert target.read() == b"abc" + b"0123456789" * 1000
    target.release()
    source.release()


def test_a_part_written_once_is_held_without_a_file(tmp_path: Path) -> None:
    """One write of immutable bytes at 0 (a request's file part) opens no file and copies
    nothing; the next write opens the file with those bytes in it."""
    factory = TempFileBlobFactory(tmp_path, spool_threshold=1 << 20)
    opened: list[int] = []
    open_file = factory._open

    def counting_open() -> IO[bytes]:
        opened.append(1)
        return open_file()

    factory._open = counting_open  # type: ignore[method-assign]
    data = bytes(range(256)) * 100
    part = factory.new(data)
    assert (part.read(), part.sha256()) == (data, hashlib.sha256(data).hexdigest())
    assert b"".join(part.pieces(1000)) == data
    copy = factory.new()
    copy_into(copy, 0, part)  # an empty blob takes the same bytes object: still no file
    assert opened == []
    copy.write_at(copy.size, b"more")
    assert opened == [1]
    assert copy.read() == data + b"more"
    assert part.read() == data  # the held bytes are never written through
    part.release()
    copy.release()


def test_mutable_bytes_are_copied_not_held(tmp_path: Path) -> None:
    blob = TempFileBlobFactory(tmp_path, spool_threshold=1 << 20).new()
    data = bytearray(b"abcdef")
    blob.write_at(0, data)  # type: ignore[arg-type]  # a caller may pass a bytearray
    data[0:3] = b"XYZ"
    assert blob.read() == b"abcdef"
    blob.release()
