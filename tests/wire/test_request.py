"""Every request form of `wire-encodings.md`, decoded as §3.1 and §3.2 say.

Inputs are built as the HTTP body parser would hand them over (`ParsedBody`): the codec is
tested, not the multipart parser.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from conformance.model import MemoryBlob
from conformance.wire import (
    FORMAT_JSON,
    FORMAT_XML,
    ApiCall,
    FormatRefused,
    ParsedBody,
    ResponseFormat,
    UploadedPart,
)
from conformance.wire.formats import FORMAT_JSONP, FORMAT_PHP
from conformance.wire.request import decode_call

MULTIPART = "multipart/form-data; boundary=----kaltura"
FORM = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"
PATH = "/api_v3/service/uploadtoken/action/upload"


def part(field: str = "fileData", filename: str = "chunk_0", data: bytes = b"abc") -> UploadedPart:
    return UploadedPart(field, filename, "application/octet-stream", MemoryBlob(data), "")


def decode(
    target: str,
    content_type: str | None = None,
    *,
    fields: tuple[tuple[str, str], ...] = (),
    files: tuple[UploadedPart, ...] = (),
    json_text: str | None = None,
) -> ApiCall:
    return decode_call(target, content_type, ParsedBody(fields, files, json_text))


def route(call: ApiCall) -> tuple[str | None, str | None]:
    return call.service, call.action


# --- §3.1 URL forms -----------------------------------------------------------------------


def test_path_form() -> None:
    call = decode(PATH)
    assert route(call) == ("uploadtoken", "upload")
    assert call.format == FORMAT_XML
    assert call.params == {"service": "uploadtoken", "action": "upload"}


def test_path_form_with_extra_pairs() -> None:
    call = decode(PATH + "/format/1/uploadTokenId/0_abc")
    assert route(call) == ("uploadtoken", "upload")
    assert call.format == FORMAT_JSON
    assert call.param("uploadTokenId") == "0_abc"


def test_path_pairs_are_percent_decoded() -> None:
    call = decode(PATH + "/uploadTokenId/0_a%20b%2Fc")
    assert call.param("uploadTokenId") == "0_a b/c"


def test_a_path_key_without_a_value_is_present_as_null() -> None:
    """PHP's `each()` past the end gives null: the key exists (array_key_exists)."""
    call = decode(PATH + "/resumeAt")
    assert call.present("resumeAt")
    assert call.param("resumeAt") is None


def test_old_query_form() -> None:
    call = decode("/api_v3/index.php?service=uploadToken&action=upload")
    assert route(call) == ("uploadtoken", "upload")


def test_script_path_then_pairs() -> None:
    assert route(decode("/api_v3/index.php/service/uploadToken/action/upload")) == (
        "uploadtoken",
        "upload",
    )


@pytest.mark.parametrize("service", ["uploadToken", "uploadtoken", "UPLOADTOKEN", "UploadToken"])
@pytest.mark.parametrize("action", ["upload", "UPLOAD", "Upload"])
def test_service_and_action_in_any_case(service: str, action: str) -> None:
    expected = ("uploadtoken", "upload")
    assert route(decode(f"/api_v3/service/{service}/action/{action}")) == expected
    assert route(decode(f"/api_v3/index.php?service={service}&action={action}")) == expected
    fields = (("service", service), ("action", action))
    assert route(decode("/api_v3/index.php", FORM, fields=fields)) == expected


def test_names_are_lowered_as_ascii_only() -> None:
    """`strtolower` leaves a KELVIN SIGN alone; Python's `lower()` would make it "k"."""
    call = decode("/api_v3/service/uploadTo\u212aen/action/upload")
    assert call.service == "uploadto\u212aen"


@pytest.mark.parametrize(
    "target",
    [
        "//api_v3/service/uploadtoken/action/upload",
        "/api_v3//service/uploadtoken/action/upload",
        "//api_v3//service//uploadtoken//action//upload",
        "/api_v3/service/uploadtoken/action/upload/",
    ],
)
def test_doubled_slashes_are_harmless(target: str) -> None:
    assert route(decode(target)) == ("uploadtoken", "upload")


def test_missing_service_and_action() -> None:
    assert route(decode("/api_v3/index.php")) == (None, None)
    assert route(decode("/api_v3/service/uploadtoken")) == ("uploadtoken", None)
    assert route(decode("/api_v3/index.php?service=&action=")) == (None, None)


