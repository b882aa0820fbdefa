"""The case groups with a client's own chunk size: every job asks for it, files are drawn
around it (up to the profile's number of its chunks), and concurrency is still drawn."""

from __future__ import annotations

from typing import TypeVar

import pytest
from hypothesis import given, settings
from reaching import reaches

from conformance.options import PROFILES
from conformance.scenario import UploadScenario
from conformance.suite.groups import GROUPS, Group, Limits

T = TypeVar("T")
C = 10_000_000  # a client's own 10 MB chunk
CHUNKS = 6
OWN = Limits(client_chunk=C, max_client_chunks=CHUNKS)
PLAIN = next(group for group in GROUPS if group.name == "plain")
FAULTED = [group for group in GROUPS if group.kinds]


@pytest.mark.parametrize("group", GROUPS, ids=lambda group: group.name)
def test_every_job_asks_the_clients_own_chunk_and_files_stay_in_bounds(group: Group) -> None:
    least = 2 * C + 1 if group.kinds else 0  # fault groups: at least three chunks

    @settings(max_examples=60, deadline=None, database=None)
    @given(group.scenarios(OWN))
    def bounded(scenario: UploadScenario) -> None:
        assert scenario.params.chunk_size == C
        assert least <= scenario.source.size <= CHUNKS * C

    bounded()


@pytest.mark.parametrize(
    "size", [0, 1, C - 1, C, C + 1, 2 * C + 1, 4 * C - 1, 5 * C, 5 * C + 1, 6 * C - 1, 6 * C]
)
def test_plain_files_reach_every_boundary_of_the_clients_chunk(size: int) -> None:
    found = reaches(PLAIN.scenarios(OWN), lambda s: s.source.size == size)
    assert found.source.size == size


@pytest.mark.parametrize("group", FAULTED, ids=lambda group: group.name)
def test_fault_groups_reach_three_chunks_and_the_largest_file(group: Group) -> None:
    for size in (2 * C + 1, 3 * C, 6 * C):
        reaches(group.scenarios(OWN), lambda s, size=size: s.source.size == size)


def test_concurrency_is_still_drawn() -> None:
    for concurrency in (1, OWN.max_concurrency):
        reaches(PLAIN.scenarios(OWN), lambda s, n=concurrency: s.params.concurrency == n)


def test_sizes_between_the_boundaries_are_drawn_too() -> None:
    boundaries = {k * C + d for k in range(CHUNKS + 1) for d in (-1, 0, 1)} | {1}
    reaches(PLAIN.scenarios(OWN), lambda s: s.source.size not in boundaries)


def test_without_a_clients_chunk_the_chunk_size_is_drawn() -> None:
    reaches(PLAIN.scenarios(Limits()), lambda s: s.params.chunk_size > 1)
    reaches(PLAIN.scenarios(Limits()), lambda s: s.params.chunk_size == 1)


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_limits_for_a_profile(name: str) -> None:
    profile = PROFILES[name]
    limits = Limits.for_profile(profile, final_wait=0.5, client_chunk=C)
    assert limits == Limits(
        max_size=profile.max_size,
        max_chunk_size=profile.max_chunk_size,
        final_wait=0.5,
        client_chunk=C,
        max_client_chunks=profile.max_client_chunks,
    )
    assert Limits.for_profile(profile, final_wait=0.2, client_chunk=None).client_chunk is None


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [({"client_chunk": 0}, "client_chunk=0"), ({"max_client_chunks": 0}, "max_client_chunks=0")],
)
def test_limits_refuse_an_empty_chunk(kwargs: dict[str, int], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        Limits(**kwargs)  # type: ignore[arg-type]
