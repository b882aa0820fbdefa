"""`uploadToken.list`: filter, order and pager (kaltura-server-semantics.md §11.3)."""

from __future__ import annotations

from collections.abc import Iterable

from conformance.model.config import ModelConfig
from conformance.model.errors import ErrorCode, api_error
from conformance.model.events import Caller, Pager, TokenFilter
from conformance.model.outcomes import Failed
from conformance.model.status import TokenStatus
from conformance.model.token import TokenRecord

__all__ = ["DEFAULT_PAGE_SIZE", "MAX_PAGE_SIZE", "filter_tokens", "page", "validate_filter"]

DEFAULT_PAGE_SIZE = 30
MAX_PAGE_SIZE = 500
_RESUME_LOOKUP_STATUSES = "0,1,2"  # forced for a file-name lookup without a status filter


def validate_filter(token_filter: TokenFilter) -> Failed | None:
    """`statusEqual` is enum-validated; nothing else in the filter is."""
    status = token_filter.status_equal
    if status is not None and status not in set(TokenStatus):
        error = api_error(
            ErrorCode.INVALID_ENUM_VALUE,
            ENUM_VAL=status,
            PARAM_NAME="statusEqual",
            ENUM_TYPE="KalturaUploadTokenStatus",
        )
        return Failed(error)
    return None


def filter_tokens(
    records: Iterable[TokenRecord],
    caller: Caller,
    token_filter: TokenFilter,
    now: float,
    config: ModelConfig,
) -> list[TokenRecord]:
    """The visible records that match, in the order asked for (creation order otherwise)."""
    token_filter = _with_resume_rules(token_filter)
    matched = [
        record
        for record in records
        if record.visible
        and (caller.is_admin or record.user_id == caller.user_id)
        and _matches(record, token_filter, now, config)
    ]
    if token_filter.order_by == "+createdAt":
        matched.sort(key=lambda record: (record.created_at, record.sequence))
    elif token_filter.order_by == "-createdAt":
        matched.sort(key=lambda record: (-record.created_at, -record.sequence))
    return matched


def _with_resume_rules(token_filter: TokenFilter) -> TokenFilter:
    """A file-name lookup with no status filter sees only statuses 0, 1 and 2 (2017-04)."""
    no_status = token_filter.status_equal is None and token_filter.status_in is None
    if token_filter.file_name_equal is not None and no_status:
        return _replace_status_in(token_filter, _RESUME_LOOKUP_STATUSES)
    return token_filter


def _replace_status_in(token_filter: TokenFilter, status_in: str) -> TokenFilter:
    fields = dict(token_filter.__dict__)
    fields["status_in"] = status_in
    return TokenFilter(**fields)


def _matches(record: TokenRecord, f: TokenFilter, now: float, config: ModelConfig) -> bool:
    checks = (
        f.id_equal is None or record.id == f.id_equal,
        f.id_in is None or record.id in _split(f.id_in),
        f.user_id_equal is None or record.user_id == f.user_id_equal,
        f.status_equal is None or record.status == f.status_equal,
        f.status_in is None or str(int(record.status)) in _split(f.status_in),
        f.file_name_equal is None or record.file_name == f.file_name_equal,
        f.file_size_equal is None or record.file_size == f.file_size_equal,
        _within_resume_window(record, f, now, config),
    )
    return all(checks)


def _within_resume_window(
    record: TokenRecord, f: TokenFilter, now: float, config: ModelConfig
) -> bool:
    """A PARTIAL file-name lookup hides tokens past the resume window (2020-09)."""
    partial_lookup = f.file_name_equal is not None and f.status_equal == TokenStatus.PARTIAL_UPLOAD
    return not partial_lookup or record.updated_at >= now - config.max_resume_time


def _split(comma_list: str) -> set[str]:
    return {item.strip() for item in comma_list.split(",") if item.strip()}


def page(records: list[TokenRecord], pager: Pager) -> list[TokenRecord]:
    """`KalturaFilterPager`: size 30 by default, clamped to [0, 500]; index ≥ 1."""
    size = DEFAULT_PAGE_SIZE if pager.page_size is None else pager.page_size
    size = min(max(size, 0), MAX_PAGE_SIZE)
    index = max(pager.page_index or 1, 1)
    start = (index - 1) * size
    return records[start : start + size]
