"""`conformance.endpoints.bodies`: request bodies as PHP fills `$_POST` / `$_FILES` (§3.2,
§3.3), streamed, never raising for what a body contains and never leaking a blob."""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from conformance.content import SourceFile
from conformance.endpoints.bodies import (
    BadChunking,
    BodyError,
    BodyLimits,
    BodyTooLarge,
    IncompleteBody,
    read_body,
)
from conformance.endpoints.chunked import ChunkedReader
from conformance.model import Blob, MemoryBlob
from conformance.stores import TempFileBlobFactory
from conformance.wire.types import ParsedBody

EMPTY_SHA256 = hashlib.sha256().hexdigest()
B = "b0undary"
MULTIPART = f"multipart/form-data; boundary={B}"
NEXT_REQUEST = b"GET /next HTTP/1.1\r\n\r\n"


# -- helpers ----------------------------------------------------------------------------


class TrackedBlob:
    """A MemoryBlob that tells its factory when it is released."""

    def __init__(self, owner: TrackingBlobs, data: bytes) -> None:
        self._owner = owner
        self._inner = MemoryBlob(data)

    @property
    def size(self) -> int:
        return self._inner.size

    def read(self, start: int = 0, end: int | None = None) -> bytes:
        return self._inner.read(start, end)

    def write_at(self, offset: int, data: bytes) -> None:
        self._inner.write_at(offset, data)

    def pieces(self, piece_size: int = 1 << 20) -> Iterator[bytes]:
        return self._inner.pieces(piece_size)

    def sha256(self) -> str:
        return self._inner.sha256()

    def release(self) -> None:
        self._owner.live.discard(self)
        self._inner.release()


class TrackingBlobs:
    """A blob factory that knows which of its blobs are still alive."""

    def __init__(self) -> None:
        self.live: set[TrackedBlob] = set()
        self.made = 0

    def new(self, data: bytes = b"") -> Blob:
        blob = TrackedBlob(self, data)
        self.live.add(blob)
        self.made += 1
        return blob


class Stream:
    """A socket file stand-in: `read(n)` over bytes, recording every read."""

    def __init__(self, data: bytes, *, max_read: int | None = None) -> None:
        self._file = io.BytesIO(data)
        self._max_read = max_read
        self.reads: list[int] = []

    def read(self, n: int) -> bytes:
        self.reads.append(n)
        return self._file.read(n if self._max_read is None else min(n, self._max_read))

    def rest(self) -> bytes:
        return self._file.read()


def parse(
    body: bytes,
    content_type: str | None = MULTIPART,
    *,
    blobs: TrackingBlobs | None = None,
    limits: BodyLimits | None = None,
    piece_size: int = 1 << 20,
) -> ParsedBody:
    """Parse `body` followed by another request on the same connection; check that exactly
    the body was consumed and that the blobs alive are the result's (left alive to look at)."""
    tracker = blobs or TrackingBlobs()
    stream = Stream(body + NEXT_REQUEST)
    parsed = read_body(
        stream.read,
        content_type=content_type,
        content_length=len(body),
        blobs=tracker,
        limits=limits or BodyLimits(),
        piece_size=piece_size,
    )
    assert stream.rest() == NEXT_REQUEST
    assert tracker.live == {part.blob for part in parsed.files}
    return parsed


def assert_owns_all(parsed: ParsedBody, tracker: TrackingBlobs) -> None:
    assert tracker.live == {part.blob for part in parsed.files}
    parsed.release()
    assert not tracker.live


def encode(parts: Iterable[tuple[str, bytes]], boundary: str = B) -> bytes:
    """A multipart body from (header lines, payload) pairs."""
    out = b"".join(
        f"--{boundary}\r\n{headers}\r\n\r\n".encode() + payload + b"\r\n"
        for headers, payload in parts
    )
    return out + f"--{boundary}--\r\n".encode()


def text(name: str, value: bytes | str) -> tuple[str, bytes]:
    data = value.encode() if isinstance(value, str) else value
    return f'Content-Disposition: form-data; name="{name}"', data


def file(
    name: str, filename: str, payload: bytes, content_type: str = "application/octet-stream"
) -> tuple[str, bytes]:
    return (
        f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}",
        payload,
    )


def files_of(parsed: ParsedBody) -> list[tuple[str, str, bytes]]:
    return [(part.field, part.filename, part.blob.read()) for part in parsed.files]


