"""PHP's request limits as Kaltura's front applies them before the API sees a request:
max_input_vars (1000), max_multipart_body_parts (1020) and post_max_size (a larger body is
discarded whole). Sources: main/php_variables.c `add_post_vars`, main/rfc1867.c, main/SAPI.c
(php-src), php.net/manual/en/ini.core.php."""

from __future__ import annotations

import io

import httpx
import pytest

from conformance.endpoints import KalturaEndpoint
from conformance.endpoints.bodies import BodyLimits, BodyTooLarge, read_body, read_post
from conformance.endpoints.inprocess import mock_transport
from conformance.stores import TempFileBlobFactory
from conformance.wire.types import ParsedBody

B = "b0undary"
MULTIPART = f"multipart/form-data; boundary={B}"
FORM = "application/x-www-form-urlencoded"
NEXT = b"GET /next HTTP/1.1\r\n\r\n"


def _post(body: bytes, content_type: str, limits: BodyLimits) -> tuple[ParsedBody, io.BytesIO]:
    stream = io.BytesIO(body + NEXT)
    parsed = read_post(
        stream.read,
        content_type=content_type,
        content_length=len(body),
        blobs=TempFileBlobFactory(),
        limits=limits,
    )
    return parsed, stream


def _text_part(name: str, value: str) -> bytes:
    return f'--{B}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()


def _file_part(name: str, data: bytes) -> bytes:
    head = f'--{B}\r\nContent-Disposition: form-data; name="{name}"; filename="c.bin"\r\n\r\n'
    return head.encode() + data + b"\r\n"


def test_urlencoded_keeps_max_input_vars_plus_one_pairs_and_stops() -> None:
    """add_post_vars registers a pair, then counts it: the 1001st is in, the rest are not."""
    body = "&".join(f"v{n}={n}" for n in range(2000)).encode()
    parsed, stream = _post(body, FORM, BodyLimits())
    assert [name for name, _ in parsed.fields] == [f"v{n}" for n in range(1001)]
    assert "max_input_vars" in (parsed.problem or "")
    assert stream.read() == NEXT  # the whole body was still read


def test_urlencoded_empty_pairs_count_like_php() -> None:
    parsed, _ = _post(b"a=1&&b=2&c=3&d=4", FORM, BodyLimits(max_input_vars=2))
    assert parsed.fields == (("a", "1"), ("b", "2"))  # `a`, ``, `b`: three pairs registered


def test_a_body_of_two_million_fields_parses_only_what_php_keeps() -> None:
    body = b"&".join([b"k=v"] * 2_000_000)
    parsed, _ = _post(body, FORM, BodyLimits())
    assert len(parsed.fields) == 1001


def test_multipart_drops_text_fields_past_the_limit_and_keeps_files() -> None:
    """rfc1867.c: `++count <= max_input_vars` gates each text field; parsing goes on."""
    fields = b"".join(_text_part(f"t{n}", str(n)) for n in range(5))
    body = (
        fields
        + _file_part("fileData", b"x" * 10)
        + _text_part("late", "1")
        + f"--{B}--\r\n".encode()
    )
    parsed, stream = _post(body, MULTIPART, BodyLimits(max_input_vars=3))
    assert [name for name, _ in parsed.fields] == ["t0", "t1", "t2"]
    assert [part.field for part in parsed.files] == ["fileData"]
    assert parsed.files[0].blob.size == 10
    assert "max_input_vars" in (parsed.problem or "")
    assert stream.read() == NEXT
    parsed.release()


def test_multipart_parts_limit_is_max_input_vars_plus_max_file_uploads() -> None:
    assert BodyLimits().max_parts == 1020
    assert BodyLimits().max_input_vars == 1000


def test_post_max_size_discards_the_whole_body_and_reads_it_off_the_wire() -> None:
    body = _text_part("ks", "x") + _file_part("fileData", b"y" * 500) + f"--{B}--\r\n".encode()
    parsed, stream = _post(body, MULTIPART, BodyLimits(max_body_size=100))
    assert (parsed.fields, parsed.files, parsed.json_text) == ((), (), None)
    assert "exceeds the limit of 100 bytes" in (parsed.problem or "")
    assert stream.read() == NEXT  # keep-alive stays in step


