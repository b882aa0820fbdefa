"""`BudgetedTransport`: caps, spacing and concurrency of the suite's traffic to an account."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from conformance.budget import Budget, BudgetedTransport, BudgetExceeded

URL = "http://127.0.0.1:9/api_v3/service/uploadToken/action"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _client(
    budget: Budget, clock: FakeClock | None = None
) -> tuple[httpx.Client, BudgetedTransport]:
    inner = httpx.MockTransport(lambda request: httpx.Response(200, json={}))
    if clock is None:
        transport = BudgetedTransport(inner, budget)
    else:
        transport = BudgetedTransport(inner, budget, clock=clock, sleep=clock.sleep)
    return httpx.Client(transport=transport), transport


def test_the_request_after_the_last_allowed_one_is_not_sent() -> None:
    client, transport = _client(Budget(max_requests=3, max_rps=1e6))
    for _ in range(3):
        client.post(f"{URL}/get", data={"a": "b"})
    with pytest.raises(
        BudgetExceeded, match=r"raise --max-requests, --kaltura-max-requests in pytest: now 3\)"
    ):
        client.post(f"{URL}/get", data={"a": "b"})
    assert transport.used.requests == 3


def test_bytes_are_counted_from_the_body_and_capped() -> None:
    client, transport = _client(Budget(max_bytes=5_000, max_rps=1e6))
    client.post(f"{URL}/upload", files={"fileData": ("c", b"x" * 3_000)})
    assert 3_000 < transport.used.bytes_sent < 4_000
    with pytest.raises(
        BudgetExceeded, match=r"raise --max-bytes, --kaltura-max-bytes in pytest: now 5000\)"
    ):
        client.post(f"{URL}/upload", files={"fileData": ("c", b"x" * 3_000)})


def test_deleting_is_never_refused_so_a_spent_run_can_clean_up() -> None:
    client, _ = _client(Budget(max_requests=1, max_rps=1e6))
    client.post(f"{URL}/add")
    with pytest.raises(BudgetExceeded):
        client.post(f"{URL}/add")
    assert client.post(f"{URL}/delete").status_code == 200
    assert client.post(f"{URL.upper()}/DELETE").status_code == 200


def test_the_exempt_sweep_may_list_after_the_budget_is_spent() -> None:
    client, transport = _client(Budget(max_requests=1, max_rps=1e6))
    client.post(f"{URL}/list")
    with transport.exempt():
        assert client.post(f"{URL}/list").status_code == 200
    with pytest.raises(BudgetExceeded):
        client.post(f"{URL}/list")


def test_requests_are_spaced_evenly_by_the_rate_limit() -> None:
    clock = FakeClock()
    client, _ = _client(Budget(max_rps=4), clock)
    for _ in range(5):
        client.post(f"{URL}/get")
    assert clock.slept == pytest.approx([0.25, 0.25, 0.25, 0.25])
    clock.now += 10  # an idle pause does not bank a burst beyond one request
    client.post(f"{URL}/get")
    client.post(f"{URL}/get")
    assert clock.slept[-1] == pytest.approx(0.25)


def test_no_more_than_max_concurrency_requests_are_in_flight() -> None:
    in_flight, most = 0, 0
    lock = threading.Lock()

    def slow(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        time.sleep(0.02)
        with lock:
            in_flight -= 1
        return httpx.Response(200)

    transport = BudgetedTransport(httpx.MockTransport(slow), Budget(max_concurrency=2, max_rps=1e6))
    with httpx.Client(transport=transport) as client:
        threads = [threading.Thread(target=client.post, args=(f"{URL}/get",)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert most == 2


@pytest.mark.parametrize(
    ("field", "option"),
    [
        ("max_requests", "--kaltura-max-requests"),
        ("max_bytes", "--kaltura-max-bytes"),
        ("max_concurrency", "--kaltura-max-concurrency"),
        ("max_rps", "--kaltura-max-rps"),
    ],
)
def test_a_non_positive_limit_is_refused_naming_its_option(field: str, option: str) -> None:
    with pytest.raises(ValueError, match=f"^{option}=0: must be > 0$"):
        Budget(**{field: 0})
