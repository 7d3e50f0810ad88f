"""The live business's calendar: business days and tick times in its time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from ds1ray.config.bootstrap import Schedules
from ds1ray.live.schedules import BusinessCalendar, business_start_date
from ds1ray.store import migrate_store, open_store

BERLIN = Schedules(timezone="Europe/Berlin", daily_tick="00:00", optimization_every_hours=4)


def test_one_local_day_has_a_daily_tick_at_midnight_and_optimisation_every_four_hours() -> None:
    calendar = BusinessCalendar(BERLIN, date(2026, 1, 1))
    # 2026-01-10 00:00 in Berlin is 2026-01-09 23:00 UTC (winter time).
    ticks = calendar.ticks_between(datetime(2026, 1, 9, 22, 0, tzinfo=UTC),
                                   datetime(2026, 1, 10, 22, 59, tzinfo=UTC))
    assert [(t.kind, t.at.strftime("%H:%M"), t.day) for t in ticks] == [
        ("daily", "00:00", 9), ("optimization", "04:00", 9), ("optimization", "08:00", 9),
        ("optimization", "12:00", 9), ("optimization", "16:00", 9), ("optimization", "20:00", 9)]
    assert ticks[0].event_id == "tick:daily:2026-01-10T00:00"
    assert ticks[0].event_type == "DAILY_TICK" and ticks[1].event_type == "OPTIMIZATION_TICK"


def test_the_window_is_open_below_and_closed_above_so_no_tick_fires_twice() -> None:
    calendar = BusinessCalendar(BERLIN, date(2026, 1, 1))
    midnight = datetime(2026, 1, 9, 23, 0, tzinfo=UTC)
    first = calendar.ticks_between(datetime(2026, 1, 9, 22, 0, tzinfo=UTC), midnight)
    second = calendar.ticks_between(midnight, datetime(2026, 1, 10, 2, 0, tzinfo=UTC))
    assert [t.event_id for t in first] == ["tick:daily:2026-01-10T00:00"]
    assert second == []


def test_a_business_day_starts_at_the_local_daily_tick() -> None:
    calendar = BusinessCalendar(Schedules(timezone="America/New_York", daily_tick="06:00",
                                          optimization_every_hours=6), date(2026, 3, 1))
    # 05:59 local on 3 March is still business day 1; 06:00 begins day 2.
    assert calendar.day_of(datetime(2026, 3, 3, 10, 59, tzinfo=UTC)) == 1
    assert calendar.day_of(datetime(2026, 3, 3, 11, 0, tzinfo=UTC)) == 2


def test_the_start_date_is_set_once_and_kept_across_restarts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    migrate_store(url)
    with open_store(url) as store:
        assert business_start_date(store, date(2026, 5, 1)) == date(2026, 5, 1)
        assert business_start_date(store, date(2026, 6, 9)) == date(2026, 5, 1)
