"""The reference client: a correct Kaltura chunked uploader, sequential or parallel.

It is what every requirement of the client catalogue asks for, and the suite's yardstick
(it must pass every UT-C check, faults included):

1. the opening request: the first chunk, `resume=false`, `finalChunk=false`, `resumeAt=0`
   (a file of one chunk is one request with `finalChunk=true` instead);
2. the middle chunks, `concurrency` at a time, `resume=true`, `finalChunk=false`, each at
   its own `resumeAt`, started only once the opening was acknowledged;
3. the close, the last chunk with `resume=true`, `finalChunk=true`, `resumeAt` > 0, sent
   only once every middle was acknowledged.

A request that fails transiently (connection error, HTTP 5xx, an error object such as
INTERNAL_SERVERL_ERROR) is re-sent with the same `resumeAt` and bytes, with backoff and a
bound. The close is re-sent while the server answers UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE;
when its answer is lost, `uploadToken.get` tells whether it took effect (a second close would
be refused with UPLOAD_TOKEN_INVALID_STATUS_FOR_UPLOAD, which counts as success when the token
is FULL_UPLOAD). Success is claimed only after `uploadToken.get` shows FULL_UPLOAD holding
the whole file.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from conformance.clients.api import KalturaApi, KalturaCallError, KalturaTransportError
from conformance.clients.runners import Job
from conformance.model import ErrorCode, TokenStatus

__all__ = [
    "FATAL_ERRORS",
    "FileSource",
    "Source",
    "UploadError",
    "UploadOptions",
    "UploadResult",
    "chunk_ranges",
    "run_job",
    "upload_file",
    "uploaded_size",
]

_CANNOT_MATCH = ErrorCode.UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE.name
_INVALID_STATUS = ErrorCode.UPLOAD_TOKEN_INVALID_STATUS_FOR_UPLOAD.name
# Errors no re-send can cure: the token or the session is wrong.
FATAL_ERRORS = frozenset(
    code.name
    for code in (
        ErrorCode.UPLOAD_TOKEN_NOT_FOUND,
        ErrorCode.INVALID_KS,
        ErrorCode.MISSING_KS,
        ErrorCode.SERVICE_FORBIDDEN,
        ErrorCode.UPLOAD_TOKEN_CANNOT_RESUME,
        ErrorCode.MISSING_MANDATORY_PARAMETER,
        ErrorCode.UPLOAD_PASSED_MAX_RESUME_TIME_ALLOWED,
        ErrorCode.UPLOAD_TOKEN_INVALID_STATUS_FOR_UPLOAD,
    )
)


class Source(Protocol):
    """What is uploaded: a size and random access to its bytes."""

    @property
    def size(self) -> int: ...

    def read(self, start: int, end: int) -> bytes: ...


@dataclass(frozen=True)
class FileSource:
    """A file on disk, read with positioned reads (safe from many threads)."""

    path: str

    @property
    def size(self) -> int:
        return os.path.getsize(self.path)

    def read(self, start: int, end: int) -> bytes:
        fd = os.open(self.path, os.O_RDONLY)
        try:
            return os.pread(fd, end - start, start)
        finally:
            os.close(fd)


@dataclass(frozen=True)
class UploadOptions:
    """How the reference client uploads. Every retry is bounded and spaced."""

    chunk_size: int = 4 << 20
    concurrency: int = 4
    attempts: int = 5
    backoff: float = 0.05
    max_backoff: float = 2.0
    close_attempts: int = 30
    request_timeout: float = 60.0
    close_timeout: float = 120.0  # Kaltura's close may wait 45 s for late chunks (§7)

    def __post_init__(self) -> None:
        for name in ("chunk_size", "concurrency", "attempts", "close_attempts"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)} must be >= 1")
        if self.backoff < 0 or self.max_backoff < self.backoff:
            raise ValueError(f"backoff={self.backoff}, max_backoff={self.max_backoff} invalid")

    def pause(self, attempt: int) -> float:
        """Seconds to wait before re-send number `attempt` (1-based): exponential, capped."""
        return float(min(self.max_backoff, self.backoff * (2 ** (attempt - 1))))


@dataclass(frozen=True)
class UploadResult:
    token_id: str
    size: int
    requests: int


class UploadError(Exception):
    """The upload did not complete; the message says which request gave up and why."""


def upload_file(
    api: KalturaApi,
    source: Source,
    *,
    token_id: str | None = None,
    file_name: str = "upload.bin",
    options: UploadOptions | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> UploadResult:
    """Upload `source` to a new token (or `token_id`), and verify that it arrived whole."""
    uploader = _Uploader(api, source, options or UploadOptions(), sleep)
    token = token_id or uploader.add_token(file_name)
    uploader.run(token)
    uploader.verify(token)
    return UploadResult(token, source.size, uploader.requests)


def run_job(job: Job) -> None:
    """The reference client as a client under test: upload the job's file to its token."""
    with httpx.Client(transport=httpx.HTTPTransport(verify=False), timeout=60.0) as client:
        api = KalturaApi(client, job.service_url, job.ks)
        options = UploadOptions(chunk_size=job.chunk_size, concurrency=job.concurrency)
        upload_file(api, FileSource(job.file), token_id=job.token_id, options=options)


