"""The strategies: they reach the boundaries, shrink to the simple case, validate arguments,
and everything they draw passes its own constructor's checks."""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from typing import Any, TypeVar

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from reaching import reaches

import strategies as strat
from conformance.content import SourceFile
from conformance.faults import (
    ChunkAtOffset,
    CloseAttempt,
    Fault,
    FaultKind,
    FaultPlan,
    NthMiddleRequest,
    OpeningRequest,
)
from conformance.scenario import ClientParams, Partition, UploadScenario, UploadSchedule

T = TypeVar("T")
FOUR = Partition(40, (10, 20, 30))


def minimal(strategy: st.SearchStrategy[T], condition: Callable[[T], bool]) -> T:
    """The fully shrunk example satisfying `condition`.

    Without the example database: a stored example from an older strategy could start the
    shrink elsewhere. Use conditions whose minimum is the same in both branches of a weighted
    strategy (plain integers or boundary list), or the shrink may stop at a local minimum.
    """
    return find(strategy, condition, settings=settings(max_examples=2000, database=None))


def simplest(strategy: st.SearchStrategy[T]) -> T:
    """The example every shrink aims at: Hypothesis tries the all-zero choice sequence first.

    (Cheaper than `find(strategy, lambda _: True)`, whose shrink phase still runs ~1 s.)
    """
    return reaches(strategy, lambda _: True)


# --- boundaries are reached ---------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 255, 256, 257, 511, 512, 513, 767, 768, 769])
def test_file_sizes_reach_chunk_boundaries(size: int) -> None:
    assert reaches(strat.file_sizes(chunk_size=256), lambda s: s == size) == size


@pytest.mark.parametrize("size", [1023, 1024, 1025, 1279, 1280, 1281, 1535, 1536, 1537])
def test_file_sizes_reach_the_boundaries_of_max_multiple_chunks(size: int) -> None:
    sizes = strat.file_sizes(chunk_size=256, max_multiple=6)
    assert reaches(sizes, lambda s: s == size) == size


def test_large_sizes_only_when_max_size_allows() -> None:
    assert reaches(strat.file_sizes(max_size=2**33), lambda s: s == 2**31 + 1) == 2**31 + 1
    assert reaches(strat.file_sizes(max_size=2**33), lambda s: s == 2**32) == 2**32

    @settings(max_examples=200, deadline=None)
    @given(strat.file_sizes())
    def small_by_default(size: int) -> None:
        assert 0 <= size <= 1 << 20

    small_by_default()


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 1023, 1024, 1025, 65536])
def test_chunk_sizes_reach_powers_of_two(size: int) -> None:
    assert reaches(strat.chunk_sizes(), lambda s: s == size) == size


def test_partitions_reach_one_and_many_chunks() -> None:
    assert reaches(strat.partitions(100), lambda p: p.count == 1) == Partition(100)
    assert reaches(strat.partitions(100, max_chunks=16), lambda p: p.count == 16).count == 16
    assert simplest(strat.partitions(0)) == Partition(0)


def test_partitions_reach_every_cut_position() -> None:
    assert reaches(strat.partitions(10), lambda p: p.cuts == tuple(range(1, 10))).count == 10
    assert reaches(strat.partitions(10), lambda p: p.cuts == (9,)) == Partition(10, (9,))


@pytest.mark.parametrize(
    ("label", "condition"),
    [
        ("early close", lambda s: s.close_after is not None),
        ("resends", lambda s: bool(s.resends)),
        ("empty close", lambda s: s.empty_close),
        ("out of order", lambda s: list(s.middle_order) != sorted(s.middle_order)),
        ("reversed", lambda s: s.middle_order == (3, 2, 1)),
        ("late early close", lambda s: s.close_after == 2),
    ],
)
def test_upload_schedules_reach_every_shape(label: str, condition: Callable[[Any], bool]) -> None:
    assert condition(reaches(strat.upload_schedules(FOUR), condition)), label


def test_single_chunk_schedules() -> None:
    single = simplest(strat.upload_schedules(Partition(9)))
    assert single.is_single_request
    empty = reaches(strat.upload_schedules(Partition(9)), lambda s: s.empty_close)
    assert [r.kind for r in empty.requests()] == ["open", "close"]


