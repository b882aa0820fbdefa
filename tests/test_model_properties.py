"""Properties of the reference model over generated uploads (kaltura-server-semantics.md §5–§9).

Any partition, any order of middle chunks, any re-sends: the close converges to FULL_UPLOAD
holding exactly the source. An early close is refused with UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE
and loses no byte; retrying it converges. A second close is refused. Content comes from
seeds (`SourceFile`), never from drawn byte strings.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from conformance.content import SourceFile
from conformance.model import (
    AbandonClose,
    AddToken,
    CloseWaiting,
    ContinueClose,
    FilePart,
    MemoryBlob,
    Outcome,
    TokenResult,
    TokenStatus,
    Upload,
    UploadTokenModel,
)
from conformance.scenario import Chunk, PlannedRequest, UploadSchedule
from conformance.simulation import SIMULATION_CALLER, simulate
from conformance.stores import TempFileBlobFactory
from strategies import partitions, source_files, upload_schedules

CALLER = SIMULATION_CALLER
MAX_SIZE = 64 * 1024


@st.composite
def uploads(
    draw: st.DrawFn, *, min_middles: int = 0, **schedule_options: bool
) -> tuple[SourceFile, UploadSchedule]:
    """A source file and a schedule to send it with at least `min_middles` middle chunks."""
    source = draw(source_files(min_size=min_middles + 2, max_size=MAX_SIZE, chunk_size=4096))
    partition = draw(partitions(source.size, min_chunks=min_middles + 2, max_chunks=24))
    schedule = draw(upload_schedules(partition, **schedule_options))
    return source, schedule


# Uploads with an early close attempt after some (not all) middle chunks.
EARLY_CLOSES = uploads(min_middles=1, allow_early_close=True).filter(
    lambda upload: upload[1].close_after is not None
)


def _new_token(model: UploadTokenModel) -> str:
    added = model.apply(AddToken(CALLER, now=0))
    assert isinstance(added, TokenResult)
    return added.token.id


def _send(
    model: UploadTokenModel, token: str, source: SourceFile, request: PlannedRequest
) -> Outcome:
    payload = MemoryBlob(source.read(request.chunk.start, request.chunk.end))
    event = Upload(
        CALLER,
        now=1,
        token_id=token,
        file=FilePart(payload, "chunk"),
        resume=request.resume,
        final_chunk=request.final,
        resume_at=float(request.resume_at),
    )
    return model.apply(event)


@given(uploads(allow_early_close=False))
def test_any_partition_order_and_resends_converge(
    upload: tuple[SourceFile, UploadSchedule],
) -> None:
    source, schedule = upload
    result = simulate(source, schedule)
    assert all(step.error is None for step in result.steps), result.steps
    assert result.final_token.status is TokenStatus.FULL_UPLOAD
    assert result.final_token.uploaded_file_size == source.size
    assert result.file_digest == source.digest()


@given(source_files(max_size=MAX_SIZE, chunk_size=4096))
def test_a_single_request_upload_is_complete_at_once(source: SourceFile) -> None:
    """resume=false, finalChunk=true (§5 last row, §4 step 8.3): one request, FULL_UPLOAD."""
    model = UploadTokenModel()
    token = _new_token(model)
    request = PlannedRequest("open", _whole(source), resume=False, final=True, resume_at=0)
    outcome = _send(model, token, source, request)
    assert isinstance(outcome, TokenResult)
    assert outcome.token.status is TokenStatus.FULL_UPLOAD
    assert model.read_file(CALLER.partner_id, token) == source.read(0, source.size)


def _whole(source: SourceFile) -> Chunk:
    return Chunk(0, source.size)


@given(
    uploads(min_middles=1, allow_early_close=True).filter(lambda u: u[1].close_after is not None)
)
def test_an_early_close_is_refused_without_loss_and_its_retry_converges(
    upload: tuple[SourceFile, UploadSchedule],
) -> None:
    source, schedule = upload
    model = UploadTokenModel()
    result = simulate(source, schedule, model)
    early = next(step for step in result.steps if step.request.kind == "close")
    assert early.error == "UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE"
    assert result.steps[-1].status is TokenStatus.FULL_UPLOAD
    assert result.file_digest == source.digest()


@given(
    uploads(min_middles=1, allow_early_close=True).filter(lambda u: u[1].close_after is not None)
)
def test_a_refused_close_keeps_every_byte_received(
    upload: tuple[SourceFile, UploadSchedule],
) -> None:
    """§7 point 4: the file stays a prefix of the source and every acknowledged middle is in
    the file or stored beside it; status and uploadedFileSize do not move."""
    source, schedule = upload
    requests = schedule.requests()
    early_index = next(i for i, r in enumerate(requests) if r.kind == "close")
    model = UploadTokenModel()
    token = _new_token(model)
    answers = [_send(model, token, source, request) for request in requests[:early_index]]
    before = _token_state(answers[-1])
    waiting = _send(model, token, source, requests[early_index])
    assert isinstance(waiting, CloseWaiting)
    refused = model.apply(_abandon(waiting))
    assert getattr(refused, "code", None) == "UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE"
    record = model.record(CALLER.partner_id, token)
    assert record is not None
    assert record.assembly is not None
    assert (record.status, record.uploaded_file_size) == before
    held = record.assembly.file.read()
    assert held == source.read(0, len(held))
    for request in requests[: early_index + 1]:
        chunk = request.chunk
        in_file = chunk.end <= len(held)
        stored = record.assembly.pending.get(float(chunk.start))
        assert in_file or (
            stored is not None and stored.read() == source.read(chunk.start, chunk.end)
        )


def _token_state(outcome: Outcome) -> tuple[TokenStatus, int | None]:
    assert isinstance(outcome, TokenResult), outcome
    return outcome.token.status, outcome.token.uploaded_file_size


def _abandon(waiting: CloseWaiting) -> AbandonClose:
    return AbandonClose(waiting.ticket, now=2)


@given(
    uploads(min_middles=1, allow_early_close=True).filter(lambda u: u[1].close_after is not None)
)
def test_a_waiting_close_completes_when_the_missing_chunks_arrive(
    upload: tuple[SourceFile, UploadSchedule],
) -> None:
    """§7 point 3: chunks uploaded during the wait are appended by the close's next pass."""
    source, schedule = upload
    requests = schedule.requests()
    early_index = next(i for i, r in enumerate(requests) if r.kind == "close")
    model = UploadTokenModel()
    token = _new_token(model)
    for request in requests[:early_index]:
        _send(model, token, source, request)
    waiting = _send(model, token, source, requests[early_index])
    assert isinstance(waiting, CloseWaiting)
    for request in requests[early_index + 1 : -1]:  # the rest, but not the retried close
        assert isinstance(_send(model, token, source, request), TokenResult)
    done = model.apply(ContinueClose(waiting.ticket, now=3))
    assert isinstance(done, TokenResult), done
    assert done.token.status is TokenStatus.FULL_UPLOAD
    assert model.file_digest(CALLER.partner_id, token) == source.digest()


