"""Knobs of the real server that the model copies (kaltura-server-semantics.md §13)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ModelConfig"]

DAY = 86_400


@dataclass(frozen=True)
class ModelConfig:
    """Defaults are Kaltura's at HEAD.

    The close's wait (`upload_final_chunk_max_append_time`, 45 one-second passes) is not
    here: the model never waits; whoever drives it decides (see `CloseWaiting`).
    """

    max_resume_time: int = 7 * DAY
    non_final_drain_limit: int = 10
    final_drain_limit: int = 1000
    glob_during_chunk_uploads: bool = False
    dc: int = 0
    auto_finalize_ttl: int = 30 * DAY
    auto_finalize_retries: int = 5
    auto_finalize_retries_ttl: int = DAY
    auto_finalize_lock_ttl: int = 30
    id_salt: str = "kaltura-upload-conformance"

    def __post_init__(self) -> None:
        for name in ("max_resume_time", "non_final_drain_limit", "final_drain_limit"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)} must be >= 1")
        if self.auto_finalize_retries < 1:
            raise ValueError(f"auto_finalize_retries={self.auto_finalize_retries} must be >= 1")
