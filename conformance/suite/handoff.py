"""The chunk-size probe's outcome, handed from pytest-xdist's controller to its workers.

The probe (`chunking`) decides what every worker's cases are drawn with: the client's
chunk, and after a hung probe a shorter time limit. Workers take seconds to start (each
imports pytest, Hypothesis and the suite: 12 s for six of them on 2 busy cores), and the
probe takes up to its time limit (10 s for a hung client); neither needs the other until a
worker's first case. So the controller probes in a thread while its workers start
(`Handoff.start`), writes the outcome to a file when it is known (`ProbeOutcome`, JSON),
and each worker reads it before its first case (`ProbeOutcome.wait`), instead of the
workers starting only after the probe.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

from conformance.suite import configured

__all__ = ["HUNG_PROBE", "PROBE_FILE", "Handoff", "ProbeOutcome", "apply", "await_outcome"]

HUNG_PROBE = "kaltura_hung_probe"  # config.option: the small probe hung (`chunking`)
PROBE_FILE = "kaltura_probe_file"  # config.option, on a worker: where the outcome will be

# A worker waits for the probe at most this long: both probes' time limits (10 s + 30 s),
# the clients' stops and a busy machine's start-up, with room to spare.
MAX_WAIT_SECONDS = 600.0
_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class ProbeOutcome:
    """What the probe decided, as the option texts a worker sets (None: unchanged)."""

    client_chunk_size: str | None = None
    time_limit: str | None = None
    hung: bool = False
    error: str | None = None
    """The probe itself broke (not the client): the cases cannot be drawn."""

    def save(self, path: Path) -> None:
        """Written whole, then renamed: a worker never reads half a file."""
        part = path.with_suffix(".part")
        part.write_text(json.dumps(asdict(self)), encoding="utf-8")
        os.replace(part, path)

    @classmethod
    def wait(cls, path: Path, *, timeout: float = MAX_WAIT_SECONDS) -> ProbeOutcome:
        """The outcome once the controller wrote it (RuntimeError after `timeout`)."""
        deadline = time.monotonic() + timeout
        while not path.exists():
            if time.monotonic() > deadline:
                raise RuntimeError(f"the chunk-size probe gave no outcome in {timeout:g} s")
            time.sleep(_POLL_SECONDS)
        return cls(**json.loads(path.read_text(encoding="utf-8")))


class Handoff:
    """On the controller: runs the probe in a thread and writes its outcome for workers."""

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="kaltura-conformance-probe-")
        self.path = Path(self._folder.name) / "probe.json"
        self._thread: threading.Thread | None = None

    def start(self, probe: Callable[[], ProbeOutcome]) -> None:
        self._thread = threading.Thread(
            target=self._run, args=(probe,), name="chunk-probe", daemon=True
        )
        self._thread.start()

    def _run(self, probe: Callable[[], ProbeOutcome]) -> None:
        try:
            outcome = probe()
        except Exception as error:  # the workers say it, one line each
            outcome = ProbeOutcome(error=f"{type(error).__name__}: {error}")
        outcome.save(self.path)

    def finish(self) -> None:
        """Wait for the probe (its cases belong to the reports), then remove the file."""
        if self._thread is not None:
            self._thread.join()
        self._folder.cleanup()


def apply(config: pytest.Config, outcome: ProbeOutcome) -> None:
    """What the probe decided, as this process's options (read by `configured.options_of`)."""
    if outcome.error is not None:
        raise RuntimeError(f"the chunk-size probe failed: {outcome.error}")
    if outcome.client_chunk_size is not None:
        setattr(config.option, configured.dest("client_chunk_size"), outcome.client_chunk_size)
    if outcome.time_limit is not None:
        setattr(config.option, configured.dest("time_limit"), outcome.time_limit)
    setattr(config.option, HUNG_PROBE, outcome.hung)


def await_outcome(config: pytest.Config) -> None:
    """On an xdist worker, before its first case: the controller's probe outcome, once."""
    where = getattr(config.option, PROBE_FILE, None)
    if where is not None:
        apply(config, ProbeOutcome.wait(Path(where)))
        setattr(config.option, PROBE_FILE, None)
