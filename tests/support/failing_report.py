"""A results document from real cases, quickly: a mutant client (`tests/clients/mutants.py`)
uploads to a loopback endpoint through `CaseRunner`, once broken and once not, and the
suite's own case records (timeline included) go through the results builder. Used by the
browser test and by `docs/report_screenshot.py`.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from loopback import loopback_endpoint

from conformance.clients.runners import CallableClient
from conformance.content import SourceFile
from conformance.options import RunOptions
from conformance.reporting import build_results
from conformance.runner import CaseRunner
from conformance.scenario import ClientParams, UploadScenario
from conformance.suite.records import case_record

__all__ = ["failing_document", "mutants_module"]

_MUTANTS = Path(__file__).resolve().parents[1] / "clients" / "mutants.py"
CHUNK = 8192
SOURCE = SourceFile(5 * CHUNK + 3000, 20261203)
# Byte 8192 is never sent at its place and the middles overlap: UT-C07 and more fail.
BUG = "middles_off_by_one"


def mutants_module() -> ModuleType:
    name = "tests_clients_mutants"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, _MUTANTS)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while it loads
        spec.loader.exec_module(module)
    return sys.modules[name]


def failing_document(concurrency: int = 2) -> dict[str, Any]:
    """A client run's results: one failing case of `BUG` and one passing case."""
    mutants = mutants_module()
    options = RunOptions(client_cmd="python3 my_uploader.py {file}")
    scenario = UploadScenario(SOURCE, ClientParams(CHUNK, concurrency))
    records = []
    with loopback_endpoint(0.2) as server:
        for bug in (mutants.Bug(BUG), None):
            client = CallableClient(mutants.mutant(bug))
            runner = CaseRunner(server.endpoint, server.url, client, time_limit=30.0)
            record = case_record(runner.run(scenario), options)
            name = f"test_client_conformance[{'broken' if bug else 'fine'}]"
            records.append({"test": name, **record})
    return build_results(
        records,
        direction="client",
        target="command 'python3 my_uploader.py {file}'",
        profile="quick",
        seed="1",
        strict=False,
        selected=None,
        started_at=time.time(),
        workers=1,
    )