def test_service_zero_is_not_specified_but_action_zero_is_a_name() -> None:
    """`if (!$service)`: "0" is falsy in PHP; an action "0" is looked up (and not found)."""
    assert route(decode("/api_v3/index.php?service=0&action=0")) == (None, "0")


def test_a_json_service_name_is_cast_to_string() -> None:
    call = decode("/api_v3/index.php", JSON_TYPE, json_text='{"service": 5, "action": true}')
    assert route(call) == ("5", "1")


# --- the official clients' multipart `json` field -----------------------------------------

OFFICIAL = {
    "ks": "djJ8MTAwfA==",
    "format": 1,
    "clientTag": "php5:24-01-01",
    "apiVersion": "19.0.0",
    "kalsig": "abc",
    "uploadTokenId": "0_abc",
    "resume": True,
    "finalChunk": False,
    "resumeAt": 4096,
}


def test_official_clients_json_field() -> None:
    chunk = part()
    call = decode(PATH, MULTIPART, fields=(("json", json.dumps(OFFICIAL)),), files=(chunk,))
    assert route(call) == ("uploadtoken", "upload")
    assert call.format == FORMAT_JSON
    for name, value in OFFICIAL.items():
        assert call.param(name) == value
    assert call.param("fileData") is chunk
    assert "json" not in call.params


def test_a_non_empty_json_field_replaces_every_other_form_field() -> None:
    """`$post = json_decode($_POST['json'], true)`: the other POST fields are not used."""
    fields = (("resume", "1"), ("json", '{"uploadTokenId": "0_abc"}'), ("finalChunk", "0"))
    call = decode(PATH, MULTIPART, fields=fields, files=(part(),))
    assert call.param("uploadTokenId") == "0_abc"
    assert not call.present("resume")
    assert not call.present("finalChunk")
    assert "json" not in call.params


@pytest.mark.parametrize(
    "text",
    [
        "{}",
        "",
        "null",
        "not json",
        '{"resumeAt": NaN}',
        '{"resumeAt": Infinity}',
        '{"resumeAt": 1,}',
        '{"a": "\\ud800"}',  # an unpaired surrogate: PHP's JSON_ERROR_UTF16
        "[1, 2]",  # [I] a list or a scalar is not a parameter object: the fields are used
        "5",
    ],
)
def test_an_empty_or_invalid_json_field_falls_back_to_the_form_fields(text: str) -> None:
    call = decode(PATH, MULTIPART, fields=(("json", text), ("resumeAt", "7")))
    assert call.param("resumeAt") == "7"
    assert call.param("json") == text


def test_an_invalid_json_field_leaves_a_note() -> None:
    call = decode(PATH, MULTIPART, fields=(("json", '{"a": NaN}'),))
    assert any("JSON" in note for note in call.notes)


def test_the_json_field_is_read_only_in_multipart_bodies() -> None:
    call = decode(PATH, FORM, fields=(("json", '{"uploadTokenId": "0_abc"}'),))
    assert not call.present("uploadTokenId")
    assert call.param("json") == '{"uploadTokenId": "0_abc"}'


def test_the_json_field_in_an_upper_case_multipart_type() -> None:
    call = decode(PATH, "Multipart/Form-Data; boundary=x", fields=(("json", '{"x": "1"}'),))
    assert call.param("x") == "1"


def test_the_last_json_field_is_the_one_read() -> None:
    fields = (("json", '{"x": "first"}'), ("json", '{"x": "last"}'))
    assert decode(PATH, MULTIPART, fields=fields).param("x") == "last"


# --- plain form fields, query string, everything in the query -----------------------------


def test_form_fields_with_token_and_ks_in_the_query() -> None:
    chunk = part()
    call = decode(
        PATH + "?uploadTokenId=0_abc&ks=KS",
        MULTIPART,
        fields=(("resume", "1"), ("resumeAt", "4096"), ("finalChunk", "0")),
        files=(chunk,),
    )
    assert call.params == {
        "resume": "1",
        "resumeAt": "4096",
        "finalChunk": "0",
        "fileData": chunk,
        "uploadTokenId": "0_abc",
        "ks": "KS",
        "service": "uploadtoken",
        "action": "upload",
    }


def test_everything_in_the_query() -> None:
    chunk = part()
    target = (
        "/api_v3/index.php?service=uploadToken&action=upload&format=1&ks=KS"
        "&uploadTokenId=0_abc&resume=true&finalChunk=false&resumeAt=10240000.0&clientTag=x"
    )
    call = decode(target, MULTIPART, fields=(("fileName", "movie.mp4"),), files=(chunk,))
    assert route(call) == ("uploadtoken", "upload")
    assert call.format == FORMAT_JSON
    assert call.param("resumeAt") == "10240000.0"
    assert call.param("fileData") is chunk
    assert call.param("fileName") == "movie.mp4"


