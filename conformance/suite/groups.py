"""The case groups of client conformance: which scenarios exercise which requirements.

Each group is a Hypothesis strategy of `UploadScenario`s aimed at some requirements: plain
uploads of every shape for the protocol itself, and one group per kind of trouble the
protocol promises to survive. Files are drawn as a size and a seed (never as bytes); fault
groups draw files of at least three chunks, so that there is an opening, a middle and a
close to hit.

Most real uploaders have a chunk size of their own (1 MB, 5 MB, …) and ignore the one a job
asks for. Given that size (`Limits.client_chunk`), every job asks for exactly it and files
are drawn around it, up to `max_client_chunks` of its chunks, so that they are cut into
several requests by the client too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from hypothesis import strategies as st

from conformance.content import SourceFile
from conformance.faults import (
    CloseAttempt,
    Fault,
    FaultKind,
    FaultPlan,
    NthDataRequest,
    NthMiddleRequest,
    OpeningRequest,
    Selector,
)
from conformance.options import Profile
from conformance.proxy import EMBEDDED_ONLY
from conformance.scenario import ClientParams, UploadScenario
from strategies import DEFAULT_MAX_MULTIPLE, client_params, file_sizes, seeds

__all__ = ["GROUPS", "MIN_EXAMPLES_PER_LANE", "Group", "Limits", "runnable", "skip_reason"]

MIN_EXAMPLES_PER_LANE = 3
_PROTOCOL = tuple(f"UT-C{n:02d}" for n in (*range(1, 13), 14, 15, 16, 21, 22))


@dataclass(frozen=True)
class Limits:
    """How big the drawn cases may get (profiles raise them)."""

    max_size: int = 256 * 1024
    max_chunk_size: int = 64 * 1024
    max_chunks: int = 24
    max_concurrency: int = 4
    final_wait: float = 0.2
    client_chunk: int | None = None
    """The client's own chunk size: every job asks for it, and files are drawn around it
    (up to `max_client_chunks` of its chunks) instead of within `max_size`."""
    max_client_chunks: int = 6

    def __post_init__(self) -> None:
        if self.client_chunk is not None and self.client_chunk < 1:
            raise ValueError(f"client_chunk={self.client_chunk} must be >= 1")
        if self.max_client_chunks < 1:
            raise ValueError(f"max_client_chunks={self.max_client_chunks} must be >= 1")

    @classmethod
    def for_profile(
        cls, profile: Profile, *, final_wait: float, client_chunk: int | None = None
    ) -> Limits:
        """A run's limits: the profile's sizes, and the client's own chunk if it has one."""
        return cls(
            max_size=profile.max_size,
            max_chunk_size=profile.max_chunk_size,
            final_wait=final_wait,
            client_chunk=client_chunk,
            max_client_chunks=profile.max_client_chunks,
        )


