"""The resilience layer over real sockets: retries, Retry-After, breaker, rate limit, timeouts.

The supplier contract server stands in for any platform here; platform-specific
throttling answers are tested with each client.
"""

from __future__ import annotations

import email.utils
import socket

import httpx
import pytest
from contract_servers.supplier import SupplierServer

from ds1ray.adapters.live.platform_http import PlatformHttp, deterministic_key
from ds1ray.live.clock import ManualClock
from ds1ray.live.resilience import (
    BreakerState,
    CircuitOpen,
    PlatformRejected,
    PlatformUnavailable,
    Resilience,
    RetryBudget,
)

from .conftest import MakeGuard

AUTH = {"Authorization": "Bearer sup-key"}


def client(server: SupplierServer, guard: Resilience, **kwargs: object) -> PlatformHttp:
    return PlatformHttp("supplier", server.url, resilience=guard, headers=AUTH, **kwargs)  # type: ignore[arg-type]


def place(http: PlatformHttp, key: str = "k-1") -> httpx.Response:
    return http.request(
        "POST", "/orders",
        json_body={"reference": "R1", "items": [{"sku": "SKU-LAMP", "quantity": 1}],
                   "ship_to": {"country": "US"}},
        headers={"Idempotency-Key": key},
    )


def test_429_with_retry_after_is_retried_after_the_requested_seconds(
    supplier_server: SupplierServer, make_guard: MakeGuard, clock: ManualClock
) -> None:
    supplier_server.faults.fail_next(2, 429, headers={"Retry-After": "1"})
    http = client(supplier_server, make_guard())
    assert place(http).status_code == 201
    assert clock.sleeps == [1.0, 1.0]
    assert len(supplier_server.requests) == 3


def test_retry_after_as_http_date_is_honoured(
    supplier_server: SupplierServer, make_guard: MakeGuard, clock: ManualClock
) -> None:
    when = email.utils.formatdate(clock.time() + 7, usegmt=True)
    supplier_server.faults.fail_next(1, 503, headers={"Retry-After": when})
    assert place(client(supplier_server, make_guard())).status_code == 201
    assert clock.sleeps == [pytest.approx(7.0, abs=1.0)]


def test_429_for_more_calls_than_attempts_raises_unavailable_after_three_attempts(
    supplier_server: SupplierServer, make_guard: MakeGuard, clock: ManualClock
) -> None:
    supplier_server.faults.fail_next(3, 429, headers={"Retry-After": "1"})
    with pytest.raises(PlatformUnavailable) as raised:
        place(client(supplier_server, make_guard()))
    assert raised.value.status_code == 429
    assert raised.value.attempts == 3
    assert clock.sleeps == [1.0, 1.0]
    assert len(supplier_server.requests) == 3


def test_retries_without_retry_after_use_full_jitter_within_the_exponential_ceiling(
    supplier_server: SupplierServer, make_guard: MakeGuard, clock: ManualClock
) -> None:
    supplier_server.faults.fail_next(5, 502)
    with pytest.raises(PlatformUnavailable):
        place(client(supplier_server, make_guard(attempts=5)))
    assert len(clock.sleeps) == 4
    for retry, delay in enumerate(clock.sleeps):
        assert 0.0 <= delay <= min(20.0, 1.0 * 2**retry)
    assert len(set(clock.sleeps)) == 4  # jittered, not a fixed schedule


def test_a_503_window_on_the_server_clock_is_outlasted_by_backoff(
    supplier_server: SupplierServer, make_guard: MakeGuard, clock: ManualClock
) -> None:
    supplier_server.faults.fail_for(2.0, 503)
    guard = make_guard(attempts=10)
    assert place(client(supplier_server, guard)).status_code == 201
    assert sum(clock.sleeps) >= 2.0
    assert guard.breaker.state is BreakerState.CLOSED


def test_same_idempotency_key_is_sent_on_every_retry_and_the_order_is_placed_once(
    supplier_server: SupplierServer, make_guard: MakeGuard
) -> None:
    supplier_server.faults.fail_next(2, 500)
    place(client(supplier_server, make_guard()), key="order-77")
    keys = {r.headers["idempotency-key"] for r in supplier_server.requests_to("/orders", "POST")}
    assert keys == {"order-77"}
    assert len(supplier_server.orders) == 1


def test_business_errors_are_rejected_at_once_and_do_not_trip_the_breaker(
    supplier_server: SupplierServer, make_guard: MakeGuard, clock: ManualClock
) -> None:
    guard = make_guard(failure_threshold=2)
    http = client(supplier_server, guard)
    for attempt in range(5):
        with pytest.raises(PlatformRejected) as raised:
            http.request("GET", f"/orders/po_missing{attempt}")
        assert raised.value.status_code == 404
    assert guard.breaker.state is BreakerState.CLOSED
    assert clock.sleeps == []
    assert len(supplier_server.requests) == 5


def test_breaker_opens_after_consecutive_failures_and_then_calls_nothing(
    supplier_server: SupplierServer, make_guard: MakeGuard
) -> None:
    supplier_server.faults.fail_next(100, 503)
    guard = make_guard(attempts=1, failure_threshold=5)
    http = client(supplier_server, guard)
    for _ in range(5):
        with pytest.raises(PlatformUnavailable):
            place(http)
    assert guard.breaker.state is BreakerState.OPEN
    with pytest.raises(CircuitOpen) as raised:
        place(http)
    assert raised.value.retry_after == pytest.approx(60.0)
    assert len(supplier_server.requests) == 5
    assert guard.status()["short_circuited"] == 1


