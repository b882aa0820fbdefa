"""The requirement catalogue: every ID the suite checks and reports, as data.

This mirrors ``docs/requirements.md`` cell for cell (backticks included) so that reports can
quote the rule verbatim; ``tests/test_requirements.py`` parses the Markdown and fails on any
drift. The catalogue is written out here rather than parsed at import time because the
Markdown is not shipped inside the package.

IDs are public API (reports, baselines and users' CI name them): never renumber, append new
IDs at the end and retire old ones with ``retired=True``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType

__all__ = [
    "CATALOGUE",
    "VERDICT_MEANINGS",
    "Level",
    "Party",
    "Requirement",
    "UnknownRequirementError",
    "Verdict",
    "client_requirements",
    "parse_requirement_ids",
    "requirement",
    "server_requirements",
    "verdict_for_broken",
]


class Level(str, Enum):
    """How binding a requirement is; decides the verdict when it is broken."""

    MUST = "MUST"
    SHOULD = "SHOULD"
    INFORMATIONAL = "INFORMATIONAL"


class Verdict(str, Enum):
    """The outcome of one requirement in one case; meanings are in `VERDICT_MEANINGS`."""

    PASS = "PASS"
    FAIL = "FAIL"
    NON_STRICT = "NON-STRICT"
    NOT_EXERCISED = "NOT-EXERCISED"
    INFORMATIONAL = "INFORMATIONAL"
    HARNESS_ERROR = "HARNESS-ERROR"

    @property
    def meaning(self) -> str:
        """The verdict table's explanation, for report legends."""
        return VERDICT_MEANINGS[self]


VERDICT_MEANINGS: Mapping[Verdict, str] = MappingProxyType(
    {
        Verdict.PASS: "the requirement held in every exchange where it applied",
        Verdict.FAIL: (
            "a MUST was broken: the upload is wrong, or would break against a real server"
        ),
        Verdict.NON_STRICT: (
            "a SHOULD was broken: the upload survives the happy path but not the faults the "
            "protocol promises to tolerate"
        ),
        Verdict.NOT_EXERCISED: (
            "the case never reached the situation (for example a fault planned for the 5th "
            "request of a client that sent 3); never counted as a pass"
        ),
        Verdict.INFORMATIONAL: (
            "an observation, not a judgement (concurrency, chunk sizes, overhead, retries)"
        ),
        Verdict.HARNESS_ERROR: (
            "the suite itself could not run the case (client command missing, port in use); "
            "kept apart from the client's verdicts"
        ),
    }
)

_BROKEN_VERDICT: Mapping[Level, Verdict] = MappingProxyType(
    {
        Level.MUST: Verdict.FAIL,
        Level.SHOULD: Verdict.NON_STRICT,
        Level.INFORMATIONAL: Verdict.INFORMATIONAL,
    }
)


def verdict_for_broken(level: Level) -> Verdict:
    """The verdict for a requirement of `level` that did not hold."""
    return _BROKEN_VERDICT[level]


class Party(str, Enum):
    """Who a requirement binds: a client under test (UT-C) or an endpoint under test (UT-S)."""

    CLIENT = "client"
    SERVER = "server"

    @property
    def prefix(self) -> str:
        """The ID prefix shared by this party's requirements."""
        return "UT-C" if self is Party.CLIENT else "UT-S"


@dataclass(frozen=True)
class Requirement:
    """One catalogue row; text fields hold the Markdown cells verbatim.

    Client rows fill `why` and `checked_by` and derive `source` (the § references in `why`);
    server rows have only a `source` column, so their `why` and `checked_by` are empty.
    """

    id: str
    party: Party
    level: Level
    rule: str
    why: str
    checked_by: str
    source: str
    retired: bool = False


# A § reference such as "§7" or "§12.1"; trailing words like "step 6" are not part of it.
_SECTION_REF = re.compile(r"§\d+(?:\.\d+)*")


def _client(rid: str, level: Level, *, rule: str, why: str, checked_by: str) -> Requirement:
    # The client table has no source column: its § references live in the why text.
    refs = dict.fromkeys(_SECTION_REF.findall(why))
    return Requirement(rid, Party.CLIENT, level, rule, why, checked_by, ", ".join(refs))


def _server(rid: str, level: Level, *, rule: str, source: str) -> Requirement:
    return Requirement(rid, Party.SERVER, level, rule, "", "", source)


