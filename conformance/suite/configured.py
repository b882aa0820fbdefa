"""What a pytest run of the suite was asked, read through the options table.

The plugin's hooks, its fixtures and its report collector all ask pytest's config the
same questions: the run's options (`options_of`), the live account (`live_of`), whether
this is a conformance run at all, and which direction it judges. A wrong option is
pytest's usage error: one line naming it as pytest spells it (`conformance.optiontable`).

Light at import (the plugin imports it in every pytest run): the rest comes when asked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from conformance.optiontable import PYTEST, OptionError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from conformance.live import LiveTarget
    from conformance.options import RunOptions

__all__ = [
    "check",
    "dest",
    "direction",
    "is_conformance_run",
    "live_of",
    "options_of",
    "shard_lanes_of",
]


def dest(name: str) -> str:
    """Where pytest keeps the option `name` (canonical, as in the table)."""
    return PYTEST.dest(name)


def options_of(config: pytest.Config) -> RunOptions:
    from conformance.options import run_options

    try:
        return run_options(PYTEST.given(config.getoption))
    except OptionError as error:
        raise pytest.UsageError(str(error)) from None


def live_of(config: pytest.Config) -> LiveTarget | None:
    """The live account the options or `KALTURA_*` name, or None."""
    from conformance.live import live_target

    try:
        return live_target(PYTEST.given(config.getoption))
    except OptionError as error:
        raise pytest.UsageError(str(error)) from None


def check(config: pytest.Config) -> None:
    """The run's options, the client and, on the controller (which alone writes the
    reports), the baseline file and the report directory."""
    from conformance.options import writable_directory

    live_of(config)
    options = options_of(config)
    if options.shard is not None and direction(config) == "server":
        flag = PYTEST.flag("shard")
        raise pytest.UsageError(f"{flag}: shards split a client's cases; a server run is whole")
    try:
        options.client_runner()
        if not hasattr(config, "workerinput"):  # the controller writes the reports
            options.baseline_file()  # a malformed baseline: one line, before any case
            writable_directory(PYTEST.flag("report_dir"), options.report_dir)
    except OptionError as error:
        raise pytest.UsageError(str(error)) from None


def is_conformance_run(config: pytest.Config) -> bool:
    """Only a run of the conformance suite is touched; any other suite stays as it is."""
    named = any(
        "conformance.suite" in str(arg) or "conformance/suite" in str(arg) for arg in config.args
    )
    given = any(
        config.getoption(dest(name)) for name in ("client_cmd", "client", "replay", "service_url")
    )
    return named or given


def direction(config: pytest.Config) -> str:
    """What a run judges: a server (a live URL and no client), else a client."""
    client = config.getoption(dest("client_cmd")) or config.getoption(dest("client"))
    return "server" if live_of(config) is not None and not client else "client"


def shard_lanes_of(options: RunOptions, *, live: bool) -> Mapping[str, tuple[int, ...]] | None:
    """Group name -> the lanes this CI job runs (`--kaltura-shard`); None: not sharded."""
    if options.shard is None:
        return None
    from conformance.suite.groups import runnable
    from conformance.suite.sharding import shard_lanes

    groups = runnable(requirements=options.requirements, live=live)
    return shard_lanes(groups, options.profile_settings.examples, options.shard)
