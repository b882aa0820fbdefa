"""The client checks against clients whose faults are known.

* Mutants (`mutants.py`): the reference uploader with one rule broken. Each case must give
  its target requirement the broken verdict (FAIL for a MUST, NON-STRICT for a SHOULD). A
  mutant may break more rules as a consequence of its one bug; `MUTANTS` lists those extra
  IDs with the reason, and the test asserts the exact set, so a check that starts to over-
  or under-report shows up here. The same code with no bug must pass every scenario.
  Again with a chunk size of their own, as most real uploaders have: 1 MiB chunks of a
  4 MiB file while the job asks for 8 KiB, caught with exactly the same IDs.
* The reference clients, `upload_file` (Python) and `scripts/reference_upload.sh` (POSIX sh
  and curl, run as a command: the suite judges any language by the wire), over plain
  uploads and every fault the protocol promises to survive: no FAIL and no NON-STRICT,
  three times over. The shell mutant (`finalChunk` omitted on the opening) fails UT-C03.
"""

from __future__ import annotations

import difflib
import importlib.util
import shlex
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from conformance.clients.runners import CallableClient, CommandClient
from conformance.content import SourceFile
from conformance.faults import (
    CloseAttempt,
    Fault,
    FaultKind,
    FaultPlan,
    NthMiddleRequest,
    OpeningRequest,
)
from conformance.requirements import Level, Verdict, requirement
from conformance.runner import CaseResult
from conformance.scenario import ClientParams, UploadScenario

RunCase = Callable[..., CaseResult]  # the `run_case` fixture (conftest.py)


def _load(name: str) -> ModuleType:
    """A helper module of this directory, by path (the directory is not a package)."""
    qualified = f"tests_clients_{name}"
    if qualified not in sys.modules:
        spec = importlib.util.spec_from_file_location(qualified, Path(__file__).with_name(name))
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[qualified] = module  # dataclasses look their module up while it loads
        spec.loader.exec_module(module)
    return sys.modules[qualified]


mutants = _load("mutants.py")
Bug = mutants.Bug

SCRIPTS = Path(__file__).with_name("scripts")
REFERENCE_SH = SCRIPTS / "reference_upload.sh"
MUTANT_SH = SCRIPTS / "mutant_omits_final_chunk.sh"
needs_curl = pytest.mark.skipif(
    shutil.which("curl") is None or shutil.which("dd") is None, reason="needs curl and dd"
)

CHUNK = 8192  # two content blocks: every chunk holds a block stamp (`SourceFile.locate`)
SIZE = 4 * CHUNK + 3000  # an opening, three middles and a shorter close
SOURCE = SourceFile(SIZE, 20240601)
# No mutant but HANGS waits out its limit (each case takes 1-3 s), so a generous limit costs
# nothing and keeps a loaded machine (CI beside other jobs) from turning a slow case into UT-C14.
TIME_LIMIT = 30.0
HANG_LIMIT = 1.5
REPEATS = 3
# The verdicts of a broken requirement; fault-driven SHOULDs an unfaulted case never reaches.
BROKEN = (Verdict.FAIL, Verdict.NON_STRICT)
FAULT_DRIVEN = ("UT-C13", "UT-C17", "UT-C18", "UT-C19")


def _plan(*faults: Fault) -> FaultPlan:
    return FaultPlan(faults)


NO_FAULTS = FaultPlan()


@dataclass(frozen=True)
class MutantCase:
    bug: Any  # a mutants.Bug (loaded by path: no static type)
    target: str
    extras: tuple[str, ...] = ()  # broken as a consequence of the one bug (see MUTANTS)
    faults: FaultPlan = NO_FAULTS
    concurrency: int = 1
    time_limit: float = TIME_LIMIT

    @property
    def scenario(self) -> UploadScenario:
        return UploadScenario(SOURCE, ClientParams(CHUNK, self.concurrency), self.faults)

    @property
    def id(self) -> str:
        return f"{self.target}-{self.bug.value}"