def test_read_body_itself_still_raises_for_the_transport() -> None:
    """The streaming parser keeps its contract; the PHP behaviour is `read_post`'s."""
    with pytest.raises(BodyTooLarge):
        read_body(io.BytesIO(b"x" * 10).read, content_type=FORM, content_length=10,
                  blobs=TempFileBlobFactory(), limits=BodyLimits(max_body_size=5))  # fmt: skip


def test_kaltura_answers_for_the_arguments_php_dropped(endpoint: KalturaEndpoint) -> None:
    """Past max_input_vars the KS never reaches Kaltura: the call is answered without it."""
    partner = endpoint.add_partner()
    ks = endpoint.start_session(partner)
    token_id = endpoint.add_token(partner.partner_id, "f", 10)
    padding = "&".join(f"p{n}=1" for n in range(1001))
    url = "http://k.test/api_v3/service/uploadtoken/action/get?format=1"
    with httpx.Client(transport=mock_transport(endpoint)) as client:
        late = client.post(url, content=f"{padding}&ks={ks}&uploadTokenId={token_id}",
                           headers={"Content-Type": FORM})  # fmt: skip
        early = client.post(url, content=f"ks={ks}&uploadTokenId={token_id}&{padding}",
                            headers={"Content-Type": FORM})  # fmt: skip
    assert late.json()["objectType"] == "KalturaAPIException"
    assert early.json()["id"] == token_id


def _deep(base: str, levels: int) -> str:
    return base + "".join(f"[k{n}]" for n in range(levels))


def test_a_name_nested_past_64_levels_is_dropped_with_its_base_variable() -> None:
    """php_register_variable_ex: at the 65th `[` the variable is deleted (`zend_hash_del`)
    and the new value dropped; a later one of the same base is registered again."""
    ok, deep = _deep("a", 64), _deep("a", 65)
    body = f"a=1&b=2&{ok}=3&{deep}=4&c=5&a=6".encode()
    parsed, _ = _post(body, FORM, BodyLimits())
    assert parsed.fields == (("b", "2"), ("c", "5"), ("a", "6"))
    parsed, _ = _post(f"a=1&{ok}=3".encode(), FORM, BodyLimits())
    assert parsed.fields == (("a", "1"), (ok, "3"))


def test_nesting_counts_only_chained_brackets_and_base_names_like_php() -> None:
    unclosed = "a" + "[x]" * 64 + "[y"  # 65th `[` is checked before its `]` is looked for
    loose = "a" + "[x]" * 64 + "z[y]"  # not chained: the rest is ignored, 64 levels
    body = f"a.b=1&{unclosed.replace('a', ' a b', 1)}=2&{loose}=3&a=4".encode()
    parsed, _ = _post(body, FORM, BodyLimits())
    assert parsed.fields == ((loose, "3"), ("a", "4"))  # `a.b` went with ` a b[…]`: base `a_b`


def test_multipart_fields_are_nested_within_the_limit_too() -> None:
    body = (
        _text_part("uploadTokenId", "t")
        + _text_part(_deep("uploadTokenId", 65), "x")
        + _text_part("ks", "k")
        + f"--{B}--\r\n".encode()
    )
    parsed, _ = _post(body, MULTIPART, BodyLimits())
    assert parsed.fields == (("ks", "k"),)


def test_kaltura_misses_a_parameter_php_deleted_for_nesting(endpoint: KalturaEndpoint) -> None:
    partner = endpoint.add_partner()
    ks = endpoint.start_session(partner)
    token_id = endpoint.add_token(partner.partner_id, "f", 10)
    url = "http://k.test/api_v3/service/uploadtoken/action/get?format=1"
    deep = _deep("uploadTokenId", 65)
    with httpx.Client(transport=mock_transport(endpoint)) as client:
        answer = client.post(url, data={"ks": ks, "uploadTokenId": token_id, deep: "x"}).json()
    assert answer["code"] == "MISSING_MANDATORY_PARAMETER"
