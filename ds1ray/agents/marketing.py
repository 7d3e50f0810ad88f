"""Marketing: runs one campaign per published product and splits the ad budget.

On each OPTIMIZATION_TICK (and when the budget or the portfolio changes) it
first applies the kill rule — a campaign that has spent `kill_after_spend` with
a ROAS below `kill_roas` is stopped for good — then splits the CEO's daily
budget over the live campaigns by its `allocation` rule:

- `equal`: the same to each;
- `roas_greedy`: ∝ ROAS^k, where campaigns that have not yet spent enough to be
  judged count with an optimistic prior ROAS of 2;
- `bandit`: Thompson sampling: each campaign's ROAS is drawn from a log-normal
  around its shrunk estimate, narrowing with the orders seen, and the budget
  goes ∝ draw². The draws use the run's own stream, never the market's.

ROAS is attributed revenue of paid orders over the ad platform's reported spend.
"""

from __future__ import annotations

import numpy as np

from ds1ray.agents.base import Agent, AgentContext
from ds1ray.agents.strategies import MarketingStrategy
from ds1ray.events.batch import EventBatch
from ds1ray.events.contracts import CAMPAIGN_STATUS_CODES, CHANNEL_CODES
from ds1ray.market import draws
from ds1ray.seeding import counter

ACTIVE, KILLED = CAMPAIGN_STATUS_CODES.index("active"), CAMPAIGN_STATUS_CODES.index("killed")
PAUSED = CAMPAIGN_STATUS_CODES.index("paused")
PAID = CHANNEL_CODES.index("paid")
PRIOR_ROAS, PRIOR_SPEND = 2.0, 50.0
ALLOCATION_RULES = ("equal", "roas_greedy", "bandit")
EQUAL, GREEDY, BANDIT = range(len(ALLOCATION_RULES))


