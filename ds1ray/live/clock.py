"""Injectable time for the live edge: the system clock, and a manual clock for tests.

Everything in `ds1ray.live` that waits or compares times (backoff, rate limits,
circuit breakers, Stripe's timestamp tolerance) reads time through a `Clock`,
so tests advance time by hand instead of sleeping for real seconds.

Example:
    >>> clock = ManualClock(start=100.0)
    >>> clock.sleep(2.5)
    >>> clock.monotonic(), clock.sleeps
    (102.5, [2.5])
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """Where the live edge reads time and how it waits."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (for intervals)."""
        ...

    def time(self) -> float:
        """Unix seconds (for timestamps from other systems: HTTP-date, Stripe `t=`)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` (no-op for zero or less)."""
        ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


SYSTEM_CLOCK: Clock = SystemClock()


class ManualClock:
    """A clock that moves only when told to; `sleep` advances it and records the wait.

    Both readings move together: `time()` is `wall_start` plus the elapsed manual time.
    Thread-safe, because contract servers in a background thread may share it with
    the client under test.
    """

    def __init__(self, start: float = 0.0, *, wall_start: float = 1_767_225_600.0) -> None:
        self._now = start
        self._wall_offset = wall_start - start
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        with self._lock:
            return self._now

    def time(self) -> float:
        with self._lock:
            return self._now + self._wall_offset

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            if seconds > 0:
                self._now += seconds

    def advance(self, seconds: float) -> None:
        """Move time forward without recording a sleep."""
        if seconds < 0:
            raise ValueError(f"a clock cannot go back (advance by {seconds})")
        with self._lock:
            self._now += seconds
