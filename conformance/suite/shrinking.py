"""Shrinking a failing case within a wall-clock budget.

Every shrink step of a client-conformance case is a whole client upload, so Hypothesis's
own limit (five minutes of shrinking per failure) is far too long for a person waiting for
a verdict. A `CaseExplorer` stands between Hypothesis and the case runner for one lane:

- each distinct scenario runs once: Hypothesis's final replay of the shrunk example, and
  any scenario drawn twice, reuse the recorded result instead of uploading again;
- once a case has failed, shrink steps run only while the budget lasts (wall time since
  that first failure), each with at most the budget left as its time limit; a step the
  budget cannot pay for answers "not a failure" without running, so Hypothesis ends its
  shrink at once with the smallest failing case found so far;
- a hang (the failing client hit its time limit) can only be confirmed by waiting out the
  whole time limit again, so its shrink steps run only while the budget left covers one,
  and not at all when the run already saw the client hang on the simplest upload (the
  chunk-size probe: `hang_known`).

`shrink_report()` says how it went, for the reported case: fully shrunk, cut by the
budget, not shrunk at all (and why), or shrinking off.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from conformance.scenario import UploadScenario

__all__ = ["CaseExplorer", "Explored", "ShrinkReport", "ShrinkStatus"]


class ShrinkStatus:
    """How the shrink of a reported failing case ended (strings: they go into JSON)."""

    SHRUNK = "shrunk"  # Hypothesis finished: no smaller failing case was found
    CUT = "cut"  # the budget ran out first: the smallest failing case found so far
    NOT_SHRUNK = "not-shrunk"  # no step could be paid for (a hang longer than the budget)
    OFF = "off"  # --no-shrink: the first failing case, as found


@dataclass(frozen=True)
class ShrinkReport:
    status: str
    steps: int
    seconds: float
    reason: str

    def to_dict(self) -> dict[str, object]:
        return {
            "status": self.status,
            "steps": self.steps,
            "seconds": round(self.seconds, 3),
            "reason": self.reason,
        }


ResultT = TypeVar("ResultT")


@dataclass(frozen=True)
class Explored(Generic[ResultT]):
    """A case's result for Hypothesis, and whether the client really ran for it now."""

    result: ResultT
    fresh: bool


class CaseExplorer(Generic[ResultT]):
    """Runs one lane's cases for Hypothesis: each scenario once, shrinking on a budget.

    `run(scenario, time_limit)` runs a case; `fails(result)` says whether it is a failure
    to shrink, `hung(result)` whether the client hit the time limit it was given.
    `shrink_seconds=None` means shrinking is off (Hypothesis then runs without its shrink
    phase, and nothing new runs after the first failure). `hang_known`: the run saw the
    client hang already, on a simpler upload than any case; no step is spent on a hang."""

    def __init__(
        self,
        run: Callable[[UploadScenario, float], ResultT],
        *,
        fails: Callable[[ResultT], bool],
        hung: Callable[[ResultT], bool],
        time_limit: float,
        shrink_seconds: float | None,
        hang_known: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._run = run
        self._fails = fails
        self._hung = hung
        self.time_limit = time_limit
        self.shrink_seconds = shrink_seconds
        self._hang_known = hang_known
        self._clock = clock
        self._seen: dict[UploadScenario, ResultT] = {}
        self._failed_at: float | None = None
        self._hang = False
        self._steps = 0
        self._refused: str | None = None  # why the first unpaid step was refused
        self.stopped = False

    @property
    def failed(self) -> bool:
        return self._failed_at is not None

    def stop(self) -> None:
        """Run nothing new from now on (the run is being interrupted)."""
        self.stopped = True

    def explore(self, scenario: UploadScenario) -> Explored[ResultT] | None:
        """The result for `scenario`, or None: "treat as not failing", nothing was run."""
        if scenario in self._seen:
            return Explored(self._seen[scenario], fresh=False)
        if self.stopped:
            return None
        if self._failed_at is None:
            return Explored(self._first_failure_or_pass(scenario), fresh=True)
        limit = self._step_limit()
        if limit is None:
            return None
        result = self._run(scenario, limit)
        self._steps += 1
        if self._hung(result) and limit < self.time_limit:
            # It ran out of the budget, not out of its time limit: no verdict either way.
            self._refused = f"the {self.shrink_seconds:g} s shrink budget ran out"
            return None
        self._seen[scenario] = result
        return Explored(result, fresh=True)

    def _first_failure_or_pass(self, scenario: UploadScenario) -> ResultT:
        result = self._run(scenario, self.time_limit)
        self._seen[scenario] = result
        if self._fails(result):
            self._failed_at = self._clock()
            self._hang = self._hung(result)
        return result

    def _step_limit(self) -> float | None:
        """The time limit the next shrink step may have, or None to refuse it."""
        assert self._failed_at is not None
        if self.shrink_seconds is None:
            return None
        left = self.shrink_seconds - (self._clock() - self._failed_at)
        if self._hang and self._hang_known:
            self._refused = self._refused or (
                "the client hung on the chunk-size probe already, a plain upload simpler "
                "than any case: waiting out a time limit again would show nothing new"
            )
            return None
        if self._hang and left < self.time_limit:
            self._refused = self._refused or (
                f"the client hit its {self.time_limit:g} s time limit, and only waiting "
                f"that long again could confirm a smaller hang ({max(left, 0):.0f} s of the "
                f"{self.shrink_seconds:g} s shrink budget left)"
            )
            return None
        if left <= 0:
            self._refused = self._refused or (
                f"the {self.shrink_seconds:g} s shrink budget ran out"
            )
            return None
        return min(self.time_limit, left)

    def shrink_report(self) -> ShrinkReport:
        """How the shrink of this lane's failure went (call after Hypothesis is done)."""
        seconds = 0.0 if self._failed_at is None else self._clock() - self._failed_at
        if self.shrink_seconds is None:
            return ShrinkReport(ShrinkStatus.OFF, 0, 0.0, "shrinking is off (--no-shrink)")
        if self._refused is None:
            reason = "no smaller scenario fails"
            return ShrinkReport(ShrinkStatus.SHRUNK, self._steps, seconds, reason)
        status = ShrinkStatus.CUT if self._steps else ShrinkStatus.NOT_SHRUNK
        return ShrinkReport(status, self._steps, seconds, self._refused)
