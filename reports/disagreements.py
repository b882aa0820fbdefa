"""'Server and model disagreed': the requests a real server answered otherwise than the
reference model predicted, in a run through the proxy (issue 14).

A case's `trace.disagreements` holds its own (`exchange_id`, `request`, `server`, `model`,
and optionally `fields`, `described`); the document's top-level `disagreements` lists
them all with the case's index. They are news about the server or the model, never a
client's fault: the checks of such a case read NOT-EXERCISED with the reason, and every
live client run is also a fidelity report of the model against the real server.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

__all__ = ["DISAGREEMENT_FIELDS", "INTRO", "TITLE", "disagreements_of", "lines"]

TITLE: Final = "Server and model disagreed"
INTRO: Final = (
    "The server answered these requests otherwise than the reference model predicted. "
    "This is news about the server (or the model), not the client's fault: the checks of "
    "these cases read NOT-EXERCISED with the reason."
)
DISAGREEMENT_FIELDS: Final = ("case", "exchange_id", "request", "server", "model")


def disagreements_of(cases: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every case's disagreements, with the case's index, in case order."""
    found: list[dict[str, Any]] = []
    for case in cases:
        trace = case.get("trace")
        listed = trace.get("disagreements") if isinstance(trace, Mapping) else None
        for entry in listed if isinstance(listed, list) else ():
            if isinstance(entry, Mapping):
                found.append(
                    {
                        "case": case.get("index"),
                        "exchange_id": entry.get("exchange_id"),
                        "request": str(entry.get("request", "")),
                        "server": str(entry.get("server", "")),
                        "model": str(entry.get("model", "")),
                    }
                )
    return found


def lines(doc: Mapping[str, Any]) -> list[str]:
    """One line per disagreement, for the console and the Markdown list."""
    return [
        f"case {d['case']}, exchange {d['exchange_id']}: {d['request']}: "
        f"the server said {d['server']}, the model predicted {d['model']}"
        for d in doc.get("disagreements") or ()
    ]