def test_query_percent_escapes_and_plus() -> None:
    call = decode("/api_v3/index.php?fileName=a%20b+c%2Bd%26e%3D")
    assert call.param("fileName") == "a b c+d&e="


def test_invalid_utf8_in_the_query_is_stripped() -> None:
    call = decode("/api_v3/index.php?uploadTokenId=0_a%FFb%C3")
    assert call.param("uploadTokenId") == "0_ab"


def test_a_query_key_without_a_value_is_an_empty_string() -> None:
    assert decode("/api_v3/index.php?resume").param("resume") == ""


# --- a JSON body --------------------------------------------------------------------------

BODY = '{"service": "uploadToken", "action": "add", "uploadToken": {"fileName": "a.mp4"}}'


@pytest.mark.parametrize("content_type", ["application/json", "Application/JSON"])
def test_a_json_body_with_exactly_application_json(content_type: str) -> None:
    call = decode("/api_v3/index.php", content_type, json_text=BODY)
    assert route(call) == ("uploadtoken", "add")
    assert call.object_param("uploadToken") == {"fileName": "a.mp4"}


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=utf-8", "application/json ", "text/json", None, MULTIPART],
)
def test_a_json_body_with_another_content_type_is_ignored(content_type: str | None) -> None:
    call = decode("/api_v3/index.php", content_type, json_text=BODY)
    assert route(call) == (None, None)


def test_an_indented_json_body_over_several_lines_is_read() -> None:
    """Trimmed, then read when it begins with "{" and ends with "}"
    (infraRequestUtils.class.php:530-533)."""
    text = '\n  {\n  "service": "uploadToken",\n  "action": "add"\n}\n\t '
    assert route(decode("/api_v3/index.php", JSON_TYPE, json_text=text)) == ("uploadtoken", "add")


def test_a_json_body_with_one_trailing_newline_is_read() -> None:
    """PCRE's `$` also matches before a final newline."""
    call = decode("/api_v3/index.php", JSON_TYPE, json_text=BODY + "\n")
    assert route(call) == ("uploadtoken", "add")


@pytest.mark.parametrize("text", ["x " + BODY, "[" + BODY + "]", BODY + " x", "\f" + BODY])
def test_a_json_body_must_be_one_object(text: str) -> None:
    """PHP's trim() cuts spaces, tabs, line ends, NUL and VT, not a form feed."""
    assert route(decode("/api_v3/index.php", JSON_TYPE, json_text=text)) == (None, None)


@pytest.mark.parametrize(
    "text",
    [
        '{"service": "uploadToken", "resumeAt": NaN}',
        '{"service": "uploadToken", "resumeAt": -Infinity}',
        '{"service": "uploadToken",}',
        '{"service": "uploadToken" "action": "add"}',
    ],
)
def test_invalid_json_falls_back_to_the_form_fields(text: str) -> None:
    call = decode("/api_v3/index.php", JSON_TYPE, json_text=text, fields=(("service", "form"),))
    assert call.service == "form"


def test_json_values_keep_their_types() -> None:
    text = '{"resume": true, "finalChunk": false, "resumeAt": 4096, "x": null, "y": 1.5}'
    call = decode(PATH, JSON_TYPE, json_text=text)
    assert call.param("resume") is True
    assert call.param("finalChunk") is False
    assert call.param("resumeAt") == 4096
    assert call.param("y") == 1.5
    assert call.present("x")
    assert not call.has("x")


def test_json_integers_beyond_64_bits_are_floats() -> None:
    """json_decode reads an integer too big for 64 bits as a float."""
    text = (
        '{"resumeAt": 1' + "0" * 400 + ', "fileSize": 9223372036854775807,'
        ' "a": -9223372036854775809, "b": 1' + "0" * 5000 + "}"
    )
    call = decode(PATH, JSON_TYPE, json_text=text)
    assert call.param("resumeAt") == float("inf")
    assert call.param("fileSize") == 2**63 - 1
    assert call.param("a") == -9223372036854775809.0
    assert isinstance(call.param("a"), float)
    assert call.param("b") == float("inf")


