"""A realistic results document: failures, a non-strict SHOULD, not-exercised requirements,
harness errors, hostile text (`<script>`, `|`, ANSI colours, backticks) in messages."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import pytest

from reports import ResultsBuilder

RUN: dict[str, Any] = {
    "tool_version": "0.1.0",
    "started_at": "2026-11-24T16:00:00Z",
    "duration_s": 12.3,
    "direction": "client",
    "target": "command 'node upload.js {file}'",
    "endpoint": "loopback http://127.0.0.1:41234",
    "profile": "default",
    "hypothesis_seed": "12345",
    "strict": False,
    "requirements_selected": None,
    "python": "3.11.7",
    "platform": "Linux-6.1-x86_64",
    "workers": 2,
}

REQUIREMENTS = [
    ("UT-C01", "MUST", "Every data request names an upload token that exists."),
    (
        "UT-C10",
        "MUST",
        "The closing request is sent only after every other data request was acknowledged.",
    ),
    (
        "UT-C17",
        "SHOULD",
        "A data request that failed transiently is re-sent with the same `resumeAt` and payload.",
    ),
    (
        "UT-C18",
        "SHOULD",
        "On `UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE` the client re-sends "
        "the identical closing request.",
    ),
    ("UT-C19", "SHOULD", "When the closing request's response is lost, the client re-sends it."),
    ("UT-C22", "INFORMATIONAL", "Shape of the upload: number of requests, chunk sizes."),
]
HOSTILE = (
    "request #7 <script>alert(1)</script> | col & `a|b` sent while requests [5, 6] were in flight"
)
REPLAY = "kaltura-conformance run --client-cmd 'node upload.js {file}' --replay '{\"seed\": 7}'"


def _case(name: str, description: str, verdicts: dict[str, str], **more: Any) -> dict[str, Any]:
    return {
        "test": f"test_client_conformance[{name}]",
        "description": description,
        "scenario": {"size": 10485760, "chunks": 10, "faults": []},
        "client": {
            "succeeded": True,
            "timed_out": False,
            "duration": 0.41,
            "detail": "exit code 0",
        },
        "verdicts": verdicts,
        "trace": {"requests": 12, "data_requests": 10, "faults_fired": [], "token_id": "0_ab"},
        "replay": REPLAY,
        **more,
    }


CASES: list[dict[str, Any]] = [
    _case(
        "plain",
        "10485760 B in 10 chunks, sequential",
        {
            "UT-C01": "PASS",
            "UT-C10": "PASS",
            "UT-C17": "NOT-EXERCISED",
            "UT-C18": "NOT-EXERCISED",
            "UT-C22": "INFORMATIONAL",
        },
        observations={"UT-C22": {"requests": 12, "chunk_size_max": 1048576, "client": "node"}},
    ),
    _case(
        "early-close",
        "10485760 B in 10 chunks, 4 in parallel, close answered CANNOT_MATCH once",
        {
            "UT-C01": "PASS",
            "UT-C10": "FAIL",
            "UT-C17": "NON-STRICT",
            "UT-C18": "NOT-EXERCISED",
            "UT-C22": "INFORMATIONAL",
        },
        breaches={"UT-C10": [HOSTILE], "UT-C17": ["request #4 failed and was never re-sent"]},
        observations={"UT-C22": {"requests": 15, "chunk_size_max": 1048576, "client": "node"}},
        client={
            "succeeded": False,
            "timed_out": False,
            "duration": 1.5,
            "detail": "exit code 1; output: \x1b[31mError\x1b[0m: boom <b>",
        },
    ),
    _case(
        "faults",
        "0 B in 1 chunk, the close's response dropped",
        dict.fromkeys(("UT-C01", "UT-C10", "UT-C17", "UT-C19", "UT-C22"), "HARNESS-ERROR"),
        breaches={"UT-C01": ["client command not found: node"]},
        client={
            "succeeded": False,
            "timed_out": False,
            "duration": 0.0,
            "detail": "client command not found: node",
        },
        replay=None,
    ),
]


@dataclass(frozen=True)
class Sample:
    """The realistic data, fresh copies each time, and ways to build documents from it."""

    run: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(RUN))
    requirements: list[tuple[str, str, str]] = field(default_factory=lambda: list(REQUIREMENTS))
    cases: list[dict[str, Any]] = field(default_factory=lambda: copy.deepcopy(CASES))
    hostile: str = HOSTILE
    replay: str = REPLAY

    def builder(
        self, *, requirements: list[tuple[str, str, str]] | None = None, **run: Any
    ) -> ResultsBuilder:
        """A builder with the run (overridden by `run`) and the requirements registered
        (the sample's unless given)."""
        builder = ResultsBuilder({**self.run, **run})
        for requirement in self.requirements if requirements is None else requirements:
            builder.add_requirement(*requirement)
        return builder

    def build(self, cases: list[dict[str, Any]] | None = None, **run: Any) -> dict[str, Any]:
        builder = self.builder(**run)
        builder.add_cases(copy.deepcopy(self.cases if cases is None else cases))
        return builder.build()


@pytest.fixture
def sample() -> Sample:
    return Sample()


@pytest.fixture
def doc(sample: Sample) -> dict[str, Any]:
    """A fresh realistic document (tests may mutate it)."""
    return sample.build()
