"""Strategies for whole client-conformance cases: file, client parameters, fault plan."""

from __future__ import annotations

from collections.abc import Iterable

from hypothesis import strategies as st

from conformance.content import SourceFile
from conformance.faults import FaultKind
from conformance.scenario import ClientParams, Partition, UploadScenario
from strategies._faults import ALL_FAULT_KINDS, DEFAULT_MAX_SECONDS, fault_plans
from strategies._files import (
    DEFAULT_MAX_CHUNK_SIZE,
    DEFAULT_MAX_FILE_SIZE,
    chunk_sizes,
    file_sizes,
    seeds,
)
from strategies._schedules import DEFAULT_MAX_CHUNKS
from strategies._validation import check_bool, check_float, check_int, check_kinds, check_order

__all__ = ["client_params", "upload_scenarios"]

DEFAULT_MAX_CONCURRENCY = 4


def client_params(
    *,
    min_chunk_size: int = 1,
    max_chunk_size: int = DEFAULT_MAX_CHUNK_SIZE,
    min_concurrency: int = 1,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
) -> st.SearchStrategy[ClientParams]:
    """Client parameters: a chunk size from `chunk_sizes` and a concurrency in the bounds.

    Shrinks towards `ClientParams(min_chunk_size, min_concurrency)`.
    """
    check_int("min_chunk_size", min_chunk_size, minimum=1)
    check_int("max_chunk_size", max_chunk_size, minimum=1)
    check_order("min_chunk_size", min_chunk_size, "max_chunk_size", max_chunk_size)
    sizes = chunk_sizes(min_size=min_chunk_size, max_size=max_chunk_size)
    check_int("min_concurrency", min_concurrency, minimum=1)
    check_int("max_concurrency", max_concurrency, minimum=1)
    check_order("min_concurrency", min_concurrency, "max_concurrency", max_concurrency)
    return st.builds(ClientParams, sizes, st.integers(min_concurrency, max_concurrency))


def upload_scenarios(
    *,
    max_size: int = DEFAULT_MAX_FILE_SIZE,
    min_chunk_size: int = 1,
    max_chunk_size: int = DEFAULT_MAX_CHUNK_SIZE,
    max_chunks: int = DEFAULT_MAX_CHUNKS,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    fault_kinds: Iterable[FaultKind] = ALL_FAULT_KINDS,
    max_faults: int = 2,
    allow_persistent: bool = False,
    max_fault_seconds: float = DEFAULT_MAX_SECONDS,
) -> st.SearchStrategy[UploadScenario]:
    """Client-conformance cases: client parameters, then a file, then a fault plan.

    The file size is at most min(max_size, chunk_size * max_chunks), so a small chunk size never
    means thousands of requests; it is weighted towards the chunk boundaries. Faults select
    requests of the upload a chunk-size client would make (ordinals up to its request count,
    offsets at its cut points). Shrinks towards an empty file with seed 0, chunk size
    `min_chunk_size`, concurrency 1 and no faults.
    """
    params = client_params(
        min_chunk_size=min_chunk_size,
        max_chunk_size=max_chunk_size,
        max_concurrency=max_concurrency,
    )
    check_int("max_size", max_size, minimum=0)
    check_int("max_chunks", max_chunks, minimum=1)
    kinds = check_kinds("fault_kinds", fault_kinds)
    check_int("max_faults", max_faults, minimum=0)
    check_bool("allow_persistent", allow_persistent)
    check_float("max_fault_seconds", max_fault_seconds, minimum=0.01)
    file_sizes(max_size=max_size)  # validates max_size against the content limits now
    return _scenarios(
        params_strategy=params,
        max_size=max_size,
        max_chunks=max_chunks,
        kinds=kinds,
        max_faults=max_faults,
        allow_persistent=allow_persistent,
        max_seconds=max_fault_seconds,
    )


@st.composite
def _scenarios(
    draw: st.DrawFn,
    *,
    params_strategy: st.SearchStrategy[ClientParams],
    max_size: int,
    max_chunks: int,
    kinds: tuple[FaultKind, ...],
    max_faults: int,
    allow_persistent: bool,
    max_seconds: float,
) -> UploadScenario:
    params = draw(params_strategy)
    most = min(max_size, params.chunk_size * max_chunks)
    size = draw(file_sizes(max_size=most, chunk_size=params.chunk_size))
    source = SourceFile(size=size, seed=draw(seeds()))
    cuts = Partition.even(size, params.chunk_size).cuts
    plan = fault_plans(
        kinds=kinds,
        max_faults=max_faults,
        max_requests=len(cuts) + 2,  # every chunk plus a retried close
        offsets=cuts,
        allow_persistent=allow_persistent,
        max_seconds=max_seconds,
    )
    return UploadScenario(source, params, draw(plan))