def test_json_nested_up_to_512_deep_is_read() -> None:
    text = '{"resume": 1, "a": ' + "[" * 511 + "]" * 511 + "}"
    assert decode(PATH, JSON_TYPE, json_text=text).param("resume") == 1


@pytest.mark.parametrize("depth", [512, 5000, 100_000])
def test_json_nested_deeper_than_512_is_not_json_to_php(depth: int) -> None:
    text = '{"resume": 1, "a": ' + "[" * depth + "]" * depth + "}"
    call = decode(PATH, JSON_TYPE, json_text=text, fields=(("resume", "form"),))
    assert call.param("resume") == "form"
    assert call.notes


# --- nested objects -----------------------------------------------------------------------

EXPECTED_TOKEN = {"fileName": "a.mp4", "fileSize": "1048576"}


def test_nested_object_as_a_json_object() -> None:
    text = '{"uploadToken": {"fileName": "a.mp4", "fileSize": "1048576"}}'
    call = decode("/api_v3/service/uploadtoken/action/add", JSON_TYPE, json_text=text)
    assert call.object_param("uploadToken") == EXPECTED_TOKEN


def test_nested_object_as_colon_keys_in_a_form() -> None:
    fields = (("uploadToken:fileName", "a.mp4"), ("uploadToken:fileSize", "1048576"))
    call = decode("/api_v3/service/uploadtoken/action/add", FORM, fields=fields)
    assert call.object_param("uploadToken") == EXPECTED_TOKEN
    assert "uploadToken:fileName" not in call.params


def test_nested_object_as_colon_keys_in_the_query() -> None:
    call = decode(
        "/api_v3/service/uploadtoken/action/add"
        "?uploadToken:fileName=a.mp4&uploadToken%3AfileSize=1048576"
    )
    assert call.object_param("uploadToken") == EXPECTED_TOKEN


def test_nested_object_in_the_json_field() -> None:
    text = '{"uploadToken": {"fileName": "a.mp4", "fileSize": "1048576"}}'
    call = decode("/api_v3/service/uploadtoken/action/add", MULTIPART, fields=(("json", text),))
    assert call.object_param("uploadToken") == EXPECTED_TOKEN


def test_deeper_colon_keys() -> None:
    call = decode("/api_v3/index.php?filter:statusEqual=1&a:b:c=2")
    assert call.object_param("filter") == {"statusEqual": "1"}
    assert call.param("a") == {"b": {"c": "2"}}


def test_bracket_keys_nest_like_parse_str() -> None:
    call = decode("/api_v3/index.php?uploadToken[fileName]=a.mp4&uploadToken[fileSize]=1048576")
    assert call.object_param("uploadToken") == EXPECTED_TOKEN


def test_bracket_keys_deeper_and_appending() -> None:
    call = decode("/api_v3/index.php?a[b][c]=1&l[]=x&l[]=y", FORM, fields=(("f[g]", "h"),))
    assert call.param("a") == {"b": {"c": "1"}}
    assert call.param("l") == {"0": "x", "1": "y"}
    assert call.param("f") == {"g": "h"}


def test_a_plain_key_and_a_bracket_key_later_one_wins() -> None:
    assert decode("/api_v3/index.php?a=1&a[b]=2").param("a") == {"b": "2"}
    assert decode("/api_v3/index.php?a[b]=2&a=1").param("a") == "1"


def test_bracket_keys_deeper_than_php_allows_are_dropped() -> None:
    """max_input_nesting_level = 64: a deeper `a[b][c]…` variable is discarded."""
    call = decode(f"{PATH}?a{'[x]' * 64}=kept&b{'[x]' * 65}=dropped&c{'[x]' * 5000}=dropped")
    node = call.param("a")
    for _ in range(64):
        node = node["x"]
    assert node == "kept"
    assert not call.present("b")
    assert not call.present("c")


def test_colon_keys_deeper_than_64_are_dropped() -> None:
    """[I] the same bound for `a:b:c…` keys: no served object nests so deep."""
    call = decode(f"{PATH}?a{':x' * 64}=kept&b{':x' * 65}=dropped&c{':x' * 5000}=dropped")
    assert call.present("a")
    assert not call.present("b")
    assert not call.present("c")


def test_null_marker_keys_are_dropped() -> None:
    call = decode(
        "/api_v3/index.php?resume__null=1&uploadToken:fileName__null=1&uploadToken:fileSize=5"
    )
    assert "resume__null" not in call.params
    assert not call.present("resume")
    assert call.object_param("uploadToken") == {"fileSize": "5"}


