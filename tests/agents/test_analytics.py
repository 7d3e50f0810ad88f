"""Analytics: BUSINESS_REPORT adds up to the world's own books, day by day."""

from __future__ import annotations

import numpy as np
from market.recording import Recorded

from ds1ray.config import Config
from ds1ray.runspec import RunSpec


def test_business_reports_add_up_to_the_worlds_daily_books(config: Config) -> None:
    runs = [RunSpec("an", s, "weekly" if s % 2 else "daily",
                    {"analytics.report_every_days": 7 if s % 2 else 1, "market.money.starting_cash": 50_000.0})
            for s in range(4)]
    days = 50
    recorded = Recorded(config, runs, days, ["BUSINESS_REPORT"])
    world = recorded.cohort.world
    reports = recorded.rows("BUSINESS_REPORT")
    for run in range(4):
        mine = reports["run"] == run
        report_days = reports["day"][mine]
        assert np.all(np.diff(report_days) == (7 if run % 2 else 1))
        covered = int(report_days[-1])  # a report on day d covers the days before d
        assert reports["revenue_cents"][mine].sum() == world.daily["revenue"][:covered, run].sum()
        assert reports["ad_spend_cents"][mine].sum() == world.daily["ad_spend"][:covered, run].sum()
        assert reports["orders"][mine].sum() == world.daily["orders"][:covered, run].sum()
        np.testing.assert_array_equal(reports["cash_cents"][mine], world.daily["cash"][report_days - 1, run])
        assert (reports["refund_rate"][mine] >= 0).all() and (reports["refund_rate"][mine] <= 1).all()


def test_reported_roas_is_revenue_over_spend_in_each_runs_own_window(config: Config) -> None:
    windows = [1, 3, 20, 90]
    runs = [RunSpec("an", s, f"w{w}", {"analytics.roas_window_days": w, "market.money.starting_cash": 50_000.0})
            for s, w in enumerate(windows)]
    recorded = Recorded(config, runs, 40, ["BUSINESS_REPORT"])
    daily = recorded.cohort.world.daily
    reports = recorded.rows("BUSINESS_REPORT")
    for run, window in enumerate(windows):
        mine = reports["run"] == run
        for day, roas in zip(reports["day"][mine].tolist(), reports["roas"][mine].tolist(), strict=True):
            days = slice(max(day - window, 0), day)  # the report on day d covers the days before d
            revenue, spend = daily["revenue"][days, run].sum(), daily["ad_spend"][days, run].sum()
            assert roas == (revenue / spend if spend > 0 else 0.0), (run, day)
    assert (reports["roas"] > 0).any()
