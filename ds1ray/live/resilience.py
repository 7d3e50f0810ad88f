"""Retries, rate limits and circuit breakers around every call to a live platform.

One `Resilience` object guards one platform (Shopify, Meta, the AI server, …).
Its `call(attempt, assess)` runs `attempt` (one HTTP request) and lets `assess`
say what the answer means:

- `Verdict.OK`: done; the breaker counts a success.
- `Verdict.REJECT`: a business error (a 4xx other than 429, a GraphQL user
  error). Not retried, raised as `PlatformRejected`, and the breaker counts a
  success, because the platform is up and answered.
- `Verdict.RETRY`: transient (429, 500/502/503/504, a connection error, a
  throttled answer). Retried with full-jitter exponential backoff, or after the
  `Retry-After` the platform asked for; the breaker counts a failure.
- `Verdict.FAIL`: the platform is broken in a way a retry will not mend (a 501,
  an answer that is not JSON). Raised at once as `PlatformUnavailable`; the
  breaker counts a failure.

The conventions follow the AWS SDKs' "standard" retry mode (3 attempts, delay =
random(0, min(cap, base·2^attempt)), a retry token bucket so that a failing
platform cannot trigger a retry storm) and pybreaker's breaker (open after 5
consecutive failures, half-open after 60 s, one trial call).

Callers see two exceptions: `PlatformUnavailable` (dead-letter the work and try
again later; `CircuitOpen` is one) and `PlatformRejected` (a business error: do
not retry, handle it).

Example:
    >>> from ds1ray.live.clock import ManualClock
    >>> clock = ManualClock()
    >>> guard = Resilience("shop", clock=clock, rng=random.Random(7))
    >>> answers = iter([Assessment(Verdict.RETRY, "http 503"), Assessment(Verdict.OK)])
    >>> guard.call(lambda: next(answers), lambda a: a).verdict
    <Verdict.OK: 'ok'>
    >>> len(clock.sleeps)
    1
"""

from __future__ import annotations

import email.utils
import enum
import logging
import math
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar, cast

import httpx

from ds1ray.live.clock import SYSTEM_CLOCK, Clock

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

RETRYABLE_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504})


# --------------------------------------------------------------------------- errors


class PlatformError(Exception):
    """A call to a live platform did not succeed.

    `retry_after` is the wait in seconds the platform (or an open breaker) asked
    for, when known.
    """

    def __init__(
        self,
        platform: str,
        reason: str,
        *,
        status_code: int | None = None,
        detail: str = "",
        attempts: int = 0,
        retry_after: float | None = None,
    ) -> None:
        message = f"{platform}: {reason}"
        if status_code is not None:
            message += f" (HTTP {status_code})"
        if detail:
            message += f": {detail}"
        super().__init__(message)
        self.platform = platform
        self.reason = reason
        self.status_code = status_code
        self.detail = detail
        self.attempts = attempts
        self.retry_after = retry_after


class PlatformUnavailable(PlatformError):
    """The platform could not do the work now: dead-letter it and redrive later."""


class CircuitOpen(PlatformUnavailable):
    """The breaker is open: the call was not made at all."""


class PlatformRejected(PlatformError):
    """The platform refused the request itself (validation, permissions, a user error).

    Retrying the same request will not help; the caller treats it as a business error.
    """


# --------------------------------------------------------------------------- verdicts


class Verdict(enum.Enum):
    OK = "ok"
    RETRY = "retry"
    FAIL = "fail"
    REJECT = "reject"


@dataclass(frozen=True)
class Assessment:
    """What one answer from a platform means; see the module docstring."""

    verdict: Verdict
    reason: str = ""
    status_code: int | None = None
    retry_after: float | None = None
    detail: str = ""


OK = Assessment(Verdict.OK)


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP-date.

    Returns None when the header is absent or unreadable (then backoff decides);
    a date in the past means "now" (0.0).
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # RFC 9110 dates are GMT; a naive one is read as such
            return None
        return max(0.0, when.timestamp() - now)
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def assess_http_status(
    response: httpx.Response,
    *,
    now: float,
    retry_statuses: frozenset[int] = RETRYABLE_STATUSES,
) -> Assessment:
    """The default meaning of an HTTP status: 2xx/3xx ok, 429/5xx-listed retry, 4xx reject."""
    status = response.status_code
    if status < 400:
        return OK
    detail = response.text[:300]
    if status in retry_statuses:
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now=now)
        return Assessment(
            Verdict.RETRY, f"http {status}", status_code=status, retry_after=retry_after,
            detail=detail,
        )
    if status >= 500:
        return Assessment(Verdict.FAIL, f"http {status}", status_code=status, detail=detail)
    return Assessment(Verdict.REJECT, f"http {status}", status_code=status, detail=detail)


