"""Market shocks: when they start, how long they last, what they multiply.

Shocks come from stated daily probabilities (drawn from the market key, so all
strategies of a seed meet the same shocks), from a dated scenario script, and
from an optional holiday season. While active a shock multiplies traffic,
conversion and ad prices (CPM); overlapping shocks multiply. Each start is
announced on the bus (MARKET_CRASH for crashes, MARKET_SHIFT for the others),
so agents may react; the market's response does not wait for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from ds1ray.events.batch import EventBatch
from ds1ray.market.stack import Stacked
from ds1ray.seeding import Stream, counter

HOLIDAY = "holiday_season"


@dataclass
class ShockPlan:
    """Daily multipliers per run (runs × days) and the announcements to publish."""

    traffic: NDArray[np.float64]
    conversion: NDArray[np.float64]
    cpm: NDArray[np.float64]
    announcements: dict[int, list[EventBatch]] = field(default_factory=dict)


def plan_shocks(shocks: Stacked, stream: Stream, days: int) -> ShockPlan:
    """Lay out every run's shocks over `days` (`shocks` is the runs' stacked ShockParams)."""
    runs = len(shocks)
    plan = ShockPlan(np.ones((runs, days)), np.ones((runs, days)), np.ones((runs, days)))
    catalogue = shocks.catalogue
    all_day = np.arange(days)
    for k, shock in enumerate(catalogue):
        kinds = set(shock.kind)
        if len(kinds) != 1:
            raise ValueError(f"market.shocks.catalogue[{k}].kind must be the same in every run of a cohort")
        u = stream.uniform(counter(k, all_day, bits=(16, 32))[None, :])
        starts = shocks.random[:, None] & (u < shock.probability_per_day[:, None])
        _apply(plan, starts, shock, kind=next(iter(kinds)))

    by_kind = {next(iter(set(s.kind))): s for s in catalogue}
    for entry in shocks.script:
        kinds = set(entry.kind)
        if len(kinds) != 1 or len(set(entry.day)) != 1:
            raise ValueError("market.shocks.script must be the same in every run of a cohort")
        kind = next(iter(kinds))
        if kind not in by_kind:
            raise ValueError(f"market.shocks.script: unknown shock kind {kind!r} (known: {sorted(by_kind)})")
        starts = np.zeros((runs, days), dtype=bool)
        day = int(entry.day[0])
        if day < days:
            starts[:, day] = True
        _apply(plan, starts, by_kind[kind], kind=kind)

    _apply_holiday(plan, shocks, days)
    # One batch per event type and day: with one per shock kind, a large cohort's CEO decided
    # and marketing re-allocated four or five times a day instead of once.
    plan.announcements = {day: EventBatch.one_per_type(batches) for day, batches in plan.announcements.items()}
    return plan


def _active(starts: NDArray[np.bool_], length: NDArray[np.int64]) -> NDArray[np.bool_]:
    """A shock is active on day d if it started in (d − length, d]."""
    days = starts.shape[1]
    started = np.concatenate([np.zeros((starts.shape[0], 1), np.int64), np.cumsum(starts, axis=1)], axis=1)
    upto = np.arange(1, days + 1)[None, :]
    since = np.maximum(upto - length[:, None], 0)
    return (started[:, 1:] - np.take_along_axis(started, np.broadcast_to(since, starts.shape), axis=1)) > 0


def _apply(plan: ShockPlan, starts: NDArray[np.bool_], shock: Stacked, kind: str) -> None:
    if not starts.any():
        return
    active = _active(starts, np.asarray(shock.days, np.int64))
    for name in ("traffic", "conversion", "cpm"):
        factor = np.asarray(getattr(shock, name), np.float64)[:, None]
        target = getattr(plan, name)
        target *= np.where(active, factor, 1.0)
    event_type = "MARKET_CRASH" if bool(np.asarray(shock.crash)[0]) else "MARKET_SHIFT"
    run, day = np.nonzero(starts)
    for d in np.unique(day):
        rows = run[day == d]
        plan.announcements.setdefault(int(d), []).append(EventBatch.of(
            event_type, rows, kind=kind, traffic=shock.traffic[rows], conversion=shock.conversion[rows],
            cpm=shock.cpm[rows], days=shock.days[rows]))


def _apply_holiday(plan: ShockPlan, shocks: Stacked, days: int) -> None:
    start = shocks.holiday_start_day
    has = np.array([s is not None and s < days for s in start], dtype=bool)
    if not has.any():
        return
    starts = np.zeros((len(shocks), days), dtype=bool)
    rows = np.nonzero(has)[0]
    starts[rows, np.array([int(start[r]) for r in rows])] = True
    active = _active(starts, np.asarray(shocks.holiday_days, np.int64))
    for name in ("traffic", "conversion", "cpm"):
        factor = np.asarray(getattr(shocks, f"holiday_{name}"), np.float64)[:, None]
        getattr(plan, name)[...] *= np.where(active, factor, 1.0)
    run, day = np.nonzero(starts)
    for d in np.unique(day):
        r = run[day == d]
        plan.announcements.setdefault(int(d), []).append(EventBatch.of(
            "MARKET_SHIFT", r, kind=HOLIDAY, traffic=shocks.holiday_traffic[r],
            conversion=shocks.holiday_conversion[r], cpm=shocks.holiday_cpm[r], days=shocks.holiday_days[r]))
