"""One `uploadToken.upload` as server conformance sends it (`Send`), and what the model
predicts for it.

The close's wait (§7): where the model answers `CloseWaiting`, the real server waits for
late chunks. The driver sends requests one at a time, so nothing can arrive meanwhile, but
the server still runs its passes (a drain and a glob pass each), and a later pass can move
bytes an earlier one did not: a chunk stored at offset 0 is rewritten by the glob pass and
the next drain goes back to the end of the file (§6.3). So the prediction (`predict`) runs
the passes of a whole wait (Kaltura's 45) before `AbandonClose`. A server with a shorter
wait runs fewer (`kaltura-conformance serve --final-wait 0.2`: about ten); in the
sequences found so far the second pass already leaves the state the 45th does. No
sleeping, no timing assumptions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import KW_ONLY, dataclass

from conformance.content import SourceFile
from conformance.model import (
    AbandonClose,
    AddToken,
    Caller,
    CloseWaiting,
    ContinueClose,
    FilePart,
    MemoryBlob,
    Outcome,
    TokenResult,
    Upload,
    UploadTokenModel,
)
from conformance.scenario import PlannedRequest

__all__ = ["CLOSE_PASSES", "Send", "predict", "replayed", "upload_event"]

# Passes of a close's wait (§7: `upload_final_chunk_max_append_time`, one a second).
CLOSE_PASSES = 45


@dataclass(frozen=True)
class Send:
    """One `uploadToken.upload` of `payload` as `chunk_<offset>`. A flag left None is
    omitted from the request (UT-S12: the server must apply its defaults); the named
    constructors give the three stages with every flag set."""

    payload: bytes
    offset: int
    _: KW_ONLY
    resume: bool | None = None
    final: bool | None = None
    resume_at: int | None = None

    @classmethod
    def opening(cls, payload: bytes, *, final: bool = False) -> Send:
        """The first chunk (or, `final`, the whole file): resume=false at 0."""
        return cls(payload, 0, resume=False, final=final, resume_at=0)

    @classmethod
    def middle(cls, payload: bytes, offset: int) -> Send:
        """A chunk placed at `offset` (resumeAt), finalChunk=false."""
        return cls(payload, offset, resume=True, final=False, resume_at=offset)

    @classmethod
    def close(cls, payload: bytes, offset: int) -> Send:
        """The last chunk, at `offset`: finalChunk=true, so the server checks the size."""
        return cls(payload, offset, resume=True, final=True, resume_at=offset)

    @classmethod
    def planned(cls, request: PlannedRequest, source: SourceFile) -> Send:
        chunk = request.chunk
        payload = source.read(chunk.start, chunk.end)
        return cls(
            payload,
            chunk.start,
            resume=request.resume,
            final=request.final,
            resume_at=request.resume_at,
        )

    def describe(self) -> str:
        flags = [
            f"{name}={value}"
            for name, value in (
                ("resume", self.resume),
                ("finalChunk", self.final),
                ("resumeAt", self.resume_at),
            )
            if value is not None
        ]
        return " ".join([f"upload {len(self.payload)} B chunk_{self.offset}", *flags])

    def params(self) -> dict[str, object]:
        return {"resume": self.resume, "finalChunk": self.final, "resumeAt": self.resume_at}


def upload_event(caller: Caller, now: float, token_id: str, send: Send) -> Upload:
    """`send` as the model's event, with the server's defaults for omitted parameters."""
    return Upload(
        caller,
        now,
        token_id,
        FilePart(MemoryBlob(send.payload), f"chunk_{send.offset}"),
        resume=False if send.resume is None else send.resume,
        final_chunk=True if send.final is None else send.final,
        resume_at=-1.0 if send.resume_at is None else float(send.resume_at),
    )


def predict(
    model: UploadTokenModel, caller: Caller, now: float, token_id: str, send: Send
) -> Outcome:
    """The model's answer to `send`, sent alone: a close left waiting runs the passes of a
    whole wait, then is abandoned (see the module docstring)."""
    outcome = model.apply(upload_event(caller, now, token_id, send))
    # Sequential driving: no chunk arrives during the server's wait, but its passes run.
    for _ in range(CLOSE_PASSES - 1):  # the first pass ran with the request
        if not isinstance(outcome, CloseWaiting):
            return outcome
        outcome = model.apply(ContinueClose(outcome.ticket, now))
    if isinstance(outcome, CloseWaiting):
        outcome = model.apply(AbandonClose(outcome.ticket, now))
    return outcome


def replayed(
    caller: Caller, now: float, added: tuple[str, float | None], history: Iterable[Send]
) -> tuple[UploadTokenModel, str]:
    """A fresh model holding one token, `added` (name, size), with `history` applied to
    it: the token's state as the driver's model has it. The caller closes the model."""
    model = UploadTokenModel()
    name, size = added
    outcome = model.apply(AddToken(caller, now, name, size))
    assert isinstance(outcome, TokenResult), outcome
    token_id = outcome.token.id
    for earlier in history:
        predict(model, caller, now, token_id, earlier)
    return model, token_id
