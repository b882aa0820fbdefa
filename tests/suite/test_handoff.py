"""The probe's outcome handed from xdist's controller to its workers (`suite.handoff`)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from conformance.suite import configured
from conformance.suite.handoff import (
    HUNG_PROBE,
    PROBE_FILE,
    Handoff,
    ProbeOutcome,
    apply,
    await_outcome,
)


def test_a_worker_waits_for_the_outcome_the_probe_thread_writes() -> None:
    release = threading.Event()

    def probe() -> ProbeOutcome:
        release.wait(10)
        return ProbeOutcome(time_limit="40.0", hung=True)

    handoff = Handoff()
    handoff.start(probe)
    assert not handoff.path.exists()  # the probe is still running: workers wait
    config = SimpleNamespace(option=SimpleNamespace(**{PROBE_FILE: str(handoff.path)}))
    waiting = threading.Thread(target=await_outcome, args=(config,))
    waiting.start()
    time.sleep(0.2)
    assert waiting.is_alive()
    release.set()
    waiting.join(10)
    assert getattr(config.option, configured.dest("time_limit")) == "40.0"
    assert getattr(config.option, HUNG_PROBE) is True
    assert getattr(config.option, PROBE_FILE) is None  # read once
    handoff.finish()
    assert not handoff.path.parent.exists()


def test_a_broken_probe_reaches_the_workers_as_its_error() -> None:
    def probe() -> ProbeOutcome:
        raise OSError("no loopback port")

    handoff = Handoff()
    handoff.start(probe)
    outcome = ProbeOutcome.wait(handoff.path, timeout=10)
    handoff.finish()
    assert outcome.error == "OSError: no loopback port"
    with pytest.raises(RuntimeError, match="the chunk-size probe failed: OSError"):
        apply(SimpleNamespace(option=SimpleNamespace()), outcome)  # type: ignore[arg-type]


def test_no_outcome_in_time_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"no outcome in 0\.1 s"):
        ProbeOutcome.wait(tmp_path / "never.json", timeout=0.1)


def test_a_learned_chunk_becomes_the_option(tmp_path: Path) -> None:
    path = tmp_path / "probe.json"
    ProbeOutcome(client_chunk_size="1000000").save(path)
    config = SimpleNamespace(option=SimpleNamespace())
    apply(config, ProbeOutcome.wait(path))  # type: ignore[arg-type]
    assert getattr(config.option, configured.dest("client_chunk_size")) == "1000000"
    assert getattr(config.option, HUNG_PROBE) is False
