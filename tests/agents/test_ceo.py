"""The CEO: risk modes and the reaction to MARKET_CRASH (ignore, cut, pause), seen on the bus and the ad platform."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ds1ray.agents.ceo import CAUTIOUS, CRASH, HALT, NORMAL
from ds1ray.cohort import Cohort
from ds1ray.config import Config
from ds1ray.events.batch import EventBatch
from ds1ray.runspec import RunSpec

from .conftest import published

CRASH_DAY, CRASH_DAYS = 10, 21  # the default market_crash lasts 21 days


def test_the_crash_reaction_cuts_pauses_or_ignores_the_budget_while_the_crash_lasts(config: Config) -> None:
    scenario = {"market.shocks.random": False, "market.money.starting_cash": 100_000.0,
                "market.shocks.script": [{"day": CRASH_DAY, "kind": "market_crash"}]}
    reactions = ("cut", "pause", "ignore")
    runs = [RunSpec("ceo", 3, r, {**scenario, "ceo.crash_reaction": r, "ceo.crash_budget_multiplier": 0.25})
            for r in reactions]
    cohort = Cohort(config, runs, 40)
    updates: list[tuple[int, int, int, int]] = []
    spend_by_day = np.zeros((40, 3), np.int64)

    def record(batch: EventBatch) -> None:
        if batch.type == "STRATEGY_UPDATED":
            updates.extend(zip([cohort.day] * len(batch), batch.run.tolist(), batch["risk_mode"].tolist(),
                               batch["daily_ad_budget_cents"].tolist(), strict=True))

    cohort.bus.observers.append(record)
    while cohort.day < 40:
        cohort.step()
        spend_by_day[cohort.day - 1] = cohort.world.daily["ad_spend"][cohort.day - 1]

    def state(run: int, day: int) -> tuple[int, int]:
        latest = [(mode, budget) for d, r, mode, budget in updates if r == run and d <= day]
        return latest[-1]

    base = 6000  # ceo.daily_ad_budget: $60
    for run in range(3):
        assert state(run, CRASH_DAY - 1) == (NORMAL, base)
    assert state(0, CRASH_DAY) == (CRASH, base // 4)
    assert state(1, CRASH_DAY) == (CRASH, 0)
    assert state(2, CRASH_DAY) == (NORMAL, base)
    for run in range(3):
        assert state(run, CRASH_DAY + CRASH_DAYS) == (NORMAL, base)  # back to normal when it is over
    # The reaction reaches the ad platform from the next day (today's ads ran before the news).
    during = slice(CRASH_DAY + 1, CRASH_DAY + CRASH_DAYS)
    assert (spend_by_day[during, 1] == 0).all()
    assert (spend_by_day[during, 0] <= base // 4).all() and spend_by_day[during, 0].sum() > 0
    assert spend_by_day[during, 2].sum() > spend_by_day[during, 0].sum()


def test_below_the_cash_reserve_the_ceo_turns_cautious_and_halves_the_budget(
        cohort_on_day_zero: Callable[..., Cohort]) -> None:
    cohort = cohort_on_day_zero([RunSpec("ceo", 0, "poor", {"market.money.starting_cash": 400.0}),
                                 RunSpec("ceo", 0, "rich")])
    out = cohort.agents["ceo"].handle(EventBatch.of("DAILY_TICK", [0, 1], day=0))
    update = published(out, "STRATEGY_UPDATED")
    assert update is not None
    np.testing.assert_array_equal(update["risk_mode"], [CAUTIOUS, NORMAL])
    np.testing.assert_array_equal(update["daily_ad_budget_cents"], [3000, 6000])
    np.testing.assert_array_equal(update["max_active_products"], [3, 3])
    # The reserve and the mode factors follow from the strategy: not state a snapshot keeps.
    assert not {"_reserve_cents", "_mode_factor"} & set(cohort.agents["ceo"].snapshot())


def test_user_commands_pause_resume_and_set_the_budget_and_unknown_ones_escalate(
        cohort_on_day_zero: Callable[..., Cohort]) -> None:
    cohort = cohort_on_day_zero([RunSpec("ceo", 0)])
    ceo = cohort.agents["ceo"]
    ceo.handle(EventBatch.of("DAILY_TICK", [0], day=0))

    def command(name: str, argument: str = "") -> list[EventBatch]:
        return ceo.handle(EventBatch.of("USER_COMMAND", [0], target="ceo", command=name, argument=argument))

    paused = published(command("pause"), "STRATEGY_UPDATED")
    assert paused is not None and (paused["risk_mode"][0], paused["daily_ad_budget_cents"][0]) == (HALT, 0)
    resumed = published(command("resume"), "STRATEGY_UPDATED")
    assert resumed is not None and resumed["risk_mode"][0] == NORMAL
    raised = published(command("set_budget", "120"), "STRATEGY_UPDATED")
    assert raised is not None and raised["daily_ad_budget_cents"][0] == 12_000
    delegated = published(command("research"), "USER_COMMAND")
    assert delegated is not None and delegated["target"][0] == "research"
    unknown = published(command("buy_bitcoin"), "ESCALATION_TRIGGERED")
    assert unknown is not None and "buy_bitcoin" in unknown["reason"][0]
