"""Shards: one run split across CI jobs (`--shard I/N`), each running a share of the cases.

The unit dealt out is a lane (`Group.lane_count`, `lanes`): one Hypothesis run with a
seed of its own (the run's seed plus the lane's number) drawing a share of one group's
examples, one after another. What a lane draws depends on its seed, the options and the
client's chunk only, never on which other lanes run beside it; so jobs that each run whole
lanes draw exactly the cases of the unsharded run, and their results merged
(`kaltura-conformance merge`, `reports.merge`) are that run's, case for case. Cutting
inside a lane would not be: Hypothesis draws a lane's cases in sequence from one seed.

Lanes are dealt by expected cost (`Group.case_seconds` times the examples a lane draws):
the costliest first, each to the least loaded job, ties by order. Nothing random, so every
job computes the same deal; and greedy dealing keeps any two jobs' loads within the cost
of one lane of each other (`balance_bound`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from conformance.optiontable import ShardSpec
from conformance.suite.groups import Group

__all__ = ["Lane", "balance_bound", "deal", "lanes_of", "shard_lanes"]


@dataclass(frozen=True)
class Lane:
    """Lane `index` of group `group`, and what it is expected to cost (seconds)."""

    group: str
    index: int
    cost: float


def lanes_of(groups: Sequence[Group], examples: int) -> list[Lane]:
    """Every lane of a run of these groups, `examples` cases a group, in group order."""
    return [
        Lane(group.name, index, group.case_seconds * group.lane_examples(examples))
        for group in groups
        for index in range(group.lane_count(examples))
    ]


def deal(costs: Sequence[float], count: int) -> list[list[int]]:
    """The positions of `costs` each of `count` jobs runs: every position in exactly one
    job, the costliest first to the least loaded job (ties: the lower position, the lower
    job). Deterministic; each job's positions ascending."""
    if count < 1:
        raise ValueError(f"count={count} must be >= 1")
    loads = [0.0] * count
    jobs: list[list[int]] = [[] for _ in range(count)]
    for position in sorted(range(len(costs)), key=lambda p: (-costs[p], p)):
        job = min(range(count), key=lambda j: (loads[j], j))
        loads[job] += costs[position]
        jobs[job].append(position)
    return [sorted(positions) for positions in jobs]


def balance_bound(costs: Sequence[float]) -> float:
    """How far apart two jobs' loads may be after `deal`: the cost of the costliest item.

    Each item goes to the least loaded job, so whenever the most loaded job grows, it ends
    at most one item above the least loaded one; and the least loaded only grows."""
    return max(costs, default=0.0)


def shard_lanes(
    groups: Sequence[Group], examples: int, shard: ShardSpec | None
) -> Mapping[str, tuple[int, ...]]:
    """Group name -> the lane numbers this job runs (every lane when not sharded)."""
    lanes = lanes_of(groups, examples)
    mine = (
        range(len(lanes))
        if shard is None
        else deal([lane.cost for lane in lanes], shard.count)[shard.index - 1]
    )
    chosen: dict[str, tuple[int, ...]] = {group.name: () for group in groups}
    for position in mine:
        lane = lanes[position]
        chosen[lane.group] = (*chosen[lane.group], lane.index)
    return MappingProxyType(chosen)