# Applied at once, answered late: the mutants race these answers, and wait for what they can
# see first (the opening applied, in uploadToken.get; the other middles answered), so the
# order on the server does not depend on the machine's speed.
_DELAY_OPENING = _plan(Fault(OpeningRequest(), FaultKind.DELAY, delay_seconds=0.8))
_DELAY_MIDDLE = _plan(Fault(NthMiddleRequest(1), FaultKind.DELAY, delay_seconds=0.8))
_ERROR_OBJECT_ON_MIDDLE = _plan(Fault(NthMiddleRequest(1), FaultKind.KALTURA_ERROR))
_HTTP_ERROR_ON_MIDDLE = _plan(Fault(NthMiddleRequest(1), FaultKind.HTTP_ERROR))
_PERSISTENT_HTTP_ERROR = _plan(Fault(NthMiddleRequest(1), FaultKind.HTTP_ERROR, times=None))
_CLOSE_CANNOT_MATCH = _plan(Fault(CloseAttempt(1), FaultKind.CLOSE_CANNOT_MATCH))
_CLOSE_ANSWER_LOST = _plan(Fault(CloseAttempt(1), FaultKind.DROP_AFTER_APPLY))

MUTANTS = [
    MutantCase(Bug.UNKNOWN_TOKEN, "UT-C01"),
    # C04: a resume=true request, and no opening was ever acknowledged.
    MutantCase(Bug.OPENING_RESUMES, "UT-C02", ("UT-C04",)),
    # C09: the server reads finalChunk=true and finalises the first chunk alone (a
    # resume=false close that is not the whole file); C16: the middles then reach a FULL token.
    MutantCase(Bug.OPENING_OMITS_FINAL, "UT-C03", ("UT-C09", "UT-C16")),
    # The opening is answered 0.8 s late; the middles go as soon as it is applied.
    MutantCase(Bug.MIDDLES_BEFORE_OPENING_ANSWER, "UT-C04", (), _DELAY_OPENING, concurrency=4),
    # C18: the file is cut back to the first chunk, so the close can never converge.
    MutantCase(Bug.REOPENS_AFTER_MIDDLES, "UT-C05", ("UT-C18",)),
    # The first middle is read as a close: C09 (resumeAt + len != N), and it finalises the
    # token; C16: the second middle reaches it, and C10: that one is read as a close too,
    # sent while the first middle's bytes count as no acknowledged chunk.
    MutantCase(Bug.MIDDLES_OMIT_FINAL, "UT-C06", ("UT-C09", "UT-C10", "UT-C16")),
    # Sequential appends land in order: the file is right, only the offsets are missing.
    MutantCase(Bug.MIDDLES_APPEND, "UT-C07"),
    # Byte 8192 is never sent at its place: C10 (the close comes before the file is covered)
    # and C18 (the close never converges); C21: the last middle overlaps the close by a byte.
    MutantCase(Bug.MIDDLES_OFF_BY_ONE, "UT-C07", ("UT-C10", "UT-C18", "UT-C21")),
    # C15: the server holds the corrupted byte, and success is claimed.
    MutantCase(Bug.CORRUPT_BYTE, "UT-C08", ("UT-C15",)),
    # C07: a resume=true request carrying bytes of another offset; C21: it overlaps the opening.
    MutantCase(Bug.CLOSE_AT_ZERO, "UT-C09", ("UT-C07", "UT-C21")),
    # C07: resumeAt=-1 on a resume=true request (the close is one).
    MutantCase(Bug.CLOSE_AT_MINUS_ONE, "UT-C09", ("UT-C07",)),
    # The first middle to arrive is answered 0.8 s late; the close goes as soon as the two
    # others were answered.
    MutantCase(Bug.CLOSE_WHILE_MIDDLES_IN_FLIGHT, "UT-C10", (), _DELAY_MIDDLE, concurrency=4),
    # It must swallow the close's refusals to claim success: C10 (closed with a chunk never
    # sent), C13 (refused closes, success claimed), C14 and C15 (the token is not complete).
    MutantCase(Bug.SKIPS_CHUNK, "UT-C11", ("UT-C10", "UT-C13", "UT-C14", "UT-C15")),
    MutantCase(Bug.NAMELESS_FILE_PART, "UT-C12"),
    MutantCase(Bug.FILE_AS_TEXT_FIELD, "UT-C12"),
    # The refused middle is missing: C10 (closed before it was acknowledged), C17 (never
    # re-sent), C18 (the close's CANNOT_MATCH is an error object too: taken for success).
    MutantCase(
        Bug.IGNORES_ERROR_OBJECTS,
        "UT-C13",
        ("UT-C10", "UT-C17", "UT-C18"),
        _ERROR_OBJECT_ON_MIDDLE,
    ),
    # Success claimed with no close at all (C09) and a file that is neither covered (C11)
    # nor complete (C15).
    MutantCase(
        Bug.CLAIMS_SUCCESS_AFTER_FAILURE,
        "UT-C14",
        ("UT-C09", "UT-C11", "UT-C15"),
        _PERSISTENT_HTTP_ERROR,
    ),
    MutantCase(Bug.HANGS, "UT-C14", time_limit=HANG_LIMIT),
    # C08: a payload that is not the source's bytes (C15 is only ever reached that way).
    MutantCase(Bug.ZERO_FILLED_CHUNK, "UT-C15", ("UT-C08",)),
    MutantCase(Bug.DATA_AFTER_CLOSE, "UT-C16"),
    MutantCase(Bug.NEVER_RESENDS, "UT-C17", (), _HTTP_ERROR_ON_MIDDLE),
    MutantCase(Bug.NO_CLOSE_RETRY, "UT-C18", (), _CLOSE_CANNOT_MATCH),
    MutantCase(Bug.LOST_CLOSE_IS_FAILURE, "UT-C19", (), _CLOSE_ANSWER_LOST),
    MutantCase(Bug.TIGHT_RETRY_LOOP, "UT-C20", (), _PERSISTENT_HTTP_ERROR),
    MutantCase(Bug.OVERLAPPING_PAYLOADS, "UT-C21"),
]


