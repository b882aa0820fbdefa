"""The chunk size a run's cases are drawn around: given, learned from the client, or ours.

Most real uploaders have a fixed or minimum chunk (1 MB, 2 MiB, 5 MB, 10 MB) and ignore
the `{chunk_size}` they are handed. Cases drawn with the suite's own small chunks would
then all be files smaller than one of the client's chunks: single-request uploads that
exercise almost nothing. Unless `--client-chunk-size` says, a probe finds out before the
cases are drawn (so that every case, and its replay, stays deterministic):

1. a file of three asked chunks and a byte, with a small chunk asked for: a client that
   follows `{chunk_size}` sends no data request larger than asked, and the probe ends;
2. a client that sent more than asked in several requests has shown its chunk: the
   largest data request;
3. a client that sent the whole file in one request gets one larger file
   (`LARGE_PROBE`), which a chunking client must cut.

The probes are real cases, judged and reported like any other: on the embedded server,
or on a live account through the proxy (`suite.proxied`, the same runner as the cases,
under a budget of its own: the run's first process makes it, while the workers start).
There the probe costs the account three asked chunks and a byte, and 32 MiB more for a
client that sent the small file whole; `--client-chunk-size` skips it. A probe that does
not end within its time limit (`PROBE_TIME_LIMITS`: short for the small file, so that a hung client
costs little before its cases start) says nothing of the chunk, and the run goes on with
the suite's own sizes; so does a client that sent no data or never cut a file.

A small probe that did not end has shown the run something else: this client hangs (or
crawls) on a plain upload of a few small chunks. Its cases are then all files of the
suite's own sizes, and `hung_probe_time_limit` shortens their time limit by twice the
probe's wait (once for the probe, once for the run's start and end), so that a hung
client has its verdict in about one time limit, not a probe's wait and a time limit one
after the other. A client that answers the small probe keeps its whole time limit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from conformance.content import SourceFile
from conformance.live import LiveError, LiveTarget, connect
from conformance.options import RunOptions
from conformance.runner import CaseResult
from conformance.scenario import ClientParams, UploadScenario
from conformance.suite.embedded import embedded_runner
from conformance.suite.handoff import ProbeOutcome
from conformance.suite.proxied import options_proxy_runner
from conformance.suite.records import case_record

__all__ = [
    "LARGE_PROBE",
    "PROBE_TIME_LIMITS",
    "ChunkChoice",
    "choose_chunk",
    "given_chunk",
    "hung_probe_time_limit",
    "learn_chunk",
    "probe_outcome",
]

LARGE_PROBE = 32 * 1024 * 1024 + 1
# Seconds for the small probe and the large one (or the run's time limit, if shorter): a
# client that answered the small one has shown that it runs, and gets longer for 32 MiB.
PROBE_TIME_LIMITS = (10.0, 30.0)
_PROBE_SEED = 20261203


@dataclass(frozen=True)
class ChunkChoice:
    """The client chunk the cases are drawn around (None: the suite's own sizes), and how
    it was chosen, for the reports."""

    size: int | None
    how: str
    hung_after: float | None = None
    """Seconds the small probe waited for a client that never finished it (None: it did)."""

    def to_dict(self) -> dict[str, object]:
        return {"bytes": self.size, "how": self.how}


def hung_probe_time_limit(time_limit: float, probe_wait: float) -> float:
    """A case's time limit after the small probe hung for `probe_wait` seconds: the run's
    less twice that wait, never below the wait itself (60 s, 10 s: 40 s)."""
    return max(probe_wait, time_limit - 2 * probe_wait)


def given_chunk(size: int) -> ChunkChoice:
    return ChunkChoice(size, "given with --client-chunk-size")


RunProbe = Callable[[UploadScenario, float], CaseResult]


def choose_chunk(
    options: RunOptions, *, live: LiveTarget | None, record: Callable[[dict[str, Any]], None]
) -> ChunkChoice | None:
    """The run's client chunk: given, or learned on the suite's own endpoint or through
    the proxy in front of the `live` account (the probe cases go to `record`); None where
    there is nothing to choose (a replay runs its scenario as it is)."""
    if options.replay is not None:
        return None
    if options.client_chunk_size is not None:
        return given_chunk(options.client_chunk_size)
    if live is not None and live.partner_id is None:
        return ChunkChoice(
            None, "not learned: no --partner-id to probe the client on; the suite's sizes"
        )
    try:
        with _probing(options, live) as run:
            choice, cases = learn_chunk(
                run,
                asked=options.profile_settings.max_chunk_size,
                time_limit=options.case_time_limit,
            )
    except LiveError as error:  # the cases' session fails the same way, and says so
        return ChunkChoice(None, f"not learned: {error}; the suite's sizes")
    for case in cases:
        record(case_record(case, options))
    return choice


@contextmanager
def _probing(options: RunOptions, live: LiveTarget | None) -> Iterator[RunProbe]:
    """The probe's cases run as the run's own will: embedded, or through the proxy."""
    with ExitStack() as stack:
        if live is None:
            runner: Any = stack.enter_context(embedded_runner(options))
        else:
            api, transport = stack.enter_context(connect(live))
            runner = stack.enter_context(options_proxy_runner(options, live, api, transport))
        yield lambda scenario, limit: runner.run(scenario, time_limit=limit)


def probe_outcome(choice: ChunkChoice | None, options: RunOptions) -> ProbeOutcome:
    """What a choice changes in the run's options: a learned chunk, or (the small probe
    hung) the cases' shortened time limit."""
    if choice is None:
        return ProbeOutcome()
    if choice.hung_after is not None:
        limit = hung_probe_time_limit(options.case_time_limit, choice.hung_after)
        return ProbeOutcome(time_limit=repr(limit), hung=True)
    learned = choice.size is not None and options.client_chunk_size is None
    return ProbeOutcome(client_chunk_size=str(choice.size) if learned else None)