_ROWS: tuple[Requirement, ...] = (
    _client(
        "UT-C01",
        Level.MUST,
        rule=(
            "Every data request names an upload token that exists (created with "
            "`uploadToken.add`, or handed to the client)."
        ),
        why="§4 step 1",
        checked_by="trace: `uploadTokenId` present and known",
    ),
    _client(
        "UT-C02",
        Level.MUST,
        rule="The opening request sends `resume=false`.",
        why="a PENDING token has no file; `resume=true` gets `UPLOAD_TOKEN_CANNOT_RESUME` (§5)",
        checked_by="trace",
    ),
    _client(
        "UT-C03",
        Level.MUST,
        rule=(
            "When an upload uses more than one data request, the opening request sends "
            "`finalChunk=false` explicitly."
        ),
        why=(
            "the server's default is `finalChunk=true` (§3.4): omitting it finalises a partial file"
        ),
        checked_by="trace: the parameter is present and false",
    ),
    _client(
        "UT-C04",
        Level.MUST,
        rule="No `resume=true` request is sent before the opening request was acknowledged.",
        why="stage 1 must exist on the server before stage 2 (§5 precondition)",
        checked_by=(
            "server-side times: every resume=true arrival is after the opening response was sent"
        ),
    ),
    _client(
        "UT-C05",
        Level.MUST,
        rule=(
            "After the opening request was acknowledged, the client never sends `resume=false` "
            "again for that token."
        ),
        why="`resume=false` replaces the whole file and throws away progress (§4 step 6, §9)",
        checked_by="trace (a re-send of an opening request whose response was lost is allowed)",
    ),
    _client(
        "UT-C06",
        Level.MUST,
        rule="Every middle request sends `resume=true` and `finalChunk=false` explicitly.",
        why="protocol stage 2; the `finalChunk` default is true",
        checked_by="trace",
    ),
    _client(
        "UT-C07",
        Level.MUST,
        rule=(
            "Every `resume=true` request sends `resumeAt` ≥ 0 equal to its payload's byte offset "
            "in the source."
        ),
        why=(
            "`resumeAt=-1` appends at the server's current end: a retry duplicates bytes and "
            "parallel chunks land in arrival order (§5)"
        ),
        checked_by="trace",
    ),
    _client(
        "UT-C08",
        Level.MUST,
        rule=(
            "Every payload equals the source bytes at `[resumeAt, resumeAt+len)` (the opening "
            "payload starts at 0)."
        ),
        why="data integrity",
        checked_by="trace vs source digest",
    ),
    _client(
        "UT-C09",
        Level.MUST,
        rule=(
            "The upload closes with `finalChunk=true`: either one single request "
            "(`resume=false`, the whole file), or `resume=true` with `resumeAt` > 0 and "
            "`resumeAt + len = N`. The closing payload may be empty."
        ),
        why=(
            "the server verifies the size only when `resumeAt` > 0 (§7); a close at 0 or -1 is "
            "never verified"
        ),
        checked_by="trace",
    ),
    _client(
        "UT-C10",
        Level.MUST,
        rule="The closing request is sent only after every other data request was acknowledged.",
        why=(
            'protocol stage 3 ("after all of the chunks have been uploaded"); Kaltura\'s server '
            "waits up to 45 s for late chunks (§7), which hides this bug on a live account but "
            "not here"
        ),
        checked_by="server-side times",
    ),
    _client(
        "UT-C11",
        Level.MUST,
        rule="The acknowledged payloads cover `[0, N)` with no gap.",
        why="data integrity",
        checked_by="trace",
    ),
    _client(
        "UT-C12",
        Level.MUST,
        rule="`fileData` is sent as a file part with a file name.",
        why=(
            "a plain form field or a nameless part is not an uploaded file: `UPLOAD_ERROR` (§3.3)"
        ),
        checked_by="trace",
    ),
    _client(
        "UT-C13",
        Level.MUST,
        rule=(
            "A response that carries a Kaltura error object (`objectType: KalturaAPIException`, "
            "HTTP 200) is treated as a failure of that request, never as an acknowledgement."
        ),
        why="Kaltura reports every API error with HTTP 200 (§12.1)",
        checked_by=(
            "fault: an error object on a data request; the client must re-send or report failure"
        ),
    ),
    _client(
        "UT-C14",
        Level.MUST,
        rule=(
            "The client reports success only if the token ended FULL_UPLOAD holding the complete "
            "file; otherwise it reports failure (non-zero exit, exception), within the case's "
            "time limit: no hang, no endless loop."
        ),
        why="honest outcome",
        checked_by="outcome vs endpoint state",
    ),
    _client(
        "UT-C15",
        Level.MUST,
        rule=(
            "When the client reports success, the assembled file is byte-identical to the source."
        ),
        why="data integrity",
        checked_by="digest of the endpoint's assembled file",
    ),
    _client(
        "UT-C16",
        Level.MUST,
        rule=(
            "No data request for the token after the client received the closing request's success."
        ),
        why=(
            "a late chunk hits a FULL_UPLOAD token: `UPLOAD_TOKEN_INVALID_STATUS_FOR_UPLOAD` (§2.2)"
        ),
        checked_by="trace",
    ),
    _client(
        "UT-C17",
        Level.SHOULD,
        rule=(
            "A data request that failed transiently (connection error, HTTP 5xx, a Kaltura error "
            "object such as `INTERNAL_SERVERL_ERROR`) is re-sent with the same `resumeAt` and "
            "payload, and the upload completes."
        ),
        why=('"If a chunk fails to upload it can be re-uploaded."'),
        checked_by="faults on opening and middle requests",
    ),
    _client(
        "UT-C18",
        Level.SHOULD,
        rule=(
            "On `UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE` the client re-sends the identical "
            "closing request, a bounded number of times with a pause between tries, and the "
            "upload converges."
        ),
        why=('"the final request can be retried"'),
        checked_by=(
            "fault: the endpoint holds some chunks back, or answers the close with that error k "
            "times"
        ),
    ),
    _client(
        "UT-C19",
        Level.SHOULD,
        rule=(
            "When the closing request's response is lost, the client re-sends it or reads the "
            "token with `uploadToken.get`; a re-sent close answered "
            "`UPLOAD_TOKEN_INVALID_STATUS_FOR_UPLOAD` while the token is FULL_UPLOAD counts as "
            "success."
        ),
        why="a second close is not idempotent on the real server (§7 point 7, PLAT-23830)",
        checked_by="fault: apply the close, then drop the connection",
    ),
    _client(
        "UT-C20",
        Level.SHOULD,
        rule=(
            "Retries are bounded and spaced: a persistent error ends in a reported failure, "
            "never in a tight loop of identical requests."
        ),
        why="protects accounts and servers",
        checked_by="fault: a persistent error; count identical requests per second",
    ),
    _client(
        "UT-C21",
        Level.SHOULD,
        rule="Payloads do not overlap, except re-sends of the same chunk.",
        why=(
            "overlap is accepted (last writer wins, §9) but wastes bandwidth and hides offset bugs"
        ),
        checked_by="trace",
    ),
    _client(
        "UT-C22",
        Level.INFORMATIONAL,
        rule=(
            "Shape of the upload: number of requests, chunk sizes, highest concurrency of middle "
            "requests, retries, bytes sent ÷ N."
        ),
        why="lets users compare clients",
        checked_by="trace",
    ),
    _server(
        "UT-S01",
        Level.MUST,
        rule=(
            "An opening request (`resume=false`) on a PENDING or PARTIAL_UPLOAD token stores its "
            "payload as the whole file; with `finalChunk=false` the token becomes PARTIAL_UPLOAD "
            "and `uploadedFileSize` equals the payload size."
        ),
        source="§4, §5",
    ),
    _server(
        "UT-S02",
        Level.MUST,
        rule=(
            "`resume=true` on a PENDING token fails with `UPLOAD_TOKEN_CANNOT_RESUME` and leaves "
            "the token PENDING."
        ),
        source="§5",
    ),
    _server(
        "UT-S03",
        Level.MUST,
        rule=(
            "Middle chunks are assembled by `resumeAt` whatever their arrival order, sequential "
            "or concurrent: after the close succeeds the file equals the source."
        ),
        source="the API page; §5, §6",
    ),
    _server(
        "UT-S04",
        Level.MUST,
        rule="Re-sending a middle chunk (same `resumeAt` and bytes) changes nothing.",
        source="§9",
    ),
    _server(
        "UT-S05",
        Level.MUST,
        rule=(
            "A close (`resume=true`, `finalChunk=true`, `resumeAt` > 0) sent before all chunks "
            "arrived fails with `UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE`; the status is "
            "unchanged and no received byte is lost."
        ),
        source="§7",
    ),
    _server(
        "UT-S06",
        Level.MUST,
        rule=(
            "Re-sending that close once the missing chunks arrived succeeds: FULL_UPLOAD, "
            "`uploadedFileSize` = N."
        ),
        source="the API page; §7 point 5",
    ),
    _server(
        "UT-S07",
        Level.MUST,
        rule="An empty closing payload is accepted.",
        source="the API page",
    ),
    _server(
        "UT-S08",
        Level.MUST,
        rule=(
            "The size check is exact: a close whose `resumeAt + len` differs from the assembled "
            "size fails with `UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE`, also when the file is "
            "larger."
        ),
        source="§7 point 4",
    ),
    _server(
        "UT-S09",
        Level.MUST,
        rule=(
            "Any data request to a FULL_UPLOAD token, a duplicate close included, fails with "
            "`UPLOAD_TOKEN_INVALID_STATUS_FOR_UPLOAD`."
        ),
        source="§2.2, §4 step 8",
    ),
    _server(
        "UT-S10",
        Level.MUST,
        rule=(
            "An unknown or deleted token id fails with `UPLOAD_TOKEN_NOT_FOUND` on get, upload "
            "and delete; list never shows a deleted token."
        ),
        source="§11",
    ),
    _server(
        "UT-S11",
        Level.MUST,
        rule=(
            'Errors come with HTTP 200 as `{code, message, objectType: "KalturaAPIException", '
            "args}` (JSON, `format=1`) or the XML `<error>` element (default format)."
        ),
        source="§12",
    ),
    _server(
        "UT-S12",
        Level.MUST,
        rule=(
            "Omitted parameters take the defaults `resume=false`, `finalChunk=true`, `resumeAt=-1`."
        ),
        source="§3.4",
    ),
    _server(
        "UT-S13",
        Level.SHOULD,
        rule="`uploadedFileSize` never exceeds the contiguous assembled length.",
        source="§9",
    ),
    _server(
        "UT-S14",
        Level.MUST,
        rule=(
            "`uploadToken.add`, `get`, `list` and `delete` behave as in §11 (fields, filters, "
            "pager, delete from any status)."
        ),
        source="§11",
    ),
)

