"""The results document (schema v1): its shape, its validation, and loading it from disk.

A results document is plain JSON data (dicts with string keys, lists, strings, finite
numbers, booleans, null; no tuples, no enums, no lone surrogates):

- `schema`: exactly `SCHEMA_ID`.
- `run`: exactly these fields: `tool_version`, `started_at` (RFC 3339 with a zone, e.g.
  `2026-11-24T16:00:00Z`), `duration_s` (>= 0), `direction` (`client` | `server`),
  `target`, `endpoint` (non-empty text), `profile` (`PROFILES`), `hypothesis_seed` (text or
  null), `strict` (bool), `requirements_selected` (IDs or null; each must have an entry in
  `requirements`), `python`, `platform`, `workers` (>= 1; 1 without xdist); optionally
  `require_exercised` (bool: a MUST that no case exercised fails the run; true whenever
  `strict` is) and `client_chunk` (`{bytes: integer >= 1 or null, how: text}`, the chunk
  size the cases were drawn around and how it was chosen; or null) and `interrupted` (bool:
  SIGINT or SIGTERM stopped the run; the cases are those that finished before) and
  `options` (how a client run's cases ran, beyond their scenarios, so that `replay` runs
  one again exactly: `client_cmd` and `client` (text or null: the client under test; both
  null for the reference client), `time_limit` and `final_wait` (seconds >= 0),
  `client_chunk_size` (bytes >= 1 or null), `in_process` (bool)) and
  `baseline` (the known failures the run was judged with, `--baseline`: `path` text,
  `strict` bool (`--strict-baseline`: a listed requirement that passes fails the run),
  `entries`, each `id`, `reason` (non-empty), `expires` (`YYYY-MM-DD`) and optionally
  `lines` (first and last line of its table in the file); IDs unique) and `shard`
  (`{index, count}`, integers with 1 <= index <= count: the run was CI job `index` of
  `count`, `--shard I/N`, and holds that job's share of the cases only) and `merged`
  (`{count, shards, missing}`: the document joins the results of CI jobs of one sharded
  run, `kaltura-conformance merge`; `count` the jobs of the run, `shards` the job indices
  joined, `missing` those absent (`--allow-partial`), both ascending, together exactly 1 to
  `count`; a document has `shard` or `merged`, not both).
- `requirements`: one entry per requirement of the run's direction (UT-C… for `client`,
  UT-S… for `server`), IDs unique: `id`, `level`, `rule`, `verdict`, `counts` (all six
  verdicts), `failing_cases` (ascending indices of the cases where it was FAIL or
  NON-STRICT), `messages` (at most 5), `observations` (an object); optionally `baseline`
  (what `run.baseline` says of it: `status` `known` | `fixed` | `expired`, `reason`,
  `expires`; present exactly when `reports.known.requirement_baseline` gives one, from its
  verdict and the day of `run.started_at`). `counts`, `verdict` and `failing_cases` must
  agree with the cases (`aggregate_verdict`).
- `cases`: `index` (= its position in the list), `test`, `description`, `scenario`
  (an object), `client` (`succeeded`, `timed_out`, `duration`, `detail`; or null),
  `verdicts` ({ID: verdict}, each ID in `requirements`, each verdict possible for the
  level), `breaches` and `observations` ({ID: …}, only IDs with a verdict in the case),
  `trace` (an open object; `requests`, `data_requests`, `faults_fired`, `token_id` typed when
  present), `replay` (a command or null), optionally `shrink` (how the failing case was
  shrunk: `status` `shrunk` | `cut` | `not-shrunk` | `off`, `steps` >= 0, `seconds` >= 0,
  `reason` text; or null), optionally `timeline` (below). No other fields.
- `cases[].timeline` (optional; kept for every case with a FAIL, NON-STRICT or
  HARNESS-ERROR verdict and a sample of the others, `reports.timelines.drawn_cases`):
  optionally `axis` (`seconds`, the default, or `steps`: a server run's driver sends one
  request at a time and `sent`/`answered` count steps); `requests`, one per request of the
  case in arrival order, at most 200 (`omitted` >= 0 counts the rest): `id` (the trace's
  exchange id >= 0, unique), `sent` and `answered` (seconds >= 0 from the case's first
  request; `answered` null when no answer was sent, never before `sent`), `connection`
  (text), `call` (`service.action`), `role` (`opening`, `middle`, `close`, `whole` for a
  data request, else the action; a server run's step: the driver's request in words),
  `resume`, `final_chunk` (bool or null: not sent), `resume_at` (a number or null),
  `length` (payload bytes or null), `answer` (`ok` | `error`: a Kaltura error object |
  `http-error` | `reset` | `dropped` | `none`), `code` (text or null), `http_status`
  (integer >= 0 or null), `fault` (what fired on it, text or null), `params` (text to
  text: the request's parameters, cut short, no credential), optionally `disagreed`
  (`server`, `model`: text, where a server run's answer differed from the model's
  prediction); `evidence` ({ID: [exchange ids]}: the requests each broken requirement's
  breaches name; each ID must have a verdict in the case); `bytes` (or null): `size` (the
  file's bytes), `ranges` (`start`, `end`, `kind`: `acknowledged` | `re-sent` |
  `overlapping` | `sent` | `never-sent`; consecutive, non-empty, from 0 to `size`), `held`
  (the bytes the token finally holds, or null), `full` (bool).
- `summary`: `cases`, `must_failed` (MUST requirements that FAIL), `should_failed` (SHOULD
  requirements that are NON-STRICT), `harness_errors` (cases with any HARNESS-ERROR
  verdict), `exit_code` (`exit_code(doc, run.strict, run.require_exercised)`: 0, 1 or 3;
  a `known` requirement does not count, an `expired` one, or a `fixed` one under a strict
  baseline, is 1);
  optionally `must_not_exercised` (IDs of the MUST requirements that are NOT-EXERCISED,
  in requirement order) and `not_exercised_causes` (their likely causes, as text: at least
  one when any MUST was not exercised, none otherwise; the wording is not checked, so a
  saved document stays valid when it changes).
- optionally `disagreements` (a client run through the proxy in front of a real server):
  one entry per request the server answered otherwise than the reference model predicted,
  `case` (a case index), `exchange_id` (>= 0), `request`, `server`, `model` (text); the
  same entries as the cases' `trace.disagreements` (`reports.disagreements`).
- optionally `replay` (the run of `kaltura-conformance replay`: a saved run's failing cases
  run again, `reports.replay`): `from` (the saved results file), `times` (>= 1), `cases`,
  one per distinct failing scenario of the saved run: `saved_cases` (its indices there),
  `requirements` (the IDs it broke there), `runs` (indices of this document's cases that
  ran it again), `passed` and `failed` (how many of those runs had no FAIL, NON-STRICT or
  HARNESS-ERROR verdict, and how many had one), `status` (`FIXED`: passed every time,
  `FAILED`: failed every time, `FLAKY`: some of each); `requirements`, one per ID broken in
  a saved case: `id`, `passed`, `failed` (runs of those cases where it did not break, did),
  `status`. Counts and statuses must agree with the cases; `summary.exit_code` of such a
  document is 0 when every case is FIXED, else 1.

Documents written before the optional fields existed stay valid, and keep their exit code:
without `run.require_exercised` an unexercised MUST does not fail the run.

`ResultsBuilder` (reports.collect) produces exactly this. `validate` reports every problem,
one line each, starting with its JSON path, in three passes (JSON data at all, then shape,
then agreement of the derived fields); a pass runs only when the one before found nothing,
so one mistake is not reported three times.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, Final

from reports import rules
from reports.consistency import consistency_problems
from reports.paths import ROOT, key, walk
from reports.timelines import TIMELINE
from reports.verdicts import (
    BASELINED,
    LEVELS,
    ORDER,
    REPLAYED,
    Level,
    Verdict,
    aggregate_verdict,
    exit_code,
)

__all__ = [
    "ORDER",
    "PROFILES",
    "REQUIREMENT_ID",
    "SCHEMA_ID",
    "SHRINK_STATUSES",
    "Level",
    "ReportError",
    "Verdict",
    "aggregate_verdict",
    "check",
    "exit_code",
    "load",
    "shape_problems",
    "validate",
]

SCHEMA_ID: Final = "kaltura-upload-conformance/results/1"
PROFILES: Final = ("quick", "default", "thorough")
REQUIREMENT_ID: Final = r"UT-[CS]\d{2,}"
_SURROGATE = re.compile("[\ud800-\udfff]")


class ReportError(ValueError):
    """A results document (or file) is not valid; the message is one line."""


_ID = rules.matching(REQUIREMENT_ID, "a requirement ID like UT-C01")
_VERDICT = rules.one_of(*ORDER)
SHRINK_STATUSES: Final = ("shrunk", "cut", "not-shrunk", "off")

_RUN = {
    "tool_version": rules.NONEMPTY,
    "started_at": rules.TIMESTAMP,
    "duration_s": rules.DURATION,
    "direction": rules.one_of("client", "server"),
    "target": rules.NONEMPTY,
    "endpoint": rules.NONEMPTY,
    "profile": rules.one_of(*PROFILES),
    "hypothesis_seed": rules.nullable(rules.NONEMPTY),
    "strict": rules.BOOL,
    "requirements_selected": rules.nullable(rules.list_of(_ID)),
    "python": rules.NONEMPTY,
    "platform": rules.NONEMPTY,
    "workers": rules.POSITIVE,
    "require_exercised": rules.BOOL,
    "client_chunk": rules.nullable(
        rules.obj({"bytes": rules.nullable(rules.POSITIVE), "how": rules.NONEMPTY})
    ),
    "interrupted": rules.BOOL,
    "options": rules.obj(
        {
            "client_cmd": rules.nullable(rules.NONEMPTY),
            "client": rules.nullable(rules.NONEMPTY),
            "time_limit": rules.DURATION,
            "final_wait": rules.DURATION,
            "client_chunk_size": rules.nullable(rules.POSITIVE),
            "in_process": rules.BOOL,
        }
    ),
    "baseline": rules.obj(
        {
            "path": rules.NONEMPTY,
            "strict": rules.BOOL,
            "entries": rules.list_of(
                rules.obj(
                    {
                        "id": _ID,
                        "reason": rules.NONEMPTY,
                        "expires": rules.DATE,
                        "lines": rules.list_of(rules.POSITIVE, most=2),
                    },
                    optional=("lines",),
                )
            ),
        }
    ),
    "shard": rules.obj({"index": rules.POSITIVE, "count": rules.POSITIVE}),
    "merged": rules.obj(
        {
            "count": rules.POSITIVE,
            "shards": rules.list_of(rules.POSITIVE),
            "missing": rules.list_of(rules.POSITIVE),
        }
    ),
}
# Fields added after the first documents were written: absent from those.
_RUN_OPTIONAL = (
    "require_exercised",
    "client_chunk",
    "interrupted",
    "options",
    "baseline",
    "shard",
    "merged",
)
_REQUIREMENT = {
    "id": _ID,
    "level": rules.one_of(*LEVELS),
    "rule": rules.NONEMPTY,
    "verdict": _VERDICT,
    "counts": rules.obj(dict.fromkeys(ORDER, rules.COUNT)),
    "failing_cases": rules.list_of(rules.COUNT),
    "messages": rules.list_of(rules.STRING, most=5),
    "observations": rules.OBJECT,
    "baseline": rules.obj(
        {"status": rules.one_of(*BASELINED), "reason": rules.NONEMPTY, "expires": rules.DATE}
    ),
}
_CLIENT = {
    "succeeded": rules.BOOL,
    "timed_out": rules.BOOL,
    "duration": rules.DURATION,
    "detail": rules.STRING,
}
# The trace is open for what later endpoints record; the fields below are typed when present.
_TRACE = {
    "requests": rules.COUNT,
    "data_requests": rules.COUNT,
    "faults_fired": rules.list_of(rules.STRING),
    "token_id": rules.nullable(rules.STRING),
}
_CASE = {
    "index": rules.COUNT,
    "test": rules.NONEMPTY,
    "description": rules.STRING,
    "scenario": rules.OBJECT,
    "client": rules.nullable(rules.obj(_CLIENT)),
    "verdicts": rules.map_of(_ID, _VERDICT),
    "breaches": rules.map_of(_ID, rules.list_of(rules.STRING)),
    "observations": rules.map_of(_ID, rules.OBJECT),
    "trace": rules.obj(_TRACE, optional=_TRACE, extra=True),
    "replay": rules.nullable(rules.NONEMPTY),
    "shrink": rules.nullable(
        rules.obj(
            {
                "status": rules.one_of(*SHRINK_STATUSES),
                "steps": rules.COUNT,
                "seconds": rules.DURATION,
                "reason": rules.STRING,
            }
        )
    ),
    "timeline": TIMELINE,
}
_SUMMARY = {
    "cases": rules.COUNT,
    "must_failed": rules.COUNT,
    "should_failed": rules.COUNT,
    "harness_errors": rules.COUNT,
    "exit_code": rules.one_of(0, 1, 3),
    "must_not_exercised": rules.list_of(_ID),
    "not_exercised_causes": rules.list_of(rules.NONEMPTY),
}
_DISAGREEMENT = {
    "case": rules.COUNT,
    "exchange_id": rules.COUNT,
    "request": rules.STRING,
    "server": rules.STRING,
    "model": rules.STRING,
}
_REPLAY_COUNTS = {
    "passed": rules.COUNT,
    "failed": rules.COUNT,
    "status": rules.one_of(*REPLAYED),
}
_REPLAY = {
    "from": rules.NONEMPTY,
    "times": rules.POSITIVE,
    "cases": rules.list_of(
        rules.obj(
            {
                "saved_cases": rules.list_of(rules.COUNT),
                "requirements": rules.list_of(_ID),
                "runs": rules.list_of(rules.COUNT),
                **_REPLAY_COUNTS,
            }
        )
    ),
    "requirements": rules.list_of(rules.obj({"id": _ID, **_REPLAY_COUNTS})),
}
_DOCUMENT = {
    "schema": rules.STRING,
    "run": rules.obj(_RUN, optional=_RUN_OPTIONAL),
    "requirements": rules.list_of(rules.obj(_REQUIREMENT, optional=("baseline",))),
    "cases": rules.list_of(rules.obj(_CASE, optional=("shrink", "timeline"))),
    "summary": rules.obj(_SUMMARY, optional=("must_not_exercised", "not_exercised_causes")),
    "disagreements": rules.list_of(rules.obj(_DISAGREEMENT)),
    "replay": rules.obj(_REPLAY),
}
# Top-level fields added after the first documents were written: absent from those.
_DOCUMENT_OPTIONAL = ("disagreements", "replay")


def validate(doc: object) -> list[str]:
    """Every problem of `doc` as a results document, one line each; empty when valid."""
    problems = _json_problems(doc)
    if problems:
        return problems
    if not isinstance(doc, dict):
        return [f"{ROOT}: expected an object, got {rules.describe(doc)}"]
    if doc.get("schema") != SCHEMA_ID:
        # Another version's fields would only produce noise.
        found = rules.describe(doc["schema"]) if "schema" in doc else "nothing"
        return [f"{key(ROOT, 'schema')}: expected {json.dumps(SCHEMA_ID)}, got {found}"]
    return shape_problems(doc) or consistency_problems(doc)


def shape_problems(doc: dict[str, Any]) -> list[str]:
    """Missing, unknown and mistyped fields only (no cross-checks)."""
    return rules.fields(doc, ROOT, _DOCUMENT, optional=_DOCUMENT_OPTIONAL)


def check(doc: object) -> dict[str, Any]:
    """`doc` itself when it is a valid results document; otherwise raise `ReportError`."""
    problems = validate(doc)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ReportError(f"not a valid results document: {problems[0]}{more}")
    assert isinstance(doc, dict)  # validate() said so
    return doc


def load(path: str | Path) -> dict[str, Any]:
    """Read and validate a results file; any problem raises `ReportError` (one line)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ReportError(f"{path}: cannot read: {_one_line(error)}") from error
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except ValueError as error:
        raise ReportError(f"{path}: not JSON: {_one_line(error)}") from error
    try:
        return check(doc)
    except ReportError as error:
        raise ReportError(f"{path}: {error}") from None


def _json_problems(doc: object) -> list[str]:
    """Values that are not plain JSON data: the document must survive a JSON round trip."""
    problems: list[str] = []
    for path, node in walk(doc):
        if isinstance(node, dict):
            problems += [
                f"{path}: key {k!r} is not a string" for k in node if not isinstance(k, str)
            ]
            problems += [f"{path}: key {k!r} is not valid Unicode" for k in node if _unpaired(k)]
        elif isinstance(node, float) and not math.isfinite(node):
            problems.append(f"{path}: {node} is not a JSON number")
        elif isinstance(node, str) and _unpaired(node):
            problems.append(f"{path}: not valid Unicode (a lone surrogate), cannot be UTF-8")
        elif not isinstance(node, (str, int, float, bool, list, type(None))):
            problems.append(f"{path}: {rules.describe(node)} is not JSON data")
    return problems


def _unpaired(text: object) -> bool:
    return isinstance(text, str) and _SURROGATE.search(text) is not None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())
