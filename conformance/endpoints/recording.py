"""What the trace keeps of a call: its parameters, scrubbed of credentials and cut to a
bounded size, and an upload's flags and the head of its payload (`record_call`)."""

from __future__ import annotations

from collections.abc import Mapping

from conformance.model import Failed, TokenResult
from conformance.trace import Answered, Exchange, PayloadInfo
from conformance.wire import ApiCall, ApiResult, UploadedPart, UploadFlags, upload_flags

__all__ = ["PAYLOAD_HEAD", "TRACE_PARAMS_MAX", "TRACE_VALUE_MAX", "answer_record", "record_call"]

_SECRET_PARAMS = frozenset({"ks", "secret", "kalsig"})
# Bytes of each payload kept in the trace: one content block and its stamp (content.py).
PAYLOAD_HEAD = 4104
# What the trace keeps of parameters: the checks read short ones (flags, offsets, ids), and a
# whole 8 MiB JSON value kept per exchange grew `serve` by the size of every such body.
TRACE_VALUE_MAX = 1024  # characters of one value (and of one name)
TRACE_PARAMS_MAX = 64 * 1024  # characters of all values of one exchange


def record_call(exchange: Exchange, call: ApiCall) -> UploadFlags | None:
    """Record the call's parameters, scrubbed of credentials, and an upload's shape; the
    upload's flags, cast once here for the trace and the model event."""
    exchange.service, exchange.action = call.service, call.action
    exchange.params = _trace_params(call.params)
    token_id = call.param("uploadTokenId")
    exchange.token_id = None if token_id is None else str(token_id)
    if not exchange.is_data_request:
        return None
    flags = upload_flags(call)
    exchange.resume, exchange.final_chunk, exchange.resume_at = flags
    exchange.payload = _payload(call.param("fileData"))
    return flags


def _trace_params(params: Mapping[str, object]) -> dict[str, str]:
    """Every name (`present()` must see each), values cut to a bounded size."""
    kept: dict[str, str] = {}
    budget = TRACE_PARAMS_MAX
    for name, value in params.items():
        flat = _flat(name, value)
        if len(flat) > TRACE_VALUE_MAX:
            flat = f"{flat[:TRACE_VALUE_MAX]}… <{len(flat)} characters>"
        if len(flat) > budget:
            flat = "<not kept>"
        budget -= len(flat)
        kept[name if len(name) <= TRACE_VALUE_MAX else name[:TRACE_VALUE_MAX] + "…"] = flat
    return kept


def _flat(name: str, value: object) -> str:
    if name in _SECRET_PARAMS:
        return "<redacted>"
    if isinstance(value, str):  # nearly every parameter
        return value
    if isinstance(value, UploadedPart):
        return f"<file {value.filename!r}, {value.size} bytes>"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {_flat(key, item)}" for key, item in value.items()) + "}"
    return str(value)


def _payload(value: object) -> PayloadInfo | None:
    if value is None:
        return None
    if isinstance(value, UploadedPart):
        head = value.blob.read(0, PAYLOAD_HEAD)
        return PayloadInfo(bool(value.filename), value.filename, value.size, value.sha256, head)
    return PayloadInfo(False, None, len(str(value)), None)


def answer_record(answer: ApiResult) -> Answered:
    """What the trace keeps of an API result: its kind, error code, and a token's status,
    size and id."""
    if isinstance(answer, Failed):
        return Answered("error", http_status=200, code=answer.code)
    if isinstance(answer, TokenResult):
        token = answer.token
        return Answered(
            "ok",
            200,
            status=int(token.status),
            uploaded_file_size=token.uploaded_file_size,
            token_id=token.id,
        )
    return Answered("ok", 200)
