"""The simulated world behind the mock adapters: customers, platforms, suppliers.

One `World` holds the market of every run in a cohort. The mock adapters are
thin facades over it (the shop platform, the ad platform, the supplier network,
the carriers, the customers' inbox, the AI provider), so they share one truth.
The world advances by the cohort clock (`begin_day`, `end_day`); within a day,
agents act through the ports and the world answers.

Every amount of money moves through `self.ledger`. Formulas and sources are
in docs/market.md; parameters in `ds1ray.market.params`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ds1ray.events.batch import EventBatch
from ds1ray.events.contracts import REFUND_REASON_CODES, TICKET_REASON_CODES
from ds1ray.market import draws
from ds1ray.market.agenda import Agenda
from ds1ray.market.catalog import SUPPLIER_TIERS, Catalog, draw_catalog
from ds1ray.market.ledger import Ledger
from ds1ray.market.shocks import plan_shocks
from ds1ray.market.stack import Stacked
from ds1ray.seeding import Streams, counter, mix64

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
B = NDArray[np.bool_]

_REASON = {name: i for i, name in enumerate(TICKET_REASON_CODES)}
_REFUND = {name: i for i, name in enumerate(REFUND_REASON_CODES)}
_SOOTHING = tuple(_REFUND[r] for r in ("return", "late", "defect"))
_ORDER_BITS = 40  # order ids per run stay far below 2**40
_QUOTE_ERRORS = np.arange(2)  # the counter's last part in `quotes`: 0 for the delivery days, 1 for the rating
DAILY_KPIS = ("cash", "revenue", "ad_spend", "orders", "sessions", "checkouts", "refunds", "tickets",
              "active_products", "roas")

# AfterShip tags (integration_contracts.md) that the mock carrier reports.
TRACKING_TAGS = ("Pending", "InfoReceived", "InTransit", "OutForDelivery", "Delivered", "Exception")


def _order_keys(run: I64, order_id: I64) -> list[int]:
    """The world-wide key of each order (run and per-run order id in one int), as Python ints for sets and dicts."""
    return ((np.asarray(run, np.int64) << _ORDER_BITS) | np.asarray(order_id, np.int64)).tolist()


def _rank_within_run(run: I64) -> I64:
    """Rank of each row among the rows of the same run, in row order (0 for a run's first)."""
    if run.size < 2 or (run[1:] > run[:-1]).all():  # one row per run (the common case)
        return np.zeros(run.size, np.int64)
    order = np.argsort(run, kind="stable")
    sorted_run = run[order]
    first = np.searchsorted(sorted_run, sorted_run, side="left")
    rank = np.empty(run.size, np.int64)
    rank[order] = np.arange(run.size) - first
    return rank


@dataclass(frozen=True)
class AiTask:
    """Typical token use of one kind of AI call (from seeds/ai_fixtures.yaml)."""

    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class _Funnel:
    """The customer funnel's per-run parameters as columns, and the parts of its formulas that never
    change: computed once per cohort instead of daily (the same operations, so the same numbers)."""

    adstock_decay: F64
    adstock_kept: F64
    half_saturation: F64
    minus_hill_slope: F64
    impressions_per_cpm: F64
    cpm: F64
    max_daily_impressions: F64
    ctr_appeal: F64
    page_quality_without_ai: F64
    minus_reputation_sensitivity: F64
    cart_kept: F64

    @classmethod
    def of(cls, market: Stacked, catalog: Catalog) -> _Funnel:
        col = lambda a: np.asarray(a, np.float64)[:, None]  # noqa: E731
        traffic, conversion = market.traffic, market.conversion
        alpha, half = col(traffic.adstock_decay), col(traffic.hill_half_saturation)
        return cls(
            adstock_decay=alpha, adstock_kept=1.0 - alpha, half_saturation=half,
            minus_hill_slope=-col(traffic.hill_slope), impressions_per_cpm=1000.0 * half, cpm=col(traffic.cpm),
            max_daily_impressions=col(traffic.max_daily_impressions), ctr_appeal=col(traffic.ctr) * catalog.appeal,
            page_quality_without_ai=col(conversion.page_quality_without_ai),
            minus_reputation_sensitivity=-col(conversion.reputation_sensitivity),
            cart_kept=1.0 - col(conversion.cart_abandonment),
        )


@dataclass
class Placement:
    """What the supplier network answers to fulfilment orders (one row per order)."""

    accepted: B
    backorder_days: I64
    cost_cents: I64


class World:
    """The market of every run of a cohort, in arrays over runs × product slots."""

    def __init__(
        self,
        market: Stacked,
        market_keys: NDArray[np.uint64],
        days: int,
        archetype_prices: F64,
        archetype_weights: F64,
        ai_tasks: Mapping[str, AiTask],
        *,
        idempotent_orders: bool = False,
    ) -> None:
        self.market = market
        self.runs = len(market)
        self.days = days
        self.streams = Streams(market_keys)
        self.catalog: Catalog = draw_catalog(market, self.streams["catalog"], archetype_prices, archetype_weights)
        self.shocks = plan_shocks(market.shocks, self.streams["shocks"], days)
        money = market.money
        self.ledger = Ledger(np.rint(money.starting_cash * 100).astype(np.int64))
        n, m, s = self.runs, self.catalog.slots, len(SUPPLIER_TIERS)
        self.day = -1

        # The shop platform: what is listed, at what price, with what promise.
        self.listed = np.zeros((n, m), bool)
        self.price = np.zeros((n, m), np.int64)
        self.promised_days = np.zeros((n, m), np.int64)
        self.ai_copy = np.ones((n, m), bool)
        # The ad platform: one campaign per product slot.
        self.budget = np.zeros((n, m), np.int64)
        self.adstock = np.zeros((n, m))
        self.spend_total = np.zeros((n, m), np.int64)
        self.impressions_total = np.zeros((n, m), np.int64)
        self.clicks_total = np.zeros((n, m), np.int64)
        # The supplier network: stock-outs per product and tier.
        self.stockout_until = np.zeros((n, m, s), np.int64)
        # Identifiers, per run, so they do not depend on the cohort.
        self.next_checkout = np.zeros(n, np.int64)
        self.next_order = np.zeros(n, np.int64)
        self.next_ticket = np.zeros(n, np.int64)
        # What happens after a sale.
        self.shipments = Agenda(("order_id", "product", "supplier", "delivery_day"))
        self.tickets = Agenda(("order_id", "product", "reason", "days_late", "amount"))
        self.chargebacks = Agenda(("order_id", "product", "amount"))
        self.refunded: set[int] = set()
        self.charged_back: set[int] = set()
        self.tracking: dict[int, tuple[int, int]] = {}
        # Live rehearsals (staging) may deliver an order twice; a supplier answers a repeated
        # order with its first answer. Sweeps place each order once and skip the bookkeeping.
        self.placements: dict[int, tuple[bool, int, int]] | None = {} if idempotent_orders else None
        self._confirmations: list[dict[str, NDArray[np.int64]]] = []
        # The AI provider: tokens per month per run, cost in nano-dollars until posted as cents.
        self.ai_tasks = dict(ai_tasks)
        self.ai_month = np.zeros(n, np.int64)
        self.ai_tokens_this_month = np.zeros(n, np.int64)
        self.ai_nanodollars = np.zeros(n, np.int64)
        self.ai_calls = np.zeros(n, np.int64)
        self.ai_refused = np.zeros(n, np.int64)
        self._ai_cost: dict[str, I64] = {}
        # Reputation: unhappy customers and orders, both over a fading memory.
        self.unhappy = np.zeros(n)
        self.recent_orders = np.zeros(n)
        # Solvency.
        self.alive = np.ones(n, bool)
        self.negative_days = np.zeros(n, np.int64)
        self.bankrupt_day = np.full(n, -1, np.int64)
        # Outcome counters and the daily KPI record (days × runs).
        self.totals = {k: np.zeros(n, np.int64) for k in ("orders", "sessions", "checkouts", "tickets",
                                                          "refunded_orders", "chargeback_orders")}
        self.market_ceiling_cents = np.zeros(n, np.int64)
        # The price at which shoppers walk away (dollars, and whole cents): fixed for the cohort's life.
        self._choke_price = self.catalog.choke_multiple[:, None] * self.catalog.ref_price
        self._choke_price_cents = np.rint(self._choke_price * 100).astype(np.int64)
        self._funnel = _Funnel.of(market, self.catalog)
        # What `end_day` charges and fades by, and the fixed parts of the payment and chargeback fees (cents),
        # per run: fixed for the cohort's life, so computed once (rounding per run, then gathered per order, is
        # the same as gathering and then rounding).
        self._fixed_cost_cents = np.rint(money.fixed_cost_per_day * 100).astype(np.int64)
        self._payment_fee_fixed_cents = np.rint(np.asarray(money.payment_fee_fixed) * 100).astype(np.int64)
        self._chargeback_fee_cents = np.rint(np.asarray(money.chargeback_fee) * 100).astype(np.int64)
        self._reputation_fade = 1.0 - 1.0 / np.asarray(market.conversion.reputation_memory_days)
        self.daily = {k: np.zeros((days, n), np.float64 if k == "roas" else np.int64) for k in DAILY_KPIS}
        self._today: dict[str, I64] = {}

    # ------------------------------------------------------------------ clock

    def begin_day(self, day: int) -> None:
        self.day = day
        self._today = {k: np.zeros(self.runs, np.int64) for k in ("orders", "sessions", "checkouts", "refunds",
                                                                  "tickets")}
        self._revenue_before = self.ledger.totals["revenue"].copy()
        self._spend_before = self.ledger.totals["ad_spend"].copy()
        self._update_stockouts(day)

    def end_day(self, day: int) -> None:
        """Fixed costs, AI cost, solvency; then the day's KPIs."""
        money = self.market.money
        self.ledger.post_all("fixed_costs", np.where(self.alive, self._fixed_cost_cents, 0))
        self.unhappy *= self._reputation_fade
        self.recent_orders *= self._reputation_fade
        ai_cents = self.ai_nanodollars // 10_000_000
        self.ai_nanodollars -= ai_cents * 10_000_000
        self.ledger.post_all("ai_cost", ai_cents)

        negative = self.ledger.cash < 0
        self.negative_days = np.where(negative & self.alive, self.negative_days + 1, 0)
        failing = self.alive & (self.negative_days >= np.asarray(money.bankrupt_after_days_negative))
        if failing.any():
            self._close(failing, day)

        revenue = self.ledger.totals["revenue"] - self._revenue_before
        spend = self.ledger.totals["ad_spend"] - self._spend_before
        record = self.daily
        record["cash"][day] = self.ledger.cash
        record["revenue"][day] = revenue
        record["ad_spend"][day] = spend
        for k in ("orders", "sessions", "checkouts", "refunds", "tickets"):
            record[k][day] = self._today[k]
        record["active_products"][day] = self.listed.sum(axis=1)
        # Integer cents over at least 1: nothing to divide by zero, so no error state to enter.
        record["roas"][day] = np.where(spend > 0, revenue / np.maximum(spend, 1), np.nan)

    def _close(self, failing: B, day: int) -> None:
        """A bankrupt business stops: pages down, ads off, nothing more happens to it."""
        self.bankrupt_day[failing] = day
        self.alive &= ~failing
        self.listed[failing] = False
        self.budget[failing] = 0
        # Its scheduled shipments, tickets and disputes are dropped as they fall due (`_due`).

    def _due(self, agenda: Agenda) -> dict[str, NDArray[np.int64]] | None:
        """Today's rows of an agenda, for the runs still in business."""
        rows = agenda.pop(self.day)
        if rows is None:
            return None
        alive = self.alive[rows["run"]]
        if not alive.all():
            rows = {k: v[alive] for k, v in rows.items()}
        return rows if rows["run"].size else None

    def _update_stockouts(self, day: int) -> None:
        cat = self.catalog
        u = self.streams["stock"].uniform(counter(day, np.arange(cat.slots)[:, None], np.arange(len(SUPPLIER_TIERS)),
                                                  bits=(24, 24, 16))[None])
        starts = (self.stockout_until <= day) & (u < cat.stockout_rate)
        if starts.any():
            # Given a start, u / rate is uniform on (0, 1): reuse it for an exponential length
            # (computed for the starting cells only: the logarithm over every cell was the dear part).
            cells = np.nonzero(starts)
            length = np.ceil(-np.log(u[cells] / cat.stockout_rate[cells]) * cat.stockout_days[cells])
            until = self.stockout_until.copy()  # a new array, as before: no one's earlier view changes
            until[cells] = day + np.maximum(length, 1).astype(np.int64)
            self.stockout_until = until

    # ------------------------------------------------------------ shop platform

    def publish(self, run: I64, product: I64, price_cents: I64, promised_days: I64, ai_copy: B) -> None:
        ok = self.alive[run]
        run, product = run[ok], product[ok]
        self.listed[run, product] = True
        self.price[run, product] = np.maximum(price_cents[ok], 1)
        self.promised_days[run, product] = promised_days[ok]
        self.ai_copy[run, product] = ai_copy[ok]

    def set_prices(self, run: I64, product: I64, price_cents: I64) -> None:
        self.price[run, product] = np.maximum(price_cents, 1)

    def unpublish(self, run: I64, product: I64) -> None:
        self.listed[run, product] = False
        self.budget[run, product] = 0

    def refund(self, run: I64, order_id: I64, product: I64, amount_cents: I64, reason: I64) -> B:
        """Refund orders once each; a refunded or disputed order cannot be refunded again."""
        accepted = np.zeros(run.size, bool)
        keys = _order_keys(run, order_id)
        for i, (key, alive) in enumerate(zip(keys, self.alive[run].tolist(), strict=True)):
            if not alive or key in self.refunded or key in self.charged_back:
                continue
            self.refunded.add(key)
            accepted[i] = True
        if accepted.any():
            rows = {"run": run[accepted], "order_id": order_id[accepted], "product": product[accepted],
                    "amount": amount_cents[accepted], "reason": reason[accepted]}
            self.ledger.post("refunds", rows["run"], rows["amount"])
            per_run = np.bincount(rows["run"], minlength=self.runs)
            self._today["refunds"] += per_run
            self.totals["refunded_orders"] += per_run
            self._confirmations.append(rows)
            # A refunded complaint or return leaves the customer content again (compared, not np.isin: dear).
            reason = rows["reason"]
            soothed = (reason == _SOOTHING[0]) | (reason == _SOOTHING[1]) | (reason == _SOOTHING[2])
            self.unhappy -= np.bincount(rows["run"][soothed], minlength=self.runs)
        return accepted

    def customers(self) -> list[EventBatch]:
        """Today's shoppers: ad delivery, sessions, carts and paid orders (CHECKOUT_STARTED, ORDER_PAID)."""
        d, cat, f = self.day, self.catalog, self._funnel
        col = lambda a: np.asarray(a, np.float64)[:, None]  # noqa: E731
        open_ = self.listed & self.alive[:, None]
        heat = cat.heat(d)
        shock_traffic, shock_conv = col(self.shocks.traffic[:, d]), col(self.shocks.conversion[:, d])

        # Ad funnel: spend → adstock → Hill saturation → impressions (CPM) → clicks (CTR).
        spend = np.where(open_, self.budget, 0)
        self.ledger.post_all("ad_spend", spend.sum(axis=1))
        # The running totals are replaced, never changed in place: the ad platform hands out read-only views
        # of them (its insights), which must stay what they were when read.
        self.spend_total = self.spend_total + spend
        self.adstock = spend / 100.0 + f.adstock_decay * self.adstock
        effective = f.adstock_kept * self.adstock
        with np.errstate(divide="ignore"):
            hill = np.where(effective > 0, 1.0 / (1.0 + np.power(np.maximum(effective, 1e-12) / f.half_saturation,
                                                                 f.minus_hill_slope)), 0.0)
        cpm = f.cpm * col(self.shocks.cpm[:, d])
        impressions = np.minimum(f.impressions_per_cpm / cpm * hill * shock_traffic, f.max_daily_impressions)
        ctr = f.ctr_appeal * (0.3 + 0.7 * heat)
        u = self._demand_uniforms(d)
        clicks = draws.poisson(u[..., 0], impressions * ctr)
        self.impressions_total = self.impressions_total + np.rint(impressions).astype(np.int64)
        self.clicks_total = self.clicks_total + clicks

        organic_rate = cat.organic_peak * heat * shock_traffic
        organic = np.where(open_, draws.poisson(u[..., 1], organic_rate), 0)
        quality = np.where(self.ai_copy, 1.0, f.page_quality_without_ai)
        price = self.price / 100.0
        ratio = np.where(open_, price / np.maximum(cat.market_price(d), 0.01), 1.0)
        reputation = np.exp(f.minus_reputation_sensitivity * col(self.unhappy / np.maximum(self.recent_orders, 10.0)))
        cart_rate = cat.conversion * np.power(ratio, cat.elasticity) * cat.competition(d) * shock_conv * quality \
            * reputation / f.cart_kept
        choke = price > self._choke_price
        cart_rate = np.where(open_ & ~choke, np.minimum(cart_rate, 0.95), 0.0)

        sessions = np.stack([organic, clicks], axis=-1)
        carts = draws.binomial(u[..., 2:4], sessions, cart_rate[..., None])
        orders = draws.binomial(u[..., 4:6], carts, f.cart_kept[..., None])

        # Sums of integers: organic + clicks instead of a sum over the channel axis, whose two-element
        # inner loops make it an order of magnitude slower.
        per_product = organic + clicks
        session_count = per_product.sum(axis=1)
        self._today["sessions"] += session_count
        self.totals["sessions"] += session_count
        self.market_ceiling_cents += (per_product * self._choke_price_cents).sum(axis=1)
        return [self._checkout_rows(carts), self._order_rows(orders)]

    def _demand_uniforms(self, day: int) -> F64:
        slots = np.arange(self.catalog.slots)[:, None]
        purpose = np.arange(6)[None, :]
        return self.streams["demand"].uniform(counter(day, slots, purpose, bits=(24, 24, 16))[None])

    def _expand(self, counts: NDArray[np.int64]) -> tuple[I64, I64, I64]:
        """Rows from counts (runs × products × channel), run-major: (run, product, channel)."""
        per_cell = counts.reshape(-1)
        cell = np.repeat(np.arange(per_cell.size), per_cell)
        m2 = counts.shape[1] * counts.shape[2]
        return cell // m2, (cell // counts.shape[2]) % counts.shape[1], cell % counts.shape[2]

    def _number(self, run: I64, next_ids: I64, kpi: str) -> tuple[I64, I64]:
        """Per-run sequential ids for run-major rows (so ids never depend on the cohort); advances
        `next_ids` and counts the rows as `kpi`. Returns (ids, rows per run)."""
        per_run = np.bincount(run, minlength=self.runs)
        starts = np.cumsum(per_run) - per_run
        ids = next_ids[run] + np.arange(run.size) - starts[run]
        next_ids += per_run
        self._today[kpi] += per_run
        self.totals[kpi] += per_run
        return ids, per_run

    def _checkout_rows(self, carts: NDArray[np.int64]) -> EventBatch:
        run, product, channel = self._expand(carts)
        checkout_id, _ = self._number(run, self.next_checkout, "checkouts")
        return EventBatch.of("CHECKOUT_STARTED", run, checkout_id=checkout_id, product=product,
                             amount_cents=self.price[run, product], channel=channel)

    def _order_rows(self, orders: NDArray[np.int64]) -> EventBatch:
        run, product, channel = self._expand(orders)
        order_id, per_run = self._number(run, self.next_order, "orders")
        self.recent_orders += per_run
        amount = self.price[run, product]
        money = self.market.money
        fee = np.rint(amount * np.asarray(money.payment_fee_rate)[run]).astype(np.int64) \
            + self._payment_fee_fixed_cents[run]
        self.ledger.post("revenue", run, amount)
        self.ledger.post("payment_fees", run, fee)
        customer = (mix64(self.streams["customers"].keys[run] + order_id.astype(np.uint64)) >> np.uint64(1))
        return EventBatch.of("ORDER_PAID", run, order_id=order_id, product=product, amount_cents=amount,
                             channel=channel, customer_ref=customer.astype(np.int64))

    def refund_confirmations(self) -> EventBatch | None:
        """Refunds made since the last poll, and chargebacks falling due today (ORDER_REFUNDED)."""
        rows = self._confirmations
        self._confirmations = []
        due = self._due(self.chargebacks)
        if due is not None:
            rows = [*rows, self._charge_back(due)]
        rows = [r for r in rows if r["run"].size]
        if not rows:
            return None
        merged = {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}
        order = np.argsort(merged["run"], kind="stable")
        return EventBatch.of("ORDER_REFUNDED", merged["run"][order], order_id=merged["order_id"][order],
                             product=merged["product"][order], amount_cents=merged["amount"][order],
                             reason=merged["reason"][order])

    def _charge_back(self, due: dict[str, NDArray[np.int64]]) -> dict[str, NDArray[np.int64]]:
        """Disputes fall due: the card network takes the amount and a fee, unless the order was refunded."""
        keep = np.zeros(due["run"].size, bool)
        keys = _order_keys(due["run"], due["order_id"])
        for i, (key, alive) in enumerate(zip(keys, self.alive[due["run"]].tolist(), strict=True)):
            if alive and key not in self.refunded and key not in self.charged_back:
                self.charged_back.add(key)
                keep[i] = True
        run, amount = due["run"][keep], due["amount"][keep]
        fee = self._chargeback_fee_cents[run]
        self.ledger.post("chargebacks", run, amount + fee)
        self.totals["chargeback_orders"] += np.bincount(run, minlength=self.runs)
        return {"run": run, "order_id": due["order_id"][keep], "product": due["product"][keep], "amount": amount,
                "reason": np.full(run.size, _REFUND["chargeback"], np.int64)}

    # ------------------------------------------------------------- ad platform

    def set_budgets(self, run: I64, product: I64, daily_budget_cents: I64) -> None:
        self.budget[run, product] = np.where(self.alive[run], np.maximum(daily_budget_cents, 0), 0)

    # -------------------------------------------------------- supplier network

    def quotes(self, run: I64, product: I64) -> tuple[I64, F64, F64]:
        """Per row and tier: landed cost (cents), quoted delivery days, reliability rating (0..1).

        Quotes are the suppliers' own claims: delivery times carry an error and the
        rating is a noisy view of defects, failures and stock-outs.
        """
        cat = self.catalog
        cost = cat.unit_cost_cents[run, product] + cat.ship_cost_cents[run, product]
        tiers = np.arange(len(SUPPLIER_TIERS))[None, :]
        noise = self.market.suppliers.quote_noise[run][:, None, None]
        # Both errors (the days' on the last axis at 0, the rating's at 1) drawn with one counter, one
        # uniform and one log-normal call: each element is what its own call gave (a quote is asked for daily).
        errors = draws.lognormal(self.streams["quotes"].uniform(
            counter(product[:, None, None], tiers[..., None], _QUOTE_ERRORS, bits=(24, 16, 8)), rows=run), 1.0, noise)
        days = (cat.processing_days[run, product] + cat.shipping_days[run, product]) * errors[..., 0]
        trouble = cat.defect_rate[run, product] + cat.failure_rate[run, product] \
            + cat.stockout_rate[run, product] * cat.stockout_days[run, product] / 30.0
        rating = np.clip(1.0 - trouble * errors[..., 1], 0.0, 1.0)
        return cost, days, rating

    def in_stock(self, run: I64, product: I64) -> B:
        return np.asarray(self.stockout_until[run, product] <= self.day)

    def buy_sample(self, run: I64, product: I64, supplier: I64) -> I64:
        """A sample unit bought when a product is sourced; returns its landed cost (cents)."""
        cat = self.catalog
        cost = np.where(self.alive[run], cat.unit_cost_cents[run, product, supplier]
                        + cat.ship_cost_cents[run, product, supplier], 0)
        self.ledger.post("cogs", run, cost)
        return np.asarray(cost, np.int64)

    def place_orders(self, run: I64, product: I64, supplier: I64, order_id: I64, amount_cents: I64) -> Placement:
        """Fulfilment orders, one per customer order; schedules what happens to each afterwards."""
        if self.placements is not None:
            return self._place_once(run, product, supplier, order_id, amount_cents)
        return self._place(run, product, supplier, order_id, amount_cents)

    def _place_once(self, run: I64, product: I64, supplier: I64, order_id: I64, amount_cents: I64) -> Placement:
        assert self.placements is not None
        keys = _order_keys(run, order_id)
        new = np.array([k not in self.placements for k in keys], dtype=bool)
        placed = self._place(run[new], product[new], supplier[new], order_id[new], amount_cents[new])
        for i, k in enumerate(np.array(keys, dtype=np.int64)[new]):
            self.placements[int(k)] = (bool(placed.accepted[i]), int(placed.backorder_days[i]),
                                       int(placed.cost_cents[i]))
        answers = [self.placements[k] for k in keys]
        return Placement(accepted=np.array([a[0] for a in answers], bool),
                         backorder_days=np.array([a[1] for a in answers], np.int64),
                         cost_cents=np.array([a[2] for a in answers], np.int64))

    def _place(self, run: I64, product: I64, supplier: I64, order_id: I64, amount_cents: I64) -> Placement:
        d, cat, care = self.day, self.catalog, self.market.aftercare
        backorder = np.maximum(self.stockout_until[run, product, supplier] - d, 0)
        u = self.streams["orders"].uniform(counter(order_id[:, None], np.arange(8)[None, :], bits=(48, 16)),
                                           rows=run)
        accepted = self.alive[run] & (u[:, 0] >= cat.failure_rate[run, product, supplier])
        cost = np.where(accepted, cat.unit_cost_cents[run, product, supplier]
                        + cat.ship_cost_cents[run, product, supplier], 0)
        self.ledger.post("cogs", run, cost)

        ok = np.nonzero(accepted)[0]
        r, p, s, o, amount, uo = run[ok], product[ok], supplier[ok], order_id[ok], amount_cents[ok], u[ok]
        cv = cat.time_cv[r, p, s]
        ship_day = d + backorder[ok] + np.ceil(draws.lognormal_mean_cv(uo[:, 1], cat.processing_days[r, p, s], cv)
                                               ).astype(np.int64)
        delivery = ship_day + np.ceil(draws.lognormal_mean_cv(uo[:, 2], cat.shipping_days[r, p, s], cv)
                                      ).astype(np.int64)
        self.shipments.add(ship_day, run=r, order_id=o, product=p, supplier=s, delivery_day=delivery)

        promised = d + self.promised_days[r, p]
        days_late = np.maximum(delivery - promised, 0)
        defect = uo[:, 3] < cat.defect_rate[r, p, s]
        complain_defect = defect & (uo[:, 4] < care.defect_complaint_rate[r])
        complain_late = ~complain_defect & (days_late > 0) & (
            uo[:, 4] < 1.0 - np.exp(-days_late / care.late_complaint_scale_days[r]))
        wants_return = ~complain_defect & ~complain_late & (uo[:, 5] < care.return_request_rate[r])
        question = ~complain_defect & ~complain_late & ~wants_return & (uo[:, 6] < care.question_rate[r])
        # The four are exclusive: nested wheres pick as np.select would, without its overhead on small arrays.
        reason = np.where(complain_defect, _REASON["defect"], np.where(complain_late, _REASON["late"], np.where(
            wants_return, _REASON["return"], np.where(question, _REASON["question"], -1))))
        ticket_day = np.where(complain_defect, delivery + 2, np.where(complain_late, promised + 1, np.where(
            wants_return, delivery + 7, np.where(question, d + 3, -1))))
        has = reason >= 0
        self.tickets.add(ticket_day[has], run=r[has], order_id=o[has], product=p[has], reason=reason[has],
                         days_late=days_late[has], amount=amount[has])
        dates = zip(ship_day[has].tolist(), delivery[has].tolist(), strict=True)
        self.tracking.update(zip(_order_keys(r[has], o[has]), dates, strict=True))

        # Disputes: a share of buyers dispute anyway (friendly fraud); unhappy ones more often, unless refunded.
        complaint = complain_defect | complain_late
        disputes = (uo[:, 7] < care.base_chargeback_rate[r]) | (
            complaint & (uo[:, 7] < care.base_chargeback_rate[r] + care.unrefunded_complaint_chargeback_rate[r]))
        dispute_day = np.where(complaint, ticket_day, d) + care.chargeback_delay_days[r]
        self.chargebacks.add(dispute_day[disputes], run=r[disputes], order_id=o[disputes], product=p[disputes],
                             amount=amount[disputes])
        return Placement(accepted=accepted, backorder_days=np.where(accepted, backorder, 0), cost_cents=cost)

    # ------------------------------------------------------- carriers, inbox

    def shipped_today(self) -> EventBatch | None:
        rows = self._due(self.shipments)
        if rows is None:
            return None
        return EventBatch.of("SUPPLIER_SHIPPED", rows["run"], order_id=rows["order_id"], product=rows["product"],
                             supplier=rows["supplier"], delivery_day=rows["delivery_day"])

    def track(self, run: I64, order_id: I64) -> I64:
        """AfterShip-style tag index per order (TRACKING_TAGS)."""
        tags = np.zeros(run.size, np.int64)
        for i, key in enumerate(_order_keys(run, order_id)):
            ship_day, delivery = self.tracking.get(key, (-1, -1))
            if ship_day < 0:
                tags[i] = TRACKING_TAGS.index("Exception")
            elif self.day < ship_day:
                tags[i] = TRACKING_TAGS.index("InfoReceived")
            elif self.day < delivery - 1:
                tags[i] = TRACKING_TAGS.index("InTransit")
            elif self.day < delivery:
                tags[i] = TRACKING_TAGS.index("OutForDelivery")
            else:
                tags[i] = TRACKING_TAGS.index("Delivered")
        return tags

    def tickets_today(self) -> EventBatch | None:
        rows = self._due(self.tickets)
        if rows is None:
            return None
        run = rows["run"]
        ticket_id, _ = self._number(run, self.next_ticket, "tickets")
        self.unhappy += np.bincount(run[rows["reason"] != _REASON["question"]], minlength=self.runs)
        return EventBatch.of("TICKET_CREATED", run, ticket_id=ticket_id, order_id=rows["order_id"],
                             product=rows["product"], reason=rows["reason"], days_late=rows["days_late"],
                             amount_cents=rows["amount"])

    # ------------------------------------------------------------- AI provider

    def ai_complete(self, task: str, run: I64) -> B:
        """Serve AI calls within each run's monthly token budget; charge what is served."""
        if task not in self.ai_tasks:
            raise KeyError(f"no AI fixture for task {task!r} (seeds/ai_fixtures.yaml)")
        spec, ai = self.ai_tasks[task], self.market.ai
        month = self.day // 30
        if self.ai_month[0] != month:  # all runs turn the month together: nothing to reset on the other days
            self.ai_tokens_this_month[self.ai_month != month] = 0
            self.ai_month[:] = month
        tokens = spec.prompt_tokens + spec.completion_tokens
        used = self.ai_tokens_this_month[run] + (_rank_within_run(run) + 1) * tokens
        granted = self.alive[run] & (used <= np.asarray(ai.monthly_token_budget)[run])
        served = np.bincount(run[granted], minlength=self.runs)
        self.ai_tokens_this_month += served * tokens
        cost = self._ai_cost.get(task)
        if cost is None:  # per run, fixed for the cohort's life
            cost = self._ai_cost[task] = np.rint(
                spec.prompt_tokens * np.asarray(ai.input_price_per_million) * 1000
                + spec.completion_tokens * np.asarray(ai.output_price_per_million) * 1000).astype(np.int64)
        self.ai_nanodollars += served * cost
        self.ai_calls += served
        if not granted.all():  # mostly every call is served
            self.ai_refused += np.bincount(run[~granted], minlength=self.runs)
        return np.asarray(granted)

    # ---------------------------------------------------------------- results

    def cash(self) -> I64:
        return self.ledger.cash.copy()

    def outcomes(self) -> dict[str, NDArray[np.float64] | I64]:
        """Per-run outcomes in the result-table contract (money in dollars)."""
        t = self.ledger.totals
        out: dict[str, NDArray[np.float64] | I64] = {k: t[k] / 100.0 for k in t}
        out["starting_cash"] = self.ledger.starting_cash / 100.0
        out["final_cash"] = self.ledger.cash / 100.0
        out["net_profit"] = (self.ledger.cash - self.ledger.starting_cash) / 100.0
        orders, sessions = self.totals["orders"], self.totals["sessions"]
        out["orders"] = orders.copy()
        out["tickets"] = self.totals["tickets"].copy()
        with np.errstate(divide="ignore", invalid="ignore"):
            out["conversion_rate"] = np.where(sessions > 0, orders / np.maximum(sessions, 1), 0.0)
            out["roas"] = np.where(t["ad_spend"] > 0, t["revenue"] / np.maximum(t["ad_spend"], 1), np.nan)
            out["refund_rate"] = np.where(orders > 0, (self.totals["refunded_orders"]
                                                       + self.totals["chargeback_orders"]) / np.maximum(orders, 1),
                                          0.0)
        return out


