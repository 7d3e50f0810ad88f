"""Analytics: keeps the business's KPIs from the events and reports them (BUSINESS_REPORT).

It counts what the bus tells it (carts, orders, revenue, refunds, tickets,
campaigns) and reads ad spend and cash from the ports. Every
`report_every_days` it reports, for the days since the last report: revenue,
ad spend, refunds and orders, the cash balance, ROAS over the last
`roas_window_days`, and the refund rate (refunded orders ÷ orders, all time).
"""

from __future__ import annotations

import numpy as np

from ds1ray.agents.base import Agent, AgentContext
from ds1ray.agents.strategies import AnalyticsStrategy
from ds1ray.events.batch import EventBatch
from ds1ray.events.contracts import CAMPAIGN_STATUS_CODES

WINDOW_MAX = 90  # the strategy's upper bound on roas_window_days
ACTIVE = CAMPAIGN_STATUS_CODES.index("active")


class Analytics(Agent):
    id = "analytics"
    Strategy = AnalyticsStrategy

    def __init__(self, ctx: AgentContext) -> None:
        super().__init__(ctx)
        n = self.runs
        self.revenue = np.zeros(n, np.int64)
        self.refunds = np.zeros(n, np.int64)
        self.refunded_orders = np.zeros(n, np.int64)
        self.orders = np.zeros(n, np.int64)
        self.carts = np.zeros(n, np.int64)
        self.tickets = np.zeros(n, np.int64)
        self.campaigns = np.zeros((n, self.products), bool)
        self.spend_seen = np.zeros(n, np.int64)
        # Daily revenue and spend, ring-buffered for the ROAS window.
        self.window_revenue = np.zeros((WINDOW_MAX, n), np.int64)
        self.window_spend = np.zeros((WINDOW_MAX, n), np.int64)
        self.at_last_report = {k: np.zeros(n, np.int64) for k in ("revenue", "spend", "refunds", "orders")}
        self.last_report = np.full(n, -1, np.int64)

    def on_daily_tick(self, batch: EventBatch) -> None:
        self.keep_time(batch)
        run = batch.run
        spend_total = self.ports.ads.insights()[0].sum(axis=1)
        # Yesterday closes: what was spent since the last look goes to yesterday's slot.
        slot = (self.day - 1) % WINDOW_MAX
        self.window_spend[slot, run] = spend_total[run] - self.spend_seen[run]
        self.spend_seen[run] = spend_total[run]
        due = (self.day > 0) & ((self.day - 1 - self.last_report[run]) >= self.strategy.report_every_days[run])
        self._report(run[due], spend_total)
        self.window_revenue[self.day % WINDOW_MAX, run] = 0

    def on_checkout_started(self, batch: EventBatch) -> None:
        self.carts += np.bincount(batch.run, minlength=self.runs)

    def on_order_paid(self, batch: EventBatch) -> None:
        revenue = np.bincount(batch.run, weights=batch["amount_cents"], minlength=self.runs).astype(np.int64)
        self.revenue += revenue
        self.window_revenue[self.day % WINDOW_MAX] += revenue
        self.orders += np.bincount(batch.run, minlength=self.runs)

    def on_order_refunded(self, batch: EventBatch) -> None:
        self.refunds += np.bincount(batch.run, weights=batch["amount_cents"], minlength=self.runs).astype(np.int64)
        self.refunded_orders += np.bincount(batch.run, minlength=self.runs)

    def on_ticket_created(self, batch: EventBatch) -> None:
        self.tickets += np.bincount(batch.run, minlength=self.runs)

    def on_campaign_created(self, batch: EventBatch) -> None:
        self.campaigns[batch.run, batch["product"]] = True

    def on_campaign_optimized(self, batch: EventBatch) -> None:
        self.campaigns[batch.run, batch["product"]] = batch["status"] == ACTIVE

    def kpis(self) -> dict[str, np.ndarray]:
        """The running KPIs per run (for dashboards and reports)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return {
                "revenue_cents": self.revenue.copy(), "orders": self.orders.copy(), "carts": self.carts.copy(),
                "refunds_cents": self.refunds.copy(), "tickets": self.tickets.copy(),
                "ad_spend_cents": self.spend_seen.copy(), "active_campaigns": self.campaigns.sum(axis=1),
                "refund_rate": np.where(self.orders > 0, self.refunded_orders / np.maximum(self.orders, 1), 0.0),
            }

    def _report(self, run: np.ndarray, spend_total: np.ndarray) -> None:
        if run.size == 0:
            return
        window = self.strategy.roas_window_days[run]
        # Only the days back that some run's window reaches: the rest would add zeros (sums of integers,
        # so the same totals in any order).
        back = np.arange(min(WINDOW_MAX, int(window.max())))
        lag = self.day - 1 - back
        in_window = (back[:, None] < window[None, :]) & (lag >= 0)[:, None]
        cells = ((lag % WINDOW_MAX)[:, None], run[None, :])
        revenue_w = np.where(in_window, self.window_revenue[cells], 0).sum(axis=0)
        spend_w = np.where(in_window, self.window_spend[cells], 0).sum(axis=0)
        roas = np.where(spend_w > 0, revenue_w / np.maximum(spend_w, 1), 0.0)
        since = self.at_last_report
        current = {"revenue": self.revenue[run], "spend": spend_total[run], "refunds": self.refunds[run],
                   "orders": self.orders[run]}
        self.emit("BUSINESS_REPORT", run,
                  revenue_cents=current["revenue"] - since["revenue"][run],
                  ad_spend_cents=current["spend"] - since["spend"][run],
                  refunds_cents=current["refunds"] - since["refunds"][run],
                  orders=current["orders"] - since["orders"][run],
                  cash_cents=self.ports.shop.balance()[run],
                  roas=roas,
                  refund_rate=self.refunded_orders[run] / np.maximum(self.orders[run], 1))
        for k, v in current.items():
            since[k][run] = v
        self.last_report[run] = self.day - 1