# --------------------------------------------------------------------------- retry


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a transient failure.

    `max_attempts` counts the first try. A `Retry-After` longer than
    `max_retry_after` is not waited for: the call fails as `PlatformUnavailable`
    carrying that `retry_after`, so the work goes to dead letters instead of
    blocking a worker. `total_timeout` bounds the whole call, waits included.
    """

    max_attempts: int = 3
    base_delay: float = 1.0
    max_delay: float = 20.0
    max_retry_after: float = 60.0
    total_timeout: float | None = None
    retry_statuses: frozenset[int] = RETRYABLE_STATUSES

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("base_delay and max_delay must not be negative")

    def backoff(self, retry_number: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(max_delay, base_delay·2^retry_number)]."""
        ceiling = min(self.max_delay, self.base_delay * (2.0**retry_number))
        return rng.uniform(0.0, ceiling)


class RetryBudget:
    """A retry token bucket (the AWS SDK retry quota) shared by all calls to one platform.

    Each retry spends tokens (a timeout more than other errors); each success
    puts some back. When the platform keeps failing the bucket empties and
    calls fail fast after their first attempt instead of multiplying the load.
    """

    def __init__(
        self,
        capacity: float = 500.0,
        *,
        retry_cost: float = 5.0,
        timeout_cost: float = 10.0,
        success_refund: float = 1.0,
    ) -> None:
        self.capacity = capacity
        self.retry_cost = retry_cost
        self.timeout_cost = timeout_cost
        self.success_refund = success_refund
        self._tokens = capacity
        self._lock = threading.Lock()

    @property
    def tokens(self) -> float:
        with self._lock:
            return self._tokens

    def try_spend(self, cost: float) -> bool:
        with self._lock:
            if self._tokens < cost:
                return False
            self._tokens -= cost
            return True

    def refund(self, amount: float) -> None:
        with self._lock:
            self._tokens = min(self.capacity, self._tokens + amount)


# --------------------------------------------------------------------------- rate limit


class TokenBucket:
    """A client-side rate limiter: `rate` calls per second on average, bursts up to `capacity`.

    `acquire` reserves its tokens at once (the balance may go negative) and then
    waits out the debt, so concurrent callers are spaced in arrival order.
    """

    def __init__(self, rate: float, capacity: float | None = None, *, clock: Clock = SYSTEM_CLOCK):
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self.rate = rate
        self.capacity = capacity if capacity is not None else max(1.0, rate)
        if self.capacity <= 0:
            raise ValueError(f"capacity must be positive, got {self.capacity}")
        self._clock = clock
        self._tokens = self.capacity
        self._updated = clock.monotonic()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock.monotonic()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    @property
    def tokens(self) -> float:
        with self._lock:
            self._refill()
            return self._tokens

    def acquire(self, tokens: float = 1.0) -> float:
        """Take `tokens`, waiting until they are available; returns the seconds waited."""
        if tokens > self.capacity:
            raise ValueError(f"cannot take {tokens} tokens from a bucket of {self.capacity}")
        with self._lock:
            self._refill()
            self._tokens -= tokens
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._clock.sleep(wait)
        return wait


# --------------------------------------------------------------------------- breaker


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class BreakerSnapshot:
    """A breaker's state for `ds1ray live status` and `/metrics`."""

    name: str
    state: BreakerState
    consecutive_failures: int
    failure_threshold: int
    opens: int
    seconds_until_half_open: float | None

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "state": self.state.value,
            "consecutive_failures": self.consecutive_failures,
            "failure_threshold": self.failure_threshold,
            "opens": self.opens,
            "seconds_until_half_open": self.seconds_until_half_open,
        }


