"""Fault plans as data: which data request is hit, and what happens to it.

Design notes (read before changing the matching rules):

* A plan is a tuple of `Fault`s; each fault is a *selector* (which request) and a `FaultKind`
  (what happens) with the kind's parameters. Everything is a frozen value with a plain-dict form,
  so a plan can be written to a results file and replayed.
* Ordinal selectors (`NthDataRequest`, `NthMiddleRequest`, `CloseAttempt`) match their n-th
  request *and every later one of the same sort*; the fault's `times` caps how many of those
  matches are hit. So the default `times=1` hits exactly the n-th request, `times=3` on
  `CloseAttempt(1)` answers the first three close attempts, and `times=None` (persistent) hits
  the n-th and all later ones, which is how the UT-C20 "persistent error" cases are built.
  `OpeningRequest` and `ChunkAtOffset` match every request of their sort (re-sends included).
* `FaultPlan.match` is pure: the endpoint owns the per-fault hit counters and passes them in.
  The first fault (in plan order) whose selector matches and whose budget is left wins, so at
  most one fault applies to a request.
* Bad values raise `ValueError` (wrong range) or `TypeError` (wrong type), echoing `name=value`.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar, TypeAlias

from conformance.model import ErrorCode

__all__ = [
    "DEFAULT_DELAY_SECONDS",
    "DEFAULT_HOLD_SECONDS",
    "DEFAULT_HTTP_STATUS",
    "DEFAULT_KALTURA_CODE",
    "DEFAULT_KALTURA_MESSAGE",
    "ChunkAtOffset",
    "CloseAttempt",
    "Fault",
    "FaultKind",
    "FaultPlan",
    "NthDataRequest",
    "NthMiddleRequest",
    "OpeningRequest",
    "RequestFacts",
    "Selector",
    "selector_from_dict",
    "selector_to_dict",
]

# What Kaltura's server answers for unmapped internal errors (§10.3; sic, its spelling).
DEFAULT_KALTURA_CODE = ErrorCode.INTERNAL_SERVERL_ERROR.name
DEFAULT_KALTURA_MESSAGE = ErrorCode.INTERNAL_SERVERL_ERROR.template
DEFAULT_HTTP_STATUS = 503
# Short by default: faults are drawn by the hundred in property tests.
DEFAULT_DELAY_SECONDS = 0.1
DEFAULT_HOLD_SECONDS = 1.0


def _require_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}={value!r} must be an int")
    if value < minimum:
        raise ValueError(f"{name}={value!r} must be >= {minimum}")


def _require_seconds(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name}={value!r} must be a number of seconds")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name}={value!r} must be finite and > 0")


@dataclass(frozen=True)
class RequestFacts:
    """What the endpoint knows about one data request when it decides on a fault.

    `is_opening` is true for every `resume=false` request (a re-sent opening included);
    `middle_index` is the 1-based count among resume=true/finalChunk=false requests, None for
    other requests; `close_attempt` the 1-based count among finalChunk=true requests.
    """

    data_index: int
    middle_index: int | None
    close_attempt: int | None
    resume_at: float
    is_opening: bool

    def __post_init__(self) -> None:
        _require_int("data_index", self.data_index, 1)
        if self.middle_index is not None:
            _require_int("middle_index", self.middle_index, 1)
        if self.close_attempt is not None:
            _require_int("close_attempt", self.close_attempt, 1)


@dataclass(frozen=True)
class NthDataRequest:
    """The n-th data request (1-based, any stage) and, past `times`, the later ones."""

    n: int
    tag: ClassVar[str] = "nth_data_request"
    ordinal: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _require_int("n", self.n, 1)

    def matches(self, facts: RequestFacts) -> bool:
        return facts.data_index >= self.n

    def describe(self) -> str:
        return f"data request #{self.n}"


@dataclass(frozen=True)
class OpeningRequest:
    """Every opening (`resume=false`) request: the first data request and its re-sends."""

    tag: ClassVar[str] = "opening_request"
    ordinal: ClassVar[bool] = False

    def matches(self, facts: RequestFacts) -> bool:
        return facts.is_opening

    def describe(self) -> str:
        return "the opening request"


@dataclass(frozen=True)
class NthMiddleRequest:
    """The n-th middle request (1-based, in arrival order) and, past `times`, the later ones."""

    n: int
    tag: ClassVar[str] = "nth_middle_request"
    ordinal: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _require_int("n", self.n, 1)

    def matches(self, facts: RequestFacts) -> bool:
        return facts.middle_index is not None and facts.middle_index >= self.n

    def describe(self) -> str:
        return f"middle request #{self.n}"


@dataclass(frozen=True)
class CloseAttempt:
    """The k-th `finalChunk=true` request (1-based) and, past `times`, the later attempts."""

    k: int
    tag: ClassVar[str] = "close_attempt"
    ordinal: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _require_int("k", self.k, 1)

    def matches(self, facts: RequestFacts) -> bool:
        return facts.close_attempt is not None and facts.close_attempt >= self.k

    def describe(self) -> str:
        return f"close attempt #{self.k}"


@dataclass(frozen=True)
class ChunkAtOffset:
    """Every middle request whose `resumeAt` equals `offset` (each send of that chunk)."""

    offset: int
    tag: ClassVar[str] = "chunk_at_offset"
    ordinal: ClassVar[bool] = False

    def __post_init__(self) -> None:
        _require_int("offset", self.offset, 0)

    def matches(self, facts: RequestFacts) -> bool:
        return facts.middle_index is not None and facts.resume_at == self.offset

    def describe(self) -> str:
        return f"the middle chunk at offset {self.offset}"


Selector: TypeAlias = (
    NthDataRequest | OpeningRequest | NthMiddleRequest | CloseAttempt | ChunkAtOffset
)
_SELECTOR_TYPES = (NthDataRequest, OpeningRequest, NthMiddleRequest, CloseAttempt, ChunkAtOffset)
_SELECTORS_BY_TAG: dict[str, type[Selector]] = {cls.tag: cls for cls in _SELECTOR_TYPES}


def selector_to_dict(selector: Selector) -> dict[str, Any]:
    return {"type": selector.tag, **{f.name: getattr(selector, f.name) for f in fields(selector)}}


def selector_from_dict(data: Mapping[str, Any]) -> Selector:
    """Inverse of `selector_to_dict`; ValueError on an unknown `type` or missing field."""
    params = dict(data)
    tag = params.pop("type", None)
    cls = _SELECTORS_BY_TAG.get(tag) if isinstance(tag, str) else None
    if cls is None:
        raise ValueError(f"type={tag!r} is not a selector ({sorted(_SELECTORS_BY_TAG)})")
    try:
        return cls(**params)
    except TypeError as exc:  # missing or unexpected field names
        raise ValueError(f"selector {data!r}: {exc}") from exc


class FaultKind(enum.Enum):
    """What happens to a selected request; ordered from the simplest to the most involved."""

    HTTP_ERROR = "http_error"  # HTTP 5xx, request not applied
    KALTURA_ERROR = "kaltura_error"  # Kaltura error object with HTTP 200, request not applied
    RESET_BEFORE_APPLY = "reset_before_apply"  # connection reset before the server applies it
    DROP_AFTER_APPLY = "drop_after_apply"  # applied, then the connection drops: response lost
    DELAY = "delay"  # applied, response delayed by delay_seconds
    HOLD_CHUNK = "hold_chunk"  # middle chunk kept from appending for hold_seconds
    CLOSE_CANNOT_MATCH = "close_cannot_match"  # close answered CANNOT_MATCH_EXPECTED_SIZE


# The parameters each kind takes, with defaults; every other parameter must stay None.
_KIND_PARAMS: dict[FaultKind, dict[str, object]] = {
    FaultKind.HTTP_ERROR: {"status": DEFAULT_HTTP_STATUS},
    FaultKind.KALTURA_ERROR: {"code": DEFAULT_KALTURA_CODE, "message": DEFAULT_KALTURA_MESSAGE},
    FaultKind.DELAY: {"delay_seconds": DEFAULT_DELAY_SECONDS},
    FaultKind.HOLD_CHUNK: {"hold_seconds": DEFAULT_HOLD_SECONDS},
}
_PARAM_NAMES = ("status", "code", "message", "delay_seconds", "hold_seconds")
# Kinds that make sense only for one sort of request.
_KIND_SELECTORS: dict[FaultKind, tuple[type[Selector], ...]] = {
    FaultKind.HOLD_CHUNK: (NthMiddleRequest, ChunkAtOffset),
    FaultKind.CLOSE_CANNOT_MATCH: (CloseAttempt,),
}


@dataclass(frozen=True)
class Fault:
    """One planned fault: `kind` happens to up to `times` requests matched by `selector`.

    `times=None` means persistent (every matching request). Parameters a kind does not take
    must be left None; the ones it takes default to the module's DEFAULT_* values.
    """

    selector: Selector
    kind: FaultKind
    times: int | None = 1
    status: int | None = None
    code: str | None = None
    message: str | None = None
    delay_seconds: float | None = None
    hold_seconds: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.selector, _SELECTOR_TYPES):
            raise TypeError(f"selector={self.selector!r} is not a selector")
        if not isinstance(self.kind, FaultKind):
            raise TypeError(f"kind={self.kind!r} is not a FaultKind")
        if self.times is not None:
            _require_int("times", self.times, 1)
        allowed = _KIND_SELECTORS.get(self.kind)
        if allowed is not None and not isinstance(self.selector, allowed):
            names = ", ".join(cls.__name__ for cls in allowed)
            raise ValueError(f"selector={self.selector!r} cannot carry {self.kind.name}: {names}")
        self._fill_params()

    def _fill_params(self) -> None:
        defaults = _KIND_PARAMS.get(self.kind, {})
        for name in _PARAM_NAMES:
            value = getattr(self, name)
            if name not in defaults:
                if value is not None:
                    raise ValueError(f"{name}={value!r} does not apply to {self.kind.name}")
            elif value is None:
                object.__setattr__(self, name, defaults[name])
        self._check_params()

    def _check_params(self) -> None:
        if self.status is not None:
            _require_int("status", self.status, 500)
            if self.status > 599:
                raise ValueError(f"status={self.status!r} must be in 500..599")
        for name in ("code", "message"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise ValueError(f"{name}={value!r} must be a non-empty string")
        for name in ("delay_seconds", "hold_seconds"):
            if getattr(self, name) is not None:
                _require_seconds(name, getattr(self, name))

    @property
    def is_transient(self) -> bool:
        """True when the fault hits a bounded number of requests (times is not None)."""
        return self.times is not None

    def is_spent(self, hits: int) -> bool:
        """True when `hits` earlier requests used up this fault's budget."""
        return self.times is not None and hits >= self.times

    @property
    def params(self) -> dict[str, object]:
        """The kind's parameters (after defaults), by name."""
        return {name: getattr(self, name) for name in _KIND_PARAMS.get(self.kind, {})}

    def describe(self) -> str:
        target = self.selector.describe()
        if self.times is None:
            suffix = " and every later one" if self.selector.ordinal else ""
            return f"{self._describe_action()} on {target}{suffix} (persistent)"
        if self.times == 1:
            return f"{self._describe_action()} on {target}"
        later = " onward" if self.selector.ordinal else ""
        return f"{self._describe_action()} on {target}{later}, {self.times} times"

    def _describe_action(self) -> str:
        actions = {
            FaultKind.HTTP_ERROR: f"HTTP {self.status}",
            FaultKind.KALTURA_ERROR: f"Kaltura error {self.code}",
            FaultKind.RESET_BEFORE_APPLY: "connection reset before apply",
            FaultKind.DROP_AFTER_APPLY: "response dropped after apply",
            FaultKind.DELAY: f"response delayed {self.delay_seconds} s",
            FaultKind.HOLD_CHUNK: f"chunk held back {self.hold_seconds} s",
            FaultKind.CLOSE_CANNOT_MATCH: ErrorCode.UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE.name,
        }
        return actions[self.kind]

    def to_dict(self) -> dict[str, Any]:
        return {
            "selector": selector_to_dict(self.selector),
            "kind": self.kind.value,
            "times": self.times,
            **self.params,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fault:
        params = dict(data)
        try:
            selector = selector_from_dict(params.pop("selector"))
            kind = FaultKind(params.pop("kind"))
        except KeyError as exc:
            raise ValueError(f"fault {data!r} lacks {exc}") from exc
        unknown = set(params) - {"times", *_PARAM_NAMES}
        if unknown:
            raise ValueError(f"fault {data!r} has unknown fields {sorted(unknown)}")
        return cls(selector, kind, **params)


@dataclass(frozen=True)
class FaultPlan:
    """The faults of one case, in priority order; empty (falsy) means a fault-free run."""

    faults: tuple[Fault, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "faults", tuple(self.faults))
        for index, fault in enumerate(self.faults):
            if not isinstance(fault, Fault):
                raise TypeError(f"faults[{index}]={fault!r} is not a Fault")

    def __bool__(self) -> bool:
        return bool(self.faults)

    @property
    def is_empty(self) -> bool:
        return not self.faults

    def match(self, facts: RequestFacts, hits: Mapping[int, int]) -> tuple[int, Fault] | None:
        """The first fault that selects `facts` with budget left, given hits by fault index."""
        for index, fault in enumerate(self.faults):
            if fault.selector.matches(facts) and not fault.is_spent(hits.get(index, 0)):
                return index, fault
        return None

    def describe(self) -> str:
        if not self.faults:
            return "no faults"
        return "; ".join(fault.describe() for fault in self.faults)

    def to_dict(self) -> dict[str, Any]:
        return {"faults": [fault.to_dict() for fault in self.faults]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FaultPlan:
        faults = data.get("faults")
        if not isinstance(faults, list):
            raise ValueError(f"faults={faults!r} must be a list")
        return cls(tuple(Fault.from_dict(item) for item in faults))
