"""Hypothesis profiles and a printed, replayable seed for the project's own tests.

Every run forces one Hypothesis seed and prints it in the header, so any run can be
replayed exactly with `--hypothesis-seed=N`; failing examples are also kept in the
example database (`.hypothesis/`) and printed as `@reproduce_failure` blobs.
"""

from __future__ import annotations

import os
import random

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=50, deadline=None, print_blob=True)
settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", max_examples=1000, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Choose the run's seed before Hypothesis's own plugin reads the option."""
    if config.getoption("hypothesis_seed", None) is None:
        seed = os.environ.get("HYPOTHESIS_SEED") or str(random.SystemRandom().randrange(2**32))
        config.option.hypothesis_seed = seed


def pytest_report_header(config: pytest.Config) -> str:
    seed = config.getoption("hypothesis_seed")
    profile = settings.get_current_profile_name()
    return f"hypothesis seed: {seed} (replay: --hypothesis-seed={seed}), profile: {profile}"
