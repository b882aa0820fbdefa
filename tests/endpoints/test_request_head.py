"""The loopback server's request-head reader (`endpoints/request_head.py`) on its own: the
same fields as `http.client.parse_headers` (the email parser it replaced) gave for every
head that parser accepted, the same limits, and a refusal wherever the handler refused
from that parser's defects. The wire side is in `test_request_head_wire.py`."""

from __future__ import annotations

import email.errors
import http.client
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.endpoints.request_head import (
    MAX_LINE,
    MAX_LINES,
    HeadError,
    RequestHeaders,
    read_headers,
    request_line,
)

# The defects the handler answered 400 for before (http_handler's _BAD_HEADER_LINES).
_REFUSED_DEFECTS = (
    email.errors.MissingHeaderBodySeparatorDefect,
    email.errors.FirstHeaderLineIsContinuationDefect,
)


def read(head: bytes) -> RequestHeaders:
    return read_headers(io.BytesIO(head))


def email_parser(head: bytes) -> http.client.HTTPMessage:
    return http.client.parse_headers(io.BytesIO(head))


def outcome(head: bytes) -> RequestHeaders | HeadError:
    try:
        return read(head)
    except HeadError as error:
        return error


def refusal(head: bytes) -> int:
    with pytest.raises(HeadError) as raised:
        read(head)
    return raised.value.status


def test_repeated_names_are_kept_in_order_and_looked_up_without_case() -> None:
    headers = read(b"Host: h\r\nX-Tag: one\r\nx-tag: two\r\nX-TAG: three\r\n\r\n")
    assert headers.items() == [
        ("Host", "h"),
        ("X-Tag", "one"),
        ("x-tag", "two"),
        ("X-TAG", "three"),
    ]
    assert headers.get("x-TAG") == "one"
    assert headers.get_all("X-tag") == ["one", "two", "three"]
    assert headers.get("host") == "h"


def test_an_absent_name() -> None:
    headers = read(b"Host: h\r\n\r\n")
    assert headers.get("Expect") is None
    assert headers.get("Expect", "") == ""
    assert headers.get_all("Content-Length") is None  # as Message.get_all


def test_get_all_hands_out_a_copy() -> None:
    headers = read(b"X: a\r\n\r\n")
    values = headers.get_all("X")
    assert values is not None
    values.append("b")
    assert headers.get_all("X") == ["a"]


@pytest.mark.parametrize(
    ("head", "value"),
    [
        (b"X:\r\n\r\n", ""),
        (b"X:   \r\n\r\n", ""),
        (b"X: a  \r\n\r\n", "a  "),  # trailing blanks kept, as the email parser keeps them
        (b"X:\t a\r\n\r\n", "a"),
        (b"X: a\r\n  b \r\n\tc\r\n\r\n", "a\r\n  b \r\n\tc"),  # folded: kept as it came
        (b"X: a\n b\n\n", "a\n b"),  # bare LF line ends
        (b"X: caf\xe9 \xff\r\n\r\n", "caf\xe9 \xff"),  # bytes as ISO-8859-1
        (b"X: a:b: c\r\n\r\n", "a:b: c"),  # the first colon ends the name
        (b"X: a\x00\x0b\x7f\r\n\r\n", "a\x00\x0b\x7f"),
    ],
)
def test_values_are_what_the_email_parser_gave(head: bytes, value: str) -> None:
    assert read(head).items() == [("X", value)]
    assert email_parser(head).items() == [("X", value)]


def test_the_end_of_the_stream_ends_the_head() -> None:
    stream = io.BytesIO(b"X: a\r\nY: b")
    assert read_headers(stream).items() == [("X", "a"), ("Y", "b")]


def test_the_head_is_read_to_its_empty_line_and_no_further() -> None:
    stream = io.BytesIO(b"X: a\r\n\r\nbody bytes")
    read_headers(stream)
    assert stream.read() == b"body bytes"


def test_an_empty_head() -> None:
    assert read(b"\r\n").items() == []


@pytest.mark.parametrize(
    "head",
    [
        b"Host: h\r\nno colon here\r\nContent-Length: 5\r\n\r\n",
        b" X: a\r\nHost: h\r\n\r\n",  # a continuation first
        b"\tX: a\r\n\r\n",
        b"X : a\r\n\r\n",  # a blank before the colon
        b"X\tY: a\r\n\r\n",
        b"X-\xe9: a\r\n\r\n",  # a name outside ASCII
        b"X\x7f: a\r\n\r\n",
        b"From x\r\nHost: h\r\n\r\n",  # the email parser dropped it as an envelope line
    ],
    ids=[
        "no-colon",
        "continuation",
        "tab-continuation",
        "blank-before-colon",
        "tab-in-name",
        "latin-1-name",
        "del-in-name",
        "from-line",
    ],
)
def test_a_malformed_line_is_refused(head: bytes) -> None:
    assert refusal(head) == 400


@pytest.mark.parametrize(
    "head",
    [
        b": x\r\nHost: h\r\n\r\n",  # the email parser dropped the line
        b"X: a\rContent-Length: 5\r\n\r\n",  # it split the line at the CR ...
        b"X: a\r\r\nContent-Length: 5\r\n\r\n",  # ... and here ended the head: CL lost
        b"X: a\r\n \rb\r\n\r\n",
    ],
    ids=["empty-name", "bare-cr-inside", "cr-before-crlf", "cr-in-fold"],
)
def test_stricter_than_the_email_parser(head: bytes) -> None:
    assert refusal(head) == 400


