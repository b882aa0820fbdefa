"""The MUST requirements a run did not exercise, and the likely causes.

A MUST that no case exercised is not a pass: the run does not show conformance to it, and
every report says so in its headline. The causes are read from the document alone (the
cases' traces, client outcomes and scenarios; the run's selection and client chunk), so they
live here: a saved document re-renders with them, and the validator can hold
`summary.must_not_exercised` to the cases. Option names in the text are the
`kaltura-conformance run` ones (pytest's add `kaltura-`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from reports.verdicts import ORDER, Level, Verdict

__all__ = ["must_not_exercised", "not_exercised_causes", "not_exercised_headline"]

Doc = Mapping[str, Any]
Case = Mapping[str, Any]

NO_CASES: Final = (
    "no case ran, so nothing was judged: every test was skipped or deselected, "
    "or the run stopped before its first case"
)
# The server checks that wait out the real server's close wait (45 s) and so run only when
# asked (see README.md, "Judge a server").
SLOW_CLOSES: Final = ("UT-S05", "UT-S06", "UT-S08")


def must_not_exercised(doc: Doc) -> list[str]:
    """IDs of the MUST requirements that no case exercised, in document order."""
    return [
        entry["id"]
        for entry in doc["requirements"]
        if entry["level"] == Level.MUST and entry["verdict"] == Verdict.NOT_EXERCISED
    ]


def not_exercised_headline(count: int) -> str:
    """What every report's headline says when `count` MUSTs were not exercised."""
    if count == 1:
        return "1 MUST requirement was not exercised: this run does not show conformance to it"
    return (
        f"{count} MUST requirements were not exercised: this run does not show conformance to them"
    )


def not_exercised_causes(doc: Doc) -> list[str]:
    """The likely causes of the unexercised MUSTs, most telling first; empty when every MUST
    was exercised, never empty otherwise."""
    missing = must_not_exercised(doc)
    if not missing:
        return []
    if not doc["cases"]:
        return [NO_CASES]
    found = [cause for finder in _FINDERS if (cause := finder(doc, missing))]
    return found or [_fallback(missing)]


# --- the causes, each `(doc, missing IDs) -> text or None` --------------------------------


def _disagreed(doc: Doc, missing: Sequence[str]) -> str | None:
    """Through the proxy: the server and the model disagreed, so those cases do not judge
    the checks that read the disagreed answers."""
    cases = {d.get("case") for d in doc.get("disagreements") or ()}
    if not cases:
        return None
    return (
        f"the server and the reference model disagreed in {_cases(len(cases))}: the checks "
        "that read those answers are not judged there (see 'Server and model disagreed'; "
        "not the client's fault)"
    )


def _elsewhere(doc: Doc, missing: Sequence[str]) -> str | None:
    """A client that reports success while the suite's endpoint saw nothing: it uploaded to
    some other server than the URL it was given."""
    claimed = _claimed_without_requests(doc)
    if not claimed:
        return None
    return (
        f"the suite's endpoint saw no request in any case, yet the client reported success in "
        f"{_cases(claimed)}: it uploaded elsewhere. A client must upload to the service URL "
        "it is given (`{service_url}`; on a live account, the proxy in front of it)"
    )


def _silent(doc: Doc, missing: Sequence[str]) -> str | None:
    """No data request reached the suite's endpoint: the client failed or timed out first
    (said of the endpoint, which is all the suite sees: on a live account too)."""
    if not _is_client(doc) or _claimed_without_requests(doc) or _multi(doc):
        return None
    silent = [case for case in doc["cases"] if _trace(case, "data_requests") == 0]
    if not silent:
        return None
    total = len(doc["cases"])
    where = "any case" if len(silent) == total else f"{len(silent)} of {total} cases"
    text = f"the suite's endpoint received no data request (`uploadToken.upload`) in {where}"
    how = _outcomes(silent)
    return f"{text}: the client {how} (its output is in results.html)" if how else text


def _single(doc: Doc, missing: Sequence[str]) -> str | None:
    """Every upload was one request: a stage 2 and a verified close never happened."""
    if not _is_client(doc) or _multi(doc):
        return None
    if not any(_trace(case, "data_requests") == 1 for case in doc["cases"]):
        return None
    return "every upload was a single data request" + _chunk_reason(doc)


def _unjudged(doc: Doc, missing: Sequence[str]) -> str | None:
    """No case judged them at all: their tests were skipped or deselected."""
    counts = {entry["id"]: entry["counts"] for entry in doc["requirements"]}
    unjudged = [rid for rid in missing if not sum(counts[rid].get(v, 0) for v in ORDER)]
    if not unjudged:
        return None
    text = (
        f"no case judged {', '.join(unjudged)}: the tests aimed at "
        f"{'it were' if len(unjudged) == 1 else 'them were'} skipped or deselected "
        "(pytest's skip reasons say why)"
    )
    if set(unjudged) & set(SLOW_CLOSES):
        text += (
            f"; the early-close checks {', '.join(SLOW_CLOSES)} wait out the server's close "
            "wait and run only with `--slow-closes` or `--profile thorough`"
        )
    return text


