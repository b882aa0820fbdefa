"""A case as the reports record it: its result, the command that replays it exactly, and,
for the failing case a lane reports, how its shrink went; and the run's options a case
needs to be run again (`case_options`)."""

from __future__ import annotations

import json
import shlex
from typing import Any

from conformance.options import RunOptions
from conformance.runner import CaseResult
from conformance.scenario import UploadScenario
from conformance.suite.shrinking import ShrinkReport
from conformance.suite.timeline import case_timeline

__all__ = ["case_options", "case_record", "replay_command"]


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


def case_options(options: RunOptions) -> dict[str, Any]:
    """How a case ran, beyond its scenario: the results' `run.options`, from which
    `kaltura-conformance replay` runs a saved case again exactly."""
    return {
        "client_cmd": options.client_cmd,
        "client": options.client,
        "time_limit": options.case_time_limit,
        "final_wait": options.final_wait,
        "client_chunk_size": options.client_chunk_size,
        "in_process": options.in_process,
    }


def case_record(
    result: CaseResult, options: RunOptions, shrink: ShrinkReport | None = None
) -> dict[str, Any]:
    """Plain JSON data for the reports (it crosses xdist in the test reports)."""
    case = result.to_dict()
    case["replay"] = replay_command(options, result.scenario)
    # Every case carries its timeline; the results builder keeps those the reports draw.
    case["timeline"] = case_timeline(result.evidence, result.results)
    if shrink is not None:  # only the reported failing case of a lane has one
        case["shrink"] = shrink.to_dict()
    return case