@pytest.mark.parametrize("kind", list(FaultKind))
def test_every_fault_kind_is_drawn(kind: FaultKind) -> None:
    assert reaches(strat.fault_plans(offsets=[10]), lambda p: kind in {f.kind for f in p.faults})


def test_fault_details_are_reached() -> None:
    assert reaches(strat.faults(allow_persistent=True), lambda f: f.times is None).times is None
    offsets = strat.faults(kinds=[FaultKind.HOLD_CHUNK], offsets=[10, 20])
    assert reaches(offsets, lambda f: f.selector == ChunkAtOffset(20))
    assert reaches(strat.faults(), lambda f: f.status == 504).status == 504
    assert reaches(strat.selectors(max_requests=5), lambda s: getattr(s, "n", 0) == 5)
    three = reaches(strat.fault_plans(), lambda p: len(p.faults) == 3)
    assert len(three.faults) == 3


def test_scenarios_reach_faults_concurrency_and_chunk_boundaries() -> None:
    scenarios = strat.upload_scenarios()
    assert reaches(scenarios, lambda s: s.params.concurrency == 4).params.concurrency == 4
    assert reaches(scenarios, lambda s: s.source.size == 2 * s.params.chunk_size + 1)
    few = strat.upload_scenarios(max_chunks=8)
    assert reaches(few, lambda s: s.expected_partition().count == 8)


def test_scenario_boundaries_shrink_with_the_chunk_size() -> None:
    boundary = minimal(
        strat.upload_scenarios(), lambda s: s.source.size == 2 * s.params.chunk_size + 1
    )
    assert (boundary.source.size, boundary.params.chunk_size) == (3, 1)


# --- shrinking towards the simple case ----------------------------------------------------


def test_simple_minimal_examples() -> None:
    assert minimal(strat.file_sizes(), lambda s: s >= 1) == 1
    assert simplest(strat.file_sizes(min_size=7)) == 7
    assert minimal(strat.chunk_sizes(), lambda s: s >= 2) == 2
    assert minimal(strat.chunk_sizes(min_size=5), lambda s: s > 64) == 65
    assert minimal(strat.file_sizes(chunk_size=100), lambda s: s > 100) == 101
    # Between two boundaries of many chunks: the smallest value, not the next boundary.
    assert minimal(strat.file_sizes(chunk_size=100, max_multiple=9), lambda s: s > 850) == 851
    assert simplest(strat.seeds()) == 0
    assert simplest(strat.source_files()) == SourceFile(size=0, seed=0)
    assert simplest(strat.orderings(5)) == (0, 1, 2, 3, 4)
    assert simplest(strat.client_params()) == ClientParams(1, 1)


def test_partitions_shrink_to_fewest_chunks_packed_left() -> None:
    assert minimal(strat.partitions(100), lambda p: p.count >= 2) == Partition(100, (1,))
    assert minimal(strat.partitions(100, min_chunk_size=7), lambda p: p.count >= 3) == Partition(
        100, (7, 14)
    )


def test_schedules_shrink_to_the_plain_upload() -> None:
    assert simplest(strat.upload_schedules(FOUR)) == UploadSchedule(FOUR, (1, 2))
    resent = minimal(strat.upload_schedules(FOUR), lambda s: bool(s.resends))
    assert resent == UploadSchedule(FOUR, (1, 2), resends=(1,))


def test_fault_plans_shrink_to_one_simple_fault() -> None:
    assert simplest(strat.fault_plans()) == FaultPlan()
    simple = Fault(OpeningRequest(), FaultKind.HTTP_ERROR)
    assert minimal(strat.fault_plans(), bool) == FaultPlan((simple,))
    hold = simplest(strat.faults(kinds=[FaultKind.HOLD_CHUNK]))
    assert hold == Fault(NthMiddleRequest(1), FaultKind.HOLD_CHUNK, hold_seconds=0.01)
    close = simplest(strat.faults(kinds=[FaultKind.CLOSE_CANNOT_MATCH]))
    assert close == Fault(CloseAttempt(1), FaultKind.CLOSE_CANNOT_MATCH)


def test_scenarios_shrink_to_an_empty_fault_free_upload() -> None:
    empty = UploadScenario(SourceFile(size=0, seed=0), ClientParams(1, 1))
    assert simplest(strat.upload_scenarios()) == empty


