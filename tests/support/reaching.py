"""Hypothesis helpers shared by the test folders (on pytest's pythonpath)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, cast

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

__all__ = ["reaches"]

T = TypeVar("T")


class FoundError(Exception):
    def __init__(self, value: object) -> None:
        super().__init__("found")
        self.value = value


def reaches(strategy: st.SearchStrategy[T], condition: Callable[[T], bool]) -> T:
    """Some example satisfying `condition`, unshrunk (cheap); fails the test if none turns up."""

    @settings(max_examples=2000, deadline=None, phases=[Phase.generate], database=None)
    @given(strategy)
    def search(value: T) -> None:
        if condition(value):
            raise FoundError(value)

    try:
        search()
    except FoundError as found:
        return cast(T, found.value)
    pytest.fail("no example satisfied the condition")