# -- bodies made by real encoders -------------------------------------------------------

PIECES = pytest.mark.parametrize("piece_size", [1, 7, 64, 1 << 20])


@pytest.mark.parametrize("size", [2046, 2047, 2048, 4095, 256 << 10, (256 << 10) + 1])
def test_the_digest_is_right_on_both_sides_of_the_slice_and_gil_thresholds(size: int) -> None:
    payload = bytes(index * 7 % 251 for index in range(size))
    request = httpx.Request(
        "POST", "http://kaltura.test/", files={"fileData": ("chunk", payload, "text/plain")}
    )
    parsed = parse(request.read(), request.headers["content-type"], piece_size=1 << 20)
    (part,) = parsed.files
    assert part.sha256 == hashlib.sha256(payload).hexdigest()
    assert part.blob.read() == payload


@PIECES
def test_httpx_fields_and_file(piece_size: int) -> None:
    payload = bytes(range(256)) * 40
    request = httpx.Request(
        "POST",
        "http://kaltura.test/api_v3/service/uploadtoken/action/upload",
        data={"ks": "abc", "resume": "1", "resumeAt": "0"},
        files={"fileData": ("chunk_0", payload, "application/octet-stream")},
    )
    body = request.read()
    parsed = parse(body, request.headers["content-type"], piece_size=piece_size)
    assert parsed.fields == (("ks", "abc"), ("resume", "1"), ("resumeAt", "0"))
    (part,) = parsed.files
    assert (part.field, part.filename, part.content_type) == (
        "fileData",
        "chunk_0",
        "application/octet-stream",
    )
    assert part.blob.read() == payload
    assert part.sha256 == hashlib.sha256(payload).hexdigest() == part.blob.sha256()
    assert parsed.problem is None


def test_httpx_urlencoded() -> None:
    request = httpx.Request("POST", "http://x/", data={"a": "1 2", "b": "ü&=", "c": ""})
    body = request.read()
    parsed = parse(body, request.headers["content-type"])
    assert parsed.fields == (("a", "1 2"), ("b", "ü&="), ("c", ""))


def test_requests_toolbelt_multipart_encoder() -> None:
    toolbelt = pytest.importorskip("requests_toolbelt")
    encoder = toolbelt.MultipartEncoder(
        fields=[
            ("json", '{"ks":"k","resume":true}'),
            ("fileData", ("chunk_4096", b"\r\n--x--\r\n" * 100, "application/octet-stream")),
        ]
    )
    parsed = parse(encoder.to_string(), encoder.content_type, piece_size=5)
    assert parsed.fields == (("json", '{"ks":"k","resume":true}'),)
    assert files_of(parsed) == [("fileData", "chunk_4096", b"\r\n--x--\r\n" * 100)]


def test_requests_prepared_body() -> None:
    requests = pytest.importorskip("requests")
    prepared = requests.Request(
        "POST",
        "http://x/",
        data={"resume": "true"},
        files={"fileData": ("f.bin", b"abc")},
    ).prepare()
    parsed = parse(prepared.body, prepared.headers["Content-Type"])
    assert parsed.fields == (("resume", "true"),)
    assert files_of(parsed) == [("fileData", "f.bin", b"abc")]


# -- hand-written multipart -------------------------------------------------------------


def test_official_client_shape() -> None:
    params = '{"ks":"K","uploadTokenId":"0_t","resume":false,"finalChunk":true,"resumeAt":-1}'
    body = encode([text("json", params), file("fileData", "video.mp4", b"DATA")])
    parsed = parse(body)
    assert parsed.fields == (("json", params),)
    assert files_of(parsed) == [("fileData", "video.mp4", b"DATA")]
    assert parsed.files[0].content_type == "application/octet-stream"


def test_fields_after_the_file_and_duplicates_in_order() -> None:
    body = encode(
        [
            text("resume", "0"),
            file("fileData", "a", b"first"),
            text("resume", "1"),
            file("fileData", "b", b"second"),
            text("finalChunk", "false"),
        ]
    )
    parsed = parse(body)
    assert parsed.fields == (("resume", "0"), ("resume", "1"), ("finalChunk", "false"))
    assert files_of(parsed) == [("fileData", "a", b"first"), ("fileData", "b", b"second")]


