"""`parse_size`: every way of writing a size it accepts, and one-line refusals of the rest."""

from __future__ import annotations

import re

import pytest

from conformance.sizes import parse_size


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1000000", 1_000_000),
        ("1_000_000", 1_000_000),
        ("+7", 7),
        ("7B", 7),
        ("7b", 7),
        ("1kB", 1000),
        ("1KB", 1000),
        ("1k", 1000),
        ("5MB", 5_000_000),
        ("5mb", 5_000_000),
        ("5M", 5_000_000),
        ("2GB", 2_000_000_000),
        ("1TB", 10**12),
        ("64KiB", 64 * 1024),
        ("64kib", 64 * 1024),
        ("64Ki", 64 * 1024),
        ("1MiB", 1 << 20),
        ("2GiB", 2 << 30),
        ("1TiB", 1 << 40),
        ("10 MiB", 10 << 20),
        ("  3  ", 3),
        ("1.5MB", 1_500_000),
        ("1.5KiB", 1536),
        ("0.001kB", 1),
    ],
)
def test_accepted_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("0", "at least 1 byte"),
        ("0KiB", "at least 1 byte"),
        ("-1", "at least 1 byte"),
        ("-5MB", "at least 1 byte"),
        ("0.5B", "not a whole number of bytes (0.5)"),
        ("1.0000001MB", "not a whole number of bytes (1000000.1)"),
        ("0.1KiB", "not a whole number of bytes"),
        ("", "not a size such as"),
        ("big", "not a size such as"),
        ("MB", "not a size such as"),
        ("5XB", "not a size such as"),
        ("5MBB", "not a size such as"),
        ("5 M B", "not a size such as"),
        ("1e6", "not a size such as"),
        ("nan", "not a size such as"),
        ("1__0", "not a size such as"),
        ("_1", "not a size such as"),
        ("1.", "not a size such as"),
        (".5MB", "not a size such as"),
        ("１２", "not a size such as"),  # full-width digits: ASCII only
        ("9" * 100, "not a size such as"),
    ],
)
def test_refused_sizes_say_why_in_one_line(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)) as raised:
        parse_size(text)
    assert "\n" not in str(raised.value)
    assert repr(text)[:20] in str(raised.value)
