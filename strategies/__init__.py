"""Hypothesis strategies for the Kaltura chunked-upload conformance suite.

House style (after Hypothesis itself): plural-noun functions, keyword-only `min_*`/`max_*`
arguments checked at call time (`InvalidArgument` echoing `name=value`), and every docstring
says what the strategy shrinks towards. Files are drawn as a size and a seed, never as bytes;
partitions as sorted cut points; orderings as permutations (shrinking back to in order).
"""

from __future__ import annotations

from strategies._faults import ALL_FAULT_KINDS, fault_plans, faults, selectors
from strategies._files import (
    DEFAULT_LARGE_SIZES,
    DEFAULT_MAX_MULTIPLE,
    chunk_sizes,
    file_sizes,
    seeds,
    source_files,
)
from strategies._scenarios import client_params, upload_scenarios
from strategies._schedules import orderings, partitions, upload_schedules

__all__ = [
    "ALL_FAULT_KINDS",
    "DEFAULT_LARGE_SIZES",
    "DEFAULT_MAX_MULTIPLE",
    "chunk_sizes",
    "client_params",
    "fault_plans",
    "faults",
    "file_sizes",
    "orderings",
    "partitions",
    "seeds",
    "selectors",
    "source_files",
    "upload_scenarios",
    "upload_schedules",
]
