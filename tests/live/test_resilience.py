"""The resilience primitives on a manual clock: backoff, Retry-After, budget, rate, breaker."""

from __future__ import annotations

import email.utils
import random
import statistics
import threading

import httpx
import pytest

from ds1ray.live.clock import ManualClock
from ds1ray.live.resilience import (
    OK,
    Assessment,
    BreakerState,
    CircuitBreaker,
    CircuitOpen,
    PlatformRejected,
    PlatformUnavailable,
    Resilience,
    RetryBudget,
    RetryPolicy,
    TokenBucket,
    Verdict,
    assess_http_status,
    parse_retry_after,
    prometheus_lines,
)

RETRY = Assessment(Verdict.RETRY, "http 503", status_code=503)


def run(guard: Resilience, *answers: Assessment | BaseException) -> Assessment:
    """Call through `guard` with attempts that return (or raise) `answers` in order."""
    queue = list(answers)

    def attempt() -> Assessment:
        answer = queue.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    return guard.call(attempt, lambda answer: answer)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=0.0, wall_start=1_767_225_600.0)


def guard_on(clock: ManualClock, **retry: object) -> Resilience:
    return Resilience("test", retry=RetryPolicy(**retry),  # type: ignore[arg-type]
                      breaker=CircuitBreaker("test", clock=clock), clock=clock,
                      rng=random.Random(3))


# ----------------------------------------------------------------------------- Retry-After


@pytest.mark.parametrize("value, expected", [
    ("120", 120.0), ("1.5", 1.5), ("0", 0.0), ("-5", 0.0), (None, None), ("", None),
    ("soon", None), ("inf", None), ("nan", None),
])
def test_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=0.0) == expected


def test_retry_after_http_date_counts_from_now() -> None:
    now = 1_767_225_600.0
    assert parse_retry_after(email.utils.formatdate(now + 30, usegmt=True), now=now) == 30.0
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now=now) == 0.0


def test_status_codes_map_to_verdicts() -> None:
    def verdict(status: int) -> Verdict:
        return assess_http_status(httpx.Response(status), now=0.0).verdict

    assert [verdict(s) for s in (200, 201, 304)] == [Verdict.OK] * 3
    assert [verdict(s) for s in (429, 500, 502, 503, 504)] == [Verdict.RETRY] * 5
    assert [verdict(s) for s in (400, 401, 403, 404, 409, 422)] == [Verdict.REJECT] * 6
    assert verdict(501) is Verdict.FAIL


# ----------------------------------------------------------------------------- backoff


def test_full_jitter_stays_under_the_capped_exponential_ceiling() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=20.0)
    rng = random.Random(11)
    for retry in range(8):
        ceiling = min(20.0, 2.0**retry)
        draws = [policy.backoff(retry, rng) for _ in range(2000)]
        assert min(draws) >= 0.0 and max(draws) <= ceiling
        # Uniform on [0, ceiling]: the mean sits near the middle.
        assert statistics.mean(draws) == pytest.approx(ceiling / 2, rel=0.08)


def test_same_seed_gives_the_same_delays() -> None:
    policy = RetryPolicy()
    first = [policy.backoff(n, random.Random(5)) for n in range(3)]
    assert first == [policy.backoff(n, random.Random(5)) for n in range(3)]


def test_a_policy_needs_at_least_one_attempt() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)


# ----------------------------------------------------------------------------- executor


def test_transient_failures_are_retried_until_success(clock: ManualClock) -> None:
    guard = guard_on(clock)
    assert run(guard, RETRY, RETRY, OK) is OK
    assert len(clock.sleeps) == 2
    assert guard.stats.retries == 2


def test_retry_after_replaces_the_backoff(clock: ManualClock) -> None:
    guard = guard_on(clock)
    run(guard, Assessment(Verdict.RETRY, "http 429", retry_after=4.0), OK)
    assert clock.sleeps == [4.0]


def test_a_reject_is_raised_at_once_and_counts_as_the_platform_being_up(
    clock: ManualClock,
) -> None:
    guard = guard_on(clock)
    run(guard, RETRY, OK)
    for _ in range(10):
        with pytest.raises(PlatformRejected):
            run(guard, Assessment(Verdict.REJECT, "http 422", status_code=422))
    assert guard.breaker.state is BreakerState.CLOSED
    assert guard.stats.rejected == 10


def test_a_fail_verdict_is_not_retried_but_counts_against_the_breaker(clock: ManualClock) -> None:
    guard = guard_on(clock)
    with pytest.raises(PlatformUnavailable):
        run(guard, Assessment(Verdict.FAIL, "http 501", status_code=501))
    assert clock.sleeps == []
    assert guard.breaker.snapshot().consecutive_failures == 1


def test_connection_errors_are_retried(clock: ManualClock) -> None:
    guard = guard_on(clock)
    assert run(guard, httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), OK) is OK
    assert len(clock.sleeps) == 2


def test_timeouts_cost_more_retry_tokens_than_other_failures(clock: ManualClock) -> None:
    guard = guard_on(clock)
    guard.retry_budget = RetryBudget(capacity=100.0, retry_cost=5.0, timeout_cost=10.0)
    run(guard, httpx.ReadTimeout("slow"), RETRY, OK)
    # 10 for the timeout, 5 for the 503; the success after retries refunds one retry's cost.
    assert guard.retry_budget.tokens == 100.0 - 10.0 - 5.0 + 5.0


