"""Scenarios as data: how a file is cut, how its chunks are sent, and what the client is given.

Request-plan semantics (`UploadSchedule.requests`), the contract server-conformance relies on:

* Chunk indices index `Partition.chunks()`. Chunk 0 is always the opening request's payload
  (`resume=false`, `finalChunk=false`, resume_at 0).
* With `empty_close=False` the last chunk is the closing request's payload and the middles are
  chunks 1..n-2; with `empty_close=True` every chunk after the first is a middle and the close
  carries 0 bytes at resume_at = size.
* Middles are sent in `middle_order`, then the `resends` (duplicates, same bytes) in the given
  order; the close comes last. `close_after=k` sends one early close attempt after the first k
  middle sends (k < number of middles, so at least one middle is still missing: it must meet
  UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE), then the rest, then the identical close again.
* A one-chunk partition without `empty_close` is a single-request upload: one request with
  `resume=false`, `finalChunk=true`, resume_at 0, kind "open" (it is opening and close at once).
  With `empty_close` it is an opening plus an empty close at resume_at = size (for size 0 that
  close is at 0, which Kaltura never verifies: modelled as is).
* A size-0 partition has exactly one chunk, the empty chunk [0, 0).

Bad values raise `ValueError` (wrong range) or `TypeError` (wrong type), echoing `name=value`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Literal

from conformance.content import SourceFile
from conformance.faults import FaultPlan, RequestFacts

__all__ = [
    "Chunk",
    "ClientParams",
    "Partition",
    "PlannedRequest",
    "RequestKind",
    "UploadScenario",
    "UploadSchedule",
]

RequestKind = Literal["open", "middle", "close"]


def _require_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}={value!r} must be an int")
    if value < minimum:
        raise ValueError(f"{name}={value!r} must be >= {minimum}")


def _int_tuple(name: str, values: object) -> tuple[int, ...]:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name}={values!r} must be a sequence of ints")
    result = tuple(values)
    for index, value in enumerate(result):
        _require_int(f"{name}[{index}]", value, 0)
    return result


@dataclass(frozen=True)
class Chunk:
    """The byte range [start, end) of the source file."""

    start: int
    end: int

    def __post_init__(self) -> None:
        _require_int("start", self.start, 0)
        _require_int("end", self.end, self.start)

    @property
    def size(self) -> int:
        return self.end - self.start

    def describe(self) -> str:
        return f"[{self.start}, {self.end})"


@dataclass(frozen=True)
class Partition:
    """A file of `size` bytes cut at `cuts` (strictly increasing, each in (0, size)).

    Size 0 has no cuts and one chunk, the empty chunk [0, 0).
    """

    size: int
    cuts: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        _require_int("size", self.size, 0)
        cuts = _int_tuple("cuts", self.cuts)
        object.__setattr__(self, "cuts", cuts)
        # Size 0 has no cuts: its one chunk is [0, 0), the only empty chunk allowed.
        if cuts and any(a >= b for a, b in pairwise((0, *cuts, self.size))):
            raise ValueError(f"cuts={cuts!r} must increase strictly within (0, size={self.size})")

    @classmethod
    def even(cls, size: int, chunk_size: int) -> Partition:
        """The partition of a client that cuts at every multiple of `chunk_size`."""
        _require_int("chunk_size", chunk_size, 1)
        _require_int("size", size, 0)
        return cls(size, tuple(range(chunk_size, size, chunk_size)))

    @property
    def count(self) -> int:
        """Number of chunks (at least 1)."""
        return len(self.cuts) + 1

    def chunks(self) -> tuple[Chunk, ...]:
        bounds = (0, *self.cuts, self.size)
        return tuple(Chunk(a, b) for a, b in pairwise(bounds))

    @property
    def opening(self) -> Chunk:
        """The first chunk (the whole file when there is one chunk)."""
        return Chunk(0, self.cuts[0] if self.cuts else self.size)

    @property
    def middles(self) -> tuple[Chunk, ...]:
        """The chunks between the first and the last (none for one or two chunks)."""
        return self.chunks()[1:-1]

    @property
    def last(self) -> Chunk:
        """The last chunk (the same as `opening` when there is one chunk)."""
        return Chunk(self.cuts[-1] if self.cuts else 0, self.size)

    def describe(self) -> str:
        return f"{self.size} B in {self.count} chunk(s), cuts {list(self.cuts)}"

    def to_dict(self) -> dict[str, Any]:
        return {"size": self.size, "cuts": list(self.cuts)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Partition:
        return cls(_field(data, "size"), tuple(_field(data, "cuts")))


def _field(data: Mapping[str, Any], name: str) -> Any:
    try:
        return data[name]
    except KeyError:
        raise ValueError(f"{data!r} lacks {name!r}") from None


@dataclass(frozen=True)
class PlannedRequest:
    """One data request of a schedule, in send order."""

    kind: RequestKind
    chunk: Chunk
    resume: bool
    final: bool
    resume_at: int


@dataclass(frozen=True)
class UploadSchedule:
    """How a three-stage upload sends the chunks of `partition` (see the module docstring)."""

    partition: Partition
    middle_order: tuple[int, ...]
    resends: tuple[int, ...] = ()
    close_after: int | None = None
    empty_close: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.partition, Partition):
            raise TypeError(f"partition={self.partition!r} is not a Partition")
        if not isinstance(self.empty_close, bool):
            raise TypeError(f"empty_close={self.empty_close!r} must be a bool")
        object.__setattr__(self, "middle_order", _int_tuple("middle_order", self.middle_order))
        object.__setattr__(self, "resends", _int_tuple("resends", self.resends))
        self._check_order()

    def _check_order(self) -> None:
        middles = self.middle_indices
        if sorted(self.middle_order) != list(middles):
            raise ValueError(
                f"middle_order={self.middle_order!r} must be a permutation of {list(middles)}"
            )
        stray = [index for index in self.resends if index not in middles]
        if stray:
            raise ValueError(f"resends={self.resends!r}: {stray} are not middle chunk indices")
        if self.close_after is not None:
            _require_int("close_after", self.close_after, 0)
            if self.close_after >= len(middles):
                raise ValueError(
                    f"close_after={self.close_after!r} must be < the {len(middles)} middle(s),"
                    " so that the early close is really early"
                )

    @property
    def middle_indices(self) -> range:
        """Chunk indices sent as middles (every chunk after the first if `empty_close`)."""
        count = self.partition.count
        return range(1, count if self.empty_close else count - 1)

    @property
    def is_single_request(self) -> bool:
        return self.partition.count == 1 and not self.empty_close

    @property
    def close_chunk(self) -> Chunk:
        """The closing payload: the last chunk, or empty at the end of the file."""
        size = self.partition.size
        return Chunk(size, size) if self.empty_close else self.partition.last

    def requests(self) -> tuple[PlannedRequest, ...]:
        """Every data request in send order (a fault-free run)."""
        chunks = self.partition.chunks()
        if self.is_single_request:
            return (PlannedRequest("open", chunks[0], resume=False, final=True, resume_at=0),)
        opening = PlannedRequest("open", chunks[0], resume=False, final=False, resume_at=0)
        sends = [
            PlannedRequest("middle", chunks[i], resume=True, final=False, resume_at=chunks[i].start)
            for i in (*self.middle_order, *self.resends)
        ]
        close_chunk = self.close_chunk
        close = PlannedRequest("close", close_chunk, True, True, resume_at=close_chunk.start)
        if self.close_after is None:
            return (opening, *sends, close)
        k = self.close_after
        return (opening, *sends[:k], close, *sends[k:], close)

    def request_facts(self) -> tuple[RequestFacts, ...]:
        """The fault-matching facts of each planned request: which one would a fault hit."""
        facts: list[RequestFacts] = []
        middles = closes = 0
        for index, request in enumerate(self.requests(), start=1):
            middles += request.kind == "middle"
            closes += request.final
            facts.append(
                RequestFacts(
                    data_index=index,
                    middle_index=middles if request.kind == "middle" else None,
                    close_attempt=closes if request.final else None,
                    resume_at=request.resume_at,
                    is_opening=not request.resume,
                )
            )
        return tuple(facts)

    def describe(self) -> str:
        parts = [self.partition.describe(), f"middles {list(self.middle_order)}"]
        if self.resends:
            parts.append(f"resends {list(self.resends)}")
        if self.close_after is not None:
            parts.append(f"early close after {self.close_after} middle(s)")
        if self.empty_close:
            parts.append("empty close")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "partition": self.partition.to_dict(),
            "middle_order": list(self.middle_order),
            "resends": list(self.resends),
            "close_after": self.close_after,
            "empty_close": self.empty_close,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UploadSchedule:
        return cls(
            Partition.from_dict(_field(data, "partition")),
            tuple(_field(data, "middle_order")),
            tuple(data.get("resends", ())),
            data.get("close_after"),
            data.get("empty_close", False),
        )


@dataclass(frozen=True)
class ClientParams:
    """What the client under test is told: its chunk size and how many chunks in flight."""

    chunk_size: int
    concurrency: int

    def __post_init__(self) -> None:
        _require_int("chunk_size", self.chunk_size, 1)
        _require_int("concurrency", self.concurrency, 1)

    def describe(self) -> str:
        return f"chunk_size={self.chunk_size} concurrency={self.concurrency}"

    def to_dict(self) -> dict[str, Any]:
        return {"chunk_size": self.chunk_size, "concurrency": self.concurrency}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClientParams:
        return cls(_field(data, "chunk_size"), _field(data, "concurrency"))


@dataclass(frozen=True)
class UploadScenario:
    """One client-conformance case: the source file, the client's parameters, the faults."""

    source: SourceFile
    params: ClientParams
    faults: FaultPlan = field(default_factory=FaultPlan)

    def __post_init__(self) -> None:
        for name, cls in (("source", SourceFile), ("params", ClientParams), ("faults", FaultPlan)):
            if not isinstance(getattr(self, name), cls):
                raise TypeError(f"{name}={getattr(self, name)!r} is not a {cls.__name__}")

    def expected_partition(self) -> Partition:
        """How a client that cuts at multiples of its chunk size splits the source."""
        return Partition.even(self.source.size, self.params.chunk_size)

    def describe(self) -> str:
        source = f"file size={self.source.size} seed={self.source.seed}"
        return f"{source}; {self.params.describe()}; faults: {self.faults.describe()}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": {"size": self.source.size, "seed": self.source.seed},
            "params": self.params.to_dict(),
            "faults": self.faults.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UploadScenario:
        source = _field(data, "source")
        return cls(
            SourceFile(size=_field(source, "size"), seed=_field(source, "seed")),
            ClientParams.from_dict(_field(data, "params")),
            FaultPlan.from_dict(data.get("faults", {"faults": []})),
        )