@pytest.mark.parametrize(
    "content_type",
    [
        f"multipart/form-data; boundary={B}",
        f'multipart/form-data; boundary="{B}"',
        f"multipart/form-data;boundary={B}",
        f"Multipart/Form-Data; BOUNDARY={B}",
        f"multipart/form-data; charset=utf-8; boundary={B}",
        f"multipart/form-data; boundary={B}; charset=utf-8",
        f"multipart/form-data; boundary={B},x",
        f'multipart/form-data; boundary="{B}"; other="x"',
    ],
)
def test_boundary_forms(content_type: str) -> None:
    parsed = parse(encode([text("a", "1")]), content_type)
    assert parsed.fields == (("a", "1"),)
    assert parsed.problem is None


def test_quoted_boundary_with_separators_inside() -> None:
    boundary = "a;b,c d"
    body = encode([text("a", "1")], boundary)
    assert parse(body, f'multipart/form-data; boundary="{boundary}"').fields == (("a", "1"),)


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data",
        "multipart/form-data; boundary",
        'multipart/form-data; boundary="unterminated',
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=other",
    ],
)
def test_unusable_boundary_keeps_nothing_and_says_so(content_type: str) -> None:
    parsed = parse(encode([text("a", "1"), file("fileData", "f", b"x")]), content_type)
    assert parsed.fields == ()
    assert parsed.files == ()
    assert parsed.problem


def test_empty_filename_is_an_entry_without_a_file() -> None:
    """`filename=""`: PHP's UPLOAD_ERR_NO_FILE; its bytes are not kept (§3.3)."""
    parsed = parse(encode([file("fileData", "", b"ignored bytes")]))
    (part,) = parsed.files
    assert (part.field, part.filename, part.content_type) == ("fileData", "", None)
    assert part.size == 0
    assert part.sha256 == EMPTY_SHA256


def test_empty_file_with_a_name_is_a_real_upload() -> None:
    parsed = parse(encode([file("fileData", "empty.bin", b"")]))
    (part,) = parsed.files
    assert (part.filename, part.size, part.sha256) == ("empty.bin", 0, EMPTY_SHA256)


def test_nameless_parts() -> None:
    """A file without a name gets a numeric key no parameter matches: skipped. A part with
    neither name nor filename makes PHP give up on the rest of the body."""
    body = encode(
        [
            ('Content-Disposition: form-data; filename="anon.bin"', b"anonymous"),
            text("", "empty name"),
            text("kept", "1"),
            ("Content-Disposition: form-data", b"garbled"),
            text("lost", "2"),
            file("fileData", "f", b"lost too"),
        ]
    )
    parsed = parse(body)
    assert parsed.fields == (("kept", "1"),)
    assert parsed.files == ()
    assert parsed.problem is not None
    assert "garbled" in parsed.problem


def test_text_field_named_filedata_is_a_field() -> None:
    parsed = parse(encode([text("fileData", "not a file")]))
    assert parsed.fields == (("fileData", "not a file"),)
    assert parsed.files == ()


@PIECES
def test_boundary_like_bytes_inside_the_payload(piece_size: int) -> None:
    payload = (
        # Everything short of CRLF + "--" + boundary is payload.
        b"\r\n--"
        + B[:-1].encode()
        + b"\r\n\r\n--\r\n\r\r\n\n--\x00\xff--"
        + B.encode()
        + b"\n--"
        + B.encode()
        + b"\r\n-"
        + B.encode()
        + b"\r\n--"
    )
    body = encode([file("fileData", "f", payload), text("after", "1")])
    parsed = parse(body, piece_size=piece_size)
    assert files_of(parsed) == [("fileData", "f", payload)]
    assert parsed.fields == (("after", "1"),)


@pytest.mark.parametrize(
    ("disposition", "name", "filename"),
    [
        ("form-data; name=fileData; filename=chunk", "fileData", "chunk"),
        ("form-data; NAME=\"fileData\"; FileName='chunk 1'", "fileData", "chunk 1"),
        ('form-data; filename="a\\"b.bin"; name="fileData"', "fileData", 'a"b.bin'),
        ('form-data;name="fileData";filename="C:\\\\dir\\\\x.bin"', "fileData", "C:\\dir\\x.bin"),
        ('form-data; name="fileData"; filename="dir/a%22b.bin"', "fileData", "dir/a%22b.bin"),
        ('form-data; name="fileData"; filename="x;y.bin"', "fileData", "x;y.bin"),
    ],
)
def test_content_disposition_read_like_php(disposition: str, name: str, filename: str) -> None:
    body = encode([(f"Content-Disposition: {disposition}", b"payload")])
    parsed = parse(body)
    assert files_of(parsed) == [(name, filename, b"payload")]