class CircuitBreaker:
    """Closed → open after `failure_threshold` consecutive failures → half-open after
    `reset_timeout` seconds, where exactly one trial call goes through: its success
    closes the breaker, its failure opens it again for another `reset_timeout`.
    """

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        reset_timeout: float = 60.0,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError(f"failure_threshold must be at least 1, got {failure_threshold}")
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False
        self._opens = 0
        self._lock = threading.Lock()

    def _current_state(self) -> BreakerState:
        if (
            self._state is BreakerState.OPEN
            and self._clock.monotonic() - self._opened_at >= self.reset_timeout
        ):
            self._state = BreakerState.HALF_OPEN
            self._trial_in_flight = False
        return self._state

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._current_state()

    def before_call(self) -> None:
        """Let a call through or raise `CircuitOpen`; in half-open only the first caller passes."""
        with self._lock:
            state = self._current_state()
            if state is BreakerState.CLOSED:
                return
            if state is BreakerState.HALF_OPEN and not self._trial_in_flight:
                self._trial_in_flight = True
                return
            wait = max(0.0, self._opened_at + self.reset_timeout - self._clock.monotonic())
        raise CircuitOpen(
            self.name,
            f"circuit {state.value}",
            detail="a trial call is in flight" if state is BreakerState.HALF_OPEN else "",
            retry_after=wait,
        )

    def record_success(self) -> None:
        with self._lock:
            self._state = BreakerState.CLOSED
            self._failures = 0
            self._trial_in_flight = False

    def record_failure(self) -> None:
        with self._lock:
            state = self._current_state()
            self._failures += 1
            self._trial_in_flight = False
            if state is BreakerState.HALF_OPEN or (
                state is BreakerState.CLOSED and self._failures >= self.failure_threshold
            ):
                self._state = BreakerState.OPEN
                self._opened_at = self._clock.monotonic()
                self._opens += 1
                logger.warning(
                    "circuit breaker %s opened after %d consecutive failures",
                    self.name, self._failures,
                )

    def release_trial(self) -> None:
        """End a half-open trial that had no verdict (the caller's own code raised)."""
        with self._lock:
            self._trial_in_flight = False

    def snapshot(self) -> BreakerSnapshot:
        with self._lock:
            state = self._current_state()
            wait = (
                max(0.0, self._opened_at + self.reset_timeout - self._clock.monotonic())
                if state is BreakerState.OPEN
                else None
            )
            return BreakerSnapshot(
                self.name, state, self._failures, self.failure_threshold, self._opens, wait
            )


# --------------------------------------------------------------------------- executor

TRANSIENT_EXCEPTIONS: tuple[type[BaseException], ...] = (
    httpx.TransportError,
    ConnectionError,
    TimeoutError,
)
TIMEOUT_EXCEPTIONS: tuple[type[BaseException], ...] = (httpx.TimeoutException, TimeoutError)


@dataclass
class ResilienceStats:
    """Counters for `/metrics`: calls, attempts, retries, rejections, unavailability, and
    calls refused by an open breaker (`short_circuited`)."""

    calls: int = 0
    attempts: int = 0
    retries: int = 0
    rejected: int = 0
    unavailable: int = 0
    short_circuited: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, name: str) -> None:
        """Add one to counter `name` (calls from several threads share one guard)."""
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)


