"""One check per server requirement (UT-S*): request plans run through `ServerDriver`.

Each check is registered by its requirement ID in `CHECKS`, a registry of the kind the
client checks use (`conformance.findings`), and returns `Findings` about a
`ServerUnderTest`. It adds its own tokens (deleted again on exit), sends a small fixed plan
chosen to reach its requirement, and judges by the model's prediction for every answer and
every `uploadToken.get` in between: each mismatch is a `Breach`, and a pass says how many
answers were compared (`observations["summary"]`). The endpoint is reached only through
`KalturaApi`.

UT-S03 also sends middles concurrently (`concurrent.send_concurrently`), with and without
the close among them, judged by the orders the model allows.

What cannot be seen over the API: the assembled bytes. UT-S03/S04 are judged by the sizes
and statuses the server reports at each step (an append in arrival order shows up as an
`uploadedFileSize` the model does not allow), not by the file's digest.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from conformance.clients.api import KalturaApi
from conformance.content import SourceFile
from conformance.findings import Breach, CheckRegistry, CheckResult, Findings
from conformance.model import ErrorCode, TokenStatus
from conformance.requirements import Party
from conformance.scenario import Partition, UploadSchedule
from conformance.server.concurrent import send_concurrently
from conformance.server.driver import MISSING, ServerDriver, TokenPair
from conformance.server.error_shape import json_error_problems, xml_error_problems
from conformance.server.listing import NOT_A_STATUS, ListQuery, status_list
from conformance.server.sends import Send

__all__ = ["CHECKS", "ServerUnderTest", "run_check", "run_checks"]

_SIZE = 40_000
_CUTS = (10_000, 20_000, 30_000)  # four chunks: the opening, two middles, the close
_CANNOT_MATCH = ErrorCode.UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE.name
_PENDING = TokenStatus.PENDING.value
_PARTIAL = TokenStatus.PARTIAL_UPLOAD.value
_FULL = TokenStatus.FULL_UPLOAD.value
_DELETED = TokenStatus.DELETED.value


@dataclass(frozen=True)
class ServerUnderTest:
    """What a server check runs against: an API session on the endpoint, and whether a
    close a faithful server holds for its whole close wait (§7: 45 s on Kaltura) may be
    sent where a check has the choice (UT-S03's concurrent close), and how a check lets
    the server's clock move on: a real server's by sleeping, a test server's by advancing
    its clock (UT-S14 waits for a later `createdAt`)."""

    api: KalturaApi
    close_waits: bool = True
    sleep: Callable[[float], None] = time.sleep


CHECKS: CheckRegistry[ServerUnderTest] = CheckRegistry(Party.SERVER)
"""Every implemented check by requirement id, in requirement order."""


def run_check(requirement_id: str, target: ServerUnderTest) -> CheckResult:
    """One registered check, judged."""
    return CHECKS.run(requirement_id, target)


def run_checks(target: ServerUnderTest) -> list[CheckResult]:
    """Every check, in requirement order."""
    return [run_check(requirement_id, target) for requirement_id in CHECKS]


def _source(seed: int, size: int = _SIZE) -> SourceFile:
    return SourceFile(size, seed)


def _schedule(
    middle_order: tuple[int, ...] = (2, 1),
    resends: tuple[int, ...] = (),
    close_after: int | None = None,
) -> UploadSchedule:
    """A plan over four chunks: the opening, two middles, the close."""
    return UploadSchedule(Partition(_SIZE, _CUTS), middle_order, resends, close_after)


def _findings(problems: list[str], summary: str) -> Findings:
    """Each problem a breach; `summary` says what held when none was found."""
    breaches = tuple(Breach(problem) for problem in problems)
    return Findings(breaches, observations={"summary": summary})


def _with_driver(target: ServerUnderTest, plan: Callable[[ServerDriver], None]) -> Findings:
    """Run `plan` on a fresh driver; every answer the model did not predict is a breach."""
    with ServerDriver(target.api, sleep=target.sleep) as driver:
        plan(driver)
        failures = [observation.describe() for observation in driver.mismatches()]
        return _findings(failures, f"{len(driver.observations)} answer(s) as the model predicted")


def _opening(source: SourceFile, end: int) -> Send:
    return Send.opening(source.read(0, end))


def _middle(source: SourceFile, start: int, end: int) -> Send:
    return Send.middle(source.read(start, end), start)


def _full_upload(driver: ServerDriver, source: SourceFile, ids: tuple[str, ...]) -> TokenPair:
    return driver.run_schedule(source, _schedule(), ids)


# --- the checks ------------------------------------------------------------------------


@CHECKS.register("UT-S01")
def check_s01(target: ServerUnderTest) -> Findings:
    """An opening stores its payload as the whole file, on PENDING and on PARTIAL_UPLOAD."""

    def plan(driver: ServerDriver) -> None:
        source, ids = _source(1), ("UT-S01",)
        pair = driver.new_token(_SIZE, ids)
        driver.upload(pair, _opening(source, 10_000), ids)
        driver.upload(pair, _opening(source, 4_000), ids)  # replaces the whole file

    return _with_driver(target, plan)


@CHECKS.register("UT-S02")
def check_s02(target: ServerUnderTest) -> Findings:
    """`resume=true` on a PENDING token: CANNOT_RESUME, still PENDING."""

    def plan(driver: ServerDriver) -> None:
        source, ids = _source(2), ("UT-S02",)
        pair = driver.new_token(_SIZE, ids)
        for offset in (0, 10_000):
            driver.upload(pair, _middle(source, offset, offset + 10_000), ids)

    return _with_driver(target, plan)


@CHECKS.register("UT-S03")
def check_s03(target: ServerUnderTest) -> Findings:
    """Middles assembled by `resumeAt`: out-of-order plans, sizes checked at every step;
    then middles in flight together, without and (`target.close_waits`) with the close
    among them, which a faithful server may hold for its close wait (45 s on Kaltura)."""

    def plan(driver: ServerDriver) -> None:
        ids = ("UT-S03",)
        driver.run_schedule(_source(3), _schedule(middle_order=(2, 1)), ids)
        partition = Partition(_SIZE, (5_000, 12_000, 21_000, 33_000))
        driver.run_schedule(_source(4), UploadSchedule(partition, (3, 1, 2)), ids)
        for with_close in (False, True)[: 2 if target.close_waits else 1]:
            _concurrent_upload(driver, _source(15), partition, ids, with_close=with_close)

    return _with_driver(target, plan)


def _concurrent_upload(
    driver: ServerDriver,
    source: SourceFile,
    partition: Partition,
    ids: tuple[str, ...],
    *,
    with_close: bool,
) -> None:
    schedule = UploadSchedule(partition, tuple(range(1, partition.count - 1)))
    opening, *middles, close = (Send.planned(r, source) for r in schedule.requests())
    pair = driver.new_token(source.size, ids)
    driver.upload(pair, opening, ids)
    batch = [*middles, close] if with_close else middles
    observed = send_concurrently(driver, pair, batch, ids)
    if not with_close or observed[-1].actual.code == _CANNOT_MATCH:
        driver.upload(pair, close, ids)  # the close (again) once every middle is in


@CHECKS.register("UT-S04")
def check_s04(target: ServerUnderTest) -> Findings:
    """Re-sent middles (same offset, same bytes) change nothing."""

    def plan(driver: ServerDriver) -> None:
        schedule = _schedule(middle_order=(1, 2), resends=(2, 1))
        driver.run_schedule(_source(5), schedule, ("UT-S04",))

    return _with_driver(target, plan)


@CHECKS.register("UT-S05")
def check_s05(target: ServerUnderTest) -> Findings:
    """An early close: CANNOT_MATCH_EXPECTED_SIZE, status and received bytes unchanged."""

    def plan(driver: ServerDriver) -> None:
        source, ids = _source(6), ("UT-S05",)
        pair = driver.new_token(_SIZE, ids)
        requests = _schedule(close_after=0).requests()
        for planned in requests[:2]:  # the opening and the early close
            driver.upload(pair, Send.planned(planned, source), ids)
        driver.upload(pair, Send.planned(requests[2], source), ids)  # a middle still lands

    return _with_driver(target, plan)


@CHECKS.register("UT-S06")
def check_s06(target: ServerUnderTest) -> Findings:
    """The refused close, re-sent once the missing chunks arrived, succeeds."""

    def plan(driver: ServerDriver) -> None:
        driver.run_schedule(_source(7), _schedule(close_after=1), ("UT-S06",))

    return _with_driver(target, plan)


@CHECKS.register("UT-S07")
def check_s07(target: ServerUnderTest) -> Findings:
    """An empty closing payload at `resumeAt` = N is accepted."""

    def plan(driver: ServerDriver) -> None:
        schedule = UploadSchedule(Partition(_SIZE, _CUTS), (3, 1, 2), empty_close=True)
        driver.run_schedule(_source(8), schedule, ("UT-S07",))

    return _with_driver(target, plan)


@CHECKS.register("UT-S08")
def check_s08(target: ServerUnderTest) -> Findings:
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
            driver.upload(pair, Send.close(payload, close_at), ids)

    return _with_driver(target, plan)


@CHECKS.register("UT-S09")
def check_s09(target: ServerUnderTest) -> Findings:
    """Every data request to a FULL_UPLOAD token: INVALID_STATUS_FOR_UPLOAD."""

    def plan(driver: ServerDriver) -> None:
        source, ids = _source(10), ("UT-S09",)
        pair = _full_upload(driver, source, ids)
        close = _schedule().requests()[-1]
        driver.upload(pair, Send.planned(close, source), ids)  # the duplicate close
        driver.upload(pair, _middle(source, 10_000, 20_000), ids)
        driver.upload(pair, _opening(source, 10_000), ids)

    return _with_driver(target, plan)


@CHECKS.register("UT-S10")
def check_s10(target: ServerUnderTest) -> Findings:
    """Unknown and deleted ids: NOT_FOUND on get, upload, delete; list hides deleted."""

    def plan(driver: ServerDriver) -> None:
        source, ids = _source(11), ("UT-S10",)
        deleted = driver.new_token(_SIZE, ids)
        driver.upload(deleted, _opening(source, 10_000), ids)
        driver.delete(deleted, ids)
        for pair in (MISSING, deleted):
            driver.upload(pair, _opening(source, 10_000), ids)  # includes a get
            driver.delete(pair, ids)
        driver.list_by_id(deleted, ids)

    return _with_driver(target, plan)


@CHECKS.register("UT-S11")
def check_s11(target: ServerUnderTest) -> Findings:
    """Errors: HTTP 200 with a JSON error object (`format=1`) or an XML `<error>`."""
    problems = [*json_error_problems(target.api), *xml_error_problems(target.api)]
    return _findings(problems, "JSON and XML error answers well formed")


@CHECKS.register("UT-S12")
def check_s12(target: ServerUnderTest) -> Findings:
    """Omitted resume/finalChunk/resumeAt take the defaults false/true/-1."""

    def plan(driver: ServerDriver) -> None:
        source, ids = _source(12), ("UT-S12",)
        whole = driver.new_token(_SIZE, ids)
        driver.upload(whole, Send(source.read(0, _SIZE), 0), ids)
        appended = driver.new_token(_SIZE, ids)
        driver.upload(appended, _opening(source, 10_000), ids)
        tail = Send(source.read(10_000, _SIZE), 10_000, resume=True)
        driver.upload(appended, tail, ids)  # appends at the end, closes unverified

    return _with_driver(target, plan)


@CHECKS.register("UT-S13")
def check_s13(target: ServerUnderTest) -> Findings:
    """`uploadedFileSize` never counts chunks beyond a gap."""

    def plan(driver: ServerDriver) -> None:
        source, ids = _source(13), ("UT-S13",)
        pair = driver.new_token(_SIZE, ids)
        driver.upload(pair, _opening(source, 10_000), ids)
        for offset in (30_000, 20_000):
            driver.upload(pair, _middle(source, offset, offset + 10_000), ids)

    return _with_driver(target, plan)


@CHECKS.register("UT-S14")
def check_s14(target: ServerUnderTest) -> Findings:
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
        for query in (
            ListQuery(),
            ListQuery(status_equal=_DELETED),
            ListQuery(order_by="-createdAt"),
        ):
            driver.list_tokens(query, ids, mine)
        driver.list_tokens(ListQuery(file_name_equal=shared), ids)

    return _with_driver(target, plan)


def _list_queries(shared: str, unknown_user: str) -> list[ListQuery]:
    """Every filter, both orders, and pages: full, partial, past the end, empty, clamped."""
    filters = [
        ListQuery(),
        *(ListQuery(status_equal=status) for status in (_PENDING, _PARTIAL, _FULL, _DELETED)),
        ListQuery(status_equal=NOT_A_STATUS),  # INVALID_ENUM_VALUE
        ListQuery(status_in=status_list(_PENDING, _FULL)),
        ListQuery(status_in=status_list(_PARTIAL, NOT_A_STATUS)),  # not validated
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
        ListQuery(file_name_equal=shared, status_equal=_PARTIAL),
        ListQuery(
            file_name_equal=shared, status_in=status_list(_PENDING, _FULL), order_by="-createdAt"
        ),
        ListQuery(file_name_equal=shared, page_size=1, page_index=2, order_by="-createdAt"),
    ]