@given(uploads(allow_early_close=False))
def test_a_second_close_is_refused(upload: tuple[SourceFile, UploadSchedule]) -> None:
    """§7 point 7: once FULL_UPLOAD, any further upload (the same close) is refused."""
    source, schedule = upload
    model = UploadTokenModel()
    result = simulate(source, schedule, model)
    assert result.converged
    again = _send(model, result.final_token.id, source, schedule.requests()[-1])
    assert getattr(again, "code", None) == "UPLOAD_TOKEN_INVALID_STATUS_FOR_UPLOAD"
    assert model.file_digest(CALLER.partner_id, result.final_token.id) is not None


@given(uploads())
def test_uploaded_file_size_never_exceeds_the_assembled_length(
    upload: tuple[SourceFile, UploadSchedule],
) -> None:
    """§9 (UT-S13): uploadedFileSize is a lower bound of the contiguous file, never more."""
    source, schedule = upload
    model = UploadTokenModel()
    token = _new_token(model)
    for request in schedule.requests():
        outcome = _send(model, token, source, request)
        if isinstance(outcome, CloseWaiting):
            outcome = model.apply(_abandon(outcome))
        record = model.record(CALLER.partner_id, token)
        assert record is not None
        assert record.assembly is not None
        assert (record.uploaded_file_size or 0) <= record.assembly.size


@given(uploads(), st.integers(0, 64))
def test_file_backed_blobs_assemble_the_same_file(
    upload: tuple[SourceFile, UploadSchedule], spool_threshold: int
) -> None:
    """The store is pluggable: memory and temporary files give the same bytes and answers."""
    source, schedule = upload
    in_memory = simulate(source, schedule)
    with UploadTokenModel(blobs=TempFileBlobFactory(spool_threshold=spool_threshold)) as model:
        on_disk = simulate(source, schedule, model)
    assert on_disk.steps == in_memory.steps
    assert on_disk.file_digest == in_memory.file_digest
