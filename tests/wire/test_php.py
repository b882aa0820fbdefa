"""§3.4: scalar coercion is PHP's, never an error (`KalturaRequestDeserializer::castSimpleType`).

`bool` is "the string false in any case, else PHP truthiness"; `float` is PHP's `(float)`
cast (the numeric prefix, else 0); `string` prints numbers as PHP does (`precision=14`).
"""

from __future__ import annotations

import math

import pytest

from conformance.model import MemoryBlob
from conformance.wire.php import (
    ascii_lower,
    is_numeric,
    php_bool,
    php_float,
    php_int,
    php_string,
    truthy,
    xml_valid,
)
from conformance.wire.types import UploadedPart

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


def _part() -> UploadedPart:
    return UploadedPart("fileData", "chunk_0", "application/octet-stream", MemoryBlob(b"x"), "")


# --- bool (resume, finalChunk) ------------------------------------------------------------


@pytest.mark.parametrize("text", ["false", "FALSE", "False", "fAlSe", "0", ""])
def test_bool_strings_read_as_false(text: str) -> None:
    assert php_bool(text) is False


@pytest.mark.parametrize(
    "text",
    # "no" and "0.0" are true: only "false" (any case), "0" and "" are false (§3.4).
    ["1", "true", "True", "TRUE", "yes", "no", "0.0", "00", " 0", "off", " false", "false "],
)
def test_bool_strings_read_as_true(text: str) -> None:
    assert php_bool(text) is True


def test_bool_false_word_is_folded_as_ascii_only() -> None:
    """`strtolower` folds ASCII only: a fullwidth "ＦＡＬＳＥ" is just a non-empty string."""
    assert php_bool("ＦＡＬＳＥ") is True


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        (1, True),
        (0, False),
        (0.0, False),
        (0.5, True),
        (None, False),
        ([], False),
        ({}, False),
        ({"a": 1}, True),
    ],
)
def test_bool_of_json_values(value: object, expected: bool) -> None:
    assert php_bool(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", False), ("0", False), ("0.0", True), ("a", True), (0, False), ([0], True)],
)
def test_truthiness(value: object, expected: bool) -> None:
    assert truthy(value) is expected


# --- float (resumeAt, fileSize) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("abc", 0.0),
        ("", 0.0),
        ("12abc", 12.0),
        ("1e3", 1000.0),
        ("-5", -5.0),
        ("10240000.0", 10_240_000.0),
        (" 12", 12.0),
        ("\t\n\r\v\f12", 12.0),
        ("12 ", 12.0),
        (".5", 0.5),
        ("5.", 5.0),
        ("0x1A", 0.0),
        ("+7", 7.0),
        ("4096", 4096.0),
        ("-1", -1.0),
        ("1e", 1.0),
        ("1.5e+2x", 150.0),
        ("1,5", 1.0),
        ("- 5", 0.0),
        ("inf", 0.0),
        ("NaN", 0.0),
        ("١٢", 0.0),  # Arabic-Indic digits are not PHP digits
        ("１２", 0.0),  # nor are fullwidth ones
    ],
)
def test_float_cast_of_strings(text: str, expected: float) -> None:
    assert php_float(text) == expected


def test_float_cast_overflows_to_infinity() -> None:
    assert php_float("1e400") == math.inf
    assert php_float("-1e400") == -math.inf


@pytest.mark.parametrize(
    ("value", "expected"),
    [(4096, 4096.0), (4096.5, 4096.5), (True, 1.0), (False, 0.0), (None, 0.0), ({"a": 1}, 1.0)],
)
def test_float_cast_of_json_values(value: object, expected: float) -> None:
    assert php_float(value) == expected


def test_float_cast_of_an_integer_too_big_for_a_float() -> None:
    assert php_float(10**400) == math.inf
    assert php_float(-(10**400)) == -math.inf


def test_float_cast_of_a_file_part_is_that_of_a_non_empty_array() -> None:
    assert php_float(_part()) == 1.0


# --- int (pager, session type and expiry) -------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12.9", 12),
        ("-12.9", -12),
        ("1e3", 1000),
        ("abc", 0),
        ("", 0),
        ("30", 30),
        (True, 1),
        (None, 0),
        (7.99, 7),
        ("1e400", INT64_MAX),  # [I] clamped rather than PHP's platform-dependent result
        ("-1e400", INT64_MIN),
        ("99999999999999999999", INT64_MAX),
    ],
)
def test_int_cast(value: object, expected: int) -> None:
    assert php_int(value) == expected


# --- string (uploadTokenId, fileName, filter fields) --------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (30.0, "30"),
        (10_240_000.0, "10240000"),
        (1.5, "1.5"),
        (-2.25, "-2.25"),
        (0.1 + 0.2, "0.3"),  # precision=14, not Python's shortest repr
        (1e20, "1.0E+20"),
        (1e14, "1.0E+14"),
        (99_999_999_999_999.0, "99999999999999"),
        (0.0001, "0.0001"),
        (0.00001, "1.0E-5"),
        (1.25e-7, "1.25E-7"),
        (0.0, "0"),
        (-0.0, "-0"),
        (math.inf, "INF"),
        (-math.inf, "-INF"),
        (math.nan, "NAN"),
        (True, "1"),
        (False, ""),
        (None, ""),
        (42, "42"),
        (-1, "-1"),
        ("abc", "abc"),
        ("", ""),
        ({"fileName": "a"}, "Array"),
        ([1, 2], "Array"),
    ],
)
def test_string_cast(value: object, expected: str) -> None:
    assert php_string(value) == expected


def test_string_cast_of_a_file_part_is_array() -> None:
    assert php_string(_part()) == "Array"


def test_string_cast_strips_what_is_not_utf8() -> None:
    """A lone surrogate stands for bytes that were not UTF-8: stripped, as §3.4 says."""
    assert php_string("0_ab\udcffcd") == "0_abcd"


# --- helpers: strtolower, numeric strings, XML characters --------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("UPLOADTOKEN", "uploadtoken"),
        ("uploadToken", "uploadtoken"),
        ("uploadto\u212aen", "uploadto\u212aen"),  # KELVIN SIGN: Python's lower() gives "k"
        ("İ", "İ"),
        ("ÄB", "Äb"),
    ],
)
def test_ascii_lower_is_strtolower(text: str, expected: str) -> None:
    assert ascii_lower(text) == expected


@pytest.mark.parametrize("text", ["1", " 1", "1 ", "1.0", ".5", "5.", "1e3", "+1", "-1", "\t2\n"])
def test_numeric_strings(text: str) -> None:
    assert is_numeric(text)


@pytest.mark.parametrize("text", ["", " ", "abc", "1abc", "0x1", "1e", "--1", "١", "²", "1 2"])
def test_non_numeric_strings(text: str) -> None:
    assert not is_numeric(text)


@pytest.mark.parametrize("text", ["abc", "\t\n\r", "é", "😀", "\ud7ff\ue000\ufffd", ""])
def test_xml_valid_text(text: str) -> None:
    assert xml_valid(text)


@pytest.mark.parametrize("text", ["\x00", "a\x01", "\x08", "\x1f", "\ufffe", "\uffff", "\ud800"])
def test_xml_invalid_text(text: str) -> None:
    assert not xml_valid(text)
