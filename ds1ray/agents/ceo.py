"""The CEO: sets the total ad budget and the portfolio size, and applies the risk rules.

Risk modes (RISK_MODE_CODES): *halt* when cash is negative or the user paused
the business; *crash* while a MARKET_CRASH lasts (its reaction: ignore, cut the
budget by `crash_budget_multiplier`, or pause ads); *cautious* below the cash
reserve; *normal* otherwise. Favourable market shifts scale the budget by their
expected effect on returns (conversion ÷ ad price), unfavourable ones too. The
CEO also takes the user's commands and delegates them to the team.
"""

from __future__ import annotations

import numpy as np

from ds1ray.agents.base import Agent, AgentContext
from ds1ray.agents.strategies import CeoStrategy
from ds1ray.events.batch import EventBatch
from ds1ray.events.contracts import RISK_MODE_CODES

NORMAL, CAUTIOUS, CRASH, HALT = (RISK_MODE_CODES.index(m) for m in ("normal", "cautious", "crash", "halt"))

# Commands the CEO delegates, and to whom (the deterministic command language).
DELEGATED = {
    "research": "research", "approve": "research", "reject": "research",
    "pause_campaign": "marketing", "resume_campaign": "marketing",
    "unpublish": "store",
}


class Ceo(Agent):
    id = "ceo"
    Strategy = CeoStrategy
    _GIVEN = Agent._GIVEN | {"_reserve_cents", "_mode_factor"}  # what follows from the strategy is not learnt

    def __init__(self, ctx: AgentContext) -> None:
        super().__init__(ctx)
        n = self.runs
        self.base_budget = np.rint(self.strategy.daily_ad_budget * 100).astype(np.int64)
        self.cash = np.array(self.ports.shop.balance())  # our copy: a port may hand out a read-only view
        self.crash_until = np.full(n, -1, np.int64)
        self.shift_until = np.full(n, -1, np.int64)
        self.shift_factor = np.ones(n)
        self.halted = np.zeros(n, bool)
        self.escalations = np.zeros(n, np.int64)
        self.mode = np.full(n, -1, np.int64)
        self.budget = np.full(n, -1, np.int64)
        self.reported_roas = np.full(n, np.nan)
        s = self.strategy
        # Per run, fixed for the cohort's life: the cash reserve in cents, and the budget factor of each
        # risk mode (a column per mode code), so a decision reads them instead of re-deriving them.
        self._reserve_cents = np.rint(s.cash_reserve * 100)
        self._mode_factor = np.zeros((n, len(RISK_MODE_CODES)))
        self._mode_factor[:, NORMAL] = 1.0
        self._mode_factor[:, CAUTIOUS] = s.cautious_budget_multiplier
        self._mode_factor[:, CRASH] = np.where(self.follows("crash_reaction", "pause"), 0.0, s.crash_budget_multiplier)

    def on_daily_tick(self, batch: EventBatch) -> None:
        self.keep_time(batch)
        self.cash = np.array(self.ports.shop.balance())  # our copy: a port may hand out a read-only view
        run = batch.run
        if self.day % 7 == 0:
            self.ports.ai.complete("ceo_brief", run)
        self._decide(run)

    def on_business_report(self, batch: EventBatch) -> None:
        self.cash[batch.run] = batch["cash_cents"]
        self.reported_roas[batch.run] = batch["roas"]

    def on_market_crash(self, batch: EventBatch) -> None:
        reacts = ~self.follows("crash_reaction", "ignore")[batch.run]
        run = batch.run[reacts]
        self.crash_until[run] = self.day + batch["days"][reacts]
        self._decide(run)

    def on_market_shift(self, batch: EventBatch) -> None:
        reacts = ~self.follows("crash_reaction", "ignore")[batch.run]
        run = batch.run[reacts]
        self.shift_until[run] = self.day + batch["days"][reacts]
        self.shift_factor[run] = np.clip(batch["conversion"][reacts] / batch["cpm"][reacts], 0.5, 1.5)
        self._decide(run)

    def on_escalation_triggered(self, batch: EventBatch) -> None:
        np.add.at(self.escalations, batch.run, 1)

    def on_user_command(self, batch: EventBatch) -> None:
        mine = self.commands_for_me(batch)
        for i in range(len(mine)):
            run, command, argument = int(mine.run[i]), str(mine["command"][i]), str(mine["argument"][i])
            if command == "set_budget":
                self.base_budget[run] = round(float(argument) * 100)
            elif command == "pause":
                self.halted[run] = True
            elif command == "resume":
                self.halted[run] = False
            elif command in DELEGATED:
                self.emit("USER_COMMAND", [run], target=DELEGATED[command], command=command, argument=argument)
            else:
                self.emit("ESCALATION_TRIGGERED", [run], source="ceo", reason=f"unknown command {command!r}",
                          product=-1)
                continue
            self._decide(np.array([run]))

    def _decide(self, run: np.ndarray) -> None:
        """Recompute mode and budget for these runs; publish where either changed."""
        if run.size == 0:
            return
        cash = self.cash[run]
        crash = (self.crash_until[run] > self.day)
        # Nested wheres pick as np.select would (first condition wins), without its overhead on small arrays.
        mode = np.where(self.halted[run] | (cash < 0), HALT,
                        np.where(crash, CRASH, np.where(cash < self._reserve_cents[run], CAUTIOUS, NORMAL)))
        factor = self._mode_factor[run, mode]
        factor *= np.where(self.shift_until[run] > self.day, self.shift_factor[run], 1.0)
        budget = np.floor(self.base_budget[run] * factor).astype(np.int64)
        changed = (mode != self.mode[run]) | (budget != self.budget[run])
        self.mode[run], self.budget[run] = mode, budget
        rows = run[changed]
        self.emit("STRATEGY_UPDATED", rows, risk_mode=mode[changed], daily_ad_budget_cents=budget[changed],
                  max_active_products=self.strategy.max_active_products[rows])