def test_a_bug_in_the_caller_propagates_and_frees_a_half_open_trial(clock: ManualClock) -> None:
    guard = guard_on(clock)
    guard.breaker = CircuitBreaker("test", failure_threshold=1, reset_timeout=10.0, clock=clock)
    with pytest.raises(PlatformUnavailable):
        run(guard, Assessment(Verdict.FAIL, "down"))
    clock.advance(10.0)
    with pytest.raises(KeyError):
        run(guard, KeyError("bug"))
    assert run(guard, OK) is OK  # the trial slot was released, not leaked
    assert guard.breaker.state is BreakerState.CLOSED


def test_total_timeout_bounds_the_whole_call(clock: ManualClock) -> None:
    guard = guard_on(clock, max_attempts=10, total_timeout=5.0)
    with pytest.raises(PlatformUnavailable, match="call budget"):
        run(guard, *[Assessment(Verdict.RETRY, "http 429", retry_after=2.0)] * 10)
    assert sum(clock.sleeps) <= 5.0


def test_status_reports_breaker_and_budgets(clock: ManualClock) -> None:
    guard = guard_on(clock)
    guard.rate_limiter = TokenBucket(2.0, 4.0, clock=clock)
    run(guard, RETRY, OK)
    status = guard.status()
    assert status["platform"] == "test"
    assert status["breaker"] == {"name": "test", "state": "closed", "consecutive_failures": 0,
                                 "failure_threshold": 5, "opens": 0,
                                 "seconds_until_half_open": None}
    assert status["retries"] == 1 and status["calls"] == 1


# ----------------------------------------------------------------------------- rate limit


def test_token_bucket_allows_a_burst_then_spaces_calls(clock: ManualClock) -> None:
    bucket = TokenBucket(rate=4.0, capacity=2.0, clock=clock)
    waits = [bucket.acquire() for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.0, 0.25, 0.25, 0.25])


def test_token_bucket_refills_while_idle(clock: ManualClock) -> None:
    bucket = TokenBucket(rate=1.0, capacity=3.0, clock=clock)
    for _ in range(3):
        bucket.acquire()
    clock.advance(10.0)
    assert bucket.tokens == 3.0


def test_token_bucket_refuses_more_than_its_capacity(clock: ManualClock) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate=1.0, capacity=2.0, clock=clock).acquire(3.0)
    with pytest.raises(ValueError):
        TokenBucket(rate=0.0, clock=clock)


# ----------------------------------------------------------------------------- breaker


def test_breaker_opens_after_the_threshold_of_consecutive_failures(clock: ManualClock) -> None:
    breaker = CircuitBreaker("p", failure_threshold=3, clock=clock)
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()  # a success resets the count
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    with pytest.raises(CircuitOpen):
        breaker.before_call()


def test_half_open_lets_exactly_one_trial_through(clock: ManualClock) -> None:
    breaker = CircuitBreaker("p", failure_threshold=1, reset_timeout=60.0, clock=clock)
    breaker.record_failure()
    clock.advance(60.0)
    breaker.before_call()  # the trial
    with pytest.raises(CircuitOpen, match="half_open"):
        breaker.before_call()  # a second caller while the trial is out
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    breaker.before_call()


def test_snapshot_counts_opens_and_time_to_half_open(clock: ManualClock) -> None:
    breaker = CircuitBreaker("shop", failure_threshold=1, reset_timeout=60.0, clock=clock)
    breaker.record_failure()
    clock.advance(15.0)
    snapshot = breaker.snapshot()
    assert (snapshot.state, snapshot.opens) == (BreakerState.OPEN, 1)
    assert snapshot.seconds_until_half_open == pytest.approx(45.0)


def test_under_concurrent_callers_half_open_admits_one_trial(clock: ManualClock) -> None:
    breaker = CircuitBreaker("p", failure_threshold=1, reset_timeout=1.0, clock=clock)
    breaker.record_failure()
    clock.advance(1.0)
    admitted: list[int] = []
    start = threading.Barrier(8)

    def caller(index: int) -> None:
        start.wait()
        try:
            breaker.before_call()
        except CircuitOpen:
            return
        admitted.append(index)

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(admitted) == 1


def test_counters_are_exact_under_concurrent_calls(clock: ManualClock) -> None:
    guard = guard_on(clock)

    def many() -> None:
        for _ in range(500):
            guard.call(lambda: OK, lambda answer: answer)

    threads = [threading.Thread(target=many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (guard.stats.calls, guard.stats.attempts) == (2000, 2000)


def test_prometheus_lines_show_breaker_states_and_counters(clock: ManualClock) -> None:
    shop, ads = guard_on(clock), Resilience("meta", clock=clock)
    shop.platform = "shopify"
    ads.breaker = CircuitBreaker("meta", failure_threshold=1, clock=clock)
    with pytest.raises(PlatformUnavailable):
        run(ads, Assessment(Verdict.FAIL, "down"))
    lines = prometheus_lines([shop, ads])
    assert 'ds1_breaker_state{platform="shopify"} 0' in lines
    assert 'ds1_breaker_state{platform="meta"} 2' in lines
    assert 'ds1_platform_unavailable_total{platform="meta"} 1' in lines
