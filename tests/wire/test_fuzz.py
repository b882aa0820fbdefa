"""Fuzz the decoder and the argument builder: whatever a client sends, the codec answers.

Requests are drawn as a client might build them, right or wrong: a route (path form, query
form, a JSON body, the multipart `json` field, or none) with a service and an action from
the real ones and from noise, then arguments spread over every source — path pairs, the
query string (percent-escapes, invalid UTF-8, brackets, colons), form fields, file parts,
the `json` field, a JSON body — under any content type. A second test throws fully
arbitrary targets and bodies at the decoder.

Each goes `decode_call` → `check_route` → `build_event` / `build_start_session`, and every
`Failed` produced is encoded in both formats. Nothing may raise; the XML must parse (with
ElementTree and lxml); the JSON must load. Last, the query string parsed once gives the
same `ApiCall` as when `decode_call` parsed it twice.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from conformance.model import (
    AddToken,
    Caller,
    DeleteToken,
    Failed,
    GetToken,
    ListTokens,
    MemoryBlob,
    TokenResult,
    TokenStatus,
    TokenView,
    Upload,
)
from conformance.wire import (
    FORMAT_JSON,
    FORMAT_XML,
    ApiCall,
    ApiResult,
    ParsedBody,
    StartSession,
    UploadedPart,
    build_event,
    build_start_session,
    check_route,
    decode_call,
    encode_answer,
)
from conformance.wire import request as wire_request
from conformance.wire.formats import ResponseFormat, choose_format

NOW = 1_700_000_000.0
CALLERS = (None, Caller(101, "admin"), Caller(101, "alice", is_admin=False))
EVENTS = (Upload, AddToken, GetToken, DeleteToken, ListTokens, StartSession)
FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

SERVICES = ("uploadToken", "uploadtoken", "UPLOADTOKEN", "session", "media", "", "0", "\x01")
ACTIONS = ("upload", "add", "list", "get", "delete", "start", "frobnicate", "", "0", "a\x02")
# The arguments each action reads, drawn more often for that action.
ACTION_ARGUMENTS = {
    "upload": ("uploadTokenId", "fileData", "resume", "finalChunk", "resumeAt"),
    "add": (
        "uploadToken:fileName",
        "uploadToken:fileSize",
        "uploadToken:autoFinalize",
        "uploadToken[autoFinalize]",
        "uploadToken:status",
        "uploadToken",
    ),
    "list": (
        "filter:statusEqual",
        "filter[statusEqual]",
        "filter:fileNameEqual",
        "filter:idIn",
        "filter:fileSizeEqual",
        "pager:pageSize",
        "pager:pageIndex",
        "filter",
        "pager",
    ),
    "get": ("uploadTokenId",),
    "delete": ("uploadTokenId",),
    "start": ("secret", "partnerId", "userId", "type", "expiry", "privileges"),
}
ARGUMENTS = (
    "uploadTokenId",
    "fileData",
    "resume",
    "finalChunk",
    "resumeAt",
    "ks",
    "format",
    "secret",
    "partnerId",
    "userId",
    "type",
    "expiry",
    "privileges",
    "uploadToken:fileName",
    "uploadToken:fileSize",
    "uploadToken:autoFinalize",
    "uploadToken:status",
    "uploadToken:id",
    "uploadToken:fileName__null",
    "uploadToken[autoFinalize]",
    "uploadToken",
    "filter:statusEqual",
    "filter:fileNameEqual",
    "filter:idIn",
    "filter:fileSizeEqual",
    "filter[statusEqual]",
    "filter",
    "pager:pageSize",
    "pager:pageIndex",
    "pager",
    "service",
    "action",
    "json",
    "a[]",
    "resume__null",
    "a" + "[x]" * 65,  # deeper than PHP's max_input_nesting_level
    "a" + ":x" * 65,
)
VALUES = (
    "",
    "0",
    "1",
    "2",
    "-1",
    "9",
    "1.0",
    " 1",
    "1.5",
    "10240000.0",
    "1e400",
    "NaN",
    "true",
    "FALSE",
    "no",
    "maybe",
    "--1",
    "²",
    "١",
    "0x1A",
    "0_abc",
    "a<b>&c.mp4",
    "\x00",
    "a\x01b",
    "\ufffe",
    "\U0001f3ac",
    "uploadto\u212aen",
    "Array",
    "a\ud800",  # a lone surrogate: in JSON text it is the escape "\ud800"
)
# Strings at the edges of PHP's numeric rules, where Python's int() and isdigit() disagree.
NUMERIC_EDGES = ("--1", "²", "١٢", "1e400", "-1e400", "NaN", " 1", "1 ", "1.0", "1.5", "+1", ".")
ESCAPES = (
    "%FF",
    "%C3",
    "%C3%A9",
    "%00",
    "%01",
    "%1F",
    "%2F",
    "%3A",
    "%5B",
    "%5D",
    "%26",
    "%",
    "%Z",
)

argument = st.sampled_from(ARGUMENTS) | st.text(max_size=6)
text_value = st.sampled_from(NUMERIC_EDGES) | st.sampled_from(VALUES) | st.text(max_size=8)
# URL text: values and escapes glued together, raw (the decoder does the unescaping).
url_text = (
    st.sampled_from(NUMERIC_EDGES)
    | st.sampled_from(VALUES)
    | (st.lists(st.sampled_from(VALUES) | st.sampled_from(ESCAPES), max_size=3).map("".join))
)
big_integers = st.sampled_from((2**63, -(2**63) - 1, 10**400, -(10**400)))
scalar = st.none() | st.booleans() | st.integers() | big_integers | st.floats() | text_value
json_value = st.recursive(
    scalar,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(argument, children, max_size=3)
    ),
    max_leaves=6,
)
broken_json = st.sampled_from(
    ("{", "{}", '{"a": NaN}', '{"a": 1,}', '{"a": "\\ud800"}', "[]", "null", "5", '{\n"a": 1\n}')
)
content_types = st.sampled_from(
    (
        None,
        "",
        "application/json",
        "Application/JSON",
        "application/json; charset=utf-8",
        "multipart/form-data; boundary=x",
        "MULTIPART/FORM-DATA",
        "application/x-www-form-urlencoded",
    )
)
PLACES = ("path", "query", "form", "file", "json_field", "json_body")


def _part(draw: st.DrawFn, field: str) -> UploadedPart:
    filename = draw(st.sampled_from(("", "chunk_0", "a<b>&.mp4", "\x01")) | st.text(max_size=4))
    blob = MemoryBlob(draw(st.binary(max_size=4)))
    return UploadedPart(field, filename, "application/octet-stream", blob, "")


@st.composite
def requests(draw: st.DrawFn, action: str | None = None) -> tuple[str, str | None, ParsedBody]:
    """A request a client could send: a route plus arguments spread over every source.

    With `action`, the route is that valid uploadToken (or session) action, in the path
    (first pairs) or the query, where no other source can displace it, and the arguments
    are mostly the ones the action reads."""
    fixed = action is not None
    action = action if action is not None else draw(st.sampled_from(ACTIONS))
    service = "session" if action == "start" else "uploadToken"
    if not fixed:
        service = draw(st.just(service) | st.sampled_from(SERVICES))
    route = {"service": service, "action": action}
    places = ("path", "query") if fixed else ("path", "query", "form", "json_field", "json_body")
    route_place = draw(st.sampled_from(places))
    relevant = ACTION_ARGUMENTS.get(action, ARGUMENTS)
    names = st.sampled_from(relevant * 3 + ARGUMENTS) | (st.nothing() if fixed else argument)
    arguments = draw(
        st.lists(st.tuples(names, st.sampled_from(PLACES)), min_size=int(fixed), max_size=6)
    )
    if fixed:
        arguments = [(name, place) for name, place in arguments if name not in route]
    path: list[str] = []
    query: list[str] = []
    form: list[tuple[str, str]] = []
    files: list[UploadedPart] = []
    json_field: dict[str, Any] = {}
    json_body: dict[str, Any] = {}
    for name, place in [("service", route_place), ("action", route_place), *arguments]:
        routed = route.get(name) if place == route_place else None
        if place == "path":
            path.append(f"{name}/{routed if routed is not None else draw(url_text)}")
        elif place == "query":
            query.append(f"{name}={routed if routed is not None else draw(url_text)}")
        elif place == "form":
            form.append((name, routed if routed is not None else draw(text_value)))
        elif place == "file":
            files.append(_part(draw, name))
        else:
            bucket = json_field if place == "json_field" else json_body
            bucket[name] = routed if routed is not None else draw(json_value)
    if bool(json_field) or draw(st.booleans()):
        form.append(("json", json.dumps(json_field) if json_field else draw(broken_json)))
    json_text = json.dumps(json_body) if json_body else draw(st.none() | broken_json)
    prefix = draw(st.sampled_from(("/api_v3/", "//api_v3/", "/api_v3/index.php/")))
    target = prefix + "/".join(path) + ("?" + "&".join(query) if query else "")
    kind: str | None = "application/json" if json_body else "multipart/form-data; boundary=x"
    if draw(st.integers(0, 3)) == 0:
        kind = draw(content_types)
    return target, kind, ParsedBody(tuple(form), tuple(files), json_text)


# Fully arbitrary input, for the decoder's own robustness.
noise = st.lists(st.sampled_from(ESCAPES) | st.text(max_size=4), max_size=3).map("".join)
any_target = st.builds(
    lambda parts, tail: "/" + "/".join(parts) + tail,
    st.lists(noise | st.sampled_from(("api_v3", "index.php", "", "service", "action")), max_size=8),
    st.just("")
    | st.lists(st.tuples(noise, st.just("="), noise).map("".join), max_size=6).map(
        lambda pairs: "?" + "&".join(pairs)
    ),
)
any_body = st.builds(
    ParsedBody,
    fields=st.lists(st.tuples(argument, text_value | broken_json), max_size=5).map(tuple),
    files=st.lists(
        st.builds(
            UploadedPart,
            argument,
            st.text(max_size=3),
            st.none(),
            st.builds(MemoryBlob),
            st.just(""),
        ),
        max_size=2,
    ).map(tuple),
    json_text=st.none() | st.text(max_size=30) | broken_json,
    problem=st.none() | st.just("a malformed body"),
)


def _check_encodings(answer: ApiResult) -> None:
    as_json = encode_answer(answer, FORMAT_JSON)
    assert (as_json.status, as_json.content_type) == (200, "application/json")
    json.loads(as_json.body)
    as_xml = encode_answer(answer, FORMAT_XML, 0.001)
    assert (as_xml.status, as_xml.content_type) == (200, "text/xml")
    ET.fromstring(as_xml.body)
    etree.fromstring(as_xml.body)


def _run(call: ApiCall, caller: Caller | None) -> None:
    assert isinstance(call, ApiCall)
    assert call.format in (FORMAT_JSON, FORMAT_XML, 3, 9)  # JSON, XML, PHP, JSONP
    for name in (call.service, call.action):
        assert name is None or (name and not any("A" <= ch <= "Z" for ch in name))
    refused = check_route(call)
    if refused is not None:
        outcome: object = refused
    elif call.service == "session":
        outcome = build_start_session(call)
    else:
        assert call.service == "uploadtoken"
        outcome = build_event(call, caller, NOW)
    if isinstance(outcome, Failed):
        _check_encodings(outcome)
    else:
        assert isinstance(outcome, EVENTS)
    for value in call.params.values():  # the trace stringifies every parameter
        str(value)


@FUZZ
@given(requests(), st.sampled_from(CALLERS))
def test_any_request_a_client_could_send(
    request: tuple[str, str | None, ParsedBody], caller: Caller | None
) -> None:
    _run(decode_call(*request), caller)


@pytest.mark.parametrize("action", sorted(ACTION_ARGUMENTS))
@settings(FUZZ, max_examples=50)
@given(data=st.data())
def test_each_action_with_fuzzed_arguments(action: str, data: st.DataObject) -> None:
    request = data.draw(requests(action))
    call = decode_call(*request)
    assert check_route(call) is None
    _run(call, data.draw(st.sampled_from(CALLERS)))


@settings(FUZZ, max_examples=50)
@given(any_target, content_types | st.text(max_size=12), any_body)
def test_any_bytes_at_all(target: str, kind: str | None, body: ParsedBody) -> None:
    _run(decode_call(target, kind, body), CALLERS[1])


@settings(FUZZ, max_examples=80)
@given(st.text(), st.text(), st.text(), st.text() | st.none())
def test_any_token_text_encodes(
    token_id: str, user_id: str, file_name: str, url: str | None
) -> None:
    """Text the model echoes back (ids, user ids, file names) never breaks an answer."""
    token = TokenView(
        token_id, 101, user_id, TokenStatus.PENDING, file_name, 1.5, 3, 1, 2, url, True
    )
    _check_encodings(TokenResult(token))
    _check_encodings(file_name)


# --- the query string is parsed once ------------------------------------------------------
# `decode_call` reads it once (merged into the parameters, and read again for JSONP's
# callback): the same `ApiCall` as when it was parsed twice, for every request drawn above.


def decoded_twice(target: str, content_type: str | None, body: ParsedBody) -> ApiCall:
    """`decode_call` as it was: the query parsed for the merge and again for the format."""
    path, _, query = target.partition("?")
    notes: list[str] = [body.problem] if body.problem else []
    merged = wire_request._post_params(content_type, body, notes)
    for source in (
        wire_request._file_params(body.files),
        wire_request._query_params(query),
        wire_request._path_params(path),
    ):
        wire_request._replace_recursive(merged, source)
    params = wire_request._grouped(merged)
    response = choose_format(params, wire_request._query_params(query))
    return wire_request.call_from_params(params, response, tuple(notes))


@FUZZ
@given(requests())
def test_a_request_decodes_as_before(request: tuple[str, str | None, ParsedBody]) -> None:
    target, kind, body = request
    assert decode_call(target, kind, body) == decoded_twice(target, kind, body)


@FUZZ
@given(
    st.text().map(lambda text: "/api_v3/index.php?" + text),
    st.sampled_from([None, "application/json", "multipart/form-data; boundary=b"]),
    st.lists(st.tuples(st.text(max_size=12), st.text(max_size=12)), max_size=6),
)
def test_any_query_decodes_as_before(
    target: str, kind: str | None, fields: list[tuple[str, str]]
) -> None:
    body = ParsedBody(tuple(fields))
    assert decode_call(target, kind, body) == decoded_twice(target, kind, body)


def test_a_jsonp_callback_and_nested_query_keys_as_before() -> None:
    target = "/api_v3/service/uploadtoken/action/get?format=9&callback=cb&a[b]=1&a[c]=2&ks=k"
    body = ParsedBody((("a[b]", "0"), ("format", "1")))
    call = decode_call(target, "application/x-www-form-urlencoded", body)
    assert call == decoded_twice(target, "application/x-www-form-urlencoded", body)
    assert call.param("a") == {"b": "1", "c": "2"}
    only_in_body = ParsedBody((("callback", "cb"),))  # JSONP reads `$_GET` only
    target = "/api_v3/service/uploadtoken/action/get?format=9&ks=k"
    call = decode_call(target, "application/x-www-form-urlencoded", only_in_body)
    assert call == decoded_twice(target, "application/x-www-form-urlencoded", only_in_body)
    assert not isinstance(call.response, ResponseFormat)