def test_open_breaker_goes_half_open_after_the_reset_timeout_and_one_trial_closes_it(
    supplier_server: SupplierServer, make_guard: MakeGuard, clock: ManualClock
) -> None:
    supplier_server.faults.fail_next(5, 503)
    guard = make_guard(attempts=1, failure_threshold=5, reset_timeout=60.0)
    http = client(supplier_server, guard)
    for _ in range(5):
        with pytest.raises(PlatformUnavailable):
            place(http)
    clock.advance(59.0)
    assert guard.breaker.state is BreakerState.OPEN
    clock.advance(1.0 + 1e-6)  # the shared clock holds fractional seconds: clear the rounding
    assert guard.breaker.state is BreakerState.HALF_OPEN
    assert place(http, key="after-recovery").status_code == 201
    assert guard.breaker.state is BreakerState.CLOSED
    assert guard.breaker.snapshot().consecutive_failures == 0


def test_a_failed_half_open_trial_reopens_the_breaker_for_another_timeout(
    supplier_server: SupplierServer, make_guard: MakeGuard, clock: ManualClock
) -> None:
    supplier_server.faults.fail_next(6, 503)
    guard = make_guard(attempts=1, failure_threshold=5, reset_timeout=30.0)
    http = client(supplier_server, guard)
    for _ in range(5):
        with pytest.raises(PlatformUnavailable):
            place(http)
    clock.advance(30.0 + 1e-6)
    with pytest.raises(PlatformUnavailable) as trial:
        place(http)
    assert not isinstance(trial.value, CircuitOpen)  # the trial really went out
    assert guard.breaker.state is BreakerState.OPEN
    assert guard.breaker.snapshot().opens == 2
    assert len(supplier_server.requests) == 6


def test_retry_after_longer_than_the_client_waits_fails_fast_with_the_wait(
    supplier_server: SupplierServer, make_guard: MakeGuard, clock: ManualClock
) -> None:
    supplier_server.faults.fail_next(1, 429, headers={"Retry-After": "3600"})
    with pytest.raises(PlatformUnavailable) as raised:
        place(client(supplier_server, make_guard(max_retry_after=60.0)))
    assert raised.value.retry_after == 3600.0
    assert clock.sleeps == []


def test_an_empty_retry_budget_stops_retries_after_the_first_attempt(
    supplier_server: SupplierServer, make_guard: MakeGuard, clock: ManualClock
) -> None:
    supplier_server.faults.fail_next(10, 503)
    guard = make_guard()
    guard.retry_budget = RetryBudget(capacity=5.0, retry_cost=5.0)
    http = client(supplier_server, guard)
    with pytest.raises(PlatformUnavailable):
        place(http)  # spends the only retry
    with pytest.raises(PlatformUnavailable) as raised:
        place(http)
    assert "retry budget exhausted" in str(raised.value)
    assert len(supplier_server.requests) == 3


def test_rate_limiter_spaces_calls_at_the_configured_rate(
    supplier_server: SupplierServer, make_guard: MakeGuard, clock: ManualClock
) -> None:
    http = client(supplier_server, make_guard(rate=2.0, burst=1.0))
    started = clock.monotonic()
    for index in range(5):
        place(http, key=f"rate-{index}")
    assert clock.sleeps == pytest.approx([0.5, 0.5, 0.5, 0.5])
    assert clock.monotonic() - started == pytest.approx(2.0)


def test_connection_refused_is_retried_then_reported_unavailable(
    make_guard: MakeGuard, clock: ManualClock
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    http = PlatformHttp("supplier", f"http://127.0.0.1:{port}", resilience=make_guard())
    with pytest.raises(PlatformUnavailable) as raised:
        http.request("GET", "/orders/po_1")
    assert "ConnectError" in raised.value.reason
    assert len(clock.sleeps) == 2


def test_a_slow_answer_times_out_and_is_retried(
    supplier_server: SupplierServer, make_guard: MakeGuard, clock: ManualClock
) -> None:
    supplier_server.faults.fail_next(1, 200, body={}, delay=2.0)
    http = client(supplier_server, make_guard(), timeout=httpx.Timeout(0.5))
    assert place(http).status_code == 201
    assert len(clock.sleeps) == 1
    assert len(supplier_server.requests) == 2


def test_deterministic_key_is_stable_and_differs_by_content() -> None:
    first = deterministic_key("supplier-order", "shopify:order:1", 2)
    assert first == deterministic_key("supplier-order", "shopify:order:1", 2)
    assert first != deterministic_key("supplier-order", "shopify:order:1", 3)
    assert len(first) <= 255


def test_a_success_that_is_not_json_is_unavailable_not_a_crash(
    supplier_server: SupplierServer, make_guard: MakeGuard
) -> None:
    supplier_server.faults.fail_next(1, 200, body="<html>maintenance</html>")
    http = client(supplier_server, make_guard())
    with pytest.raises(PlatformUnavailable, match="not JSON"):
        http.json(place(http))