CATALOGUE: Mapping[str, Requirement] = MappingProxyType({r.id: r for r in _ROWS})
"""Every requirement ever defined, retired ones included, keyed by ID in ID order."""

_ORDER: Mapping[str, int] = MappingProxyType({rid: i for i, rid in enumerate(CATALOGUE)})


def _known_ranges() -> str:
    # Computed so the message stays right when IDs are appended.
    spans = []
    for party in Party:
        ids = [r.id for r in _ROWS if r.party is party]
        spans.append(f"{ids[0]}..{ids[-1]}")
    return ", ".join(spans)


class UnknownRequirementError(KeyError, ValueError):
    """An ID that is not in the catalogue; a KeyError for lookups, a ValueError for options."""

    def __str__(self) -> str:
        # KeyError would repr() the message, quoting it a second time.
        return str(self.args[0])


def requirement(rid: str) -> Requirement:
    """The catalogue entry for `rid` (exact ID, e.g. "UT-C07"), retired ones included."""
    try:
        return CATALOGUE[rid]
    except KeyError:
        raise UnknownRequirementError(
            f"unknown requirement id {rid!r} (known: {_known_ranges()})"
        ) from None


def _by_party(party: Party, include_retired: bool) -> tuple[Requirement, ...]:
    return tuple(r for r in _ROWS if r.party is party and (include_retired or not r.retired))


