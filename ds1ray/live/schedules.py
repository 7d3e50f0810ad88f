"""The live business's clock: business days and the tick schedule in its time zone.

The simulation counts days from 0; the live business does too, from the date
it first started (kept in the store's `live_settings` table, so every restart
and every node agrees on what "day 12" is). The overlay's `schedules` say when
the ticks fire: DAILY_TICK at `daily_tick` local time, OPTIMIZATION_TICK every
`optimization_every_hours` hours from local midnight. Each tick has a fixed
event id (`tick:<kind>:<local date and time>`), so a tick recorded twice (a
restarted coordinator catching up) is one event in the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ds1ray.config.bootstrap import Schedules
from ds1ray.store.store import Store
from ds1ray.store.transaction import Transaction

START_DATE_KEY = "business_start_date"


@dataclass(frozen=True)
class Tick:
    """One firing of a schedule: its kind (`daily` or `optimization`), local time and day."""

    kind: str
    at: datetime  # aware, in the business's time zone
    day: int

    @property
    def event_type(self) -> str:
        return "DAILY_TICK" if self.kind == "daily" else "OPTIMIZATION_TICK"

    @property
    def event_id(self) -> str:
        return f"tick:{self.kind}:{self.at.strftime('%Y-%m-%dT%H:%M')}"


class BusinessCalendar:
    """When ticks fire, and which business day a moment belongs to."""

    def __init__(self, schedules: Schedules, start: date) -> None:
        self.zone = ZoneInfo(schedules.timezone)  # the config admits known zones only
        hours, minutes = (int(part) for part in schedules.daily_tick.split(":"))
        self.daily_at = time(hours, minutes)
        self.every = timedelta(hours=schedules.optimization_every_hours)
        self.start = start

    def day_of(self, moment: datetime) -> int:
        """Business days since the start date (the day begins at the daily tick)."""
        local = moment.astimezone(self.zone)
        midnight = datetime.combine(local.date(), self.daily_at, self.zone)
        business_date = local.date() if local >= midnight else local.date() - timedelta(days=1)
        return (business_date - self.start).days

    def ticks_between(self, after: datetime, until: datetime) -> list[Tick]:
        """Every tick in (after, until], in time order (daily before optimisation at the same time)."""
        ticks: list[Tick] = []
        local_day = after.astimezone(self.zone).date()
        last = until.astimezone(self.zone).date()
        while local_day <= last:
            daily = datetime.combine(local_day, self.daily_at, self.zone)
            candidates = [Tick("daily", daily, (local_day - self.start).days)]
            moment = datetime.combine(local_day, time(0, 0), self.zone) + self.every
            while moment.date() == local_day:
                candidates.append(Tick("optimization", moment, self.day_of(moment)))
                moment += self.every
            ticks += [t for t in candidates if after < t.at <= until]
            local_day += timedelta(days=1)
        return sorted(ticks, key=lambda t: (t.at, t.kind != "daily"))


def business_start_date(store: Store, today: date) -> date:
    """The business's first day, set to `today` the first time the live instance starts."""

    def read_or_set(tx: Transaction) -> str:
        tx.execute("INSERT INTO live_settings (key, value) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                   [START_DATE_KEY, today.isoformat()])
        return str(tx.scalar("SELECT value FROM live_settings WHERE key = %s", [START_DATE_KEY]))

    return date.fromisoformat(store.run(read_or_set))