def _broken(result: CaseResult) -> set[str]:
    return {r.requirement_id for r in result.failed}


def _show(result: CaseResult) -> str:
    """The case and every broken requirement with its breaches, for a failure message."""
    lines = [result.scenario.describe(), f"client: {result.client.detail}"]
    lines += [r.message() for r in result.failed]
    return "\n".join(lines)


def _expected_verdict(requirement_id: str) -> Verdict:
    return Verdict.FAIL if requirement(requirement_id).level is Level.MUST else Verdict.NON_STRICT


@pytest.fixture
def release_hung() -> Iterator[None]:
    yield
    mutants.release_hung_clients()


@pytest.mark.usefixtures("release_hung")
@pytest.mark.parametrize("case", MUTANTS, ids=lambda case: case.id)
def test_a_mutant_breaks_its_target(case: MutantCase, run_case: RunCase) -> None:
    client = CallableClient(mutants.mutant(case.bug))
    result = run_case(client, case.scenario, case.time_limit)
    broken = _broken(result)
    print(f"{case.id}: broken {sorted(broken)}")
    assert result.verdict(case.target) is _expected_verdict(case.target), _show(result)
    assert broken == {case.target, *case.extras}, _show(result)


def _distinct_scenarios() -> list[MutantCase]:
    seen: dict[tuple[object, ...], MutantCase] = {}
    for case in MUTANTS:
        seen.setdefault((case.faults, case.concurrency, case.time_limit), case)
    return list(seen.values())


@pytest.mark.parametrize("case", _distinct_scenarios(), ids=lambda case: case.id)
def test_the_unbroken_copy_passes_the_mutants_scenarios(
    case: MutantCase, run_case: RunCase
) -> None:
    """With no bug, the same code breaks nothing: every extra ID above is the bug's doing."""
    client = CallableClient(mutants.mutant(None))
    result = run_case(client, case.scenario, TIME_LIMIT)
    assert not result.failed, _show(result)


# --- mutants with a chunk size of their own ------------------------------------------------

