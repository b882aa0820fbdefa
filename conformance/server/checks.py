"""One check per server requirement (UT-S*): request plans run through `ServerDriver`.

Each check adds its own tokens (deleted again on exit), sends a small fixed plan chosen to
reach its requirement, and judges by the model's prediction for every answer and every
`uploadToken.get` in between. The endpoint is reached only through `KalturaApi`.

UT-S03 also sends middles concurrently (`concurrent.send_concurrently`), with and without
the close among them, judged by the orders the model allows.

What cannot be seen over the API: the assembled bytes. UT-S03/S04 are judged by the sizes
and statuses the server reports at each step (an append in arrival order shows up as an
`uploadedFileSize` the model does not allow), not by the file's digest.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from xml.etree import ElementTree

import httpx

from conformance.clients.api import KalturaApi
from conformance.content import SourceFile
from conformance.requirements import Verdict, verdict_for_broken
from conformance.requirements import requirement as catalogue_entry
from conformance.scenario import Partition, UploadSchedule
from conformance.server.concurrent import send_concurrently
from conformance.server.driver import Send, ServerDriver, TokenPair
from conformance.server.listing import ListQuery

__all__ = ["CHECKS", "Finding", "run_checks"]

_SIZE = 40_000
_CUTS = (10_000, 20_000, 30_000)  # four chunks: the opening, two middles, the close
_MISSING_ID = "0_kucmissing"  # well-formed, never issued
_NOT_FOUND = "UPLOAD_TOKEN_NOT_FOUND"
_CANNOT_MATCH = "UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE"


@dataclass(frozen=True)
class Finding:
    """The verdict on one requirement: PASS, or FAIL (a MUST) / NON-STRICT (a SHOULD) with
    every mismatch: the request, the expected and the actual answer."""

    requirement: str
    verdict: Verdict
    messages: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.PASS

    @classmethod
    def of(cls, rid: str, failures: tuple[str, ...], summary: str) -> Finding:
        if failures:
            return cls(rid, verdict_for_broken(catalogue_entry(rid).level), failures)
        return cls(rid, Verdict.PASS, (summary,))


def _source(seed: int, size: int = _SIZE) -> SourceFile:
    return SourceFile(size, seed)


def _schedule(
    middle_order: tuple[int, ...] = (2, 1),
    resends: tuple[int, ...] = (),
    close_after: int | None = None,
) -> UploadSchedule:
    """A plan over four chunks: the opening, two middles, the close."""
    return UploadSchedule(Partition(_SIZE, _CUTS), middle_order, resends, close_after)


def _judge(rid: str, driver: ServerDriver) -> Finding:
    failures = tuple(observation.describe() for observation in driver.mismatches())
    count = len(driver.observations)
    return Finding.of(rid, failures, f"{count} answer(s) as the model predicted")


def _with_driver(rid: str, api: KalturaApi, plan: Callable[[ServerDriver], None]) -> Finding:
    with ServerDriver(api) as driver:
        plan(driver)
        return _judge(rid, driver)


def _opening(source: SourceFile, end: int, final: bool = False) -> Send:
    return Send(source.read(0, end), 0, resume=False, final=final, resume_at=0)


def _full_upload(driver: ServerDriver, source: SourceFile, ids: tuple[str, ...]) -> TokenPair:
    return driver.run_schedule(source, _schedule(), ids)


# --- the checks ------------------------------------------------------------------------


def check_s01(api: KalturaApi) -> Finding:
    """An opening stores its payload as the whole file, on PENDING and on PARTIAL_UPLOAD."""

    def plan(driver: ServerDriver) -> None:
        source, ids = _source(1), ("UT-S01",)
        pair = driver.new_token(_SIZE, ids)
        driver.upload(pair, _opening(source, 10_000), ids)
        driver.upload(pair, _opening(source, 4_000), ids)  # replaces the whole file

    return _with_driver("UT-S01", api, plan)


def check_s02(api: KalturaApi) -> Finding:
    """`resume=true` on a PENDING token: CANNOT_RESUME, still PENDING."""

    def plan(driver: ServerDriver) -> None:
        source, ids = _source(2), ("UT-S02",)
        pair = driver.new_token(_SIZE, ids)
        for offset in (0, 10_000):
            payload = source.read(offset, offset + 10_000)
            driver.upload(pair, Send(payload, offset, True, False, offset), ids)

    return _with_driver("UT-S02", api, plan)


def check_s03(api: KalturaApi, *, concurrent_close: bool = True) -> Finding:
    """Middles assembled by `resumeAt`: out-of-order plans, sizes checked at every step;
    then middles in flight together, without and (`concurrent_close`) with the close
    among them, which a faithful server may hold for its close wait (45 s on Kaltura)."""

    def plan(driver: ServerDriver) -> None:
        ids = ("UT-S03",)
        driver.run_schedule(_source(3), _schedule(middle_order=(2, 1)), ids)
        partition = Partition(_SIZE, (5_000, 12_000, 21_000, 33_000))
        driver.run_schedule(_source(4), UploadSchedule(partition, (3, 1, 2)), ids)
        for with_close in (False, True)[: 2 if concurrent_close else 1]:
            _concurrent_upload(driver, _source(15), partition, with_close, ids)

    return _with_driver("UT-S03", api, plan)


def _concurrent_upload(
    driver: ServerDriver,
    source: SourceFile,
    partition: Partition,
    with_close: bool,
    ids: tuple[str, ...],
) -> None:
    schedule = UploadSchedule(partition, tuple(range(1, partition.count - 1)))
    opening, *middles, close = (Send.planned(r, source) for r in schedule.requests())
    pair = driver.new_token(source.size, ids)
    driver.upload(pair, opening, ids)
    batch = [*middles, close] if with_close else middles
    observed = send_concurrently(driver, pair, batch, ids)
    if not with_close or observed[-1].actual.code == _CANNOT_MATCH:
        driver.upload(pair, close, ids)  # the close (again) once every middle is in


def check_s04(api: KalturaApi) -> Finding:
    """Re-sent middles (same offset, same bytes) change nothing."""

    def plan(driver: ServerDriver) -> None:
        schedule = _schedule(middle_order=(1, 2), resends=(2, 1))
        driver.run_schedule(_source(5), schedule, ("UT-S04",))

    return _with_driver("UT-S04", api, plan)


def check_s05(api: KalturaApi) -> Finding:
    """An early close: CANNOT_MATCH_EXPECTED_SIZE, status and received bytes unchanged."""

    def plan(driver: ServerDriver) -> None:
        source, ids = _source(6), ("UT-S05",)
        pair = driver.new_token(_SIZE, ids)
        requests = _schedule(close_after=0).requests()
        for planned in requests[:2]:  # the opening and the early close
            driver.upload(pair, Send.planned(planned, source), ids)
        driver.upload(pair, Send.planned(requests[2], source), ids)  # a middle still lands

    return _with_driver("UT-S05", api, plan)


def check_s06(api: KalturaApi) -> Finding:
    """The refused close, re-sent once the missing chunks arrived, succeeds."""

    def plan(driver: ServerDriver) -> None:
        driver.run_schedule(_source(7), _schedule(close_after=1), ("UT-S06",))

    return _with_driver("UT-S06", api, plan)


def check_s07(api: KalturaApi) -> Finding:
    """An empty closing payload at `resumeAt` = N is accepted."""

    def plan(driver: ServerDriver) -> None:
        schedule = UploadSchedule(Partition(_SIZE, _CUTS), (3, 1, 2), empty_close=True)
        driver.run_schedule(_source(8), schedule, ("UT-S07",))

    return _with_driver("UT-S07", api, plan)


def check_s08(api: KalturaApi) -> Finding:
    """The size check is exact: a close short of the assembled size is refused, and so is
    one that leaves a gap."""

    def plan(driver: ServerDriver) -> None:
        source, ids = _source(9), ("UT-S08",)
        whole_file = UploadSchedule(Partition(_SIZE, _CUTS), (1, 2, 3), empty_close=True)
        payload = source.read(_SIZE - 200, _SIZE - 100)
        # Ends 100 B short of the assembled file (larger file), or 100 B past a gap.
        for close_at in (_SIZE - 200, _SIZE + 100):
            pair = driver.new_token(_SIZE, ids)
            for planned in whole_file.requests()[:-1]:
                driver.upload(pair, Send.planned(planned, source), ids)
            driver.upload(pair, Send(payload, close_at, True, True, close_at), ids)

    return _with_driver("UT-S08", api, plan)


def check_s09(api: KalturaApi) -> Finding:
    """Every data request to a FULL_UPLOAD token: INVALID_STATUS_FOR_UPLOAD."""

    def plan(driver: ServerDriver) -> None:
        source, ids = _source(10), ("UT-S09",)
        pair = _full_upload(driver, source, ids)
        close = _schedule().requests()[-1]
        driver.upload(pair, Send.planned(close, source), ids)  # the duplicate close
        driver.upload(pair, Send(source.read(10_000, 20_000), 10_000, True, False, 10_000), ids)
        driver.upload(pair, _opening(source, 10_000), ids)

    return _with_driver("UT-S09", api, plan)


def check_s10(api: KalturaApi) -> Finding:
    """Unknown and deleted ids: NOT_FOUND on get, upload, delete; list hides deleted."""

    def plan(driver: ServerDriver) -> None:
        source, ids = _source(11), ("UT-S10",)
        missing = TokenPair(_MISSING_ID, _MISSING_ID, _MISSING_ID)
        deleted = driver.new_token(_SIZE, ids)
        driver.upload(deleted, _opening(source, 10_000), ids)
        driver.delete(deleted, ids)
        for pair in (missing, deleted):
            driver.upload(pair, _opening(source, 10_000), ids)  # includes a get
            driver.delete(pair, ids)
        driver.list_by_id(deleted, ids)

    return _with_driver("UT-S10", api, plan)


def check_s11(api: KalturaApi) -> Finding:
    """Errors: HTTP 200 with a JSON error object (`format=1`) or an XML `<error>`."""
    problems = (*_json_error_problems(api), *_xml_error_problems(api))
    return Finding.of("UT-S11", problems, "JSON and XML error answers well formed")


def check_s12(api: KalturaApi) -> Finding:
    """Omitted resume/finalChunk/resumeAt take the defaults false/true/-1."""

    def plan(driver: ServerDriver) -> None:
        source, ids = _source(12), ("UT-S12",)
        whole = driver.new_token(_SIZE, ids)
        driver.upload(whole, Send(source.read(0, _SIZE), 0, None, None, None), ids)
        appended = driver.new_token(_SIZE, ids)
        driver.upload(appended, _opening(source, 10_000), ids)
        tail = Send(source.read(10_000, _SIZE), 10_000, resume=True, final=None, resume_at=None)
        driver.upload(appended, tail, ids)  # appends at the end, closes unverified

    return _with_driver("UT-S12", api, plan)


def check_s13(api: KalturaApi) -> Finding:
    """`uploadedFileSize` never counts chunks beyond a gap."""

    def plan(driver: ServerDriver) -> None:
        source, ids = _source(13), ("UT-S13",)
        pair = driver.new_token(_SIZE, ids)
        driver.upload(pair, _opening(source, 10_000), ids)
        for offset in (30_000, 20_000):
            payload = source.read(offset, offset + 10_000)
            driver.upload(pair, Send(payload, offset, True, False, offset), ids)

    return _with_driver("UT-S13", api, plan)


def check_s14(api: KalturaApi) -> Finding:
    """add/get fields; list by every filter §11.3 names, ordered and paged; delete from
    PENDING, PARTIAL_UPLOAD and FULL_UPLOAD, after which no list shows the token.

    Lists are restricted to this check's own tokens (by their ids, or by a file name only
    this run uses): on a live account the partner has other tokens. The tokens are added
    in two batches a second apart, so that `orderBy` has distinct `createdAt`s to sort."""

    def plan(driver: ServerDriver) -> None:
        source, ids = _source(14), ("UT-S14",)
        shared = driver.run_name("shared")  # three tokens share it: a resume-by-name lookup
        unsized = driver.new_token(None, ids)
        pending = driver.new_token(_SIZE, ids)
        partial = driver.new_token(_SIZE, ids, file_name=shared)
        driver.upload(partial, _opening(source, 10_000), ids)
        driver.await_new_created_at()
        full = driver.run_schedule(source, _schedule(), ids, file_name=shared)
        small = driver.new_token(1_000, ids, file_name=shared)
        for pair in (unsized, pending, full):
            driver.fields(pair, ids)
        driver.list_by_id(pending, ids)
        mine = [unsized, pending, partial, full, small]
        for query in _list_queries(shared, driver.run_name("nobody")):
            driver.list_tokens(query, ids, mine)
        for query in _name_queries(shared):
            driver.list_tokens(query, ids)
        for pair in (pending, partial, full):
            driver.delete(pair, ids)
            driver.get(pair, ids, after="delete")
            driver.list_by_id(pair, ids)
        for query in (ListQuery(), ListQuery(status_equal=5), ListQuery(order_by="-createdAt")):
            driver.list_tokens(query, ids, mine)
        driver.list_tokens(ListQuery(file_name_equal=shared), ids)

    return _with_driver("UT-S14", api, plan)


def _list_queries(shared: str, unknown_user: str) -> list[ListQuery]:
    """Every filter, both orders, and pages: full, partial, past the end, empty, clamped."""
    filters = [
        ListQuery(),
        *(ListQuery(status_equal=status) for status in (0, 1, 2, 5)),
        ListQuery(status_equal=9),  # not a status: INVALID_ENUM_VALUE
        ListQuery(status_in="0,2"),
        ListQuery(status_in="1,9"),  # not validated
        ListQuery(file_size_equal=_SIZE),
        ListQuery(file_name_equal=shared),
        ListQuery(user_id_equal=unknown_user),  # an unknown user: nothing
    ]
    pages = [
        ListQuery(order_by=order, page_size=size, page_index=index)
        for order in ("+createdAt", "-createdAt")
        for size, index in ((None, None), (2, 1), (2, 2), (2, 3), (3, 2), (2, 4))
    ]
    odd_pagers = [
        ListQuery(order_by="+createdAt", page_size=size, page_index=index)
        for size, index in ((0, 1), (-1, 1), (2, 0), (600, 1))
    ]
    return [*filters, *pages, *odd_pagers]


def _name_queries(shared: str) -> list[ListQuery]:
    """By file name alone: PENDING, PARTIAL_UPLOAD and FULL_UPLOAD unless a status is given
    (§11.3); PARTIAL_UPLOAD by name is the resume lookup (updated within the resume time)."""
    return [
        ListQuery(file_name_equal=shared, order_by="+createdAt"),
        ListQuery(file_name_equal=shared, status_equal=1),
        ListQuery(file_name_equal=shared, status_in="0,2", order_by="-createdAt"),
        ListQuery(file_name_equal=shared, page_size=1, page_index=2, order_by="-createdAt"),
    ]


# --- UT-S11: raw HTTP, because KalturaApi hides the error's shape ----------------------


def _raw_get(api: KalturaApi, fmt: str | None) -> httpx.Response:
    url = f"{api.service_url.rstrip('/')}/api_v3/service/uploadToken/action/get"
    data = {"ks": api.ks or "", "uploadTokenId": _MISSING_ID}
    if fmt is not None:
        data["format"] = fmt
    return api.client.post(url, data=data)


def _json_error_problems(api: KalturaApi) -> list[str]:
    response = _raw_get(api, "1")
    where = "get of an unknown token with format=1"
    if response.status_code != 200:
        return [f"{where}: HTTP {response.status_code}, expected 200"]
    try:
        body = json.loads(response.content)
    except ValueError:
        return [f"{where}: the answer is not JSON"]
    if not isinstance(body, dict):
        return [f"{where}: expected an error object, got {body!r}"]
    problems = [f"{where}: no {key!r}" for key in ("code", "message", "args") if key not in body]
    if body.get("objectType") != "KalturaAPIException":
        problems.append(f"{where}: objectType {body.get('objectType')!r}")
    if body.get("code") != _NOT_FOUND:
        problems.append(f"{where}: code {body.get('code')!r}, expected {_NOT_FOUND}")
    return problems


def _xml_error_problems(api: KalturaApi) -> list[str]:
    response = _raw_get(api, None)
    where = "get of an unknown token, default format"
    if response.status_code != 200:
        return [f"{where}: HTTP {response.status_code}, expected 200"]
    try:
        root = ElementTree.fromstring(response.content)  # our own test traffic, 127.0.0.1
    except ElementTree.ParseError:
        return [f"{where}: the answer is not XML"]
    code = root.findtext(".//error/code")
    if code != _NOT_FOUND:
        return [f"{where}: <error><code> is {code!r}, expected {_NOT_FOUND}"]
    return []


CHECKS: dict[str, Callable[[KalturaApi], Finding]] = {
    "UT-S01": check_s01,
    "UT-S02": check_s02,
    "UT-S03": check_s03,
    "UT-S04": check_s04,
    "UT-S05": check_s05,
    "UT-S06": check_s06,
    "UT-S07": check_s07,
    "UT-S08": check_s08,
    "UT-S09": check_s09,
    "UT-S10": check_s10,
    "UT-S11": check_s11,
    "UT-S12": check_s12,
    "UT-S13": check_s13,
    "UT-S14": check_s14,
}
"""Every implemented check by requirement id."""


def run_checks(api: KalturaApi) -> list[Finding]:
    """Every check, in requirement order."""
    return [check(api) for check in CHECKS.values()]