def test_at_most_a_hundred_lines_with_the_empty_one_as_http_client_counts() -> None:
    fields = [b"X-%d: v\r\n" % i for i in range(MAX_LINES)]
    allowed = b"".join(fields[:-1]) + b"\r\n"  # 99 fields and the empty line: 100 lines
    assert len(read(allowed).items()) == MAX_LINES - 1
    assert len(email_parser(allowed).items()) == MAX_LINES - 1
    too_many = b"".join(fields) + b"\r\n"
    assert refusal(too_many) == 431
    with pytest.raises(http.client.HTTPException):
        email_parser(too_many)


def test_folded_lines_count_as_lines() -> None:
    head = b"X: a\r\n" + b" b\r\n" * (MAX_LINES - 1) + b"\r\n"
    assert refusal(head) == 431


def test_a_line_over_65536_bytes() -> None:
    name = b"X: "
    longest = name + b"a" * (MAX_LINE - len(name) - 2) + b"\r\n"
    assert read(longest + b"\r\n").get("X") == "a" * (MAX_LINE - len(name) - 2)
    over = name + b"a" * (MAX_LINE - len(name) - 1) + b"\r\n"
    assert refusal(over + b"\r\n") == 431
    with pytest.raises(http.client.LineTooLong):
        email_parser(over + b"\r\n")


def test_an_over_large_head_is_a_431_before_a_malformed_line_is_a_400() -> None:
    """The whole head is read before a line is judged, as http.client did."""
    assert refusal(b"no colon\r\n" + b"X: a\r\n" * MAX_LINES + b"\r\n") == 431


# --- against the email parser, for any head it accepted -------------------------------------

_NAMES = st.text(st.sampled_from("!#$%&'*+-.^_`|~09AZaz;<=>?@[]{}\""), min_size=1, max_size=8)
_VALUES = st.text(st.characters(min_codepoint=0, max_codepoint=255, exclude_characters="\r\n"))
_ENDS = st.sampled_from(["\r\n", "\n"])


@st.composite
def well_formed_heads(draw: st.DrawFn) -> bytes:
    """Token-ish names (repeats and mixed case likely), any ISO-8859-1 values, some folded,
    either line end: what RFC 9112 frames, obsolete folding included."""
    names = draw(st.lists(_NAMES, max_size=4, unique=True))
    lines: list[str] = []
    for _ in range(draw(st.integers(0, 12))):
        name = draw(st.sampled_from(names)) if names else draw(_NAMES)
        cased = name.upper() if draw(st.booleans()) else name
        lines.append(f"{cased}:{draw(_VALUES)}{draw(_ENDS)}")
        for _ in range(draw(st.integers(0, 2))):
            fold = draw(st.sampled_from([" ", "\t"])) + draw(_VALUES)
            lines.append(fold + draw(_ENDS))
    return ("".join(lines) + draw(_ENDS)).encode("latin-1")


@given(well_formed_heads())
def test_the_same_fields_as_the_email_parser(head: bytes) -> None:
    ours, theirs = read(head), email_parser(head)
    assert ours.items() == theirs.items()
    for name in {name.lower() for name, _ in theirs.items()} | {"absent"}:
        assert ours.get(name) == theirs.get(name)
        assert ours.get_all(name.upper()) == theirs.get_all(name.upper())


_LINES = st.text(st.sampled_from("aB: \t\xe9:-\x7f"), max_size=6).map(lambda text: text + "\r\n")


@given(st.lists(_LINES, max_size=6))
def test_any_head_the_email_parser_accepted_reads_the_same_or_is_refused_for_cause(
    lines: list[str],
) -> None:
    """Lines of colons, blanks, tabs, and bytes outside ASCII: where the handler acted on the
    email parser's result, ours is the same; where it refused, so do we. Ours refuses
    besides only an empty name and an envelope-looking `From ` line (never drawn here:
    no 'F'), which the email parser dropped silently."""
    head = ("".join(lines) + "\r\n").encode("latin-1")
    theirs = email_parser(head)
    refused_before = any(isinstance(d, _REFUSED_DEFECTS) for d in theirs.defects)
    ours = outcome(head)
    if isinstance(ours, HeadError):
        assert ours.status == 400
        assert refused_before or any(line.startswith(":") for line in lines)
    else:
        assert not refused_before
        assert ours.items() == theirs.items()


# --- the request line -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "persistent"),
    [
        ("GET /a HTTP/1.1", True),
        ("POST /a HTTP/1.0", False),
        ("GET /a HTTP/01.01", True),
        ("GET /a HTTP/1.2", True),
        ("GET /a HTTP/0.9", False),
    ],
)
def test_a_request_line(line: str, persistent: bool) -> None:
    parsed = request_line(line.split())
    assert (parsed.command, parsed.path, parsed.version) == tuple(line.split())
    assert parsed.persistent is persistent


def test_a_path_starting_with_two_slashes_is_made_one_as_http_server_does() -> None:
    assert request_line(["GET", "//evil.example/a", "HTTP/1.1"]).path == "/evil.example/a"


@pytest.mark.parametrize(
    ("line", "status"),
    [
        ("GET /a", 400),  # HTTP/0.9: refused, never answered without a status line
        ("GET", 400),
        ("GET /a HTTP/1.1 extra", 400),
        ("GET /a b HTTP/x", 400),
        ("GET /a HTTP/1", 400),
        ("GET /a HTTP/1.1.1", 400),
        ("GET /a HTTP/1.\xb2", 400),  # a digit to str.isdigit, not to int()
        ("GET /a HTTP/1.12345678901", 400),
        ("GET /a FTP/1.1", 400),
        ("GET /a HTTP/2.0", 505),
        ("GET /a HTTP/3.0 extra", 400),
    ],
)
def test_a_bad_request_line(line: str, status: int) -> None:
    with pytest.raises(HeadError) as raised:
        request_line(line.split())
    assert raised.value.status == status