# --- everything drawn is valid and consistent ---------------------------------------------


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_drawn_schedules_plan_a_complete_upload(data: st.DataObject) -> None:
    size = data.draw(strat.file_sizes(max_size=5000, chunk_size=1000))
    partition = data.draw(strat.partitions(size, max_chunks=12))
    schedule = data.draw(strat.upload_schedules(partition))
    assert UploadSchedule.from_dict(schedule.to_dict()) == schedule  # re-validates
    requests = schedule.requests()
    assert requests[0].resume_at == 0
    assert not requests[0].resume
    assert requests[-1].final
    covered = sorted((r.chunk.start, r.chunk.end) for r in requests)
    assert covered[0][0] == 0
    assert max(end for _, end in covered) == size
    for (_, end), (start, _) in pairwise(covered):
        assert start <= end  # no gap
    closes = [r for r in requests if r.final]
    assert len(closes) == (1 if schedule.close_after is None else 2)
    assert len(set(closes)) == 1
    assert all(r.resume_at == r.chunk.start for r in requests)


@settings(max_examples=150, deadline=None)
@given(strat.upload_scenarios(max_faults=3, allow_persistent=True))
def test_drawn_scenarios_are_valid_and_round_trip(scenario: UploadScenario) -> None:
    assert UploadScenario.from_dict(scenario.to_dict()) == scenario
    assert scenario.source.size <= 64 * scenario.params.chunk_size
    assert 1 <= scenario.params.concurrency <= 4
    assert len(scenario.faults.faults) <= 3
    assert scenario.describe()
    offsets = set(scenario.expected_partition().cuts)
    for fault in scenario.faults.faults:
        if isinstance(fault.selector, ChunkAtOffset):
            assert fault.selector.offset in offsets
        if fault.kind in {FaultKind.DELAY, FaultKind.HOLD_CHUNK}:
            assert max(fault.delay_seconds or 0, fault.hold_seconds or 0) <= 0.25


@settings(max_examples=100, deadline=None)
@given(strat.partitions(10**6, min_chunks=3, max_chunks=5, min_chunk_size=1000))
def test_drawn_partitions_respect_their_bounds(partition: Partition) -> None:
    assert 3 <= partition.count <= 5
    assert all(chunk.size >= 1000 for chunk in partition.chunks())
    assert Partition.from_dict(partition.to_dict()) == partition


@settings(max_examples=100, deadline=None)
@given(strat.fault_plans(kinds=[FaultKind.DELAY], min_faults=1, max_faults=2, max_seconds=0.05))
def test_drawn_fault_plans_respect_their_bounds(plan: FaultPlan) -> None:
    assert 1 <= len(plan.faults) <= 2
    assert all(f.kind is FaultKind.DELAY and f.delay_seconds in (0.01, 0.05) for f in plan.faults)
    assert FaultPlan.from_dict(plan.to_dict()) == plan


def test_lone_chunk_may_be_smaller_than_min_chunk_size() -> None:
    assert simplest(strat.partitions(5, min_chunk_size=10)) == Partition(5)
    assert simplest(strat.fault_plans(kinds=[])) == FaultPlan()


# --- bad arguments ------------------------------------------------------------------------

