"""A defensive check that a results document carries none of the run's secrets.

The writers only render what the document holds; this finds secrets that a producer let
into it (an admin secret in a client's output, a KS in a replay command).
"""

from __future__ import annotations

from collections.abc import Iterable

from reports.paths import key, walk

__all__ = ["find_secrets"]


def find_secrets(doc: object, secrets: Iterable[str]) -> list[str]:
    """The JSON paths of every string (object keys included) that contains a secret.

    Empty secrets are ignored (they are in every string). Returns the paths rather than
    raising, so a caller can say where each leak is: `assert not find_secrets(...)`.
    """
    wanted = [secret for secret in secrets if secret]
    if not wanted:
        return []
    found: list[str] = []
    for path, node in walk(doc):
        if isinstance(node, str) and _holds(node, wanted):
            found.append(path)
        elif isinstance(node, dict):
            found += [key(path, str(name)) for name in node if _holds(str(name), wanted)]
    return list(dict.fromkeys(found))  # a key and its value share one path


def _holds(text: str, secrets: list[str]) -> bool:
    return any(secret in text for secret in secrets)
