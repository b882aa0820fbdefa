"""`uploadToken.list`: filter, order and pager (kaltura-server-semantics.md §11.3).

Where the real source says more than §11.3, the source wins (kaltura/server c447fdb3eb):

* an empty string filters nothing (`baseObjectFilter::attachToFinalCriteria`,
  filters.class.php:607), and the file-name rules test `fileNameEqual` for PHP truth, so
  "" and "0" do not trigger them (UploadTokenService.php:188, :198);
* `statusIn` items are neither trimmed nor skipped when empty (`createSqlIn`,
  filters.class.php:895-898): MySQL compares each with the INT column as a number, so
  " 1" is 1 and "" or "x" is 0 (PENDING); only the first 500 items count;
* `orderBy` is a comma list: unknown items are dropped (KalturaFilter.php:64-74) and the
  first known one decides (a second sort on the same column changes nothing);
* `pageSize` 0 or less sets no LIMIT at all, so every match comes back
  (KalturaFilterPager.php:22-29, Propel BasePeer.php:1023, DBMySQL.php:141-145).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TypeVar

from conformance.model.config import ModelConfig
from conformance.model.errors import ErrorCode, api_error
from conformance.model.events import Caller, Pager, TokenFilter
from conformance.model.outcomes import Failed
from conformance.model.status import TokenStatus
from conformance.model.token import TokenRecord

Paged = TypeVar("Paged")  # records in the model, views in a test server's own ordering

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_IN_VALUES",
    "MAX_PAGE_SIZE",
    "effective_order",
    "filter_tokens",
    "page",
    "validate_filter",
]

DEFAULT_PAGE_SIZE = 30  # KalturaPager.php:17
MAX_PAGE_SIZE = 500  # baseObjectFilter::$maxInValues (filters.class.php:15)
MAX_IN_VALUES = 500  # the same bound cuts an IN list (filters.class.php:898)
_ORDERS = ("+createdAt", "-createdAt")  # KalturaUploadTokenBaseFilter.php:20-24
# MySQL's string-to-number cast: leading whitespace, then the longest numeric prefix.
_MYSQL_NUMBER = re.compile(
    r"[ \t\n\r\v\f]*([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)?"
)
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
    order = effective_order(token_filter.order_by)
    if order == "+createdAt":
        matched.sort(key=lambda record: (record.created_at, record.sequence))
    elif order == "-createdAt":
        matched.sort(key=lambda record: (-record.created_at, -record.sequence))
    return matched


def effective_order(order_by: str | None) -> str | None:
    """The first known item of the comma list; the others are dropped or repeat the column
    (KalturaFilter.php:64-74, filters.class.php:770-780)."""
    items = [] if order_by is None else order_by.split(",")
    return next((item for item in items if item in _ORDERS), None)


def _with_resume_rules(token_filter: TokenFilter) -> TokenFilter:
    """A file-name lookup with no status filter sees only statuses 0, 1 and 2 (2017-04).
    PHP's loose tests: `statusIn == null` holds for "" too (UploadTokenService.php:188);
    `statusEqual == null` also for 0, which then changes nothing."""
    no_status = token_filter.status_equal is None and not token_filter.status_in
    if _php_truthy(token_filter.file_name_equal) and no_status:
        return _replace_status_in(token_filter, _RESUME_LOOKUP_STATUSES)
    return token_filter


def _replace_status_in(token_filter: TokenFilter, status_in: str) -> TokenFilter:
    fields = dict(token_filter.__dict__)
    fields["status_in"] = status_in
    return TokenFilter(**fields)


def _php_truthy(text: str | None) -> bool:
    return text not in (None, "", "0")


def _unset(value: str | None) -> bool:
    """Null and "" add no criterion (filters.class.php:606-607)."""
    return value is None or value == ""


def _matches(record: TokenRecord, f: TokenFilter, now: float, config: ModelConfig) -> bool:
    checks = (
        _unset(f.id_equal) or record.id == f.id_equal,
        _unset(f.id_in) or record.id in _split(f.id_in or ""),
        f.user_id_equal is None or record.user_id == f.user_id_equal,
        f.status_equal is None or record.status == f.status_equal,
        _unset(f.status_in) or int(record.status) in _status_numbers(f.status_in or ""),
        _unset(f.file_name_equal) or record.file_name == f.file_name_equal,
        f.file_size_equal is None or record.file_size == f.file_size_equal,
        _within_resume_window(record, f, now, config),
    )
    return all(checks)


def _within_resume_window(
    record: TokenRecord, f: TokenFilter, now: float, config: ModelConfig
) -> bool:
    """A PARTIAL file-name lookup hides tokens past the resume window (2020-09)."""
    partial_lookup = (
        _php_truthy(f.file_name_equal) and f.status_equal == TokenStatus.PARTIAL_UPLOAD
    )  # UploadTokenService.php:198
    return not partial_lookup or record.updated_at >= now - config.max_resume_time


def _split(comma_list: str) -> set[str]:
    """Items past the 500th are dropped (filters.class.php:898). [I] Items are trimmed and
    compared exactly (MySQL's collation would ignore case and trailing spaces only)."""
    items = comma_list.split(",")[:MAX_IN_VALUES]
    return {item.strip() for item in items if item.strip()}


def _status_numbers(comma_list: str) -> set[float]:
    """`_in_status` as MySQL reads it against an INT column (filters.class.php:895-898):
    each item untrimmed, cast as a number; "" and words are 0."""
    return {_mysql_number(item) for item in comma_list.split(",")[:MAX_IN_VALUES]}


def _mysql_number(text: str) -> float:
    match = _MYSQL_NUMBER.match(text)
    number = match.group(1) if match else None
    return float(number) if number else 0.0


def page(records: Sequence[Paged], pager: Pager) -> list[Paged]:
    """`KalturaFilterPager`: size 30 by default, at most 500, index ≥ 1
    (KalturaPager.php:52-65, KalturaFilterPager.php:20-30). A size of 0 or less is no LIMIT:
    every match, from the first (offset (index − 1) × 0; BasePeer.php:1023)."""
    size = DEFAULT_PAGE_SIZE if pager.page_size is None else pager.page_size
    size = min(size, MAX_PAGE_SIZE)
    if size <= 0:
        return list(records)
    index = max(pager.page_index or 1, 1)
    start = (index - 1) * size
    return list(records[start : start + size])