class _Uploader:
    def __init__(
        self,
        api: KalturaApi,
        source: Source,
        options: UploadOptions,
        sleep: Callable[[float], None],
    ) -> None:
        self.api = api
        self.source = source
        self.options = options
        self.sleep = sleep
        self.size = source.size
        self.requests = 0
        self._count_lock = threading.Lock()

    def add_token(self, file_name: str) -> str:
        token = self._retrying(
            "uploadToken.add",
            lambda: self._call(
                "add", {"uploadToken:fileName": file_name, "uploadToken:fileSize": self.size}
            ),
        )
        return str(token["id"])

    def run(self, token: str) -> None:
        chunks = list(chunk_ranges(self.size, self.options.chunk_size))
        if len(chunks) == 1:
            self._send(token, chunks[0], resume=False, final=True)
            return
        self._send(token, chunks[0], resume=False, final=False)
        self._send_middles(token, chunks[1:-1])
        self._close(token, chunks[-1])

    def verify(self, token: str) -> None:
        state = self._retrying(
            "uploadToken.get", lambda: self._call("get", {"uploadTokenId": token})
        )
        if not self._holds_whole_file(state):
            raise UploadError(
                f"token ended status={state.get('status')} "
                f"uploadedFileSize={state.get('uploadedFileSize')}, expected FULL_UPLOAD "
                f"with {self.size} bytes"
            )

    # --- requests ---------------------------------------------------------------------

    def _call(self, action: str, params: dict[str, object], **extra: Any) -> Any:
        with self._count_lock:
            self.requests += 1
        return self.api.call("uploadtoken", action, params, **extra)

    def _upload(self, token: str, chunk: tuple[int, int], *, resume: bool, final: bool) -> Any:
        start, end = chunk
        params: dict[str, object] = {
            "uploadTokenId": token,
            "resume": resume,
            "finalChunk": final,
            "resumeAt": start,
        }
        files = {"fileData": (f"chunk_{start}", self.source.read(start, end))}
        timeout = self.options.close_timeout if final else self.options.request_timeout
        return self._call("upload", params, files=files, timeout=timeout)

    def _send(self, token: str, chunk: tuple[int, int], *, resume: bool, final: bool) -> None:
        what = f"the chunk at {chunk[0]}"
        self._retrying(what, lambda: self._upload(token, chunk, resume=resume, final=final))

    def _send_middles(self, token: str, chunks: list[tuple[int, int]]) -> None:
        if not chunks:
            return
        workers = min(self.options.concurrency, len(chunks))
        with ThreadPoolExecutor(workers, thread_name_prefix="chunk") as pool:
            futures = [pool.submit(self._send, token, c, resume=True, final=False) for c in chunks]
            done, pending = wait(futures, return_when=FIRST_EXCEPTION)
            for future in pending:
                future.cancel()
            for future in done:
                future.result()  # re-raise the first failure: the close is never sent then

    def _close(self, token: str, chunk: tuple[int, int]) -> None:
        """Re-send the identical close while the server is still assembling (UT-C18:
        `close_attempts`, it may take long); when an answer is lost, ask the token before
        trying again (UT-C19). Any other failure has the ordinary `attempts` budget."""
        assembling = other = 0
        while True:
            outcome = self._try_close(token, chunk)
            if outcome is None:
                return
            if outcome == _CANNOT_MATCH:
                assembling += 1
            else:
                other += 1
            if assembling >= self.options.close_attempts or other >= self.options.attempts:
                raise UploadError(f"the close did not succeed: last answer {outcome}")
            self.sleep(self.options.pause(assembling + other))

    def _try_close(self, token: str, chunk: tuple[int, int]) -> str | None:
        """None when the close took effect; else what went wrong (an error code)."""
        try:
            self._upload(token, chunk, resume=True, final=True)
            return None
        except KalturaCallError as failure:
            if failure.code == _INVALID_STATUS and self._is_full(token):
                return None  # an earlier close whose answer we lost did the job
            if failure.code in FATAL_ERRORS:
                raise UploadError(f"the close was refused: {failure}") from None
            return failure.code
        except KalturaTransportError as failure:
            return None if self._is_full(token) else str(failure)

    def _is_full(self, token: str) -> bool:
        try:
            state = self._call("get", {"uploadTokenId": token})
        except (KalturaCallError, KalturaTransportError):
            return False
        return self._holds_whole_file(state)

    def _holds_whole_file(self, state: dict[str, Any]) -> bool:
        """`uploadToken.get` shows FULL_UPLOAD with every byte of the file."""
        full = int(state.get("status", -1)) == TokenStatus.FULL_UPLOAD
        return full and uploaded_size(state) == self.size

    def _retrying(self, what: str, request: Callable[[], Any]) -> Any:
        """Run `request`, re-sending it on a transient failure, `attempts` times at most."""
        for attempt in range(1, self.options.attempts + 1):
            try:
                return request()
            except KalturaCallError as failure:
                if failure.code in FATAL_ERRORS or attempt == self.options.attempts:
                    raise UploadError(f"{what} failed: {failure}") from None
            except KalturaTransportError as failure:
                if attempt == self.options.attempts:
                    raise UploadError(f"{what} failed: {failure}") from None
            self.sleep(self.options.pause(attempt))
        raise AssertionError("unreachable")  # pragma: no cover


def chunk_ranges(size: int, chunk_size: int) -> Iterator[tuple[int, int]]:
    """[start, end) of each chunk a chunk-size client sends; one empty chunk for size 0."""
    if size == 0:
        yield (0, 0)
        return
    for start in range(0, size, chunk_size):
        yield (start, min(size, start + chunk_size))


def uploaded_size(state: dict[str, Any]) -> int:
    """`uploadedFileSize` of a token answer as an int (it may arrive as a string), -1 if absent."""
    try:
        return int(float(state.get("uploadedFileSize", -1)))
    except (TypeError, ValueError):
        return -1