def learn_chunk(
    run: RunProbe, *, asked: int, time_limit: float
) -> tuple[ChunkChoice, list[CaseResult]]:
    """Probe the client (`run(scenario, time_limit)` runs one case); the choice, and the
    probe cases that ended (to be reported)."""
    cases: list[CaseResult] = []
    for size, most in zip((3 * asked + 1, LARGE_PROBE), PROBE_TIME_LIMITS, strict=True):
        limit = min(time_limit, most)
        result = run(UploadScenario(SourceFile(size, _PROBE_SEED), ClientParams(asked, 1)), limit)
        if result.client.timed_out:
            return _no_answer(limit, time_limit, small=not cases), cases
        cases.append(result)
        choice = _judge_probe(result, asked)
        if choice is not None:
            return choice, cases
    return _never_cut(), cases


def _judge_probe(result: CaseResult, asked: int) -> ChunkChoice | None:
    """The choice this probe shows, or None when it needs the larger file."""
    sizes = [e.payload.size for e in result.evidence.data if e.payload is not None]
    file_size = result.scenario.source.size
    if not sizes:
        return ChunkChoice(
            None, "not learned: the client sent no data in the probe case; the suite's sizes"
        )
    largest = max(sizes)
    if largest <= asked:
        return ChunkChoice(
            None,
            f"the suite's own chunk sizes: the client follows {{chunk_size}} "
            f"(asked {asked} bytes, its largest data request was {largest})",
        )
    if largest < file_size:  # it cut the file: its chunk is the largest piece
        return ChunkChoice(
            largest,
            f"learned: the client's data requests were up to {largest} bytes while "
            f"{asked} were asked (probe file of {file_size} bytes)",
        )
    return None


def _no_answer(limit: float, time_limit: float, *, small: bool) -> ChunkChoice:
    how = f"not learned: the client did not finish the probe upload within {limit:g} s"
    if not small:  # it finished the small one: it runs, and keeps its time limit
        return ChunkChoice(None, f"{how}; the suite's sizes")
    cases_limit = hung_probe_time_limit(time_limit, limit)
    if cases_limit < time_limit:
        how += (
            f"; the suite's sizes, each case {cases_limit:g} s ({time_limit:g} s less twice that)"
        )
    else:
        how += "; the suite's sizes"
    return ChunkChoice(None, how, hung_after=limit)


def _never_cut() -> ChunkChoice:
    return ChunkChoice(
        None,
        f"not learned: the client sent a {LARGE_PROBE}-byte file in one request; "
        "the suite's sizes (give --client-chunk-size if it cuts larger files)",
    )