@dataclass(frozen=True)
class Group:
    """A named family of scenarios. Every group's cases are judged on every requirement;
    `aims_at` are the requirements the group exists for, which decide the groups a
    `--requirements` selection runs."""

    name: str
    aims_at: tuple[str, ...]
    scenarios: Callable[[Limits], st.SearchStrategy[UploadScenario]]
    kinds: frozenset[FaultKind] = frozenset()
    """The fault kinds its cases may inject. On a live account the proxy injects them,
    except those only the suite's own server can apply (`proxy.EMBEDDED_ONLY`)."""
    lanes: int = 2
    """How many lanes (own seed, a share of the examples, run at once: `lanes`) the group
    is cut into, so that pytest-xdist can balance a run: more for the groups whose cases
    wait longest."""
    case_seconds: float = 0.1
    """What one of its cases costs, about (seconds of a correct client): how `--shard`
    balances CI jobs (`sharding`)."""

    def lane_count(self, examples: int) -> int:
        """Its lanes in a run of `examples` cases a group: fewer than
        `MIN_EXAMPLES_PER_LANE` examples a lane are not worth a lane of their own."""
        return max(1, min(self.lanes, examples // MIN_EXAMPLES_PER_LANE))

    def lane_examples(self, examples: int) -> int:
        """The examples each of its lanes draws (the run's share, rounded up)."""
        return max(1, -(-examples // self.lane_count(examples)))


def _params(limits: Limits) -> st.SearchStrategy[ClientParams]:
    return client_params(
        min_chunk_size=limits.client_chunk or 1,
        max_chunk_size=limits.client_chunk or limits.max_chunk_size,
        max_concurrency=limits.max_concurrency,
    )


@st.composite
def _files(draw: st.DrawFn, limits: Limits, min_chunks: int = 1) -> UploadScenario:
    """A file for a chunk-size client: any size, or (fault groups) at least `min_chunks`."""
    params = draw(_params(limits))
    chunk = params.chunk_size
    if limits.client_chunk is None:
        largest, multiples = min(limits.max_size, chunk * limits.max_chunks), DEFAULT_MAX_MULTIPLE
    else:  # the client's own chunk: as many chunks as the profile allows, whatever their size
        largest, multiples = chunk * limits.max_client_chunks, limits.max_client_chunks
    most = max(largest, (min_chunks - 1) * chunk + 1)
    least = 0 if min_chunks <= 1 else (min_chunks - 1) * chunk + 1
    sizes = file_sizes(min_size=least, max_size=most, chunk_size=chunk, max_multiple=multiples)
    if limits.client_chunk is not None and least <= chunk < most:
        # The client's own chunk is used because one-request uploads showed nothing: the
        # simplest case (Hypothesis's first, and where shrinking heads) is the smallest file
        # it must cut, chunk + 1 bytes; files of one request come second, still drawn.
        cut = file_sizes(
            min_size=chunk + 1, max_size=most, chunk_size=chunk, max_multiple=multiples
        )
        whole = file_sizes(min_size=least, max_size=chunk, chunk_size=chunk, max_multiple=1)
        sizes = st.one_of(cut, whole)
    size = draw(sizes)
    return UploadScenario(SourceFile(size=size, seed=draw(seeds())), params)


def _plain(limits: Limits) -> st.SearchStrategy[UploadScenario]:
    return _files(limits)


def _with_fault(
    limits: Limits, faults: st.SearchStrategy[Fault]
) -> st.SearchStrategy[UploadScenario]:
    def attach(scenario: UploadScenario, fault: Fault) -> UploadScenario:
        return replace(scenario, faults=FaultPlan((fault,)))

    return st.builds(attach, _files(limits, min_chunks=3), faults)


def _early_requests() -> st.SearchStrategy[Selector]:
    return st.one_of(
        st.just(OpeningRequest()),
        st.builds(NthMiddleRequest, st.integers(1, 3)),
        st.builds(NthDataRequest, st.integers(1, 4)),
    )


def _error_objects(limits: Limits) -> st.SearchStrategy[UploadScenario]:
    fault = st.builds(
        Fault, _early_requests(), st.just(FaultKind.KALTURA_ERROR), times=st.integers(1, 2)
    )
    return _with_fault(limits, fault)


def _transport_faults(limits: Limits) -> st.SearchStrategy[UploadScenario]:
    kinds = st.sampled_from(
        (FaultKind.RESET_BEFORE_APPLY, FaultKind.DROP_AFTER_APPLY, FaultKind.HTTP_ERROR)
    )
    return _with_fault(limits, st.builds(Fault, _early_requests(), kinds, times=st.integers(1, 2)))


def _slow_close(limits: Limits) -> st.SearchStrategy[UploadScenario]:
    """A chunk acknowledged and appended late: the close meets a file still short."""
    hold = st.builds(
        Fault,
        st.builds(NthMiddleRequest, st.integers(1, 2)),
        st.just(FaultKind.HOLD_CHUNK),
        hold_seconds=st.sampled_from((limits.final_wait * 2, limits.final_wait * 4)),
    )
    return _with_fault(limits, hold)


def _close_refused(limits: Limits) -> st.SearchStrategy[UploadScenario]:
    """The close answered UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE, 1-3 times: the answer a
    slow close gets, given by the suite (through the proxy too: never forwarded)."""
    refused = st.builds(
        Fault,
        st.just(CloseAttempt(1)),
        st.just(FaultKind.CLOSE_CANNOT_MATCH),
        times=st.integers(1, 3),
    )
    return _with_fault(limits, refused)


def _lost_close(limits: Limits) -> st.SearchStrategy[UploadScenario]:
    kinds = st.sampled_from((FaultKind.DROP_AFTER_APPLY, FaultKind.RESET_BEFORE_APPLY))
    return _with_fault(limits, st.builds(Fault, st.just(CloseAttempt(1)), kinds))


def _persistent_error(limits: Limits) -> st.SearchStrategy[UploadScenario]:
    kinds = st.sampled_from(
        (FaultKind.HTTP_ERROR, FaultKind.KALTURA_ERROR, FaultKind.RESET_BEFORE_APPLY)
    )
    return _with_fault(limits, st.builds(Fault, _early_requests(), kinds, times=st.none()))


# Lanes and case costs follow the wall time of a default run (2 cores, reference client): a
# persistent error makes a correct client back off until it gives up (~1 s a case), a held
# chunk makes it retry its close (~0.3 s); the other groups take 20-120 ms a case.
_K = FaultKind
GROUPS: tuple[Group, ...] = (
    Group("plain", _PROTOCOL, _plain),
    Group("error-objects", ("UT-C13", "UT-C17"), _error_objects, frozenset({_K.KALTURA_ERROR})),
    Group(
        "transport-faults",
        ("UT-C17",),
        _transport_faults,
        frozenset({_K.RESET_BEFORE_APPLY, _K.DROP_AFTER_APPLY, _K.HTTP_ERROR}),
    ),
    Group(
        "slow-close",
        ("UT-C18",),
        _slow_close,
        frozenset({_K.HOLD_CHUNK}),
        lanes=3,
        case_seconds=0.3,
    ),
    # Apart from the held chunks, which only the suite's server can apply: a live run
    # through the proxy still exercises UT-C18 with these.
    Group(
        "close-refused",
        ("UT-C18",),
        _close_refused,
        frozenset({_K.CLOSE_CANNOT_MATCH}),
        case_seconds=0.2,
    ),
    Group(
        "lost-close",
        ("UT-C19",),
        _lost_close,
        frozenset({_K.DROP_AFTER_APPLY, _K.RESET_BEFORE_APPLY}),
    ),
    Group(
        "persistent-error",
        ("UT-C14", "UT-C20"),
        _persistent_error,
        frozenset({_K.HTTP_ERROR, _K.KALTURA_ERROR, _K.RESET_BEFORE_APPLY}),
        lanes=8,
        case_seconds=1.0,
    ),
)


def skip_reason(group: Group, *, requirements: tuple[str, ...] | None, live: bool) -> str | None:
    """Why a run does not run `group` (None: it does). `live`: through the proxy."""
    embedded_only = sorted(k.value for k in group.kinds if k in EMBEDDED_ONLY)
    if live and embedded_only:
        why = "; ".join(EMBEDDED_ONLY[FaultKind(k)] for k in embedded_only)
        return f"embedded-only: its {', '.join(embedded_only)} faults need the server ({why})"
    if requirements is not None and not any(rid in group.aims_at for rid in requirements):
        return f"exercises none of {', '.join(requirements)}"
    return None


def runnable(*, requirements: tuple[str, ...] | None, live: bool) -> tuple[Group, ...]:
    """The groups a run with these options runs."""
    return tuple(g for g in GROUPS if skip_reason(g, requirements=requirements, live=live) is None)