BAD_ARGUMENTS: list[tuple[Callable[..., Any], dict[str, Any], str]] = [
    (strat.file_sizes, {"min_size": 5, "max_size": 3}, "min_size=5"),
    (strat.file_sizes, {"min_size": -1}, "min_size=-1"),
    (strat.file_sizes, {"max_size": "big"}, "max_size='big'"),
    (strat.file_sizes, {"max_size": 2**63}, "max_size=9223372036854775808"),
    (strat.file_sizes, {"chunk_size": 0}, "chunk_size=0"),
    (strat.file_sizes, {"large_sizes": [-1]}, "large_sizes[0]=-1"),
    (strat.file_sizes, {"large_sizes": 5}, "large_sizes=5"),
    (strat.file_sizes, {"max_multiple": 0}, "max_multiple=0"),
    (strat.file_sizes, {"max_multiple": 2.0}, "max_multiple=2.0"),
    (strat.file_sizes, {"max_multiple": 1001}, "max_multiple=1001"),
    (strat.source_files, {"max_multiple": -1}, "max_multiple=-1"),
    (strat.source_files, {"max_size": 1.5}, "max_size=1.5"),
    (strat.chunk_sizes, {"min_size": 0}, "min_size=0"),
    (strat.chunk_sizes, {"min_size": 9, "max_size": 8}, "min_size=9"),
    (strat.partitions, {"size": -1}, "size=-1"),
    (strat.partitions, {"size": 10, "min_chunks": 0}, "min_chunks=0"),
    (strat.partitions, {"size": 10, "min_chunks": 3, "max_chunks": 2}, "min_chunks=3"),
    (strat.partitions, {"size": 10, "min_chunks": 11}, "min_chunks=11"),
    (strat.partitions, {"size": 10, "min_chunks": 3, "min_chunk_size": 4}, "min_chunk_size=4"),
    (strat.partitions, {"size": 10, "min_chunk_size": True}, "min_chunk_size=True"),
    (strat.orderings, {"n": -1}, "n=-1"),
    (strat.upload_schedules, {"partition": "p"}, "partition='p'"),
    (strat.upload_schedules, {"partition": FOUR, "allow_resends": 1}, "allow_resends=1"),
    (strat.upload_schedules, {"partition": FOUR, "max_resends": -1}, "max_resends=-1"),
    (strat.client_params, {"max_concurrency": 0}, "max_concurrency=0"),
    (strat.client_params, {"min_concurrency": 3, "max_concurrency": 2}, "min_concurrency=3"),
    (strat.client_params, {"max_chunk_size": 0}, "max_chunk_size=0"),
    (strat.client_params, {"min_chunk_size": 9, "max_chunk_size": 8}, "min_chunk_size=9"),
    (strat.fault_plans, {"max_faults": 0, "max_times": 0}, "max_times=0"),
    (strat.fault_plans, {"allow_persistent": "yes"}, "allow_persistent='yes'"),
    (strat.selectors, {"max_requests": 0}, "max_requests=0"),
    (strat.selectors, {"offsets": [-1]}, "offsets[0]=-1"),
    (strat.faults, {"kinds": []}, "kinds=[]"),
    (strat.faults, {"kinds": ["http_error"]}, "'http_error' is not a FaultKind"),
    (strat.faults, {"max_times": 0}, "max_times=0"),
    (strat.faults, {"max_seconds": 0}, "max_seconds=0"),
    (strat.faults, {"allow_persistent": None}, "allow_persistent=None"),
    (strat.fault_plans, {"min_faults": 2, "max_faults": 1}, "min_faults=2"),
    (strat.fault_plans, {"kinds": [], "min_faults": 1}, "min_faults=1"),
    (strat.fault_plans, {"max_requests": -3}, "max_requests=-3"),
    (strat.upload_scenarios, {"max_size": -1}, "max_size=-1"),
    (strat.upload_scenarios, {"max_chunks": 0}, "max_chunks=0"),
    (strat.upload_scenarios, {"fault_kinds": "delay"}, "fault_kinds='delay'"),
    (strat.upload_scenarios, {"max_fault_seconds": -1}, "max_fault_seconds=-1"),
]


@pytest.mark.parametrize(
    ("strategy", "kwargs", "echo"),
    BAD_ARGUMENTS,
    ids=[f"{s.__name__}-{e}" for s, _, e in BAD_ARGUMENTS],
)
def test_bad_arguments_raise_at_call_time(
    strategy: Callable[..., Any], kwargs: dict[str, Any], echo: str
) -> None:
    size = kwargs.pop("size", None)
    args = () if size is None else (size,)
    if "partition" in kwargs:
        args = (kwargs.pop("partition"),)
    if "n" in kwargs:
        args = (kwargs.pop("n"),)
    with pytest.raises(InvalidArgument, match=echo.replace("[", r"\[")):
        strategy(*args, **kwargs)


def test_public_api_is_curated() -> None:
    assert set(strat.__all__) >= {
        "file_sizes",
        "seeds",
        "source_files",
        "chunk_sizes",
        "partitions",
        "orderings",
        "upload_schedules",
        "client_params",
        "selectors",
        "faults",
        "fault_plans",
        "upload_scenarios",
    }
    assert all(
        getattr(strat, name).__doc__ for name in strat.__all__ if callable(getattr(strat, name))
    )
