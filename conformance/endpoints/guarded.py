"""The sequential reference model shared by many handler threads.

One lock guards the model; a close that must wait for late chunks (§7) releases it between
passes and sleeps on a condition that every applied event notifies, so a waiting close
never blocks other requests and sees a new chunk at once. The wait lasts `final_wait`
seconds, a pass every `pass_interval`. A chunk held back by a fault (`hold`) is applied by
a timer later; `close` cancels those and releases every stored byte.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from conformance.model import (
    AbandonClose,
    AddToken,
    BlobFactory,
    Caller,
    CloseWaiting,
    ContinueClose,
    Deleted,
    Event,
    Failed,
    FilePart,
    GetToken,
    ModelConfig,
    Outcome,
    TokenResult,
    Upload,
    UploadTokenModel,
)
from conformance.wire import ApiResult

__all__ = ["GuardedModel", "release_event"]


class GuardedModel:
    """`UploadTokenModel` behind its lock, with the close's wait and held chunks."""

    def __init__(
        self,
        blobs: BlobFactory,
        config: ModelConfig,
        *,
        final_wait: float,
        pass_interval: float,
        forget_deleted_beyond: int | None,
        clock: Callable[[], float],
    ) -> None:
        self.model = UploadTokenModel(blobs=blobs, config=config)
        self.activity = threading.Condition(threading.Lock())
        self._final_wait = final_wait
        self._pass_interval = pass_interval
        self._window = forget_deleted_beyond
        self._clock = clock
        self._held: dict[threading.Timer, Upload] = {}

    def apply(self, event: Event) -> ApiResult:
        """Apply an event; a verified close waits here, outside the lock, for late chunks."""
        with self.activity:
            outcome: Outcome = self.model.apply(event)
            if isinstance(outcome, Deleted) and self._window is not None:
                self.model.forget_deleted(self._window)  # `serve`: memory flat
            self.activity.notify_all()
        if isinstance(outcome, CloseWaiting):
            outcome = self._wait_for_close(outcome)
        assert not isinstance(outcome, CloseWaiting)
        return outcome

    def _wait_for_close(self, waiting: CloseWaiting) -> Outcome:
        deadline = time.monotonic() + self._final_wait
        outcome: Outcome = waiting
        with self.activity:
            while isinstance(outcome, CloseWaiting):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return self.model.apply(AbandonClose(waiting.ticket, self._clock()))
                self.activity.wait(min(self._pass_interval, remaining))
                outcome = self.model.apply(ContinueClose(waiting.ticket, self._clock()))
            self.activity.notify_all()
        return outcome

    def hold(self, event: Upload, seconds: float) -> None:
        """Apply `event` `seconds` from now (unless closed meanwhile)."""
        timer = threading.Timer(seconds, self._release_held)
        timer.daemon = True
        timer.args = (timer,)
        with self.activity:
            self._held[timer] = event
        timer.start()

    def _release_held(self, timer: threading.Timer) -> None:
        with self.activity:
            event = self._held.pop(timer, None)
        if event is not None:  # None: the endpoint was closed meanwhile
            self.apply(event)

    def file_digest(self, partner_id: int, token_id: str) -> str | None:
        with self.activity:
            return self.model.file_digest(partner_id, token_id)

    def add_token(self, partner_id: int, file_name: str, file_size: int) -> str:
        event = AddToken(Caller(partner_id), self._clock(), file_name, float(file_size))
        with self.activity:
            outcome = self.model.apply(event)
        assert isinstance(outcome, TokenResult), outcome
        return outcome.token.id

    def holds(self, partner_id: int, token_id: str) -> bool:
        with self.activity:
            return self.model.record(partner_id, token_id) is not None

    def token(self, partner_id: int, token_id: str) -> TokenResult | Failed:
        with self.activity:
            outcome = self.model.apply(GetToken(Caller(partner_id), self._clock(), token_id))
        assert isinstance(outcome, (TokenResult, Failed))
        return outcome

    def forget_partner(self, partner_id: int) -> None:
        with self.activity:
            self.model.forget_partner(partner_id)
            self.activity.notify_all()

    def close(self) -> None:
        """Stop held-chunk timers and release every stored byte."""
        with self.activity:
            held, self._held = self._held, {}
            self.model.close()
        for timer, event in held.items():
            timer.cancel()
            release_event(event)


def release_event(event: Upload) -> None:
    """Release an upload's payload the model was not given."""
    if isinstance(event.file, FilePart):
        event.file.blob.release()