def _selection(doc: Doc, missing: Sequence[str]) -> str | None:
    selected: list[str] | None = doc["run"]["requirements_selected"]
    if not selected:
        return None
    them = "it" if len(selected) == 1 else "them"
    return (
        f"the run was limited to {', '.join(selected)} (`--requirements`): only the cases "
        f"aimed at {them} ran"
    )


def _fallback(missing: Sequence[str]) -> str:
    it = "it" if len(missing) == 1 else "them"
    return (
        f"the generated cases never reached the situations that exercise {it}: a larger "
        "profile (`--profile thorough`) draws more and bigger cases"
    )


_FINDERS: Final[tuple[Callable[[Doc, Sequence[str]], str | None], ...]] = (
    _disagreed,
    _elsewhere,
    _silent,
    _single,
    _unjudged,
    _selection,
)


# --- the single-request cause: what is known of the client's chunk ------------------------


def _chunk_reason(doc: Doc) -> str:
    chunk: Mapping[str, Any] = doc["run"].get("client_chunk") or {}
    largest = max(_sizes(doc), default=None)
    known = chunk.get("bytes")
    if isinstance(known, int):
        return _known_chunk(known, chunk["how"], largest)
    how = f" (client chunk: {chunk['how']})" if chunk else ""
    told = _told_chunks(doc)
    if told is not None and largest is not None and _every_file_fits(doc):
        return (
            f": every file fit in the chunk the client was told (`{{chunk_size}}`, up to "
            f"{told} bytes; the largest file was {largest} bytes){how}; a larger profile "
            "(`--profile thorough`) draws bigger files"
        )
    size = f" (the largest was {largest} bytes)" if largest is not None else ""
    return (
        f": the client's chunk is probably larger than every file{size}{how}; give it with "
        "`--client-chunk-size SIZE` so that the cases are drawn around it"
    )


def _known_chunk(size: int, how: str, largest: int | None) -> str:
    if largest is None:
        return f" (client chunk: {size} bytes, {how})"
    if largest <= size:
        return (
            f": the client's chunk of {size} bytes ({how}) is larger than every file "
            f"(the largest was {largest} bytes)"
        )
    return (
        f", although files of up to {largest} bytes were drawn around a client chunk of "
        f"{size} bytes ({how}): the client probably sends every file whole"
    )


# --- reading the case dicts ---------------------------------------------------------------


def _is_client(doc: Doc) -> bool:
    return bool(doc["run"]["direction"] == "client")


def _trace(case: Case, name: str) -> int | None:
    """A count the trace recorded, or None when it did not record it."""
    value = case["trace"].get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _multi(doc: Doc) -> bool:
    """Whether any case uploaded in more than one data request."""
    return any((_trace(case, "data_requests") or 0) >= 2 for case in doc["cases"])


def _claimed_without_requests(doc: Doc) -> int:
    """How many cases the client reported success in, when the suite's endpoint saw no
    request at all in any case (0 otherwise)."""
    cases: list[Case] = doc["cases"]
    if not _is_client(doc) or any(_trace(case, "requests") != 0 for case in cases):
        return 0
    return sum(1 for case in cases if case["client"] and case["client"]["succeeded"])


def _outcomes(cases: Sequence[Case]) -> str:
    """`failed in 2 cases and timed out in 1 case`: how the client ended, where known."""
    clients = [case["client"] for case in cases if case["client"]]
    tallies = (
        ("failed in", sum(1 for c in clients if not c["succeeded"] and not c["timed_out"])),
        ("timed out in", sum(1 for c in clients if c["timed_out"])),
        ("reported success in", sum(1 for c in clients if c["succeeded"])),
    )
    parts = [f"{what} {_cases(n)}" for what, n in tallies if n]
    return " and ".join([", ".join(parts[:-1]), parts[-1]] if len(parts) > 2 else parts)


def _scenario_int(case: Case, part: str, name: str) -> int | None:
    """`scenario[part][name]` when it is an integer (client cases: `source.size`,
    `params.chunk_size`)."""
    found = case["scenario"].get(part)
    value = found.get(name) if isinstance(found, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _sizes(doc: Doc) -> list[int]:
    sizes = (_scenario_int(case, "source", "size") for case in doc["cases"])
    return [size for size in sizes if size is not None]


def _told_chunks(doc: Doc) -> int | None:
    """The largest chunk size the cases told the client, if they all recorded one."""
    told = [_scenario_int(case, "params", "chunk_size") for case in doc["cases"]]
    known = [size for size in told if size is not None]
    return max(known) if known and len(known) == len(told) else None


def _every_file_fits(doc: Doc) -> bool:
    """Whether every file was at most the chunk size its case told the client: a client
    that follows `{chunk_size}` then rightly sends each in one request."""
    return all(
        (size := _scenario_int(case, "source", "size")) is not None
        and (chunk := _scenario_int(case, "params", "chunk_size")) is not None
        and size <= chunk
        for case in doc["cases"]
    )


def _cases(count: int) -> str:
    return "1 case" if count == 1 else f"{count} cases"