def client_requirements(*, include_retired: bool = False) -> tuple[Requirement, ...]:
    """The UT-C requirements in ID order; retired ones only when asked for."""
    return _by_party(Party.CLIENT, include_retired)


def server_requirements(*, include_retired: bool = False) -> tuple[Requirement, ...]:
    """The UT-S requirements in ID order; retired ones only when asked for."""
    return _by_party(Party.SERVER, include_retired)


def _expand(item: str) -> list[str]:
    # One option item: a single ID or an inclusive "A..B" range within one party.
    if ".." not in item:
        return [requirement(item).id]
    first, _, last = item.partition("..")
    start, end = requirement(first), requirement(last)
    if start.party is not end.party:
        raise ValueError(f"range {item!r} mixes client and server requirements")
    if _ORDER[start.id] > _ORDER[end.id]:
        raise ValueError(f"range {item!r} runs backwards")
    return list(CATALOGUE)[_ORDER[start.id] : _ORDER[end.id] + 1]


def parse_requirement_ids(text: str) -> tuple[str, ...]:
    """Parse a user's ID selection such as "UT-C10, ut-c18" or "UT-C01..UT-C05".

    Items are separated by commas or whitespace, case-insensitive; duplicates are dropped
    keeping first-seen order. Raises ValueError (one line, quoting `text`) on an empty
    selection, an unknown ID, or a backwards or cross-party range.
    """
    # Glue "A .. B" into one item before splitting on whitespace.
    normalised = re.sub(r"\s*\.\.\s*", "..", text.strip().upper())
    items = [item for item in re.split(r"[,\s]+", normalised) if item]
    if not items:
        raise ValueError(f"no requirement ids in {text!r}")
    try:
        ids = [rid for item in items for rid in _expand(item)]
    except ValueError as exc:
        raise ValueError(f"invalid requirement ids {text!r}: {exc}") from None
    return tuple(dict.fromkeys(ids))
