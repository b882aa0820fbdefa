"""Checks registered by requirement ID, what they find, and the verdict that follows.

Shared by both directions: the client checks (UT-C*, `conformance.checks`, over a case's
evidence) and the server checks (UT-S*, `conformance.server`, over an endpoint under
test). A check returns `Findings` — whether the situation arose at all (`exercised`) and
every breach; `judge` turns them into a `CheckResult` by the requirement's level, so that
NOT-EXERCISED, FAIL and NON-STRICT mean the same thing on both sides.

Each check also declares what of the evidence it reads (`Reads`), once, where it is
registered: a judge that cannot vouch for part of the evidence (the proxy, when the real
server and the model disagreed on a request) sets aside only the checks that read that
part. A check that declares nothing reads everything.

A pure layer (the requirement catalogue and the standard library): either side imports
it without loading the other's code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Generic, TypeVar

from conformance.requirements import Level, Party, Verdict, requirement, verdict_for_broken

__all__ = ["Breach", "CheckRegistry", "CheckResult", "Findings", "Reads", "judge"]

E = TypeVar("E")  # what the checks of one registry look at


class Reads(Enum):
    """What of a case's evidence a check's verdict rests on, narrowest first.

    * `REQUESTS`: what the client sent (flags, offsets, payloads, times), its own claim of
      success and the source: nothing a server answered.
    * `CLOSE_ANSWERS`: that, and the answers to the closes (`finalChunk=true` data
      requests) and to `uploadToken.get`.
    * `DATA_ANSWERS`: that, and the answers to every data request.
    * `END_STATE`: the token's end state (status, size) and so every answer in the case.
    * `CONTENT`: the bytes the token should hold, which the model assembles: every answer,
      and the order the server wrote overlapping parts in.
    * `EVERYTHING`: anything at all; the default of a check that declares nothing.
    """

    REQUESTS = "requests only"
    CLOSE_ANSWERS = "close answers"
    DATA_ANSWERS = "data answers"
    END_STATE = "end state"
    CONTENT = "content"
    EVERYTHING = "everything"


@dataclass(frozen=True)
class Breach:
    """One way the rule was broken, with the exchanges (trace ids) that show it."""

    message: str
    exchanges: tuple[int, ...] = ()


@dataclass(frozen=True)
class Findings:
    """What a check saw: breaches, whether the rule applied at all, and observations."""

    breaches: tuple[Breach, ...] = ()
    exercised: bool = True
    observations: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckResult:
    requirement_id: str
    verdict: Verdict
    breaches: tuple[Breach, ...] = ()
    observations: dict[str, object] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.PASS

    def message(self) -> str:
        """A failure message: the requirement, then each breach."""
        rule = requirement(self.requirement_id).rule
        lines = [f"{self.requirement_id} {self.verdict.value}: {rule}"]
        lines += [f"  - {breach.message}" for breach in self.breaches]
        return "\n".join(lines)


def judge(requirement_id: str, findings: Findings) -> CheckResult:
    """The verdict on `requirement_id` given what its check found."""
    level = requirement(requirement_id).level
    if level is Level.INFORMATIONAL:
        verdict = Verdict.INFORMATIONAL
    elif not findings.exercised:
        verdict = Verdict.NOT_EXERCISED
    elif findings.breaches:
        verdict = verdict_for_broken(level)
    else:
        verdict = Verdict.PASS
    return CheckResult(requirement_id, verdict, findings.breaches, findings.observations)


class CheckRegistry(Mapping[str, Callable[[E], Findings]], Generic[E]):
    """One check per requirement ID of one party, registered with `@registry.register(id)`;
    read like a dict (ID: check function), in registration order."""

    def __init__(self, party: Party) -> None:
        self.party = party
        self._checks: dict[str, Callable[[E], Findings]] = {}
        self._reads: dict[str, Reads] = {}

    def register(
        self, requirement_id: str, *, reads: Reads = Reads.EVERYTHING
    ) -> Callable[[Callable[[E], Findings]], Callable[[E], Findings]]:
        """Register the decorated function as the check of `requirement_id`, whose verdict
        rests on `reads` of the evidence (everything, unless it says less)."""
        party = requirement(requirement_id).party  # an unknown ID fails at import time
        if party is not self.party:
            raise ValueError(f"{requirement_id} is a {party.value} requirement")

        def register(function: Callable[[E], Findings]) -> Callable[[E], Findings]:
            if requirement_id in self._checks:
                raise ValueError(f"{requirement_id} already has a check")
            self._checks[requirement_id] = function
            self._reads[requirement_id] = reads
            return function

        return register

    def run(self, requirement_id: str, evidence: E) -> CheckResult:
        """Run one registered check and turn its findings into a verdict."""
        return judge(requirement_id, self._checks[requirement_id](evidence))

    def reads(self, requirement_id: str) -> Reads:
        """What the check of `requirement_id` declared it reads."""
        return self._reads[requirement_id]

    def __getitem__(self, requirement_id: str) -> Callable[[E], Findings]:
        return self._checks[requirement_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._checks)

    def __len__(self) -> int:
        return len(self._checks)