# Most uploaders ignore the chunk size a job asks for. Each mutant cuts the same shape of file
# (an opening, three middles and a shorter close) in its own 1 MiB chunks, while the job asks
# for CHUNK: it must be caught with exactly the requirements of its 8 KiB case above.
OWN_CHUNK = mutants.FIXED_CHUNK
OWN_SOURCE = SourceFile(4 * OWN_CHUNK + 3000, 20240601)


def _own_chunk_scenario(case: MutantCase) -> UploadScenario:
    return UploadScenario(OWN_SOURCE, ClientParams(CHUNK, case.concurrency), case.faults)


def _ignored_the_job(result: CaseResult) -> bool:
    """Some payload was larger than the job's chunk. (A fileData sent as text is measured
    as the server keeps it, with invalid UTF-8 stripped: ~0.53 MiB of a 1 MiB chunk.)"""
    sizes = [e.payload.size for e in result.evidence.data if e.payload is not None]
    return max(sizes, default=0) > CHUNK


@pytest.mark.usefixtures("release_hung")
@pytest.mark.parametrize("case", MUTANTS, ids=lambda case: case.id)
def test_a_mutant_with_its_own_chunk_size_breaks_the_same_requirements(
    case: MutantCase, run_case: RunCase
) -> None:
    client = CallableClient(mutants.mutant(case.bug, fixed_chunk=OWN_CHUNK))
    result = run_case(client, _own_chunk_scenario(case), case.time_limit)
    broken = _broken(result)
    print(f"{case.id} in 1 MiB chunks: broken {sorted(broken)}")
    assert _ignored_the_job(result), _show(result)
    assert result.verdict(case.target) is _expected_verdict(case.target), _show(result)
    assert broken == {case.target, *case.extras}, _show(result)


@pytest.mark.parametrize("case", _distinct_scenarios(), ids=lambda case: case.id)
def test_the_unbroken_copy_with_its_own_chunk_size_passes(
    case: MutantCase, run_case: RunCase
) -> None:
    client = CallableClient(mutants.mutant(None, fixed_chunk=OWN_CHUNK))
    result = run_case(client, _own_chunk_scenario(case), TIME_LIMIT)
    assert _ignored_the_job(result), _show(result)
    assert not result.failed, _show(result)


# --- the reference clients -------------------------------------------------------------


def _scenario(size: int, concurrency: int = 1, *faults: Fault) -> UploadScenario:
    return UploadScenario(
        SourceFile(size, 7 + size), ClientParams(CHUNK, concurrency), _plan(*faults)
    )


PLAIN_SIZES = (0, 1, CHUNK - 1, CHUNK, CHUNK + 1, SIZE)


@dataclass(frozen=True)
class FaultCase:
    name: str
    fault: Fault
    exercises: tuple[str, ...]  # requirements the fault must reach (PASS, not NOT-EXERCISED)


_TRANSIENT = (
    FaultKind.RESET_BEFORE_APPLY,
    FaultKind.DROP_AFTER_APPLY,
    FaultKind.HTTP_ERROR,
    FaultKind.KALTURA_ERROR,
)
FAULTS = [
    *(
        FaultCase(
            f"{kind.value}-on-{where}",
            Fault(selector, kind),
            ("UT-C17", "UT-C13") if kind is FaultKind.KALTURA_ERROR else ("UT-C17",),
        )
        for where, selector in (("opening", OpeningRequest()), ("middle", NthMiddleRequest(2)))
        for kind in _TRANSIENT
    ),
    # Held 0.6 s, longer than the close's 0.2 s wait: the first close meets CANNOT_MATCH
    # unless it arrives more than 0.4 s after the held chunk was acknowledged.
    FaultCase(
        "hold-chunk",
        Fault(NthMiddleRequest(2), FaultKind.HOLD_CHUNK, hold_seconds=0.6),
        ("UT-C18",),
    ),
    FaultCase(
        "close-cannot-match-x2",
        Fault(CloseAttempt(1), FaultKind.CLOSE_CANNOT_MATCH, times=2),
        ("UT-C18",),
    ),
    FaultCase("close-answer-lost", Fault(CloseAttempt(1), FaultKind.DROP_AFTER_APPLY), ("UT-C19",)),
    FaultCase("delay-middle", Fault(NthMiddleRequest(1), FaultKind.DELAY, delay_seconds=0.2), ()),
]