def test_null_marker_keys_are_dropped_inside_json_objects() -> None:
    text = '{"filter": {"statusEqual__null": 1, "fileNameEqual": "a"}}'
    call = decode(PATH, JSON_TYPE, json_text=text)
    assert call.object_param("filter") == {"fileNameEqual": "a"}


# --- §3.2 precedence: POST body < files < query string < path pairs -----------------------

Source = str
SOURCES: tuple[Source, ...] = ("post", "files", "query", "path")
FILE_PART = part(field="resumeAt", filename="chunk_resume")


def _with(sources: dict[Source, str]) -> ApiCall:
    fields: tuple[tuple[str, str], ...] = ()
    files: tuple[UploadedPart, ...] = ()
    target = PATH
    if "path" in sources:
        target += f"/resumeAt/{sources['path']}"
    if "query" in sources:
        target += f"?resumeAt={sources['query']}"
    if "post" in sources:
        fields = (("resumeAt", sources["post"]),)
    if "files" in sources:
        files = (FILE_PART,)
    return decode(target, MULTIPART, fields=fields, files=files)


@pytest.mark.parametrize(
    ("low", "high"),
    [(low, high) for i, low in enumerate(SOURCES) for high in SOURCES[i + 1 :]],
)
def test_precedence_of_each_pair_of_sources(low: Source, high: Source) -> None:
    call = _with({low: "1", high: "2"})
    expected: Any = FILE_PART if high == "files" else "2"
    assert call.param("resumeAt") == expected


def test_precedence_with_all_four_sources() -> None:
    assert _with({"post": "1", "files": "x", "query": "3", "path": "4"}).param("resumeAt") == "4"


def test_a_json_body_is_the_lowest_source() -> None:
    text = '{"uploadTokenId": "json", "resumeAt": 1}'
    call = decode(PATH + "/uploadTokenId/path?resumeAt=query", JSON_TYPE, json_text=text)
    assert call.param("uploadTokenId") == "path"
    assert call.param("resumeAt") == "query"


def test_the_json_field_is_the_lowest_source() -> None:
    call = decode(PATH + "?ks=query", MULTIPART, fields=(("json", '{"ks": "json", "format": 2}'),))
    assert call.param("ks") == "query"


def test_a_query_value_replaces_a_file_part() -> None:
    """`$_GET` after `$_FILES`: a query `fileData=x` hides the uploaded file."""
    call = decode(PATH + "?fileData=x", MULTIPART, files=(part(),))
    assert call.param("fileData") == "x"


def test_nested_objects_merge_across_sources() -> None:
    """array_replace_recursive: a query `uploadToken:fileName` replaces one property."""
    text = '{"uploadToken": {"fileName": "json.mp4", "fileSize": "5"}}'
    call = decode(
        "/api_v3/service/uploadtoken/action/add?uploadToken:fileName=query.mp4",
        JSON_TYPE,
        json_text=text,
    )
    assert call.object_param("uploadToken") == {"fileName": "query.mp4", "fileSize": "5"}


def test_grouping_runs_on_the_merged_keys_in_order() -> None:
    """[I, `groupParams`/`setElementByPath`] colon keys are grouped after the sources are
    merged: a later plain `uploadToken` array replaces the group built from the earlier
    `uploadToken:fileName`."""
    call = decode(
        "/api_v3/index.php?uploadToken[fileSize]=5",
        FORM,
        fields=(("uploadToken:fileName", "form.mp4"),),
    )
    assert call.object_param("uploadToken") == {"fileSize": "5"}


def test_first_value_wins_among_repeated_path_pairs() -> None:
    assert decode(PATH + "/resumeAt/1/resumeAt/2").param("resumeAt") == "1"
    assert route(decode(PATH + "/service/media/action/add")) == ("uploadtoken", "upload")


def test_last_value_wins_among_query_duplicates() -> None:
    assert decode(PATH + "?resumeAt=1&resumeAt=2").param("resumeAt") == "2"


def test_last_value_wins_among_form_duplicates() -> None:
    fields = (("resumeAt", "1"), ("resumeAt", "2"))
    assert decode(PATH, MULTIPART, fields=fields).param("resumeAt") == "2"


def test_last_file_part_of_a_name_wins() -> None:
    first, last = part(filename="a"), part(filename="b")
    assert decode(PATH, MULTIPART, files=(first, last)).param("fileData") is last


# --- format -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [PATH + "/format/1", PATH + "?format=1", PATH + "?format=%201", PATH + "?format=1.0"],
)
def test_format_1_is_json(target: str) -> None:
    assert decode(target).format == FORMAT_JSON


