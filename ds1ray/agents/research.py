"""Research: finds trending products worth testing and proposes them (PRODUCT_IDEAS).

Every `scan_every_days` it asks the trends port for candidates, benchmarks
competitors' prices, scores each candidate, and proposes the best ones above
`score_threshold`, no more than `products_to_test` at a time and only while the
CEO's portfolio limit leaves room. Score: 0.7 × trend score + 0.3 × price room
(p / (p + $20): dearer products leave more margin per order), discounted by 20 %
when the AI summary was refused (no benchmark read).
"""

from __future__ import annotations

import numpy as np

from ds1ray.agents.base import Agent, AgentContext, per_run_top_k
from ds1ray.agents.strategies import ResearchStrategy
from ds1ray.events.batch import EventBatch
from ds1ray.events.contracts import CAMPAIGN_STATUS_CODES

KILLED = CAMPAIGN_STATUS_CODES.index("killed")


class Research(Agent):
    id = "research"
    Strategy = ResearchStrategy

    def __init__(self, ctx: AgentContext) -> None:
        super().__init__(ctx)
        n, m = self.runs, self.products
        self.tried = np.zeros((n, m), bool)
        self.testing = np.zeros((n, m), bool)
        self.max_active = np.zeros(n, np.int64)
        self.last_scan = np.full(n, -10**6, np.int64)
        self.forced = np.zeros(n, bool)

    def on_daily_tick(self, batch: EventBatch) -> None:
        self.keep_time(batch)
        self._scan(batch.run)

    def on_strategy_updated(self, batch: EventBatch) -> None:
        self.max_active[batch.run] = batch["max_active_products"]
        self._scan(batch.run)

    def on_page_published(self, batch: EventBatch) -> None:
        self.testing[batch.run, batch["product"]] = True

    def on_campaign_optimized(self, batch: EventBatch) -> None:
        killed = batch["status"] == KILLED
        self.testing[batch.run[killed], batch["product"][killed]] = False

    def on_user_command(self, batch: EventBatch) -> None:
        mine = self.commands_for_me(batch)
        for i in range(len(mine)):
            run, command, argument = int(mine.run[i]), str(mine["command"][i]), str(mine["argument"][i])
            if command == "research":
                self.forced[run] = True
                self._scan(np.array([run]))
            elif command in ("approve", "reject") and argument.isdigit() and int(argument) < self.products:
                product = int(argument)
                if command == "approve" and not self.tried[run, product]:
                    self._propose(np.array([run]), np.array([product]), np.array([1.0]))
                self.tried[run, product] = True

    def _scan(self, run: np.ndarray) -> None:
        s = self.strategy
        due = (self.day - self.last_scan[run] >= s.scan_every_days[run]) | self.forced[run]
        if not due.any():  # most days for most runs: no portfolio room counted for runs that do not scan
            return
        run = run[due]
        run = run[self.max_active[run] - self.testing[run].sum(axis=1) > 0]
        if run.size == 0:
            return
        self.last_scan[run] = self.day
        self.forced[run] = False
        summarised = self.ports.ai.complete("trend_summary", run)
        cand_run, product, trend = self.ports.trends.candidates(run)
        fresh = ~self.tried[cand_run, product]
        cand_run, product, trend = cand_run[fresh], product[fresh], trend[fresh]
        if cand_run.size == 0:
            return
        price = self.ports.competitor.prices(cand_run, product)
        dollars = price / 100.0
        score = 0.7 * trend + 0.3 * dollars / (dollars + 20.0)
        has_summary = np.zeros(self.runs, bool)
        has_summary[run[summarised]] = True
        score = np.where(has_summary[cand_run], score, 0.8 * score)
        passing = score >= s.score_threshold[cand_run]
        cand_run, product, score, price = cand_run[passing], product[passing], score[passing], price[passing]
        room = np.minimum(s.products_to_test, self.max_active - self.testing.sum(axis=1))
        best = per_run_top_k(cand_run, score, np.maximum(room, 0))
        self._propose(cand_run[best], product[best], score[best], price[best])

    def _propose(self, run: np.ndarray, product: np.ndarray, score: np.ndarray,
                 price: np.ndarray | None = None) -> None:
        if price is None:
            price = self.ports.competitor.prices(run, product)
        self.tried[run, product] = True
        self.testing[run, product] = True
        self.emit("PRODUCT_IDEAS", run, product=product, score=score, competitor_price_cents=price)
