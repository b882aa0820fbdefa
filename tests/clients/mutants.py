"""Mutant clients: the reference uploader with exactly one rule broken, to prove the checks.

`mutant(bug)` is a callable `f(job)` for `CallableClient`. It runs `MutantUploader`, a copy
of the reference uploader (`conformance.clients.reference`) on `KalturaApi`, parameterised
by one `Bug`: with `bug=None` it behaves like the reference (the tests check that it then
passes every requirement), and each bug changes one decision and nothing else. Bounds are
small (few attempts, short pauses) so that a case takes a fraction of a second.

`mutant(bug, fixed_chunk=FIXED_CHUNK)` ignores the job's chunk size and cuts the file into
1 MiB chunks, as most real uploaders do with a chunk size of their own.

`reference_client(job)` is the real reference client (`upload_file`), as a callable.

This directory is not a package: test modules load this file by path.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any

import httpx

from conformance.clients import (
    FileSource,
    KalturaApi,
    KalturaCallError,
    KalturaTransportError,
    UploadError,
    UploadOptions,
    upload_file,
)
from conformance.clients.reference import FATAL_ERRORS, chunk_ranges, uploaded_size
from conformance.clients.runners import Job
from conformance.model import ErrorCode, TokenStatus

__all__ = [
    "FIXED_CHUNK",
    "MUTANT_OPTIONS",
    "Bug",
    "MutantUploader",
    "mutant",
    "reference_client",
    "release_hung_clients",
]

PARTIAL_UPLOAD, FULL_UPLOAD = TokenStatus.PARTIAL_UPLOAD, TokenStatus.FULL_UPLOAD
CANNOT_MATCH = ErrorCode.UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE.name
INVALID_STATUS = ErrorCode.UPLOAD_TOKEN_INVALID_STATUS_FOR_UPLOAD.name
FATAL = FATAL_ERRORS  # the reference client's errors no re-send can cure
# Bounded and spaced like the reference, only smaller: a mutant's case stays short.
MUTANT_OPTIONS: dict[str, Any] = {
    "attempts": 3,
    "backoff": 0.02,
    "max_backoff": 0.1,
    "close_attempts": 4,
    "request_timeout": 5.0,
    "close_timeout": 5.0,
}
FIXED_CHUNK = 1 << 20  # a real uploader's own chunk size (1 MiB)
UNKNOWN_TOKEN_ID = "0_00000000000000000000000000000000"
POLL = 0.01  # seconds between two looks while racing the client's own answers
POLL_LIMIT = 5.0  # seconds a mutant waits for the server to have applied a request
OVERLAP = 100  # bytes each middle reaches back into the chunk before it
TIGHT_ATTEMPTS = 100  # a retry loop bounded only by a large count
HANG_SECONDS = 60.0  # far past any case's time limit

Kind = str  # "single", "opening", "middle" or "close"


class Bug(enum.Enum):
    """The one rule a mutant breaks (the requirement it targets in the comment)."""

    UNKNOWN_TOKEN = "unknown_token"  # UT-C01: uploads to a token id that does not exist
    OPENING_RESUMES = "opening_resumes"  # UT-C02: resume=true on the opening
    OPENING_OMITS_FINAL = "opening_omits_final"  # UT-C03: no finalChunk on the opening
    # UT-C04: the middles go once the opening was applied, before its answer arrived
    MIDDLES_BEFORE_OPENING_ANSWER = "middles_before_opening_answer"
    REOPENS_AFTER_MIDDLES = "reopens_after_middles"  # UT-C05: resume=false again
    MIDDLES_OMIT_FINAL = "middles_omit_final"  # UT-C06: no finalChunk on middles
    MIDDLES_APPEND = "middles_append"  # UT-C07: resumeAt=-1 on middles
    MIDDLES_OFF_BY_ONE = "middles_off_by_one"  # UT-C07: resumeAt one past the offset
    CORRUPT_BYTE = "corrupt_byte"  # UT-C08: one byte of one payload flipped
    CLOSE_AT_ZERO = "close_at_zero"  # UT-C09: the close (the last chunk) at resumeAt=0
    CLOSE_AT_MINUS_ONE = "close_at_minus_one"  # UT-C09: the close at resumeAt=-1
    # UT-C10: the close goes once every middle but one was answered
    CLOSE_WHILE_MIDDLES_IN_FLIGHT = "close_while_middles_in_flight"
    SKIPS_CHUNK = "skips_chunk"  # UT-C11: never sends one middle, claims success
    NAMELESS_FILE_PART = "nameless_file_part"  # UT-C12: fileData part without a filename
    FILE_AS_TEXT_FIELD = "file_as_text_field"  # UT-C12: fileData as a url-encoded field
    IGNORES_ERROR_OBJECTS = "ignores_error_objects"  # UT-C13: an error object is a success
    CLAIMS_SUCCESS_AFTER_FAILURE = "claims_success_after_failure"  # UT-C14
    HANGS = "hangs"  # UT-C14: sleeps far past the time limit after the opening
    ZERO_FILLED_CHUNK = "zero_filled_chunk"  # UT-C15: one chunk read as zeros
    DATA_AFTER_CLOSE = "data_after_close"  # UT-C16: re-sends the close after its success
    NEVER_RESENDS = "never_resends"  # UT-C17: gives up (honestly) on the first failure
    NO_CLOSE_RETRY = "no_close_retry"  # UT-C18: gives up on CANNOT_MATCH
    LOST_CLOSE_IS_FAILURE = "lost_close_is_failure"  # UT-C19: a lost close answer = failure
    TIGHT_RETRY_LOOP = "tight_retry_loop"  # UT-C20: re-sends without pause, 100 times
    OVERLAPPING_PAYLOADS = "overlapping_payloads"  # UT-C21: middles reach back 100 bytes


_HUNG: list[threading.Event] = []


def release_hung_clients() -> None:
    """Wake every `Bug.HANGS` mutant still sleeping (its thread then ends, sending nothing)."""
    while _HUNG:
        _HUNG.pop().set()


def reference_client(job: Job) -> None:
    """The suite's reference client, `upload_file`, on the job's pre-made token."""
    options = UploadOptions(
        chunk_size=job.chunk_size,
        concurrency=job.concurrency,
        request_timeout=5.0,
        close_timeout=5.0,
    )
    with httpx.Client() as http:
        api = KalturaApi(http, job.service_url, job.ks)
        upload_file(api, FileSource(job.file), token_id=job.token_id, options=options)


def mutant(bug: Bug | None, *, fixed_chunk: int | None = None) -> Callable[[Job], None]:
    """A client `f(job)` that breaks `bug` (None: the unbroken copy). With `fixed_chunk` it
    ignores the job's chunk size and uses that one."""

    def client(job: Job) -> None:
        chunk_size = fixed_chunk or job.chunk_size
        options = UploadOptions(
            chunk_size=chunk_size, concurrency=job.concurrency, **MUTANT_OPTIONS
        )
        with httpx.Client() as http:
            api = KalturaApi(http, job.service_url, job.ks)
            MutantUploader(api, FileSource(job.file), options, bug).upload(job.token_id)

    name = f"mutant_{bug.value if bug else 'none'}"
    client.__qualname__ = client.__name__ = name + (f"_chunk_{fixed_chunk}" if fixed_chunk else "")
    return client