def test_file_content_type_is_cut_at_the_semicolon() -> None:
    parsed = parse(encode([file("f", "x", b"1", "video/mp4; codecs=avc1")]))
    assert parsed.files[0].content_type == "video/mp4"


def test_invalid_utf8_is_stripped_from_text_fields() -> None:
    parsed = parse(encode([text("token", b"0_\xffab\xc3\xa9\xc3")]))
    assert parsed.fields == (("token", "0_abé"),)


def test_utf8_field_names() -> None:
    parsed = parse(encode([('Content-Disposition: form-data; name="né"', b"1")]))
    assert parsed.fields == (("né", "1"),)


def test_preamble_and_epilogue_are_ignored() -> None:
    body = b"preamble\r\n" + encode([text("a", "1")]) + b"epilogue bytes"
    assert parse(body).fields == (("a", "1"),)


def test_text_field_over_the_limit_is_dropped() -> None:
    limits = BodyLimits(max_text_field_size=10)
    body = encode([text("big", "x" * 11), text("small", "x" * 10)])
    parsed = parse(body, limits=limits, piece_size=3)
    assert parsed.fields == (("small", "x" * 10),)
    assert parsed.problem is not None
    assert "'big'" in parsed.problem


def test_file_over_the_part_limit_is_an_entry_without_a_file() -> None:
    """UPLOAD_ERR_INI_SIZE: the key stays (→ UPLOAD_ERROR), the bytes go."""
    limits = BodyLimits(max_part_size=100)
    body = encode([file("fileData", "big", b"x" * 101), file("ok", "small", b"y" * 100)])
    tracker = TrackingBlobs()
    parsed = parse(body, limits=limits, blobs=tracker, piece_size=16)
    assert [(p.field, p.filename, p.size) for p in parsed.files] == [
        ("fileData", "", 0),
        ("ok", "small", 100),
    ]
    assert parsed.problem is not None
    assert "UPLOAD_ERR_INI_SIZE" in parsed.problem


def test_body_cut_inside_a_file_part_is_an_entry_without_a_file() -> None:
    """UPLOAD_ERR_PARTIAL: PHP registers the key with an error, so UPLOAD_ERROR, not
    MISSING_MANDATORY_PARAMETER."""
    body = encode([text("json", "{}"), file("fileData", "f", b"z" * 1000)])[:-200]
    parsed = parse(body)
    assert parsed.fields == (("json", "{}"),)
    assert [(p.field, p.filename, p.size) for p in parsed.files] == [("fileData", "", 0)]
    assert parsed.problem


def test_body_cut_inside_a_text_field_keeps_what_arrived() -> None:
    body = encode([file("fileData", "f", b"abc"), text("json", '{"resume":true}')])
    cut = body.index(b'{"resume"') + 5
    kept = parse(body[:cut])
    assert files_of(kept) == [("fileData", "f", b"abc")]
    assert kept.fields == (("json", '{"res'),)
    assert kept.problem


def test_too_many_parts() -> None:
    body = encode([text(f"f{i}", str(i)) for i in range(5)])
    parsed = parse(body, limits=BodyLimits(max_parts=3))
    assert parsed.fields == (("f0", "0"), ("f1", "1"), ("f2", "2"))
    assert parsed.problem


def test_too_many_headers_and_header_garbage() -> None:
    many = "\r\n".join(f"X-H{i}: v" for i in range(20))
    body = encode([text("a", "1"), (f"{many}\r\nContent-Disposition: form-data; name=b", b"2")])
    assert parse(body).fields == (("a", "1"),)
    garbage = encode([text("a", "1"), ("no colon here", b"2"), text("c", "3")])
    parsed = parse(garbage)
    assert parsed.fields == (("a", "1"),)
    assert parsed.problem


def test_missing_final_boundary() -> None:
    body = encode([text("a", "1"), text("b", "2")]).removesuffix(f"--{B}--\r\n".encode())
    parsed = parse(body)
    assert parsed.fields == (("a", "1"), ("b", "2"))
    assert parsed.problem


# -- other content types ----------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=UTF-8",
        "Application/X-WWW-Form-Urlencoded",
    ],
)
def test_urlencoded(content_type: str) -> None:
    body = b"a=1&b=&c&d=%FF%41+x&e=%C3%A9&a=2"
    parsed = parse(body, content_type, piece_size=3)
    assert parsed.fields == (("a", "1"), ("b", ""), ("c", ""), ("d", "A x"), ("e", "é"), ("a", "2"))
    assert parsed.files == ()
    assert parsed.json_text is None


