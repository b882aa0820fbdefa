"""Run an upload schedule straight against the reference model, request by request.

No HTTP, no threads: the model is applied in the schedule's order, with a fixed clock.
This is how the property tests show that the model assembles any partition, order and
re-send exactly as Kaltura does, and what `kaltura-conformance simulate` prints. A close
that must wait (`CloseWaiting`) gets one pass and is then abandoned, since nothing else
can arrive meanwhile in a sequential run: it answers UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE
exactly where the real server would after its wait.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.content import SourceFile
from conformance.model import (
    AbandonClose,
    AddToken,
    Caller,
    CloseWaiting,
    Failed,
    FilePart,
    GetToken,
    Outcome,
    TokenResult,
    TokenStatus,
    TokenView,
    Upload,
    UploadTokenModel,
)
from conformance.scenario import PlannedRequest, UploadSchedule

__all__ = ["SIMULATION_CALLER", "SimulatedStep", "Simulation", "simulate"]

# Who the simulated client is: an admin KS of partner 100.
SIMULATION_CALLER = Caller(partner_id=100, user_id="simulator")
_CALLER = SIMULATION_CALLER
_NOW = 1_700_000_000.0


@dataclass(frozen=True)
class SimulatedStep:
    """One data request and the model's answer to it."""

    request: PlannedRequest
    status: TokenStatus | None
    uploaded_file_size: int | None
    error: str | None
    waited: bool

    def describe(self) -> str:
        chunk = self.request.chunk
        head = (
            f"{self.request.kind:<6} resume={_flag(self.request.resume)} "
            f"finalChunk={_flag(self.request.final)} resumeAt={self.request.resume_at} "
            f"bytes={chunk.size}"
        )
        if self.error is not None:
            waited = " (after waiting)" if self.waited else ""
            return f"{head} -> {self.error}{waited}"
        assert self.status is not None
        return f"{head} -> {self.status.name} uploadedFileSize={self.uploaded_file_size}"


def _flag(value: bool) -> str:
    return "true" if value else "false"


@dataclass(frozen=True)
class Simulation:
    """The whole run: every step, the token at the end, and the assembled file's digest."""

    source: SourceFile
    schedule: UploadSchedule
    steps: tuple[SimulatedStep, ...]
    final_token: TokenView
    file_digest: str | None

    @property
    def converged(self) -> bool:
        """FULL_UPLOAD holding exactly the source bytes."""
        full = self.final_token.status is TokenStatus.FULL_UPLOAD
        return full and self.file_digest == self.source.digest()


def simulate(
    source: SourceFile, schedule: UploadSchedule, model: UploadTokenModel | None = None
) -> Simulation:
    """Upload `source` as `schedule` says, into a fresh token of `model` (a new one if None)."""
    if schedule.partition.size != source.size:
        raise ValueError(
            f"schedule is for size={schedule.partition.size}, source has size={source.size}"
        )
    model = model or UploadTokenModel()
    token_id = _add_token(model, source)
    steps = tuple(_send(model, token_id, source, request) for request in schedule.requests())
    final = model.apply(GetToken(_CALLER, _NOW, token_id))
    assert isinstance(final, TokenResult), final
    digest = model.file_digest(_CALLER.partner_id, token_id)
    return Simulation(source, schedule, steps, final.token, digest)


def _add_token(model: UploadTokenModel, source: SourceFile) -> str:
    added = model.apply(AddToken(_CALLER, _NOW, file_name="source.bin", file_size=source.size))
    assert isinstance(added, TokenResult), added
    return added.token.id


def _send(
    model: UploadTokenModel, token_id: str, source: SourceFile, request: PlannedRequest
) -> SimulatedStep:
    payload = source.read(request.chunk.start, request.chunk.end)
    part = FilePart(model.blobs.new(payload), f"chunk_{request.resume_at}")
    event = Upload(
        _CALLER,
        _NOW,
        token_id,
        part,
        resume=request.resume,
        final_chunk=request.final,
        resume_at=float(request.resume_at),
    )
    outcome: Outcome = model.apply(event)
    waited = isinstance(outcome, CloseWaiting)
    if isinstance(outcome, CloseWaiting):
        outcome = model.apply(AbandonClose(outcome.ticket, _NOW))
    return _step(request, outcome, waited)


def _step(request: PlannedRequest, outcome: Outcome, waited: bool) -> SimulatedStep:
    if isinstance(outcome, Failed):
        return SimulatedStep(request, None, None, outcome.code, waited)
    assert isinstance(outcome, TokenResult), outcome
    token = outcome.token
    return SimulatedStep(request, token.status, token.uploaded_file_size, None, waited)