def _python_reference() -> CallableClient:
    return CallableClient(mutants.reference_client, "reference upload_file")


def _shell_client(script: Path) -> CommandClient:
    return CommandClient(f"sh {shlex.quote(str(script))}")


def _assert_clean(result: CaseResult) -> None:
    assert result.client.succeeded, _show(result)
    assert not result.failed, _show(result)


def _shell_reference() -> CommandClient:
    return _shell_client(REFERENCE_SH)


CLIENTS: dict[str, Callable[[], CallableClient | CommandClient]] = {
    "python": _python_reference,
    "sh": _shell_reference,
}
CLIENT_PARAMS = [
    pytest.param("python", id="python"),
    pytest.param("sh", id="sh", marks=needs_curl),
]
# The shell reference is sequential: it runs each size once, the Python one at 1 and 4.
PLAIN = [
    pytest.param(client, size, concurrency, id=f"{client}-{size}B-x{concurrency}", marks=marks)
    for client, concurrency, marks in (("python", 1, ()), ("python", 4, ()), ("sh", 1, needs_curl))
    for size in PLAIN_SIZES
]


@pytest.mark.parametrize("repeat", range(REPEATS))
@pytest.mark.parametrize(("client", "size", "concurrency"), PLAIN)
def test_the_reference_passes_plain_uploads(
    client: str, size: int, concurrency: int, repeat: int, run_case: RunCase
) -> None:
    result = run_case(CLIENTS[client](), _scenario(size, concurrency))
    _assert_clean(result)
    for requirement_id in FAULT_DRIVEN:  # never counted as a pass without its fault
        assert result.verdict(requirement_id) is Verdict.NOT_EXERCISED, requirement_id


@pytest.mark.parametrize("repeat", range(REPEATS))
@pytest.mark.parametrize("case", FAULTS, ids=lambda case: case.name)
@pytest.mark.parametrize("client", CLIENT_PARAMS)
def test_the_reference_survives_the_promised_faults(
    client: str, case: FaultCase, repeat: int, run_case: RunCase
) -> None:
    result = run_case(CLIENTS[client](), _scenario(SIZE, 3, case.fault))
    _assert_clean(result)
    assert result.evidence.firings, f"the fault never fired: {case.fault.describe()}"
    for requirement_id in case.exercises:
        assert result.verdict(requirement_id) is Verdict.PASS, _show(result)


# --- the shell mutant ------------------------------------------------------------------


def test_the_shell_mutant_differs_from_the_reference_in_one_line() -> None:
    reference = REFERENCE_SH.read_text().splitlines()
    mutant = MUTANT_SH.read_text().splitlines()
    changed = [
        line
        for line in difflib.unified_diff(reference, mutant, lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    code = [line for line in changed if not line[1:].lstrip().startswith("#")]
    assert code == [
        "-    send resume=false finalChunk=false resumeAt=0",
        "+    send resume=false resumeAt=0 # MUTANT: finalChunk omitted (the server reads true)",
    ]


@needs_curl
def test_the_shell_mutant_fails_ut_c03(run_case: RunCase) -> None:
    result = run_case(_shell_client(MUTANT_SH), _scenario(SIZE))
    print(f"shell mutant: broken {sorted(_broken(result))}")
    assert result.verdict("UT-C03") is Verdict.FAIL, _show(result)
    assert not result.client.succeeded  # it fails honestly: the middles meet a FULL token
    # C09: the opening finalises the first chunk alone; C16: the middles reach a FULL token.
    assert _broken(result) == {"UT-C03", "UT-C09", "UT-C16"}, _show(result)


def test_the_scripts_are_executable() -> None:
    for script in (REFERENCE_SH, MUTANT_SH):
        assert script.stat().st_mode & 0o111, script
