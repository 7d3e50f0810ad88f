"""The manual clock the live-edge tests run on."""

from __future__ import annotations

import pytest

from ds1ray.live.clock import ManualClock, SystemClock


def test_manual_clock_moves_only_when_slept_or_advanced() -> None:
    clock = ManualClock(start=10.0, wall_start=1_000.0)
    assert (clock.monotonic(), clock.time()) == (10.0, 1_000.0)
    clock.sleep(2.0)
    clock.advance(3.0)
    clock.sleep(0.0)
    assert (clock.monotonic(), clock.time()) == (15.0, 1_005.0)
    assert clock.sleeps == [2.0, 0.0]


def test_manual_clock_cannot_go_back() -> None:
    with pytest.raises(ValueError):
        ManualClock().advance(-1.0)


def test_system_clock_reads_real_time() -> None:
    clock = SystemClock()
    before = clock.monotonic()
    clock.sleep(0.0)
    assert clock.monotonic() >= before
    assert clock.time() > 1_700_000_000