class Resilience:
    """Retry policy, retry budget, rate limiter and circuit breaker for one platform."""

    def __init__(
        self,
        platform: str,
        *,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        rate_limiter: TokenBucket | None = None,
        retry_budget: RetryBudget | None = None,
        clock: Clock = SYSTEM_CLOCK,
        rng: random.Random | None = None,
    ) -> None:
        self.platform = platform
        self.retry = retry or RetryPolicy()
        self.clock = clock
        self.breaker = breaker or CircuitBreaker(platform, clock=clock)
        self.rate_limiter = rate_limiter
        self.retry_budget = retry_budget or RetryBudget()
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        self.stats = ResilienceStats()

    def status(self) -> dict[str, object]:
        """Breaker state, retry budget and rate-limit headroom, for `ds1ray live status`."""
        return {
            "platform": self.platform,
            "breaker": self.breaker.snapshot().as_dict(),
            "retry_tokens": self.retry_budget.tokens,
            "rate_tokens": None if self.rate_limiter is None else self.rate_limiter.tokens,
            "calls": self.stats.calls,
            "retries": self.stats.retries,
            "rejected": self.stats.rejected,
            "unavailable": self.stats.unavailable,
            "short_circuited": self.stats.short_circuited,
        }

    def _backoff(self, retry_number: int) -> float:
        with self._rng_lock:
            return self.retry.backoff(retry_number, self._rng)

    def call(self, attempt: Callable[[], T], assess: Callable[[T], Assessment]) -> T:
        """Run `attempt` until `assess` says OK, retrying transient failures.

        Raises `PlatformRejected` for a business error, `PlatformUnavailable`
        (or its subclass `CircuitOpen`) when the platform stays unavailable.
        """
        self.stats.count("calls")
        started = self.clock.monotonic()
        for attempt_number in range(1, self.retry.max_attempts + 1):
            try:
                assessment, result, is_timeout = self._one_attempt(attempt, assess)
            except CircuitOpen:
                self.stats.count("short_circuited")
                raise
            if assessment.verdict is Verdict.OK:
                if attempt_number == 1:
                    self.retry_budget.refund(self.retry_budget.success_refund)
                else:
                    self.retry_budget.refund(self.retry_budget.retry_cost)
                return cast(T, result)  # set whenever the verdict is OK
            if assessment.verdict is Verdict.REJECT:
                self.stats.count("rejected")
                raise PlatformRejected(
                    self.platform, assessment.reason, status_code=assessment.status_code,
                    detail=assessment.detail, attempts=attempt_number,
                )
            if assessment.verdict is Verdict.FAIL or attempt_number == self.retry.max_attempts:
                raise self._unavailable(assessment, attempt_number)
            delay = self._delay_before_retry(assessment, attempt_number, started, is_timeout)
            self.stats.count("retries")
            logger.warning(
                "%s: %s on attempt %d of %d; retrying in %.3f s",
                self.platform, assessment.reason, attempt_number, self.retry.max_attempts, delay,
            )
            self.clock.sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _one_attempt(
        self, attempt: Callable[[], R], assess: Callable[[R], Assessment]
    ) -> tuple[Assessment, object, bool]:
        self.breaker.before_call()
        if self.rate_limiter is not None:
            self.rate_limiter.acquire()
        self.stats.count("attempts")
        try:
            result = attempt()
            assessment = assess(result)
        except TRANSIENT_EXCEPTIONS as exc:
            self.breaker.record_failure()
            reason = f"connection error: {type(exc).__name__}"
            transient = Assessment(Verdict.RETRY, reason, detail=str(exc)[:200])
            return transient, None, isinstance(exc, TIMEOUT_EXCEPTIONS)
        except BaseException:
            self.breaker.release_trial()
            raise
        if assessment.verdict in (Verdict.OK, Verdict.REJECT):
            self.breaker.record_success()
        else:
            self.breaker.record_failure()
        return assessment, result, False

    def _delay_before_retry(
        self, assessment: Assessment, attempt_number: int, started: float, is_timeout: bool
    ) -> float:
        if assessment.retry_after is not None:
            if assessment.retry_after > self.retry.max_retry_after:
                raise self._unavailable(
                    assessment, attempt_number,
                    extra=f"Retry-After {assessment.retry_after:.0f} s exceeds the "
                    f"{self.retry.max_retry_after:.0f} s this client waits",
                )
            delay = assessment.retry_after
        else:
            delay = self._backoff(attempt_number - 1)
        if self.retry.total_timeout is not None:
            elapsed = self.clock.monotonic() - started
            if elapsed + delay > self.retry.total_timeout:
                raise self._unavailable(
                    assessment, attempt_number,
                    extra=f"no time left in the {self.retry.total_timeout:.1f} s call budget",
                )
        cost = self.retry_budget.timeout_cost if is_timeout else self.retry_budget.retry_cost
        if not self.retry_budget.try_spend(cost):
            raise self._unavailable(assessment, attempt_number, extra="retry budget exhausted")
        return delay

    def _unavailable(
        self, assessment: Assessment, attempts: int, *, extra: str = ""
    ) -> PlatformUnavailable:
        self.stats.count("unavailable")
        detail = "; ".join(part for part in (extra, assessment.detail) if part)
        return PlatformUnavailable(
            self.platform, assessment.reason or "unavailable",
            status_code=assessment.status_code, detail=detail, attempts=attempts,
            retry_after=assessment.retry_after,
        )


# --------------------------------------------------------------------------- reporting

BREAKER_STATE_VALUES = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


def prometheus_lines(guards: list[Resilience]) -> list[str]:
    """Prometheus text-format lines for the guards' breakers and counters (for `/metrics`).

    `ds1_breaker_state` is 0 closed, 1 half-open, 2 open.
    """
    lines = [
        "# HELP ds1_breaker_state Circuit breaker state per platform (0 closed, 1 half-open, 2 open).",
        "# TYPE ds1_breaker_state gauge",
    ]
    snapshots = [(guard, guard.breaker.snapshot()) for guard in guards]
    lines += [
        f'ds1_breaker_state{{platform="{guard.platform}"}} {BREAKER_STATE_VALUES[snap.state]}'
        for guard, snap in snapshots
    ]
    for counter in ("calls", "attempts", "retries", "rejected", "unavailable", "short_circuited"):
        lines.append(f"# TYPE ds1_platform_{counter}_total counter")
        lines += [
            f'ds1_platform_{counter}_total{{platform="{guard.platform}"}} '
            f"{getattr(guard.stats, counter)}"
            for guard in guards
        ]
    return lines
