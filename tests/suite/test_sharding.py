"""Shards across CI jobs (`conformance.suite.sharding`): how lanes are dealt, and the
`--shard I/N` option in both front ends. The whole-run equivalence (jobs merged equal the
unsharded run, case for case) is an e2e test in `test_run_command.py`."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.cli import main
from conformance.optiontable import PROFILES, ShardSpec
from conformance.suite.groups import GROUPS
from conformance.suite.sharding import balance_bound, deal, lanes_of, shard_lanes

costs_lists = st.lists(st.floats(0, 100, allow_nan=False), max_size=40)
counts = st.integers(1, 12)


@given(costs_lists, counts)
def test_every_item_is_dealt_to_exactly_one_job(costs: list[float], count: int) -> None:
    jobs = deal(costs, count)
    assert len(jobs) == count
    dealt = sorted(position for job in jobs for position in job)
    assert dealt == list(range(len(costs)))
    assert all(job == sorted(job) for job in jobs)


@given(costs_lists, counts)
def test_the_deal_is_deterministic_and_balanced_within_one_item(
    costs: list[float], count: int
) -> None:
    jobs = deal(costs, count)
    assert deal(list(costs), count) == jobs
    loads = [sum(costs[p] for p in job) for job in jobs]
    assert max(loads) - min(loads) <= balance_bound(costs) + 1e-9


@given(st.lists(st.floats(0.001, 100, allow_nan=False), min_size=1, max_size=40), counts)
def test_no_job_is_idle_while_there_are_items_enough(costs: list[float], count: int) -> None:
    jobs = deal(costs, count)
    assert sum(1 for job in jobs if job) == min(count, len(costs))


@pytest.mark.parametrize("profile", sorted(PROFILES))
@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_the_real_lanes_split_into_whole_lanes_of_each_group(profile: str, count: int) -> None:
    examples = PROFILES[profile].examples
    every = {(lane.group, lane.index) for lane in lanes_of(GROUPS, examples)}
    seen: list[tuple[str, int]] = []
    for index in range(1, count + 1):
        mine = shard_lanes(GROUPS, examples, ShardSpec(index, count))
        seen += [(group, lane) for group, lanes in mine.items() for lane in lanes]
    assert sorted(seen) == sorted(every)  # total and disjoint
    whole = shard_lanes(GROUPS, examples, None)
    assert {(g, lane) for g, lanes in whole.items() for lane in lanes} == every


def test_the_default_run_splits_in_three_jobs_of_similar_cost() -> None:
    lanes = lanes_of(GROUPS, PROFILES["default"].examples)
    jobs = deal([lane.cost for lane in lanes], 3)
    loads = sorted(sum(lanes[p].cost for p in job) for job in jobs)
    print(f"default profile, 3 jobs: expected seconds {loads}")  # a figure, not a timing
    assert loads[-1] - loads[0] <= balance_bound([lane.cost for lane in lanes])


@pytest.mark.parametrize(
    ("text", "spec"),
    [("1/1", ShardSpec(1, 1)), ("2/3", ShardSpec(2, 3)), (" 3/3", ShardSpec(3, 3))],
)
def test_a_shard_is_read_as_i_of_n(text: str, spec: ShardSpec) -> None:
    assert ShardSpec.parse(text) == spec
    assert ShardSpec.parse(str(spec)) == spec


@pytest.mark.parametrize("text", ["0/3", "4/3", "1/0", "2", "a/b", "-1/3", "1/3/5", ""])
def test_a_wrong_shard_is_one_line_naming_the_option_exit_2(
    text: str, capsys: pytest.CaptureFixture[str], tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(str(tmp_path))
    assert main(["run", "--profile", "quick", f"--shard={text}"]) == 2
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    assert "--shard" in lines[0]


def test_a_replay_or_a_server_run_is_not_sharded(
    capsys: pytest.CaptureFixture[str], tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(str(tmp_path))
    replay = '{"source":{"size":1,"seed":1},"params":{"chunk_size":1,"concurrency":1}}'
    assert main(["run", "--shard", "1/2", "--replay", replay]) == 2
    assert "--shard and --replay" in capsys.readouterr().out
    server = ["--service-url", "http://127.0.0.1:9", "--partner-id", "5", "--ks", "k"]
    assert main(["run", "--shard", "1/2", *server]) == 2
    assert "--shard: shards split a client's cases" in capsys.readouterr().out