def test_urlencoded_over_the_limit() -> None:
    parsed = parse(
        b"a=" + b"1" * 20,
        "application/x-www-form-urlencoded",
        limits=BodyLimits(max_text_field_size=10),
    )
    assert parsed.fields == ()
    assert parsed.problem


@pytest.mark.parametrize("content_type", ["application/json", "Application/JSON"])
def test_exact_json_content_type(content_type: str) -> None:
    body = '{"ks":"k","resumeAt":4096,"name":"é"}'.encode() + b"\xff"
    parsed = parse(body, content_type, piece_size=4)
    assert parsed.json_text == '{"ks":"k","resumeAt":4096,"name":"é"}\ufffd'
    assert parsed.fields == ()


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=utf-8", "application/json;", "text/json", "text/plain", None],
)
def test_other_content_types_give_no_params(content_type: str | None) -> None:
    """§3.2: `application/json; charset=utf-8` does not count; unknown types are ignored."""
    parsed = parse(b'{"a":1}&b=2', content_type)
    assert parsed == ParsedBody()


def test_json_over_the_limit() -> None:
    parsed = parse(
        b"{" + b" " * 20 + b"}", "application/json", limits=BodyLimits(max_text_field_size=10)
    )
    assert parsed.json_text is None
    assert parsed.problem


def test_empty_bodies() -> None:
    assert parse(b"", "application/json").json_text == ""
    assert parse(b"", None) == ParsedBody()
    assert parse(b"", "application/x-www-form-urlencoded") == ParsedBody()
    assert parse(b"").problem  # multipart without even a boundary line


# -- streaming --------------------------------------------------------------------------


class GeneratedStream:
    """A reader over header + SourceFile + trailer that never holds the whole body."""

    def __init__(self, pieces: Iterable[bytes]) -> None:
        self._pieces = iter(pieces)
        self._current = b""
        self.largest_read = 0
        self.total = 0

    def read(self, n: int) -> bytes:
        if not self._current:
            self._current = next(self._pieces, b"")
        data, self._current = self._current[:n], self._current[n:]
        self.largest_read = max(self.largest_read, len(data))
        self.total += len(data)
        return data


