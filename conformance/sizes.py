"""Byte sizes as people write them: `1000000`, `1_000_000`, `5MB`, `1.5kB`, `10MiB`, `2GiB`.

Decimal units are powers of 1000 (`kB` = 1000, also written `k` or `KB`), binary units
powers of 1024 (`KiB` = 1024, also `Ki`); suffixes are case-insensitive and the `B` is
optional. A size is a whole, positive number of bytes (`minimum=0` for a file size, which
may be empty): `0`, `-1`, `0.5B`, `1.0000001MB` and anything else are refused with a
one-line `ValueError` that the option layers prefix with the option's name.
"""

from __future__ import annotations

import re
from fractions import Fraction

__all__ = ["parse_size"]

_PREFIXES = {"": 1, "k": 1000, "m": 1000**2, "g": 1000**3, "t": 1000**4}
_PREFIXES |= {"ki": 1024, "mi": 1024**2, "gi": 1024**3, "ti": 1024**4}
# Digits may be grouped with single underscores, as in Python literals (1_000_000).
_NUMBER = r"[-+]?\d+(?:_\d+)*(?:\.\d+(?:_\d+)*)?"
_LONGEST = 64  # characters: no size needs more, and int() refuses 4300 digits anyway
_SIZE = re.compile(rf"({_NUMBER})\s*([a-z]*?)b?", re.IGNORECASE | re.ASCII)


def parse_size(text: str, *, minimum: int = 1) -> int:
    """`text` as a whole number of bytes, at least `minimum` (a file size may be 0, a chunk
    size not); ValueError (one line) otherwise."""
    match = _SIZE.fullmatch(text.strip()) if len(text) <= _LONGEST else None
    prefix = match.group(2).lower() if match else ""
    if match is None or prefix not in _PREFIXES:
        raise ValueError(f"{text!r} is not a size such as 1000000, 5MB or 10MiB")
    size = Fraction(match.group(1).replace("_", "")) * _PREFIXES[prefix]
    if size.denominator != 1:
        raise ValueError(f"{text!r} is not a whole number of bytes ({float(size)})")
    if size < minimum:
        least = "1 byte" if minimum == 1 else f"{minimum} bytes"
        raise ValueError(f"{text!r} is not a size: at least {least}, please")
    return int(size)
