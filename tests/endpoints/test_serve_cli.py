"""`kaltura-conformance serve`: the loopback server as a process, for clients in any
language. It prints where it listens and with which credentials, serves a whole upload,
and stops cleanly on SIGTERM; bad options are one line naming the option, exit code 2 (checked
in-process: they end before anything is served)."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING

import pytest

from conformance.cli import main
from conformance.commands import serve as serve_command
from conformance.content import SourceFile

if TYPE_CHECKING:
    from conftest import Kit

STARTUP_TIMEOUT = 20.0  # a cold interpreter importing httpx on a busy 2-core machine
FINAL_WAIT = 0.2


def _serve(*options: str) -> list[str]:
    return [sys.executable, "-m", "conformance.cli", "serve", *options]


class Served:
    """A `serve` process and the lines it printed."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self._lines: queue.Queue[str | None] = queue.Queue()
        assert process.stdout is not None
        self._reader = threading.Thread(target=self._read, args=(process.stdout,), daemon=True)
        self._reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def header(self, count: int = 4) -> dict[str, str]:
        """The first `count` lines as `name: value` pairs, read with a deadline."""
        deadline = time.monotonic() + STARTUP_TIMEOUT
        fields: dict[str, str] = {}
        while len(fields) < count:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"serve printed {fields} within {STARTUP_TIMEOUT} s")
            if line is None:
                pytest.fail(f"serve exited early ({self.process.poll()}) after {fields}")
            name, _, value = line.partition(":")
            fields[name.strip()] = value.strip()
        return fields


@pytest.fixture
def served() -> Iterator[Served]:
    process = subprocess.Popen(
        _serve("--port", "0", "--final-wait", str(FINAL_WAIT)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield Served(process)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


def test_serve_runs_a_whole_upload_and_stops_on_sigterm(kit: Kit, served: Served) -> None:
    header = served.header()
    url, partner_id, secret = header["service url"], header["partner id"], header["admin secret"]
    assert url.startswith("http://127.0.0.1:")
    assert header["final wait"].startswith(f"{FINAL_WAIT} s")
    source = SourceFile(60_000, 9)
    with kit.client(url) as client:
        ks = kit.api(client, "session", "start", secret=secret, partnerId=partner_id, type=2)
        assert isinstance(ks, str)
        token_id = kit.add_token(client, ks, file_size=source.size)

        def send(start: int, end: int, *, resume: bool, final: bool) -> dict[str, object]:
            response = kit.send_chunk(client, ks, token_id, source.read(start, end),
                                      resume=resume, final=final, resume_at=start)  # fmt: skip
            answer: dict[str, object] = kit.upload_json(response)
            return answer

        assert send(0, 20_000, resume=False, final=False)["status"] == 1
        started = time.monotonic()
        early = send(40_000, 60_000, resume=True, final=True)
        assert early["code"] == "UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE"
        assert time.monotonic() - started < 2.0  # --final-wait 0.2, not Kaltura's 44 s
        assert send(20_000, 40_000, resume=True, final=False)["status"] == 1
        assert send(40_000, 60_000, resume=True, final=True)["status"] == 2
        got = kit.api(client, "uploadtoken", "get", ks=ks, uploadTokenId=token_id)
        assert (got["status"], got["uploadedFileSize"]) == (2, str(source.size))
    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(timeout=5) == 0
    _, stderr = served.process.communicate(timeout=5)
    assert stderr == ""


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (("--port", "70000"), "--port"),
        (("--port", "-1"), "--port"),
        (("--port", "abc"), "--port"),
        (("--final-wait", "-1"), "--final-wait"),
        (("--final-wait", "nan"), "--final-wait"),
        (("--final-wait", "soon"), "--final-wait"),
        (("--trace-window", "0"), "--trace-window"),
        (("--backlog", "0"), "--backlog"),
        (("--max-connections", "-3"), "--max-connections"),
        (("--max-connections", "many"), "--max-connections"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(
    options: tuple[str, ...],
    named: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """In-process (the same `main`, no Python start-up): a bad option ends `serve` before
    it serves; were one to slip through, the test fails instead of serving forever."""

    def served() -> None:
        pytest.fail(f"serve {' '.join(options)} started serving")

    monkeypatch.setattr(serve_command, "_wait_for_interrupt", served)
    with pytest.raises(SystemExit) as exited:
        main(["serve", *options])
    assert exited.value.code == 2
    finished = capsys.readouterr()
    assert finished.out == ""
    lines = finished.err.splitlines()
    assert len(lines) == 1, finished.err
    assert named in lines[0]
    assert "Traceback" not in finished.err