def test_a_64_mib_part_streams_in_small_memory(tmp_path: Path) -> None:
    source = SourceFile(64 << 20, 5)
    head = (
        encode([text("json", "{}")]).removesuffix(f"--{B}--\r\n".encode())
        + (
            f'--{B}\r\nContent-Disposition: form-data; name="fileData"; filename="big"\r\n\r\n'
        ).encode()
    )
    tail = f"\r\n--{B}--\r\n".encode()
    stream = GeneratedStream(itertools.chain([head], source.iter_chunks(1 << 20), [tail]))
    length = len(head) + source.size + len(tail)
    tracemalloc.start()
    try:
        parsed = read_body(
            stream.read,
            content_type=MULTIPART,
            content_length=length,
            blobs=TempFileBlobFactory(tmp_path),
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    try:
        assert stream.total == length
        assert stream.largest_read <= 1 << 20
        assert peak < 8 << 20, f"peak {peak / 2**20:.1f} MiB"
        (part,) = parsed.files
        assert part.size == source.size
        assert part.sha256 == source.digest() == part.blob.sha256()
        assert parsed.fields == (("json", "{}"),)
    finally:
        parsed.release()


# -- framing errors: the documented exceptions, with every blob released ----------------


def test_content_length_over_the_limit_is_refused_before_reading() -> None:
    stream = Stream(b"x" * 100)
    with pytest.raises(BodyTooLarge) as raised:
        read_body(
            stream.read,
            content_type=MULTIPART,
            content_length=101,
            blobs=TrackingBlobs(),
            limits=BodyLimits(max_body_size=100),
        )
    assert (raised.value.limit, raised.value.size) == (100, 101)
    assert stream.reads == []


def test_chunked_body_over_the_limit() -> None:
    body = encode([text("a", "1"), file("fileData", "f", b"x" * 500)])
    tracker = TrackingBlobs()
    reader = ChunkedReader(Stream(chunked(body, 64)).read)
    with pytest.raises(BodyTooLarge) as raised:
        read_body(
            reader.read,
            content_type=MULTIPART,
            content_length=None,
            blobs=tracker,
            limits=BodyLimits(max_body_size=300),
            piece_size=50,
        )
    assert raised.value.limit == 300
    assert raised.value.size > 300
    assert tracker.made == 1
    assert not tracker.live


@pytest.mark.parametrize("content_type", [MULTIPART, "application/json", None])
def test_client_gone_mid_body(content_type: str | None) -> None:
    body = encode([text("a", "1"), file("fileData", "f", b"x" * 500)])
    tracker = TrackingBlobs()
    with pytest.raises(IncompleteBody) as raised:
        read_body(
            Stream(body[:300]).read,
            content_type=content_type,
            content_length=len(body),
            blobs=tracker,
            piece_size=64,
        )
    assert (raised.value.expected, raised.value.received) == (len(body), 300)
    assert not tracker.live


def test_reader_errors_propagate_and_blobs_are_released() -> None:
    body = encode([file("a", "f", b"x" * 100), file("b", "g", b"y" * 100)])
    stream = Stream(body)

    def failing_read(n: int) -> bytes:
        if sum(stream.reads) > 150:
            raise ConnectionResetError("peer reset")
        return stream.read(n)

    tracker = TrackingBlobs()
    with pytest.raises(ConnectionResetError):
        read_body(
            failing_read,
            content_type=MULTIPART,
            content_length=len(body),
            blobs=tracker,
            piece_size=32,
        )
    assert tracker.made >= 1
    assert not tracker.live


def test_blob_write_errors_release_every_blob() -> None:
    class Full(TrackingBlobs):
        def new(self, data: bytes = b"") -> Blob:
            blob = super().new(data)
            if self.made == 2:
                blob.write_at = _disk_full  # type: ignore[method-assign]
            return blob

    body = encode([file("a", "f", b"x"), file("b", "g", b"y")])
    tracker = Full()
    with pytest.raises(OSError, match="disk full"):
        read_body(
            Stream(body).read, content_type=MULTIPART, content_length=len(body), blobs=tracker
        )
    assert not tracker.live


def _disk_full(offset: int, data: bytes) -> None:
    raise OSError(28, "disk full")


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="piece_size"):
        read_body(
            Stream(b"").read,
            content_type=None,
            content_length=0,
            blobs=TrackingBlobs(),
            piece_size=0,
        )
    with pytest.raises(ValueError, match="content_length"):
        read_body(Stream(b"").read, content_type=None, content_length=-1, blobs=TrackingBlobs())
    with pytest.raises(ValueError, match="max_parts=0"):
        BodyLimits(max_parts=0)


# -- property tests: malformed bodies never raise and never leak ------------------------

VALID = encode(
    [
        text("json", '{"resume":true,"resumeAt":0}'),
        file("fileData", "chunk", b"0123456789\r\n--" * 20),
        text("finalChunk", "1"),
        file("fileData", "", b"no file"),
    ]
)
# A complete first part and the delimiter that opens the next one.
PREAMBLE = (
    encode([text("json", "{}")]).removesuffix(f"--{B}--\r\n".encode()) + f"--{B}\r\n".encode()
)
ALLOWED = (IncompleteBody, BodyTooLarge)


def _parse_or_allowed(
    body: bytes,
    content_type: str | None,
    *,
    content_length: int | None,
    piece_size: int,
    limits: BodyLimits | None = None,
) -> ParsedBody | None:
    tracker = TrackingBlobs()
    stream = Stream(body + NEXT_REQUEST)
    try:
        parsed = read_body(
            stream.read,
            content_type=content_type,
            content_length=content_length,
            blobs=tracker,
            limits=limits or BodyLimits(),
            piece_size=piece_size,
        )
    except ALLOWED:
        assert not tracker.live
        return None
    assert stream.rest() == NEXT_REQUEST
    assert_owns_all(parsed, tracker)
    return parsed


@given(garbage=st.binary(max_size=400), piece_size=st.integers(1, 300))
@example(garbage=b"Content-Disposition: form-data\r\n\r\nx", piece_size=1)
@example(garbage=b"Content-Disposition: form-data; name=f; filename=g\r\n\r\nxx", piece_size=7)
def test_garbage_after_a_valid_preamble(garbage: bytes, piece_size: int) -> None:
    body = PREAMBLE + garbage
    parsed = _parse_or_allowed(body, MULTIPART, content_length=len(body), piece_size=piece_size)
    assert parsed is not None
    assert parsed.fields[:1] == (("json", "{}"),)


