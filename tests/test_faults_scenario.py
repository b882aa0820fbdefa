"""Fault plans and scenarios: validation, matching semantics, request plans, dict round trips."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pytest

from conformance.content import SourceFile
from conformance.faults import (
    ChunkAtOffset,
    CloseAttempt,
    Fault,
    FaultKind,
    FaultPlan,
    NthDataRequest,
    NthMiddleRequest,
    OpeningRequest,
    RequestFacts,
    Selector,
    selector_from_dict,
)
from conformance.scenario import (
    Chunk,
    ClientParams,
    Partition,
    PlannedRequest,
    UploadScenario,
    UploadSchedule,
)

K = FaultKind


def facts(
    index: int,
    *,
    middle: int | None = None,
    close: int | None = None,
    at: float = 0,
    opening: bool = False,
) -> RequestFacts:
    return RequestFacts(index, middle, close, at, opening)


def run(plan: FaultPlan, requests: Iterable[RequestFacts]) -> list[int | None]:
    """What an endpoint does: match each request, count the hit, return the fault indices."""
    hits: dict[int, int] = {}
    fired: list[int | None] = []
    for request in requests:
        found = plan.match(request, hits)
        if found is not None:
            hits[found[0]] = hits.get(found[0], 0) + 1
        fired.append(None if found is None else found[0])
    return fired


def roundtrip(value: Any) -> Any:
    return type(value).from_dict(json.loads(json.dumps(value.to_dict())))


# --- faults: validation -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "error", "echo"),
    [
        (lambda: NthDataRequest(0), ValueError, "n=0"),
        (lambda: NthMiddleRequest(-2), ValueError, "n=-2"),
        (lambda: CloseAttempt(0), ValueError, "k=0"),
        (lambda: ChunkAtOffset(-1), ValueError, "offset=-1"),
        (lambda: NthDataRequest(True), TypeError, "n=True"),
        (
            lambda: ChunkAtOffset("1"),  # type: ignore[arg-type]
            TypeError,
            "offset='1'",
        ),
        (lambda: Fault(OpeningRequest(), K.HTTP_ERROR, status=404), ValueError, "status=404"),
        (lambda: Fault(OpeningRequest(), K.HTTP_ERROR, status=600), ValueError, "status=600"),
        (lambda: Fault(OpeningRequest(), K.DELAY, status=503), ValueError, "status=503"),
        (lambda: Fault(OpeningRequest(), K.HTTP_ERROR, times=0), ValueError, "times=0"),
        (lambda: Fault(OpeningRequest(), K.DELAY, delay_seconds=0), ValueError, "delay_seconds=0"),
        (lambda: Fault(OpeningRequest(), K.DELAY, delay_seconds=float("nan")), ValueError, "nan"),
        (lambda: Fault(OpeningRequest(), K.KALTURA_ERROR, code=""), ValueError, "code=''"),
        (lambda: Fault(OpeningRequest(), K.HOLD_CHUNK), ValueError, "OpeningRequest"),
        (lambda: Fault(NthDataRequest(3), K.HOLD_CHUNK), ValueError, "NthDataRequest"),
        (lambda: Fault(NthDataRequest(3), K.CLOSE_CANNOT_MATCH), ValueError, "selector="),
        (
            lambda: Fault("opening", K.DELAY),  # type: ignore[arg-type]
            TypeError,
            "selector='opening'",
        ),
        (
            lambda: Fault(OpeningRequest(), "delay"),  # type: ignore[arg-type]
            TypeError,
            "kind='delay'",
        ),
        (
            lambda: FaultPlan((OpeningRequest(),)),  # type: ignore[arg-type]
            TypeError,
            "faults[0]=",
        ),
        (lambda: RequestFacts(0, None, None, 0, True), ValueError, "data_index=0"),
    ],
)
def test_bad_faults_are_rejected_with_the_value(build: Any, error: type, echo: str) -> None:
    with pytest.raises(error, match=echo.replace("(", r"\(").replace("[", r"\[")):
        build()


def test_kind_parameters_take_defaults_and_only_their_own() -> None:
    opening = OpeningRequest()
    assert Fault(opening, K.HTTP_ERROR) == Fault(opening, K.HTTP_ERROR, status=503)
    kaltura = Fault(opening, K.KALTURA_ERROR)
    assert (kaltura.code, kaltura.message) == (
        "INTERNAL_SERVERL_ERROR",
        "Internal server error occurred",
    )
    assert Fault(opening, K.DELAY).delay_seconds == 0.1
    assert Fault(NthMiddleRequest(1), K.HOLD_CHUNK).hold_seconds == 1.0
    assert Fault(opening, K.RESET_BEFORE_APPLY).params == {}
    assert Fault(ChunkAtOffset(8), K.HOLD_CHUNK, hold_seconds=2).params == {"hold_seconds": 2}


def test_transient_and_persistent() -> None:
    assert Fault(OpeningRequest(), K.RESET_BEFORE_APPLY).is_transient
    assert not Fault(OpeningRequest(), K.RESET_BEFORE_APPLY, times=None).is_transient


def test_descriptions_name_the_action_and_the_request() -> None:
    assert Fault(NthDataRequest(3), K.HTTP_ERROR).describe() == "HTTP 503 on data request #3"
    assert Fault(CloseAttempt(1), K.CLOSE_CANNOT_MATCH, times=3).describe() == (
        "UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE on close attempt #1 onward, 3 times"
    )
    persistent = Fault(NthMiddleRequest(2), K.KALTURA_ERROR, times=None).describe()
    assert "INTERNAL_SERVERL_ERROR" in persistent
    assert persistent.endswith("and every later one (persistent)")
    assert "offset 64" in Fault(ChunkAtOffset(64), K.DROP_AFTER_APPLY).describe()
    assert FaultPlan().describe() == "no faults"
    plan = FaultPlan((Fault(OpeningRequest(), K.DELAY), Fault(CloseAttempt(2), K.HTTP_ERROR)))
    assert plan.describe().count(";") == 1


# --- faults: matching ---------------------------------------------------------------------


def test_empty_plan_is_falsy_and_matches_nothing() -> None:
    plan = FaultPlan()
    assert not plan
    assert plan.is_empty
    assert plan.match(facts(1, opening=True), {}) is None
    listed = FaultPlan([Fault(OpeningRequest(), K.DELAY)])  # type: ignore[arg-type]
    assert listed.faults == (Fault(OpeningRequest(), K.DELAY),)  # stored as a tuple


def test_nth_data_request_hits_exactly_the_nth_by_default() -> None:
    plan = FaultPlan((Fault(NthDataRequest(2), K.HTTP_ERROR),))
    assert run(plan, [facts(i) for i in range(1, 5)]) == [None, 0, None, None]


def test_times_extends_an_ordinal_selector_to_the_following_requests() -> None:
    plan = FaultPlan((Fault(NthDataRequest(2), K.HTTP_ERROR, times=2),))
    assert run(plan, [facts(i) for i in range(1, 6)]) == [None, 0, 0, None, None]


def test_persistent_fault_hits_every_later_request() -> None:
    plan = FaultPlan((Fault(NthDataRequest(2), K.RESET_BEFORE_APPLY, times=None),))
    assert run(plan, [facts(i) for i in range(1, 40)]) == [None] + [0] * 38


def test_close_attempt_budget_counts_close_attempts_only() -> None:
    plan = FaultPlan((Fault(CloseAttempt(1), K.CLOSE_CANNOT_MATCH, times=3),))
    requests = [facts(1, opening=True), facts(2, middle=1, at=10)]
    requests += [facts(2 + k, close=k, at=20) for k in range(1, 6)]
    assert run(plan, requests) == [None, None, 0, 0, 0, None, None]


def test_opening_selector_matches_a_resent_opening() -> None:
    plan = FaultPlan((Fault(OpeningRequest(), K.DROP_AFTER_APPLY, times=2),))
    requests = [facts(1, opening=True), facts(2, opening=True), facts(3, opening=True)]
    assert run(plan, [*requests, facts(4, middle=1, at=5)]) == [0, 0, None, None]


def test_middle_selectors_ignore_opening_and_close() -> None:
    by_order = FaultPlan((Fault(NthMiddleRequest(2), K.HOLD_CHUNK),))
    by_offset = FaultPlan((Fault(ChunkAtOffset(20), K.HTTP_ERROR, times=None),))
    requests = [
        facts(1, opening=True),
        facts(2, middle=1, at=20),
        facts(3, middle=2, at=10),
        facts(4, middle=3, at=20),
        facts(5, close=1, at=20),
    ]
    assert run(by_order, requests) == [None, None, 0, None, None]
    assert run(by_offset, requests) == [None, 0, None, 0, None]


def test_first_fault_with_budget_wins_then_the_next() -> None:
    first = Fault(NthDataRequest(1), K.DELAY, times=1)
    second = Fault(NthDataRequest(1), K.HTTP_ERROR, times=2)
    plan = FaultPlan((first, second))
    assert plan.match(facts(1), {}) == (0, first)
    assert plan.match(facts(1), {0: 1}) == (1, second)
    assert run(plan, [facts(i) for i in range(1, 6)]) == [0, 1, 1, None, None]


# --- faults: dict round trips -------------------------------------------------------------

ALL_FAULTS = [
    Fault(NthDataRequest(4), K.HTTP_ERROR, status=500),
    Fault(OpeningRequest(), K.KALTURA_ERROR, times=None, code="X", message="y"),
    Fault(NthMiddleRequest(2), K.RESET_BEFORE_APPLY, times=3),
    Fault(CloseAttempt(1), K.DROP_AFTER_APPLY),
    Fault(ChunkAtOffset(0), K.DELAY, delay_seconds=0.5),
    Fault(ChunkAtOffset(1024), K.HOLD_CHUNK, hold_seconds=3),
    Fault(CloseAttempt(2), K.CLOSE_CANNOT_MATCH, times=2),
]


@pytest.mark.parametrize("fault", ALL_FAULTS, ids=lambda f: f.kind.value)
def test_fault_round_trips_through_json(fault: Fault) -> None:
    assert roundtrip(fault) == fault


def test_plan_round_trips_through_json() -> None:
    plan = FaultPlan(tuple(ALL_FAULTS))
    assert roundtrip(plan) == plan
    assert roundtrip(FaultPlan()) == FaultPlan()
    assert FaultPlan().to_dict() == {"faults": []}


@pytest.mark.parametrize(
    ("data", "echo"),
    [
        ({"type": "nope"}, "type='nope'"),
        ({"type": "nth_data_request"}, "nth_data_request"),
        ({"type": "close_attempt", "k": 1, "extra": 2}, "extra"),
    ],
)
def test_bad_selector_dicts(data: dict[str, Any], echo: str) -> None:
    with pytest.raises(ValueError, match=echo):
        selector_from_dict(data)


def test_bad_fault_and_plan_dicts() -> None:
    good = ALL_FAULTS[0].to_dict()
    with pytest.raises(ValueError, match="kind"):
        Fault.from_dict({k: v for k, v in good.items() if k != "kind"})
    with pytest.raises(ValueError, match="unknown fields"):
        Fault.from_dict({**good, "colour": "red"})
    with pytest.raises(ValueError, match="'zap'"):
        Fault.from_dict({**good, "kind": "zap"})
    with pytest.raises(ValueError, match="faults="):
        FaultPlan.from_dict({"faults": "none"})


# --- scenario: partitions -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "cuts", "error", "echo"),
    [
        (-1, (), ValueError, "size=-1"),
        (True, (), TypeError, "size=True"),
        (10, (0,), ValueError, "cuts=(0,)"),
        (10, (10,), ValueError, "cuts=(10,)"),
        (10, (5, 5), ValueError, "cuts=(5, 5)"),
        (10, (6, 3), ValueError, "cuts=(6, 3)"),
        (0, (0,), ValueError, "cuts=(0,)"),
        (10, ("3",), TypeError, "cuts[0]='3'"),
    ],
)
def test_bad_partitions(size: Any, cuts: Any, error: type, echo: str) -> None:
    with pytest.raises(
        error, match=echo.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
    ):
        Partition(size, cuts)


def test_partition_chunks_and_helpers() -> None:
    parts = Partition(10, (3, 7))
    assert parts.chunks() == (Chunk(0, 3), Chunk(3, 7), Chunk(7, 10))
    assert (parts.opening, parts.middles, parts.last, parts.count) == (
        Chunk(0, 3),
        (Chunk(3, 7),),
        Chunk(7, 10),
        3,
    )
    assert [c.size for c in parts.chunks()] == [3, 4, 3]


def test_size_zero_and_single_chunk_partitions() -> None:
    empty = Partition(0)
    assert empty.chunks() == (Chunk(0, 0),)
    assert empty.opening == empty.last == Chunk(0, 0)
    whole = Partition(5)
    assert whole.chunks() == (Chunk(0, 5),)
    assert whole.middles == ()


@pytest.mark.parametrize(
    ("size", "chunk", "cuts"),
    [(0, 4, ()), (3, 4, ()), (4, 4, ()), (5, 4, (4,)), (8, 4, (4,)), (9, 4, (4, 8))],
)
def test_even_partition_cuts_at_multiples(size: int, chunk: int, cuts: tuple[int, ...]) -> None:
    assert Partition.even(size, chunk).cuts == cuts


def test_even_partition_rejects_chunk_size_zero_and_bad_chunks() -> None:
    with pytest.raises(ValueError, match="chunk_size=0"):
        Partition.even(10, 0)
    with pytest.raises(ValueError, match="end=2"):
        Chunk(3, 2)


# --- scenario: schedules and request plans ------------------------------------------------

FOUR = Partition(40, (10, 20, 30))  # chunks 0..3


def plan_of(schedule: UploadSchedule) -> list[tuple[str, int, int, bool, bool, int]]:
    return [
        (r.kind, r.chunk.start, r.chunk.end, r.resume, r.final, r.resume_at)
        for r in schedule.requests()
    ]


def test_normal_schedule_sends_middles_in_order_then_the_last_chunk_as_close() -> None:
    assert plan_of(UploadSchedule(FOUR, (2, 1))) == [
        ("open", 0, 10, False, False, 0),
        ("middle", 20, 30, True, False, 20),
        ("middle", 10, 20, True, False, 10),
        ("close", 30, 40, True, True, 30),
    ]


def test_early_close_is_sent_after_k_middles_and_retried_identically() -> None:
    requests = UploadSchedule(FOUR, (1, 2), close_after=1).requests()
    assert [r.kind for r in requests] == ["open", "middle", "close", "middle", "close"]
    assert requests[2] == requests[4]
    assert requests[1].resume_at == 10


def test_resends_follow_the_first_sends() -> None:
    schedule = UploadSchedule(FOUR, (1, 2), resends=(2, 2, 1))
    assert [r.resume_at for r in schedule.requests()] == [0, 10, 20, 20, 20, 10, 30]


def test_empty_close_makes_every_later_chunk_a_middle() -> None:
    schedule = UploadSchedule(FOUR, (3, 1, 2), empty_close=True)
    assert plan_of(schedule)[-2:] == [
        ("middle", 20, 30, True, False, 20),
        ("close", 40, 40, True, True, 40),
    ]


def test_single_chunk_is_a_single_request_unless_the_close_is_empty() -> None:
    assert plan_of(UploadSchedule(Partition(7), ())) == [("open", 0, 7, False, True, 0)]
    assert plan_of(UploadSchedule(Partition(7), (), empty_close=True)) == [
        ("open", 0, 7, False, False, 0),
        ("close", 7, 7, True, True, 7),
    ]


def test_size_zero_schedules() -> None:
    assert plan_of(UploadSchedule(Partition(0), ())) == [("open", 0, 0, False, True, 0)]
    empty_close = UploadSchedule(Partition(0), (), empty_close=True)
    assert [r.resume_at for r in empty_close.requests()] == [0, 0]  # unverified close at 0


def test_two_chunks_have_no_middle() -> None:
    assert [r.kind for r in UploadSchedule(Partition(8, (4,)), ()).requests()] == ["open", "close"]


def test_request_facts_number_each_sort_of_request() -> None:
    schedule = UploadSchedule(FOUR, (2, 1), resends=(1,), close_after=1)
    got = [
        (f.data_index, f.middle_index, f.close_attempt, f.is_opening)
        for f in schedule.request_facts()
    ]
    assert got == [
        (1, None, None, True),
        (2, 1, None, False),
        (3, None, 1, False),
        (4, 2, None, False),
        (5, 3, None, False),
        (6, None, 2, False),
    ]
    assert PlannedRequest("open", Chunk(0, 1), False, True, 0).chunk.size == 1


@pytest.mark.parametrize(
    ("kwargs", "error", "echo"),
    [
        ({"middle_order": (1,)}, ValueError, "middle_order=(1,)"),
        ({"middle_order": (1, 1)}, ValueError, "middle_order=(1, 1)"),
        ({"middle_order": (1, 3)}, ValueError, "middle_order=(1, 3)"),
        ({"middle_order": (1, 2), "resends": (3,)}, ValueError, "resends=(3,)"),
        ({"middle_order": (1, 2), "resends": (0,)}, ValueError, "resends=(0,)"),
        ({"middle_order": (1, 2), "close_after": 2}, ValueError, "close_after=2"),
        ({"middle_order": (1, 2), "close_after": -1}, ValueError, "close_after=-1"),
        ({"middle_order": (1, 2), "empty_close": 1}, TypeError, "empty_close=1"),
        ({"middle_order": "12"}, TypeError, "middle_order='12'"),
    ],
)
def test_bad_schedules(kwargs: dict[str, Any], error: type, echo: str) -> None:
    with pytest.raises(error, match=echo.replace("(", r"\(").replace(")", r"\)")):
        UploadSchedule(FOUR, **kwargs)


def test_no_early_close_without_middles() -> None:
    with pytest.raises(ValueError, match="close_after=0"):
        UploadSchedule(Partition(8, (4,)), (), close_after=0)
    with pytest.raises(TypeError, match="partition="):
        UploadSchedule(None, ())  # type: ignore[arg-type]


def test_schedule_describe_mentions_every_feature() -> None:
    text = UploadSchedule(FOUR, (1, 2, 3), resends=(2,), close_after=1, empty_close=True).describe()
    for word in ("40 B in 4 chunk(s)", "resends [2]", "early close after 1", "empty close"):
        assert word in text


# --- scenario: client parameters and whole scenarios --------------------------------------


def test_client_params_validation() -> None:
    with pytest.raises(ValueError, match="chunk_size=0"):
        ClientParams(0, 1)
    with pytest.raises(ValueError, match="concurrency=0"):
        ClientParams(1, 0)


def test_scenario_describe_and_expected_partition() -> None:
    scenario = UploadScenario(SourceFile(size=10, seed=3), ClientParams(4, 2))
    assert scenario.faults == FaultPlan()
    assert scenario.expected_partition() == Partition(10, (4, 8))
    assert scenario.describe() == (
        "file size=10 seed=3; chunk_size=4 concurrency=2; faults: no faults"
    )
    with pytest.raises(TypeError, match="params="):
        UploadScenario(SourceFile(size=1, seed=1), (4, 2))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    [
        Partition(0),
        Partition(100, (1, 50, 99)),
        UploadSchedule(FOUR, (3, 1, 2), resends=(1, 1), close_after=2, empty_close=True),
        UploadSchedule(Partition(5), ()),
        ClientParams(1024, 4),
        UploadScenario(SourceFile(size=0, seed=0), ClientParams(1, 1)),
        UploadScenario(
            SourceFile(size=2**33, seed=2**64 - 1),
            ClientParams(8 << 20, 8),
            FaultPlan(tuple(ALL_FAULTS)),
        ),
    ],
    ids=lambda v: type(v).__name__,
)
def test_scenario_values_round_trip_through_json(value: Any) -> None:
    assert roundtrip(value) == value


def test_selector_union_covers_all_selectors() -> None:
    every: list[Selector] = [
        NthDataRequest(1),
        OpeningRequest(),
        NthMiddleRequest(1),
        CloseAttempt(1),
        ChunkAtOffset(0),
    ]
    assert {type(selector_from_dict({"type": s.tag})) for s in every[1:2]} == {OpeningRequest}
    assert len({s.tag for s in every}) == 5
