"""The shrink budget (`conformance.suite.shrinking`) and running lanes at once
(`conformance.suite.lanes`), on a fake clock and fake cases: no client runs here."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest

from conformance.content import SourceFile
from conformance.scenario import ClientParams, UploadScenario
from conformance.suite.lanes import run_all, worst_first
from conformance.suite.shrinking import CaseExplorer, ShrinkStatus

TIME_LIMIT = 10.0


@dataclass(frozen=True)
class Result:
    failed: bool
    hung: bool = False


def scenario(size: int) -> UploadScenario:
    return UploadScenario(SourceFile(size, 0), ClientParams(1, 1))


class FakeCases:
    """Cases whose outcome is decided by the file size; each run advances the clock."""

    def __init__(self, *, failing_from: int, hang: bool = False, seconds: float = 1.0) -> None:
        self.failing_from, self.hang, self.seconds = failing_from, hang, seconds
        self.now = 0.0
        self.runs: list[tuple[int, float]] = []  # (size, time limit given)

    def run(self, case: UploadScenario, limit: float) -> Result:
        size = case.source.size
        self.runs.append((size, limit))
        failed = size >= self.failing_from
        if failed and self.hang:
            self.now += limit
            return Result(True, hung=True)
        self.now += min(self.seconds, limit)
        return Result(failed, hung=self.seconds > limit)

    def explorer(
        self, shrink_seconds: float | None, *, hang_known: bool = False
    ) -> CaseExplorer[Result]:
        return CaseExplorer(
            self.run,
            fails=lambda r: r.failed,
            hung=lambda r: r.hung,
            time_limit=TIME_LIMIT,
            shrink_seconds=shrink_seconds,
            hang_known=hang_known,
            clock=lambda: self.now,
        )


def test_each_scenario_runs_once_and_the_final_replay_reuses_it() -> None:
    cases = FakeCases(failing_from=5)
    explorer = cases.explorer(20)
    first = explorer.explore(scenario(7))
    assert first is not None
    assert first.fresh
    assert first.result.failed
    again = explorer.explore(scenario(7))  # Hypothesis's final replay of the shrunk case
    assert again is not None
    assert not again.fresh
    assert again.result is first.result
    assert cases.runs == [(7, TIME_LIMIT)]


def test_a_hang_the_probe_showed_already_is_not_shrunk_whatever_the_budget() -> None:
    cases = FakeCases(failing_from=0, hang=True)
    explorer = cases.explorer(1000, hang_known=True)
    assert explorer.explore(scenario(7)) is not None
    assert explorer.explore(scenario(3)) is None  # no step: it would only wait again
    assert cases.runs == [(7, TIME_LIMIT)]
    report = explorer.shrink_report()
    assert report.status == ShrinkStatus.NOT_SHRUNK
    assert "hung on the chunk-size probe already" in report.reason
    # a failure that is not a hang still shrinks as ever
    failing = FakeCases(failing_from=2)
    other = failing.explorer(1000, hang_known=True)
    assert other.explore(scenario(7)) is not None
    assert other.explore(scenario(3)) is not None
    assert len(failing.runs) == 2


def test_cases_before_the_first_failure_get_the_whole_time_limit() -> None:
    cases = FakeCases(failing_from=100)
    explorer = cases.explorer(0.5)
    for size in range(5):
        assert explorer.explore(scenario(size)) is not None
    assert {limit for _, limit in cases.runs} == {TIME_LIMIT}
    assert not explorer.failed


def test_a_shrink_that_ends_inside_the_budget_is_fully_shrunk() -> None:
    cases = FakeCases(failing_from=5)
    explorer = cases.explorer(20)
    explorer.explore(scenario(9))
    for size in (4, 5):  # Hypothesis tries smaller cases: 4 passes, 5 still fails
        assert explorer.explore(scenario(size)) is not None
    report = explorer.shrink_report()
    assert report.status == ShrinkStatus.SHRUNK
    assert report.steps == 2
    assert report.seconds == pytest.approx(2.0)


def test_steps_stop_when_the_budget_is_spent_and_the_report_says_cut() -> None:
    cases = FakeCases(failing_from=5, seconds=4.0)
    explorer = cases.explorer(10)
    explorer.explore(scenario(9))
    assert explorer.explore(scenario(8)) is not None  # 4 s of 10
    assert explorer.explore(scenario(7)) is not None  # 8 s: 2 s left
    assert explorer.explore(scenario(6)) is None  # given 2 s, ran out: no verdict
    assert explorer.explore(scenario(5)) is None  # nothing left: not even run
    assert cases.runs[-1] == (6, pytest.approx(2.0))
    report = explorer.shrink_report()
    assert report.status == ShrinkStatus.CUT
    assert report.steps == 3
    assert "10 s shrink budget ran out" in report.reason


def test_a_step_cut_by_the_budget_is_not_remembered_as_a_result() -> None:
    cases = FakeCases(failing_from=5, seconds=4.0)
    explorer = cases.explorer(6)
    explorer.explore(scenario(9))
    explorer.explore(scenario(8))  # 4 s: 2 s left
    assert explorer.explore(scenario(1)) is None  # ran 2 s of its 4: inconclusive
    assert explorer.explore(scenario(1)) is None  # asked again: still no verdict
    assert [size for size, _ in cases.runs].count(1) == 1


def test_a_hang_is_not_shrunk_when_the_budget_cannot_wait_out_the_time_limit() -> None:
    cases = FakeCases(failing_from=0, hang=True)
    explorer = cases.explorer(TIME_LIMIT - 1)
    explorer.explore(scenario(3))
    assert explorer.explore(scenario(0)) is None
    assert cases.runs == [(3, TIME_LIMIT)]
    report = explorer.shrink_report()
    assert report.status == ShrinkStatus.NOT_SHRUNK
    assert report.steps == 0
    assert f"hit its {TIME_LIMIT:g} s time limit" in report.reason


def test_a_hang_is_shrunk_while_the_budget_covers_whole_time_limits() -> None:
    cases = FakeCases(failing_from=0, hang=True)
    explorer = cases.explorer(2.5 * TIME_LIMIT)
    explorer.explore(scenario(3))
    assert explorer.explore(scenario(2)) is not None  # 25 s left: a whole time limit
    assert explorer.explore(scenario(1)) is not None  # 15 s left
    assert explorer.explore(scenario(0)) is None  # 5 s left: it could not confirm a hang
    assert [limit for _, limit in cases.runs] == [TIME_LIMIT] * 3
    assert explorer.shrink_report().status == ShrinkStatus.CUT


def test_no_shrink_runs_nothing_after_the_first_failure() -> None:
    cases = FakeCases(failing_from=5)
    explorer = cases.explorer(None)
    explorer.explore(scenario(9))
    assert explorer.explore(scenario(6)) is None
    assert explorer.explore(scenario(9)) is not None  # the final replay: remembered
    assert len(cases.runs) == 1
    assert explorer.shrink_report().status == ShrinkStatus.OFF


def test_a_stopped_explorer_runs_nothing_new() -> None:
    cases = FakeCases(failing_from=100)
    explorer = cases.explorer(20)
    explorer.explore(scenario(1))
    explorer.stop()
    assert explorer.explore(scenario(2)) is None
    assert explorer.explore(scenario(1)) is not None
    assert len(cases.runs) == 1


def test_lanes_run_at_once_and_report_their_errors_in_order() -> None:
    barrier = threading.Barrier(3, timeout=60)  # passes only if all three run at once

    def lane(error: BaseException | None) -> None:
        barrier.wait()
        if error is not None:
            raise error

    first, second = ValueError("one"), KeyError("two")
    errors = run_all(
        [lambda: lane(first), lambda: lane(None), lambda: lane(second)],
        on_interrupt=lambda: None,
    )
    assert errors == [first, None, second]


class Fatal(BaseException):
    pass


def test_the_group_raises_a_fatal_error_first_with_the_others_as_notes() -> None:
    ordinary, fatal = AssertionError("broken"), Fatal("cannot run")
    chosen = worst_first([None, ordinary, fatal], fatal=Fatal)
    assert chosen is fatal
    assert chosen.__notes__ == ["another lane also failed: AssertionError: broken"]
    assert worst_first([None, None], fatal=Fatal) is None