@given(
    tokens=st.lists(
        st.sampled_from(
            [
                f"--{B}\r\n",
                f"\r\n--{B}\r\n",
                f"\r\n--{B}--\r\n",
                'Content-Disposition: form-data; name="a"\r\n',
                'Content-Disposition: form-data; name="f"; filename="x"\r\n',
                'Content-Disposition: form-data; filename=""\r\n',
                "Content-Type: text/plain\r\n",
                "Content-Length: 3\r\n",
                "\r\n",
                "payload",
                "\r",
                "\n",
                "--",
            ]
        ),
        max_size=30,
    ),
    piece_size=st.integers(1, 64),
    limit=st.integers(1, 20),
)
def test_shuffled_multipart_tokens(tokens: list[str], piece_size: int, limit: int) -> None:
    body = "".join(tokens).encode()
    limits = BodyLimits(max_part_size=limit, max_text_field_size=limit, max_parts=3)
    parsed = _parse_or_allowed(
        body, MULTIPART, content_length=len(body), piece_size=piece_size, limits=limits
    )
    assert parsed is not None


@given(data=st.data(), piece_size=st.integers(1, 200))
def test_truncations_of_a_valid_body(data: st.DataObject, piece_size: int) -> None:
    cut = data.draw(st.integers(0, len(VALID)), label="cut")
    truncated = VALID[:cut]
    # Content-Length says the truncated size: a short multipart body, parsed as far as it goes.
    parsed = _parse_or_allowed(truncated, MULTIPART, content_length=cut, piece_size=piece_size)
    assert parsed is not None
    assert (parsed.problem is None) == (cut >= len(VALID) - 2)  # the final CRLF is optional
    # Content-Length says the full size: the client went away.
    tracker = TrackingBlobs()
    with pytest.raises(IncompleteBody) if cut < len(VALID) else contextlib.nullcontext():
        read_body(
            Stream(truncated).read,
            content_type=MULTIPART,
            content_length=len(VALID),
            blobs=tracker,
            piece_size=piece_size,
        ).release()
    assert not tracker.live


@given(
    boundary=st.text(max_size=30),
    header_tail=st.sampled_from(["", '"', "; x=1", ",", " "]),
    body=st.binary(max_size=200),
    piece_size=st.integers(1, 64),
)
def test_random_boundaries_and_bodies(
    boundary: str, header_tail: str, body: bytes, piece_size: int
) -> None:
    content_type = f"multipart/form-data; boundary={boundary}{header_tail}"
    _parse_or_allowed(body, content_type, content_length=len(body), piece_size=piece_size)


BOUNDARY_CHARS = st.text(
    st.characters(categories=["Lu", "Ll", "Nd"], max_codepoint=127)
    | st.sampled_from("'()+_,-./:=?"),
    min_size=1,
    max_size=70,
)
NAMES = st.text(
    st.characters(exclude_characters='"\\\r\n', codec="utf-8"),
    min_size=1,
    max_size=10,
)


@given(
    boundary=BOUNDARY_CHARS,
    parts=st.lists(st.tuples(NAMES, st.none() | NAMES, st.binary(max_size=300)), max_size=6),
    piece_size=st.integers(1, 128),
)
def test_round_trip(
    boundary: str, parts: list[tuple[str, str | None, bytes]], piece_size: int
) -> None:
    """Whatever a well-behaved encoder writes comes back exactly, in order."""
    payloads = [
        (
            f'Content-Disposition: form-data; name="{name}"'
            + ("" if filename is None else f'; filename="{filename}"'),
            payload,
        )
        for name, filename, payload in parts
    ]
    assume(not any(f"\r\n--{boundary}".encode() in payload for _, payload in payloads))
    body = encode(payloads, boundary)
    parsed = parse(body, f'multipart/form-data; boundary="{boundary}"', piece_size=piece_size)
    assert parsed.problem is None
    assert parsed.fields == tuple(
        (name, payload.decode("utf-8", errors="ignore"))
        for name, filename, payload in parts
        if filename is None
    )
    assert files_of(parsed) == [
        (name, filename, payload) for name, filename, payload in parts if filename is not None
    ]


# -- ChunkedReader ----------------------------------------------------------------------