class MutantUploader:
    """The reference uploader's algorithm, with one `Bug` switched on."""

    def __init__(
        self, api: KalturaApi, source: FileSource, options: UploadOptions, bug: Bug | None
    ) -> None:
        self.api = api
        self.source = source
        self.options = options
        self.bug = bug
        self.size = source.size
        self._first_middle: int | None = None

    def upload(self, token: str) -> None:
        try:
            self.run(token)
            if self.bug is not Bug.SKIPS_CHUNK:
                self.verify(token)
        except UploadError:
            if self.bug in (Bug.CLAIMS_SUCCESS_AFTER_FAILURE, Bug.SKIPS_CHUNK):
                return  # claims success although it failed
            raise

    def run(self, token: str) -> None:
        chunks = self._chunks()
        if len(chunks) == 1:
            self._send(token, chunks[0], "single")
            return
        opening, middles, last = chunks[0], chunks[1:-1], chunks[-1]
        if self.bug is Bug.MIDDLES_BEFORE_OPENING_ANSWER:
            self._together(
                lambda: self._send(token, opening, "opening"),
                lambda: self._send_middles(token, middles),
                lambda state: int(state.get("status", -1)) == PARTIAL_UPLOAD,
                token,
            )
        else:
            self._send(token, opening, "opening")
            if self.bug is Bug.HANGS:
                _hang()
            if self.bug is Bug.CLOSE_WHILE_MIDDLES_IN_FLIGHT:
                self._send_middles(token, middles, then=lambda: self._close(token, last))
                return
            self._send_middles(token, middles)
        if self.bug is Bug.REOPENS_AFTER_MIDDLES:
            self._send(token, opening, "opening")
        self._close(token, last)
        if self.bug is Bug.DATA_AFTER_CLOSE:
            self._close(token, last)  # "to be sure": refused INVALID_STATUS, accepted as FULL

    def verify(self, token: str) -> None:
        state = self._retrying(lambda: self._get(token), data=False)
        if int(state.get("status", -1)) != FULL_UPLOAD or uploaded_size(state) != self.size:
            raise UploadError(f"token ended {state}")

    # --- how the file is cut --------------------------------------------------------

    def _chunks(self) -> list[tuple[int, int]]:
        chunks = list(chunk_ranges(self.size, self.options.chunk_size))
        if len(chunks) > 2:
            self._first_middle = chunks[1][0]
        if self.bug is Bug.OVERLAPPING_PAYLOADS:
            chunks[1:-1] = [(max(0, start - OVERLAP), end) for start, end in chunks[1:-1]]
        if self.bug is Bug.SKIPS_CHUNK and len(chunks) > 2:
            del chunks[1]
        return chunks

    # --- requests -------------------------------------------------------------------

    def _get(self, token: str) -> Any:
        return self.api.call("uploadtoken", "get", {"uploadTokenId": token})

    def _upload(self, token: str, chunk: tuple[int, int], kind: Kind) -> Any:
        start, end = chunk
        params = self._params(token, start, kind)
        data = self._payload(start, end, kind)
        files: Any = {"fileData": (f"chunk_{start}", data)}
        if self.bug is Bug.NAMELESS_FILE_PART:
            files = {"fileData": (None, data)}  # httpx: a part without a filename attribute
        elif self.bug is Bug.FILE_AS_TEXT_FIELD:
            params["fileData"] = data.decode("latin-1")
            files = None
        final = kind in ("single", "close")
        timeout = self.options.close_timeout if final else self.options.request_timeout
        return self.api.call("uploadtoken", "upload", params, files=files, timeout=timeout)

    def _params(self, token: str, start: int, kind: Kind) -> dict[str, object]:
        bug = self.bug
        resume_at: int | None = start
        final: bool | None = kind in ("single", "close")
        resume = kind in ("middle", "close") or (kind == "opening" and bug is Bug.OPENING_RESUMES)
        if kind == "opening" and bug is Bug.OPENING_OMITS_FINAL:
            final = None  # KalturaApi leaves out None: the server reads finalChunk=true
        if kind == "middle":
            if bug is Bug.MIDDLES_OMIT_FINAL:
                final = None
            elif bug is Bug.MIDDLES_APPEND:
                resume_at = -1
            elif bug is Bug.MIDDLES_OFF_BY_ONE:
                resume_at = start + 1
        if kind == "close" and bug in (Bug.CLOSE_AT_ZERO, Bug.CLOSE_AT_MINUS_ONE):
            resume_at = 0 if bug is Bug.CLOSE_AT_ZERO else -1
        return {
            "uploadTokenId": UNKNOWN_TOKEN_ID if bug is Bug.UNKNOWN_TOKEN else token,
            "resume": resume,
            "finalChunk": final,
            "resumeAt": resume_at,
        }

    def _payload(self, start: int, end: int, kind: Kind) -> bytes:
        data = self.source.read(start, end)
        if kind != "middle" or start != self._first_middle or not data:
            return data
        if self.bug is Bug.CORRUPT_BYTE:  # the last byte: past the head the trace keeps
            return data[:-1] + bytes([data[-1] ^ 0xFF])
        if self.bug is Bug.ZERO_FILLED_CHUNK:
            return bytes(len(data))
        return data

    def _send(self, token: str, chunk: tuple[int, int], kind: Kind) -> None:
        self._retrying(lambda: self._upload(token, chunk, kind), data=True)

    def _send_middles(
        self,
        token: str,
        chunks: list[tuple[int, int]],
        then: Callable[[], None] | None = None,
    ) -> None:
        """`then` (the close, for Bug.CLOSE_WHILE_MIDDLES_IN_FLIGHT) runs as soon as every
        middle but one was acknowledged, the last one still in flight."""
        if not chunks:
            return
        workers = min(self.options.concurrency, len(chunks))
        with ThreadPoolExecutor(workers, thread_name_prefix="mutant-chunk") as pool:
            futures = [pool.submit(self._send, token, c, "middle") for c in chunks]
            if then is not None:
                while sum(f.done() for f in futures) < len(futures) - 1:
                    time.sleep(POLL)
                then()
            done, pending = wait(futures, return_when=FIRST_EXCEPTION)
            for future in pending:
                future.cancel()
            for future in done:
                future.result()

    def _close(self, token: str, chunk: tuple[int, int]) -> None:
        bug = self.bug
        for attempt in range(1, self.options.close_attempts + 1):
            try:
                self._upload(token, chunk, "close")
                return
            except KalturaCallError as failure:
                if bug is Bug.IGNORES_ERROR_OBJECTS:
                    return
                if failure.code == INVALID_STATUS and self._is_full(token):
                    return
                if failure.code in FATAL or (
                    bug is Bug.NO_CLOSE_RETRY and failure.code == CANNOT_MATCH
                ):
                    raise UploadError(f"the close was refused: {failure}") from None
            except KalturaTransportError as failure:
                if bug is Bug.LOST_CLOSE_IS_FAILURE:
                    raise UploadError(f"the close failed: {failure}") from None
                if self._is_full(token):
                    return
            time.sleep(self.options.pause(attempt))
        raise UploadError(f"the close did not succeed in {self.options.close_attempts} attempts")

    def _together(
        self,
        first: Callable[[], None],
        second: Callable[[], None],
        applied: Callable[[Any], bool],
        token: str,
    ) -> None:
        """Start `first`; once `uploadToken.get` shows that the server `applied` it, and
        without waiting for its answers, run `second`."""
        with ThreadPoolExecutor(1, thread_name_prefix="mutant-first") as pool:
            started = pool.submit(first)
            try:
                deadline = time.monotonic() + POLL_LIMIT
                while not applied(self._get(token)) and time.monotonic() < deadline:
                    time.sleep(POLL)
                second()
            finally:
                started.result()

    def _is_full(self, token: str) -> bool:
        try:
            state = self._get(token)
        except (KalturaCallError, KalturaTransportError):
            return False
        return int(state.get("status", -1)) == FULL_UPLOAD and uploaded_size(state) == self.size

    def _retrying(self, request: Callable[[], Any], *, data: bool) -> Any:
        bug = self.bug if data else None
        attempts = self.options.attempts
        if bug is Bug.NEVER_RESENDS:
            attempts = 1
        elif bug is Bug.TIGHT_RETRY_LOOP:
            attempts = TIGHT_ATTEMPTS
        for attempt in range(1, attempts + 1):
            try:
                return request()
            except KalturaCallError as failure:
                if bug is Bug.IGNORES_ERROR_OBJECTS:
                    return None  # taken for an acknowledgement
                if failure.code in FATAL or attempt == attempts:
                    raise UploadError(str(failure)) from None
            except KalturaTransportError as failure:
                if attempt == attempts:
                    raise UploadError(str(failure)) from None
            if bug is not Bug.TIGHT_RETRY_LOOP:
                time.sleep(self.options.pause(attempt))
        raise AssertionError("unreachable")


def _hang() -> None:
    event = threading.Event()
    _HUNG.append(event)
    event.wait(HANG_SECONDS)
    raise UploadError("gave up after hanging")
