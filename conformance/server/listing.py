"""`uploadToken.list` for server conformance: the query, and how two pages compare (§11.3).

`ListQuery` is one filter and pager, as request parameters for the endpoint and as a
`TokenFilter` and `Pager` for the model. §11.3 fixes only part of a page's order (none
without `orderBy`; with it, tokens created in the same second tie), so both pages are put in
`canonical` form: ties sorted, and a tie group the page cuts (`cut_ties`) only counted.
Nothing here sends a request or knows a token's `createdAt`: `ServerDriver` does both.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, fields

from conformance.model import Pager, TokenFilter

__all__ = [
    "FILTER",
    "NOT_A_STATUS",
    "WHOLE_LIST",
    "ListQuery",
    "canonical",
    "cut_ties",
    "status_list",
]

FILTER: dict[str, object] = {"filter:objectType": "KalturaUploadTokenFilter"}
_PAGER: dict[str, object] = {"pager:objectType": "KalturaFilterPager"}
WHOLE_LIST = Pager(page_size=500, page_index=1)  # the most a page holds (§11.3)
NOT_A_STATUS = 9  # no `TokenStatus` has it: statusEqual refuses it, statusIn ignores it


def status_list(*statuses: int) -> str:
    """A `statusIn` value: the statuses' numbers, comma-separated."""
    return ",".join(str(int(status)) for status in statuses)


@dataclass(frozen=True)
class ListQuery:
    """The filter and pager of one `uploadToken.list` (§11.3), less the restriction to the
    driver's own tokens, which `ServerDriver.list_tokens` adds (a live account has others).

    Compared: `totalCount` and the page's tokens in order, except where §11.3 leaves the
    order open. Without `order_by` the order is the database's; with it, tokens created in
    the same second (`createdAt` is in whole seconds) may come either way. So tokens with
    equal sort keys are compared as a set, and a tie group the page cuts only by how many
    of it the page holds (`(any …)` in the listing).
    """

    status_equal: int | None = None
    status_in: str | None = None
    file_name_equal: str | None = None
    file_size_equal: int | None = None
    user_id_equal: str | None = None
    order_by: str | None = None
    page_size: int | None = None
    page_index: int | None = None

    def model_filter(self, id_in: str | None) -> TokenFilter:
        size = None if self.file_size_equal is None else float(self.file_size_equal)
        return TokenFilter(
            id_in=id_in,
            user_id_equal=self.user_id_equal,
            status_equal=self.status_equal,
            status_in=self.status_in,
            file_name_equal=self.file_name_equal,
            file_size_equal=size,
            order_by=self.order_by,
        )

    def pager(self) -> Pager:
        return Pager(page_size=self.page_size, page_index=self.page_index)

    def server_params(self, id_in: str | None) -> dict[str, object]:
        """The request's parameters; what is None is left out."""
        named = {
            "filter:idIn": id_in,
            "filter:userIdEqual": self.user_id_equal,
            "filter:statusEqual": self.status_equal,
            "filter:statusIn": self.status_in,
            "filter:fileNameEqual": self.file_name_equal,
            "filter:fileSizeEqual": self.file_size_equal,
            "filter:orderBy": self.order_by,
            "pager:pageSize": self.page_size,
            "pager:pageIndex": self.page_index,
        }
        params = {name: value for name, value in named.items() if value is not None}
        paged = any(name.startswith("pager:") for name in params)
        return {**FILTER, **(_PAGER if paged else {}), **params}

    def describe(self) -> str:
        set_fields = [(f.name, getattr(self, f.name)) for f in fields(self)]
        named = [f"{_CAMEL[name]}={value}" for name, value in set_fields if value is not None]
        return " ".join(named) or "unfiltered"


_CAMEL = {
    "status_equal": "statusEqual",
    "status_in": "statusIn",
    "file_name_equal": "fileNameEqual",
    "file_size_equal": "fileSizeEqual",
    "user_id_equal": "userIdEqual",
    "order_by": "orderBy",
    "page_size": "pageSize",
    "page_index": "pageIndex",
}


def cut_ties(page: list[str], whole: list[str], key: Callable[[str], object]) -> frozenset[object]:
    """The sort keys of tie groups the page holds only part of."""
    on_page, in_all = Counter(map(key, page)), Counter(map(key, whole))
    return frozenset(k for k, count in on_page.items() if count < in_all[k])


def canonical(
    labels: list[str], key: Callable[[str], object], cut: frozenset[object]
) -> tuple[str, ...]:
    """`labels` in listed order, sorted within each run of equal sort keys; a member of a
    cut tie group is only counted (which of the group a page holds is open)."""
    ordered: list[str] = []
    for value, run in itertools.groupby(labels, key=key):
        hidden = "(any)" if value is None else f"(any created at {value})"
        ordered.extend(sorted(hidden if value in cut else label for label in run))
    return tuple(ordered)