class Marketing(Agent):
    id = "marketing"
    Strategy = MarketingStrategy
    _GIVEN = Agent._GIVEN | {"_rule", "_rules_used"}  # what follows from the strategy is not learnt state

    def __init__(self, ctx: AgentContext) -> None:
        super().__init__(ctx)
        n, m = self.runs, self.products
        self.status = np.full((n, m), -1, np.int64)
        self.budget = np.zeros((n, m), np.int64)
        self.total_budget = np.zeros(n, np.int64)
        self.revenue = np.zeros((n, m), np.int64)
        self.orders = np.zeros((n, m), np.int64)
        self.carts = np.zeros((n, m), np.int64)
        self.spend = np.zeros((n, m), np.int64)
        # Per run, the index of its allocation rule in ALLOCATION_RULES, and which rules some run follows
        # (fixed for the cohort's life: strategies do not change).
        self._rule = np.zeros(n, np.int64)
        for code, name in enumerate(ALLOCATION_RULES):
            self._rule[self.follows("allocation", name)] = code
        self._rules_used = [bool((self._rule == code).any()) for code in range(len(ALLOCATION_RULES))]

    def on_page_published(self, batch: EventBatch) -> None:
        run, product = batch.run, batch["product"]
        fresh = self.status[run, product] < 0
        self.status[run[fresh], product[fresh]] = ACTIVE
        self._allocate(run, created=(run[fresh], product[fresh]))

    def on_strategy_updated(self, batch: EventBatch) -> None:
        self.total_budget[batch.run] = batch["daily_ad_budget_cents"]
        self._allocate(batch.run)

    def on_daily_tick(self, batch: EventBatch) -> None:
        self.keep_time(batch)

    def on_optimization_tick(self, batch: EventBatch) -> None:
        self.keep_time(batch)
        # One read of the ads' spend for both: stopping campaigns changes budgets, not what was spent.
        measured = self._roas(batch.run)
        self._kill_losers(batch.run, measured)
        self._allocate(batch.run, measured=measured)

    def on_checkout_started(self, batch: EventBatch) -> None:
        paid = batch["channel"] == PAID
        np.add.at(self.carts, (batch.run[paid], batch["product"][paid]), 1)

    def on_order_paid(self, batch: EventBatch) -> None:
        paid = batch["channel"] == PAID
        cells = (batch.run[paid], batch["product"][paid])
        np.add.at(self.revenue, cells, batch["amount_cents"][paid])
        np.add.at(self.orders, cells, 1)

    def on_escalation_triggered(self, batch: EventBatch) -> None:
        about = batch["product"] >= 0
        self._stop(batch.run[about], batch["product"][about], KILLED)

    def on_user_command(self, batch: EventBatch) -> None:
        mine = self.commands_for_me(batch)
        for i in range(len(mine)):
            run, command, argument = int(mine.run[i]), str(mine["command"][i]), str(mine["argument"][i])
            if not (argument.isdigit() and int(argument) < self.products):
                continue
            product = int(argument)
            if command == "pause_campaign" and self.status[run, product] == ACTIVE:
                self._stop(np.array([run]), np.array([product]), PAUSED)
            elif command == "resume_campaign" and self.status[run, product] == PAUSED:
                self.status[run, product] = ACTIVE
                self._allocate(np.array([run]))

    def _roas(self, run: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        spend = self.ports.ads.insights()[0][run]
        self.spend[run] = spend
        dollars = spend / 100.0
        # The divisor is at least 1e-9, so no error state is needed (entering one costs microseconds).
        roas = np.where(dollars > 0, self.revenue[run] / 100.0 / np.maximum(dollars, 1e-9), np.nan)
        return roas, dollars

    def _kill_losers(self, run: np.ndarray, measured: tuple[np.ndarray, np.ndarray]) -> None:
        roas, spend = measured
        s = self.strategy
        # roas is NaN exactly where nothing was spent, and counts as 0 there (np.nan_to_num, without its overhead).
        losing = (self.status[run] == ACTIVE) & (spend >= s.kill_after_spend[run][:, None]) & (
            np.where(spend > 0, roas, 0.0) < s.kill_roas[run][:, None])
        rows, product = np.nonzero(losing)
        self._stop(run[rows], product, KILLED)

    def _stop(self, run: np.ndarray, product: np.ndarray, status: int) -> None:
        live = self.status[run, product] == ACTIVE
        run, product = run[live], product[live]
        if run.size == 0:
            return
        self.status[run, product] = status
        self.budget[run, product] = 0
        self.ports.ads.set_budgets(run, product, np.zeros(run.size, np.int64))
        self.emit("CAMPAIGN_OPTIMIZED", run, product=product, daily_budget_cents=0, status=status)
        self._allocate(run)

    def _weights(self, run: np.ndarray, active: np.ndarray, measured: tuple[np.ndarray, np.ndarray] | None
                 ) -> np.ndarray:
        roas, spend = self._roas(run) if measured is None else measured
        weight = np.ones(roas.shape)  # `equal`
        # Each rule's weights only for the runs that follow it: every weight is a function of its own
        # cell (the bandit's draws too), whoever else is computed. A rule no run follows costs nothing.
        rules = self._rule[run]
        if self._rules_used[GREEDY]:
            greedy = rules == GREEDY
            if greedy.any():
                weight[greedy] = self._greedy_weights(run[greedy], roas[greedy], spend[greedy])
        if self._rules_used[BANDIT]:
            bandit = rules == BANDIT
            if bandit.any():
                weight[bandit] = self._bandit_weights(run[bandit], spend[bandit])
        return np.where(active, weight, 0.0)

    def _greedy_weights(self, run: np.ndarray, roas: np.ndarray, spend: np.ndarray) -> np.ndarray:
        """ROAS^k, with campaigns too young to judge counted at no less than the prior ROAS."""
        young = spend < self.strategy.kill_after_spend[run][:, None]
        # roas is finite or NaN (no spend): fmax skips the NaN, so a young campaign without spend
        # counts at the prior and an old one at the floor.
        floor = np.where(young, PRIOR_ROAS, 0.05)
        return np.power(np.fmax(roas, floor), self.strategy.greedy_exponent[run][:, None])

    def _bandit_weights(self, run: np.ndarray, spend: np.ndarray) -> np.ndarray:
        """Thompson sampling: the square of a log-normal ROAS draw around the shrunk estimate."""
        shrunk = (self.revenue[run] / 100.0 + PRIOR_ROAS * PRIOR_SPEND) / (spend + PRIOR_SPEND)
        sigma = 1.0 / np.sqrt(1.0 + self.orders[run])
        # One counter per product, shared by the runs (the leading axis of 1); each run draws with its key.
        u = self.ctx.streams["bandit"].uniform(counter(self.day, np.arange(self.products)[None, :], bits=(32, 24)),
                                               rows=run)
        return np.square(draws.lognormal(u, shrunk, sigma))

    def _allocate(self, run: np.ndarray, created: tuple[np.ndarray, np.ndarray] | None = None,
                  measured: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """Split the runs' budgets over their live campaigns; `measured` is `_roas(run)` if the caller has it."""
        if run.size > 1 and not (run[1:] > run[:-1]).all():  # mostly already unique and sorted (a tick's runs)
            run = np.unique(run)
            measured = None  # read for other rows
        if run.size == 0:
            return
        active = self.status[run] == ACTIVE
        weight = self._weights(run, active, measured)
        total = weight.sum(axis=1, keepdims=True)
        positive = total > 0
        share = np.where(positive, weight / np.where(positive, total, 1.0), 0.0)
        budget = np.floor(share * self.total_budget[run][:, None]).astype(np.int64)
        changed = active & (budget != self.budget[run])
        self.budget[run] = np.where(active, budget, self.budget[run])
        rows, product = np.nonzero(changed)
        if rows.size:
            self.ports.ads.set_budgets(run[rows], product, budget[rows, product])
        if created is not None and created[0].size:
            new = np.zeros_like(changed)
            index = np.searchsorted(run, created[0])
            new[index, created[1]] = True
            r, p = np.nonzero(new)
            self.emit("CAMPAIGN_CREATED", run[r], product=p, daily_budget_cents=budget[r, p])
            rows, product = np.nonzero(changed & ~new)
        if rows.size:
            self.emit("CAMPAIGN_OPTIMIZED", run[rows], product=product, daily_budget_cents=budget[rows, product],
                      status=ACTIVE)
