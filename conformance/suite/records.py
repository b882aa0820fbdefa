"""A case as the reports record it: its result, the command that replays it exactly, and,
for the failing case a lane reports, how its shrink went."""

from __future__ import annotations

import json
import shlex
from typing import Any

from conformance.options import RunOptions
from conformance.runner import CaseResult
from conformance.scenario import UploadScenario
from conformance.suite.shrinking import ShrinkReport

__all__ = ["case_record", "replay_command"]


def replay_command(options: RunOptions, scenario: UploadScenario) -> str:
    target = (
        f"--client-cmd {shlex.quote(options.client_cmd)}"
        if options.client_cmd
        else f"--client {options.client}"
        if options.client
        else ""
    )
    scenario_json = shlex.quote(json.dumps(scenario.to_dict(), separators=(",", ":")))
    return f"kaltura-conformance run {target} --replay {scenario_json}".replace("  ", " ")


def case_record(
    result: CaseResult, options: RunOptions, shrink: ShrinkReport | None = None
) -> dict[str, Any]:
    """Plain JSON data for the reports (it crosses xdist in the test reports)."""
    case = result.to_dict()
    case["replay"] = replay_command(options, result.scenario)
    if shrink is not None:  # only the reported failing case of a lane has one
        case["shrink"] = shrink.to_dict()
    return case
