"""Parameters of the simulated market, each default with its source.

Sources are the published figures collected in `shared/reference/market_figures.md`
(quoted as [MF §section]); figures marked [2nd] there are secondary and used as
ranges. `docs/market.md` gives the formulas these parameters enter.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MoneyParams(_Params):
    """Starting cash, fixed costs, payment fees and bankruptcy."""

    starting_cash: float = Field(3000.0, ge=0, le=10_000_000, description="dollars")
    # Shopify Basic plan list price, $39/month, spread over days.
    fixed_cost_per_day: float = Field(1.30, ge=0, le=10_000)
    # Stripe US card processing 2.9 % + $0.30; fees are not returned on refunds [MF Money out].
    payment_fee_rate: float = Field(0.029, ge=0, le=0.2)
    payment_fee_fixed: float = Field(0.30, ge=0, le=5)
    # Stripe charges $15 per dispute [MF Money out].
    chargeback_fee: float = Field(15.0, ge=0, le=100)
    # Vending-Bench: bankrupt after 10 consecutive days of unpaid fees [MF Scoring].
    bankrupt_after_days_negative: int = Field(10, ge=1, le=365)


class CatalogParams(_Params):
    """Trending product candidates and their demand life cycles."""

    catalog_size: int = Field(24, ge=1, le=256, description="products that trend during the horizon")
    first_launch_day: int = Field(-30, ge=-365, le=0)
    launch_window_days: int = Field(300, ge=1, le=3650, description="launches spread over these days from day 0")
    rise_days_min: float = Field(14.0, ge=1, le=365)
    rise_days_max: float = Field(45.0, ge=1, le=365)
    decay_days_min: float = Field(30.0, ge=1, le=1000)
    decay_days_max: float = Field(120.0, ge=1, le=1000)
    # A product's market price is its seed archetype's `ref_price` (seeds/products.yaml; paid-social AOV
    # is $50–70 [MF Demand, 2nd]) times a log-normal spread.
    ref_price_sigma: float = Field(0.45, ge=0, le=2)
    # Landed unit cost as a share of the market's reference price (AliExpress-style sourcing).
    unit_cost_share_min: float = Field(0.18, gt=0, le=1)
    unit_cost_share_max: float = Field(0.32, gt=0, le=1)
    # Constant price elasticity, Bijmolt, van Heerde & Pieters (JMR 2005): mean −2.62 [MF Demand].
    elasticity_mean: float = Field(-2.62, ge=-8, le=-0.2)
    elasticity_sd: float = Field(0.6, ge=0, le=3)
    elasticity_min: float = Field(-4.5, ge=-10, le=-0.2)
    elasticity_max: float = Field(-1.2, ge=-10, le=-0.2)
    # Above this multiple of the reference price nobody buys: it bounds what any strategy can earn.
    choke_price_multiple: float = Field(3.0, gt=1, le=20)
    # Competitors enter after launch and pull the market price down.
    saturation_per_30_days: float = Field(0.15, ge=0, le=5)
    competitor_price_erosion: float = Field(0.25, ge=0, le=0.9)


class TrafficParams(_Params):
    """Organic sessions and the paid ad funnel."""

    # DS1's original simulation: direct 50–70/day, SEO 80–110/day for a whole store [ds1_design.md];
    # per listed product at its trend peak.
    organic_peak_median: float = Field(40.0, ge=0, le=1_000_000)
    organic_peak_sigma: float = Field(0.7, ge=0, le=3)
    # Meta ads, retail: CTR 1.59 %, CPC median $0.86 (WordStream) [MF Advertising] → CPM = CPC × CTR × 1000.
    ctr: float = Field(0.0159, gt=0, le=1)
    # No ad platform sells a thousand impressions for less than about a dollar; the floor keeps the
    # funnel physical (a CPM near zero would buy unbounded reach).
    cpm: float = Field(13.7, ge=0.5, le=1000)
    # However much is spent, a product's ads reach at most this many impressions a day (its audience).
    max_daily_impressions: float = Field(2_000_000.0, gt=0, le=1e9)
    appeal_sigma: float = Field(0.5, ge=0, le=2)
    # Geometric adstock a_t = x_t + α a_{t−1}, normalised by (1 − α); Robyn: digital θ 0–0.3 [MF Advertising].
    adstock_decay: float = Field(0.3, ge=0, lt=1)
    # Hill saturation h(x) = 1 / (1 + (x/ec)^−slope) after adstock (Meridian's default order) [MF Advertising].
    hill_half_saturation: float = Field(500.0, gt=0, le=1_000_000, description="dollars/day per product")
    hill_slope: float = Field(1.0, gt=0, le=5)


class ConversionParams(_Params):
    """Sessions → carts → paid orders."""

    # Store conversion: Shopify average 1.4 %, top 20 % above 3.2 % (Littledata) [MF Demand]; a trending
    # product's own landing page sits between the two.
    conversion_median: float = Field(0.025, gt=0, lt=1)
    conversion_sigma: float = Field(0.35, ge=0, le=2)
    # Baymard Institute: ≈ 70.2 % of carts are abandoned [MF Demand].
    cart_abandonment: float = Field(0.702, ge=0, lt=1)
    # Product pages written without the AI adapter convert a little worse.
    page_quality_without_ai: float = Field(0.85, ge=0, le=1)
    # Reviews: customers left unhappy (a complaint or return not refunded) lower conversion by
    # exp(−sensitivity × unhappy ÷ orders), both counted over a fading memory. This project's assumption.
    reputation_sensitivity: float = Field(2.0, ge=0, le=20)
    reputation_memory_days: float = Field(60.0, gt=1, le=3650)


class SupplierTier(_Params):
    """One kind of supplier: cost, speed and reliability."""

    cost_multiple: float = Field(ge=0.1, le=10)
    ship_cost: float = Field(ge=0, le=1000, description="dollars per unit")
    processing_days: float = Field(ge=0, le=60)
    shipping_days: float = Field(ge=0, le=120)
    time_cv: float = Field(0.35, ge=0, le=2, description="coefficient of variation of delivery time")
    defect_rate: float = Field(ge=0, le=1)
    stockout_rate: float = Field(ge=0, le=1, description="daily chance a stock-out starts")
    stockout_days: float = Field(ge=0, le=120, description="mean stock-out length")
    failure_rate: float = Field(ge=0, le=1, description="orders the supplier cannot fill")


def _default_tiers() -> dict[str, SupplierTier]:
    # Seller processing 3–10 days; AliExpress Standard 15–45 days, Premium 7–15, Cainiao Standard 10–18
    # [MF Suppliers, 2nd]. Costs and failure rates are this project's assumptions, ordered so that no tier
    # dominates: the cheap one is slow and flaky, the fast one dear.
    return {
        "cheap": SupplierTier(cost_multiple=1.0, ship_cost=2.0, processing_days=5.0, shipping_days=20.0,
                              defect_rate=0.06, stockout_rate=0.015, stockout_days=8.0, failure_rate=0.03),
        "fast": SupplierTier(cost_multiple=1.35, ship_cost=6.0, processing_days=3.0, shipping_days=10.0,
                             defect_rate=0.04, stockout_rate=0.01, stockout_days=5.0, failure_rate=0.015),
        "reliable": SupplierTier(cost_multiple=1.2, ship_cost=4.0, processing_days=4.0, shipping_days=14.0,
                                 defect_rate=0.02, stockout_rate=0.005, stockout_days=4.0, failure_rate=0.005),
    }


class SupplierParams(_Params):
    tiers: dict[str, SupplierTier] = Field(default_factory=_default_tiers)
    quote_noise: float = Field(0.1, ge=0, le=1, description="error of quoted delivery times")


class AftercareParams(_Params):
    """Tickets, returns, refunds and chargebacks."""

    # Share of customers who write in anyway ("where is my order?").
    question_rate: float = Field(0.03, ge=0, le=1)
    # Chance that a late customer complains grows with lateness: 1 − exp(−days_late / scale).
    late_complaint_scale_days: float = Field(10.0, gt=0, le=365)
    defect_complaint_rate: float = Field(0.8, ge=0, le=1)
    # NRF: 16.9 % of US retail sales were returned in 2024 [MF Money out]; dropshipped goods are rarely
    # sent back, so a lower share asks for its money back.
    return_request_rate: float = Field(0.08, ge=0, le=1)
    # Card networks watch chargebacks from 0.65 % of transactions (Visa) [MF Money out]: friendly fraud.
    base_chargeback_rate: float = Field(0.004, ge=0, le=1)
    unrefunded_complaint_chargeback_rate: float = Field(0.4, ge=0, le=1)
    chargeback_delay_days: int = Field(30, ge=1, le=180)


class Shock(_Params):
    """A market shock: multipliers on traffic, conversion and ad prices while it lasts."""

    kind: str
    traffic: float = Field(1.0, ge=0, le=20)
    conversion: float = Field(1.0, ge=0, le=20)
    cpm: float = Field(1.0, ge=0.1, le=20)
    days: int = Field(14, ge=1, le=365)
    probability_per_day: float = Field(0.0, ge=0, le=1, description="chance it starts on a given day")
    crash: bool = Field(False, description="published as MARKET_CRASH (else MARKET_SHIFT)")


def _default_shocks() -> list[Shock]:
    # DS1's six market events with its multipliers (traffic / conversion / CPC) [ds1_design.md]; a
    # MARKET_CRASH on top. Probabilities: each about once or twice a year.
    return [
        Shock(kind="market_crash", traffic=0.5, conversion=0.8, cpm=0.9, days=21,
              probability_per_day=1 / 365, crash=True),
        Shock(kind="price_war", traffic=1.0, conversion=0.7, cpm=1.2, days=14, probability_per_day=1 / 180),
        Shock(kind="viral_trend", traffic=2.5, conversion=1.2, cpm=0.8, days=7, probability_per_day=1 / 240),
        Shock(kind="algorithm_update", traffic=0.6, conversion=1.0, cpm=1.5, days=21,
              probability_per_day=1 / 240),
        Shock(kind="supply_crunch", traffic=0.9, conversion=0.8, cpm=1.0, days=21, probability_per_day=1 / 365),
        Shock(kind="influencer_shoutout", traffic=1.3, conversion=1.1, cpm=1.0, days=5,
              probability_per_day=1 / 180),
    ]


class ScriptedShock(_Params):
    """A shock on a fixed day of the scenario (a dated script)."""

    day: int = Field(ge=0)
    kind: str


class ShockParams(_Params):
    catalogue: list[Shock] = Field(default_factory=_default_shocks)
    random: bool = Field(True, description="draw shocks from their daily probabilities")
    script: list[ScriptedShock] = Field(default_factory=list)
    # Holiday season (retail CPC peaks in November [MF Advertising]): DS1's holiday multipliers.
    holiday_start_day: int | None = Field(None, description="day of the run when the season starts")
    holiday_days: int = Field(45, ge=1, le=365)
    holiday_traffic: float = Field(1.5, ge=0, le=20)
    holiday_conversion: float = Field(1.3, ge=0, le=20)
    holiday_cpm: float = Field(1.4, ge=0.1, le=20)


class AiParams(_Params):
    """Token prices and budget of the AI adapter."""

    # A small hosted model's list prices (per million tokens); configurable per provider.
    input_price_per_million: float = Field(0.15, ge=0, le=1000)
    output_price_per_million: float = Field(0.60, ge=0, le=1000)
    monthly_token_budget: int = Field(2_000_000, ge=0, le=10**12)


class MarketParams(_Params):
    """The whole simulated market."""

    money: MoneyParams = Field(default_factory=MoneyParams)
    catalog: CatalogParams = Field(default_factory=CatalogParams)
    traffic: TrafficParams = Field(default_factory=TrafficParams)
    conversion: ConversionParams = Field(default_factory=ConversionParams)
    suppliers: SupplierParams = Field(default_factory=SupplierParams)
    aftercare: AftercareParams = Field(default_factory=AftercareParams)
    shocks: ShockParams = Field(default_factory=ShockParams)
    ai: AiParams = Field(default_factory=AiParams)


SupplierName = Literal["cheap", "fast", "reliable"]
