"""Upstream answers read into the trace's `Answered`.

The answer is read whole: API answers are small (a token, a list page, an error object),
and the trace needs all of it decoded. `decode_answer` turns it into the trace's
`Answered` the way `KalturaEndpoint` builds one from a model outcome: "ok" with the token's
status, `uploadedFileSize` and id; "error" with the Kaltura error code (an error object in
JSON, JSONP, XML or PHP serialization, or `kRendererDieError`'s `X-Kaltura` header with no
body); "http-error" for any status but 200. A `session.start` answer's KS is handed back
separately (`Decoded.ks`, never in a repr) so the shadow can learn whose session it is.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree

from conformance.trace import Answered

__all__ = ["Decoded", "decode_answer", "decode_items"]

_DIE = re.compile(r"error-\s*(\S+)")
_PHP_CODE = re.compile(r's:4:"code";s:\d+:"([^"]*)"')
_PHP_STATUS = re.compile(r's:6:"status";i:(-?\d+)')
_PHP_SIZE = re.compile(r's:16:"uploadedFileSize";(?:s:\d+:"([^"]*)"|i:(\d+)|d:([^;]+))')
_PHP_ID = re.compile(r's:2:"id";s:\d+:"([^"]*)"')
_PHP_ERROR = 's:10:"objectType";s:19:"KalturaAPIException"'
_PHP_STRING = re.compile(r's:\d+:"(.*)";\Z', re.DOTALL)


@dataclass(frozen=True)
class Decoded:
    """An upstream answer as the trace records it; `ks` is a `session.start` result."""

    answered: Answered
    ks: str | None = field(default=None, repr=False)
    understood: bool = True  # False: a 200 whose body none of Kaltura's formats reads


def decode_answer(status: int, headers: tuple[tuple[str, str], ...], body: bytes) -> Decoded:
    """The trace's `Answered` for one upstream answer (see the module docstring)."""
    if status != 200:
        return Decoded(Answered("http-error", http_status=status))
    named = {name.lower(): value for name, value in headers}
    die = _DIE.match(named.get("x-kaltura", ""))
    if die is not None and not body:
        return Decoded(Answered("error", http_status=200, code=die.group(1)))
    text = _decompressed(body, named.get("content-encoding", "")).decode("utf-8", "replace")
    result = _parse(text.strip())
    if result is _UNREAD:
        return Decoded(Answered("ok", 200), understood=False)
    return _from_result(result)


_UNREAD = object()


def decode_items(headers: tuple[tuple[str, str], ...], body: bytes) -> list[Decoded] | None:
    """A multirequest's answers one by one (JSON or XML), or None when unreadable."""
    named = {name.lower(): value for name, value in headers}
    text = _decompressed(body, named.get("content-encoding", "")).decode("utf-8", "replace")
    text = text.strip()
    try:
        if text.startswith("<"):
            result = ElementTree.fromstring(text).find("result")
            items = [] if result is None else [_xml_value(item) for item in result]
        else:
            parsed = json.loads(text)
            items = parsed if isinstance(parsed, list) else []
    except (ValueError, ElementTree.ParseError):
        return None
    return [_from_result(item) for item in items]


def _decompressed(body: bytes, encoding: str) -> bytes:
    if encoding.strip().lower() in ("gzip", "x-gzip", "deflate"):
        try:
            return zlib.decompress(body, wbits=47)  # gzip or zlib, by the header
        except zlib.error:
            return b""
    return body


def _parse(text: str) -> object:
    """A result in any of Kaltura's serializations, as plain values (or `_UNREAD`)."""
    try:
        if text.startswith("<"):
            return _xml_result(text)
        if re.match(r"[A-Za-z_$][\w$.]*\(", text) and text.endswith(");"):
            text = text[text.index("(") + 1 : -2]  # JSONP
        elif text[:2] in ("O:", "a:", "N;", "s:", "i:", "b:", "d:"):
            return _php_result(text)
        return json.loads(text) if text else None
    except (ValueError, ElementTree.ParseError):
        return _UNREAD


def _from_result(result: object) -> Decoded:
    if isinstance(result, str):
        return Decoded(Answered("ok", 200), ks=result)
    if not isinstance(result, Mapping):
        return Decoded(Answered("ok", 200))  # null (delete), a multirequest's list
    kind = result.get("objectType")
    if kind == "KalturaAPIException":
        return Decoded(Answered("error", http_status=200, code=_text(result.get("code"))))
    if kind != "KalturaUploadToken":
        return Decoded(Answered("ok", 200))
    return Decoded(
        Answered(
            "ok",
            200,
            status=_int(result.get("status")),
            uploaded_file_size=_int(result.get("uploadedFileSize")),
            token_id=_text(result.get("id")),
        )
    )


def _xml_result(text: str) -> object:
    root = ElementTree.fromstring(text)
    result = root.find("result")
    if result is None:
        raise ValueError("no <result>")
    return _xml_value(result)


def _xml_value(result: ElementTree.Element) -> object:
    error = result.find("error")
    if error is not None:
        return {"objectType": "KalturaAPIException", "code": error.findtext("code")}
    if len(result) == 0:
        return result.text or None  # a KS, or the empty result of a delete
    return {child.tag: child.text for child in result if len(child) == 0}


def _php_result(text: str) -> object:
    if text.startswith("N;"):
        return None
    if text.startswith("a:4:") and _PHP_ERROR in text:  # phpserial's error: an array
        code = _PHP_CODE.search(text)
        return {"objectType": "KalturaAPIException", "code": code and code.group(1)}
    if text.startswith('O:18:"KalturaUploadToken"'):
        size = _PHP_SIZE.search(text)
        return {
            "objectType": "KalturaUploadToken",
            "status": (found := _PHP_STATUS.search(text)) and found.group(1),
            "uploadedFileSize": size and next(g for g in size.groups() if g is not None),
            "id": (found_id := _PHP_ID.search(text)) and found_id.group(1),
        }
    string = _PHP_STRING.match(text)
    return string.group(1) if string is not None else {}


def _int(value: Any) -> int | None:
    try:
        return None if value in (None, "") else int(float(value))
    except (TypeError, ValueError):
        return None


def _text(value: object) -> str | None:
    return None if value is None else str(value)