def test_format_1_in_a_json_body_is_json() -> None:
    assert decode(PATH, JSON_TYPE, json_text='{"format": 1}').format == FORMAT_JSON
    assert decode(PATH, JSON_TYPE, json_text='{"format": "1"}').format == FORMAT_JSON


@pytest.mark.parametrize(
    "target",
    [
        PATH,
        PATH + "/format/2",
        PATH + "?format=2",
        PATH + "?format=2.0",
        PATH + "/format",  # a path key without a value: null, so not set
    ],
)
def test_format_2_or_absent_is_xml(target: str) -> None:
    call = decode(target)
    assert call.response == ResponseFormat(FORMAT_XML)


@pytest.mark.parametrize(
    "target",
    [
        PATH + "?format=",
        PATH + "?format=abc",
        PATH + "?format=1abc",  # PHP 8: a non-numeric string equals no case
        PATH + "?format=1.5",
        PATH + "?format=0x1",
        PATH + "?format=4",  # PHP_ARRAY: declared, no serializer
        PATH + "?format=7",
        PATH + "?format[a]=1",  # an array equals no case
    ],
)
def test_any_other_format_is_refused(target: str) -> None:
    """No serializer: UNKNOWN_RESPONSE_FORMAT (KalturaFrontController.php:654-655)."""
    response = decode(target).response
    assert isinstance(response, FormatRefused)
    assert response.error.code == "UNKNOWN_RESPONSE_FORMAT"


def test_format_3_is_php_and_9_is_jsonp_with_a_query_callback() -> None:
    assert decode(PATH + "?format=3").response == ResponseFormat(FORMAT_PHP)
    jsonp = decode(PATH + "?format=9&callback=cb.x_1").response
    assert jsonp == ResponseFormat(FORMAT_JSONP, callback="cb.x_1")


@pytest.mark.parametrize(
    ("target", "code"),
    [
        (PATH + "?format=9", "MANDATORY_PARAMETER_MISSING"),
        (PATH + "/callback/cb?format=9", "MANDATORY_PARAMETER_MISSING"),  # $_GET only
        (PATH + "?format=9&callback=alert(1)", "INVALID_FIELD_VALUE"),
    ],
)
def test_jsonp_needs_a_safe_callback_in_the_query(target: str, code: str) -> None:
    """KalturaJsonProcSerializer.php:10-20."""
    response = decode(target).response
    assert isinstance(response, FormatRefused)
    assert response.error.code == code


@pytest.mark.parametrize(
    ("value", "expected"), [('"1"', True), ("true", True), ("1", False), ('"true"', False)]
)
def test_ignore_null_is_the_string_1_or_true_only(value: str, expected: bool) -> None:
    """An identity comparison (KalturaFrontController.php:642)."""
    call = decode(PATH, JSON_TYPE, json_text=f'{{"ignoreNull": {value}}}')
    assert isinstance(call.response, ResponseFormat)
    assert call.response.ignore_null is expected


def test_json_true_as_format_equals_2_first() -> None:
    """`switch ($format)` tries XML (2) first, and `true == 2` in PHP."""
    assert decode(PATH, JSON_TYPE, json_text='{"format": true}').format == FORMAT_XML


def test_a_path_format_beats_a_query_format() -> None:
    assert decode(PATH + "/format/1?format=2").format == FORMAT_JSON
    assert decode(PATH + "/format/2?format=1").format == FORMAT_XML


def test_the_query_string_keeps_php_max_input_vars_of_its_variables() -> None:
    """php_default_treat_data (main/php_variables.c) counts each non-empty `&` piece before
    registering it: the 1001st and later are dropped (empty pieces count for nothing)."""
    query = "&&".join(f"v{n}=x" for n in range(1002))
    call = decode(f"/api_v3/service/uploadtoken/action/get?{query}")
    assert "v999" in call.params
    assert "v1000" not in call.params


def test_a_decoded_call_keeps_its_credentials_out_of_its_repr() -> None:
    """A traceback or a log line may show any object's repr: a call's KS and admin secret
    must not be in it (the parameters are left out whole)."""
    query = "/api_v3/service/session/action/start?secret=ADMINSECRET99&ks=KSVALUE77"
    call = decode(query)
    assert call.param("secret") == "ADMINSECRET99"
    shown = repr(call)
    assert "session" in shown
    assert "ADMINSECRET99" not in shown
    assert "KSVALUE77" not in shown