def chunked(data: bytes, size: int, *, extension: bytes = b"", trailers: bytes = b"") -> bytes:
    out = b"".join(
        b"%x%s\r\n%s\r\n" % (len(data[i : i + size]), extension, data[i : i + size])
        for i in range(0, len(data), size)
    )
    return out + b"0%s\r\n%s\r\n" % (extension, trailers)


def read_all(reader: Callable[[int], bytes], n: int) -> bytes:
    out = bytearray()
    while piece := reader(n):
        assert len(piece) <= n
        out += piece
    return bytes(out)


@pytest.mark.parametrize("max_read", [None, 1, 3])
def test_chunked_with_extensions_and_trailers(max_read: int | None) -> None:
    data = b"hello, chunked world\r\n0\r\n"
    wire = chunked(data, 5, extension=b' ; name="v;1" ;x', trailers=b"X-Sum: 1\r\nX-B: 2\r\n")
    stream = Stream(wire + NEXT_REQUEST, max_read=max_read)
    reader = ChunkedReader(stream.read)
    assert read_all(reader.read, 4) == data
    assert reader.read(10) == b""
    assert stream.rest() == NEXT_REQUEST


def test_chunked_reads_fill_across_chunks() -> None:
    reader = ChunkedReader(Stream(chunked(b"abcdefghij", 3)).read)
    assert reader.read(7) == b"abcdefg"
    assert reader.read(7) == b"hij"
    assert reader.read(0) == b""
    assert reader.read(7) == b""


def test_chunked_empty_body_and_uppercase_hex() -> None:
    stream = Stream(b"0\r\n\r\n" + NEXT_REQUEST)
    assert ChunkedReader(stream.read).read(100) == b""
    assert stream.rest() == NEXT_REQUEST
    assert ChunkedReader(Stream(b"A\r\n0123456789\r\n0\r\n\r\n").read).read(100) == b"0123456789"


@pytest.mark.parametrize(
    "wire",
    [
        b"x\r\nabc\r\n0\r\n\r\n",
        b"-1\r\n\r\n",
        b"0x3\r\nabc\r\n0\r\n\r\n",
        b"+3\r\nabc\r\n0\r\n\r\n",
        b"\r\n",
        b"11111111111111111\r\n",
        b"3\nabc\r\n0\r\n\r\n",
        b"3\r\nabcXY0\r\n\r\n",
        b"3\r\nabc\n0\r\n\r\n",
        b"3 4\r\nabc\r\n0\r\n\r\n",
        b"0\r\n" + b"X-Long: " + b"v" * 9000 + b"\r\n\r\n",
    ],
)
def test_malformed_chunking_raises(wire: bytes) -> None:
    reader = ChunkedReader(Stream(wire).read)
    with pytest.raises(BadChunking) as raised:
        read_all(reader.read, 100)
    assert isinstance(raised.value, ValueError)
    assert isinstance(raised.value, BodyError)


@pytest.mark.parametrize(
    "wire", [b"", b"5\r\nab", b"5\r\nabcde", b"5\r\nabcde\r", b"0\r\nX: 1\r\n"]
)
def test_chunked_stream_cut_short(wire: bytes) -> None:
    with pytest.raises(IncompleteBody):
        read_all(ChunkedReader(Stream(wire).read).read, 100)


@given(
    data=st.binary(max_size=2000),
    size=st.integers(1, 300),
    n=st.integers(1, 500),
    max_read=st.none() | st.integers(1, 50),
)
def test_chunked_round_trip(data: bytes, size: int, n: int, max_read: int | None) -> None:
    stream = Stream(chunked(data, size) + NEXT_REQUEST, max_read=max_read)
    assert read_all(ChunkedReader(stream.read).read, n) == data
    assert stream.rest() == NEXT_REQUEST


def test_read_body_over_a_chunked_stream() -> None:
    payload = b"\r\n--" + B[:-1].encode() + b"\r\n" * 100
    body = encode([text("json", "{}"), file("fileData", "c", payload)])
    stream = Stream(chunked(body, 37) + NEXT_REQUEST, max_read=11)
    tracker = TrackingBlobs()
    parsed = read_body(
        ChunkedReader(stream.read).read,
        content_type=MULTIPART,
        content_length=None,
        blobs=tracker,
        piece_size=50,
    )
    assert stream.rest() == NEXT_REQUEST
    assert parsed.fields == (("json", "{}"),)
    assert files_of(parsed) == [("fileData", "c", payload)]
    assert_owns_all(parsed, tracker)
