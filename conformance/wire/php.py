"""PHP's casts, as `KalturaRequestDeserializer::castSimpleType` applies them (§3.4).

Kaltura never rejects a scalar: `resumeAt=abc` becomes 0, `finalChunk=no` is true. The
suite must accept every value real clients send exactly as the server reads it, so these
functions copy PHP's rules rather than Python's.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

__all__ = [
    "ascii_lower",
    "is_numeric",
    "php_bool",
    "php_float",
    "php_int",
    "php_string",
    "truthy",
    "xml_valid",
]

# PHP's numeric prefix: leading whitespace, sign, digits with an optional fraction, exponent.
# ASCII digits only: PHP does not read "١٢" as 12.
_NUMERIC_PREFIX = re.compile(
    r"[ \t\n\r\v\f]*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
)
# A whole numeric string (PHP 8: surrounding whitespace allowed), as `==` and `in_array` see it.
_NUMERIC = re.compile(
    r"[ \t\n\r\v\f]*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[ \t\n\r\v\f]*"
)
# `kXml::isXMLValidContent`: only the characters XML 1.0 allows.
_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SURROGATES = re.compile("[\ud800-\udfff]")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_INT64 = (-(2**63), 2**63 - 1)
_PRECISION = 14  # PHP's `precision` ini setting, used by (string) casts of floats


def ascii_lower(text: str) -> str:
    """`strtolower`: ASCII letters only (Python's `lower` would also fold "K", the Kelvin sign)."""
    return text.translate(_ASCII_LOWER)


def is_numeric(text: str) -> bool:
    """A whole PHP numeric string: what `==` compares as a number [I: PHP 8 rules]."""
    return _NUMERIC.fullmatch(text) is not None


def xml_valid(text: str) -> bool:
    """`kXml::isXMLValidContent`: no character that XML 1.0 forbids (§3.4)."""
    return _XML_INVALID.search(text) is None


def truthy(value: object) -> bool:
    """PHP truthiness: "", "0", 0, 0.0, empty arrays and null are false."""
    if isinstance(value, str):
        return value not in ("", "0")
    if isinstance(value, (Mapping, Sequence)):
        return len(value) > 0
    return bool(value)


def php_bool(value: object) -> bool:
    """`bool` parameters: the string "false" in any case is false, else PHP truthiness."""
    if isinstance(value, str) and ascii_lower(value) == "false":
        return False
    return truthy(value)


def php_float(value: object) -> float:
    """`(float)` cast: the numeric prefix of a string, 0 if there is none; INF on overflow."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, float):
        return value
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    if isinstance(value, str):
        match = _NUMERIC_PREFIX.match(value)
        return float(match.group()) if match else 0.0
    return 1.0 if truthy(value) else 0.0


def php_int(value: object) -> int:
    """`(int)` cast of a parameter: truncated toward zero, clamped to 64 bits [I]."""
    number = php_float(value)
    if math.isnan(number):
        return 0
    if math.isinf(number):
        return _INT64[1] if number > 0 else _INT64[0]
    return max(_INT64[0], min(_INT64[1], int(number)))


def php_string(value: object) -> str:
    """`string` parameters: numbers as PHP prints them, booleans as "1" or "", null as "",
    arrays (nested objects, file parts) as "Array"; invalid UTF-8 is stripped (§3.4)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, float):
        return _float_string(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _SURROGATES.sub("", value)
    return "Array"


# Below this a whole number prints as its digits (no exponent at `precision=14`).
_WHOLE_DIGITS_LIMIT = 1e14


def _float_string(value: float) -> str:
    """`(string)$float` with `precision=14`: 30.0 → "30", 0.1+0.2 → "0.3", 1e20 → "1.0E+20"."""
    if math.isnan(value):
        return "NAN"
    if math.isinf(value):
        return "INF" if value > 0 else "-INF"
    if value.is_integer() and 0 < abs(value) < _WHOLE_DIGITS_LIMIT:  # sizes: plain digits
        return str(int(value))
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    mantissa, _, exponent = f"{abs(value):.{_PRECISION - 1}e}".partition("e")
    digits = mantissa.replace(".", "").rstrip("0") or "0"
    point = int(exponent) + 1  # where the decimal point sits in `digits` (zend_dtoa's decpt)
    if value == 0:
        return sign + "0"
    if point < -3 or point > _PRECISION:
        fraction = digits[1:] or "0"
        return f"{sign}{digits[0]}.{fraction}E{'-' if point - 1 < 0 else '+'}{abs(point - 1)}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    whole, fraction = digits[:point].ljust(point, "0"), digits[point:]
    return f"{sign}{whole}.{fraction}" if fraction else sign + whole
