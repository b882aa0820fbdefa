"""The proxy reads every answer Kaltura's serializers write into the same `Answered` the
endpoint records for the outcome it encoded: the trace cannot tell the two apart."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from conformance.endpoints.recording import answer_record
from conformance.model import (
    Deleted,
    ErrorCode,
    Failed,
    TokenListed,
    TokenResult,
    TokenStatus,
    TokenView,
    api_error,
)
from conformance.proxy.upstream import decode_answer
from conformance.wire import ResponseFormat, encode_answer, encode_multi
from conformance.wire.formats import die_headers

if TYPE_CHECKING:
    from conformance.wire import ApiResult

TOKEN = TokenView(
    id="0_3f2a9c1e5b7d4f608a1b2c3d4e5f6a7b",
    partner_id=101,
    user_id="alice@example.com",
    status=TokenStatus.PARTIAL_UPLOAD,
    file_name='movie "one" & <two>.mp4',
    file_size=1_048_576.0,
    uploaded_file_size=524_288,
    created_at=1_700_000_000,
    updated_at=1_700_000_100,
    upload_url=None,
    auto_finalize=False,
)
EMPTY = TokenView(
    id="0_1",
    partner_id=101,
    user_id="",
    status=TokenStatus.PENDING,
    file_name=None,
    file_size=None,
    uploaded_file_size=None,
    created_at=1,
    updated_at=1,
    upload_url=None,
    auto_finalize=True,
)
ANSWERS: list[ApiResult] = [
    TokenResult(TOKEN),
    TokenResult(EMPTY),
    Failed(api_error(ErrorCode.UPLOAD_TOKEN_NOT_FOUND)),
    Failed(api_error(ErrorCode.UPLOAD_PASSED_MAX_RESUME_TIME_ALLOWED, MAX_RESUME_TIME=9)),
    Deleted(),
    TokenListed((TOKEN, EMPTY), 2),
]
FORMATS = [
    ResponseFormat(1),
    ResponseFormat(2),
    ResponseFormat(2, ignore_null=True),
    ResponseFormat(3),
    ResponseFormat(9, callback="cb.x"),
]


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f"format{f.kind}{f.ignore_null}")
@pytest.mark.parametrize("answer", ANSWERS, ids=lambda a: type(a).__name__)
def test_every_encoded_answer_reads_back_as_the_endpoint_recorded_it(
    answer: ApiResult, fmt: ResponseFormat
) -> None:
    encoded = encode_answer(answer, fmt)
    headers = (("Content-Type", encoded.content_type),)
    decoded = decode_answer(encoded.status, headers, encoded.body)
    assert decoded.understood
    assert decoded.answered == answer_record(answer)
    assert decoded.ks is None


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f"format{f.kind}{f.ignore_null}")
def test_a_ks_is_read_back_apart_from_the_record(fmt: ResponseFormat) -> None:
    ks = "djJ8MTAwfKk+/x=="
    encoded = encode_answer(ks, fmt)
    decoded = decode_answer(200, (("Content-Type", encoded.content_type),), encoded.body)
    assert decoded.answered == answer_record(ks)
    assert decoded.ks == ks
    assert ks not in repr(decoded)


def test_a_multirequest_answer_is_ok() -> None:
    encoded = encode_multi([TokenResult(TOKEN), Deleted()], ResponseFormat(1))
    assert decode_answer(200, (), encoded.body).answered.kind == "ok"


def test_a_die_error_is_read_from_its_header() -> None:
    error = api_error(ErrorCode.UPLOAD_TOKEN_NOT_FOUND)
    decoded = decode_answer(200, die_headers(error), b"")
    assert (decoded.answered.kind, decoded.answered.code) == ("error", error.code)


def test_other_statuses_and_unreadable_bodies() -> None:
    assert decode_answer(503, (), b"<html>").answered.http_status == 503
    unread = decode_answer(200, (), b"<<<not a format")
    assert not unread.understood
