"""Trending product candidates: demand life cycles, prices, saturation and suppliers.

Each run's market holds `catalog_size` product slots. A product appears
(launch), its interest rises to a peak over `rise` days (half a Gaussian) and
decays exponentially with time constant `decay`; competitors enter after launch,
lowering conversion (saturation) and eroding the market price. Everything is
drawn from the market key, so all strategies of one replicate seed see the same
catalog. Formulas and sources: docs/market.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtri

from ds1ray.market import draws
from ds1ray.market.stack import Stacked
from ds1ray.seeding import Stream, counter

SUPPLIER_TIERS = ("cheap", "fast", "reliable")
"""Supplier index → tier; the order is part of the event contracts (SUPPLIER_ORDER_PLACED.supplier)."""

_FIELDS = {name: i for i, name in enumerate((
    "archetype", "launch", "rise", "decay", "organic", "appeal", "conversion", "elasticity", "cost_share",
    "price", "s_cost", "s_processing", "s_shipping", "s_defect", "s_failure", "s_stockout",
))}


def _u(stream: Stream, slots: int, field: str, tiers: int = 1) -> NDArray[np.float64]:
    m = np.arange(slots)[:, None]
    s = np.arange(tiers)[None, :]
    u = stream.uniform(counter(m, _FIELDS[field], s, bits=(24, 8, 8))[None, :, :])
    return u if tiers > 1 else u[..., 0]


@dataclass
class Catalog:
    """Per run (rows) and product slot (columns); supplier arrays add a tier axis."""

    archetype: NDArray[np.int64]
    launch: NDArray[np.float64]
    peak: NDArray[np.float64]
    rise: NDArray[np.float64]
    decay: NDArray[np.float64]
    organic_peak: NDArray[np.float64]
    appeal: NDArray[np.float64]
    conversion: NDArray[np.float64]
    elasticity: NDArray[np.float64]
    ref_price: NDArray[np.float64]
    saturation_rate: NDArray[np.float64]
    price_erosion: NDArray[np.float64]
    choke_multiple: NDArray[np.float64]
    unit_cost_cents: NDArray[np.int64]
    ship_cost_cents: NDArray[np.int64]
    processing_days: NDArray[np.float64]
    shipping_days: NDArray[np.float64]
    time_cv: NDArray[np.float64]
    defect_rate: NDArray[np.float64]
    failure_rate: NDArray[np.float64]
    stockout_rate: NDArray[np.float64]
    stockout_days: NDArray[np.float64]
    # The last day's heat and market price: the world and the mock ports each ask for them daily.
    _by_day: dict[str, tuple[int, NDArray[np.float64]]] = field(default_factory=dict, init=False, repr=False,
                                                                compare=False)

    def _of_day(self, name: str, day: int, compute: Callable[[int], NDArray[np.float64]]) -> NDArray[np.float64]:
        """compute(day), kept until another day is asked for (read-only: callers share it)."""
        kept = self._by_day.get(name)
        if kept is not None and kept[0] == day:
            return kept[1]
        value = compute(day)
        value.flags.writeable = False
        self._by_day[name] = (day, value)
        return value

    @property
    def slots(self) -> int:
        return int(self.launch.shape[1])

    def heat(self, day: int) -> NDArray[np.float64]:
        """Interest relative to the peak (0..1): Gaussian rise, exponential decay, nothing before launch."""
        return self._of_day("heat", day, self._heat)

    def _heat(self, day: int) -> NDArray[np.float64]:
        d = float(day)
        rising = np.exp(-0.5 * np.square((d - self.peak) / (self.rise / 2.0)))
        decaying = np.exp(-(d - self.peak) / self.decay)
        heat = np.where(d < self.peak, rising, decaying)
        return np.where(d >= self.launch, heat, 0.0)

    def age(self, day: int) -> NDArray[np.float64]:
        return np.maximum(float(day) - self.launch, 0.0)

    def competition(self, day: int) -> NDArray[np.float64]:
        """Conversion factor from competing stores: 1 at launch, falling as they enter."""
        return 1.0 / (1.0 + self.saturation_rate[:, None] * self.age(day) / 30.0)

    def market_price(self, day: int) -> NDArray[np.float64]:
        """What competitors charge (dollars): the reference price, eroded as they multiply."""
        return self._of_day("market_price", day, self._market_price)

    def _market_price(self, day: int) -> NDArray[np.float64]:
        erosion = self.price_erosion[:, None] * (1.0 - np.exp(-self.age(day) / 90.0))
        return self.ref_price * (1.0 - erosion)

    def landed_cost_cents(self) -> NDArray[np.int64]:
        return self.unit_cost_cents + self.ship_cost_cents


def draw_catalog(market: Stacked, stream: Stream, archetype_prices: NDArray[np.float64],
                 archetype_weights: NDArray[np.float64]) -> Catalog:
    """Draw each run's catalog from its market stream (`market` is the runs' stacked MarketParams)."""
    cat = market.catalog
    slots = int(cat.catalog_size.max())
    if (cat.catalog_size != slots).any():
        raise ValueError("market.catalog.catalog_size must be the same for all runs of a cohort")
    col = lambda a: np.asarray(a, dtype=np.float64)[:, None]  # noqa: E731  per-run parameter as a column

    cumulative = np.cumsum(archetype_weights) / np.sum(archetype_weights)
    archetype = np.searchsorted(cumulative, _u(stream, slots, "archetype"), side="right")
    archetype = np.minimum(archetype, len(archetype_prices) - 1)

    first, window = col(cat.first_launch_day), col(cat.launch_window_days)
    launch = first + _u(stream, slots, "launch") * (window - first)
    rise = col(cat.rise_days_min) + _u(stream, slots, "rise") * (col(cat.rise_days_max) - col(cat.rise_days_min))
    log_decay = np.log(col(cat.decay_days_min)) + _u(stream, slots, "decay") * (
        np.log(col(cat.decay_days_max)) - np.log(col(cat.decay_days_min)))
    traffic, conversion = market.traffic, market.conversion
    ref_price = draws.lognormal(_u(stream, slots, "price"), archetype_prices[archetype], col(cat.ref_price_sigma))
    elasticity = np.clip(col(cat.elasticity_mean) + col(cat.elasticity_sd) * ndtri(_u(stream, slots, "elasticity")),
                         col(cat.elasticity_min), col(cat.elasticity_max))
    cost_share = col(cat.unit_cost_share_min) + _u(stream, slots, "cost_share") * (
        col(cat.unit_cost_share_max) - col(cat.unit_cost_share_min))
    base_cost = ref_price * cost_share

    tiers = market.suppliers.tiers
    tier = lambda field: np.stack([np.asarray(getattr(tiers[t], field), np.float64)  # noqa: E731
                                   for t in SUPPLIER_TIERS], axis=1)[:, None, :]
    n_tiers = len(SUPPLIER_TIERS)
    unit_cost = base_cost[:, :, None] * tier("cost_multiple") * draws.lognormal(
        _u(stream, slots, "s_cost", n_tiers), 1.0, 0.05)
    return Catalog(
        archetype=archetype.astype(np.int64),
        launch=launch,
        peak=launch + rise,
        rise=rise,
        decay=np.exp(log_decay),
        organic_peak=draws.lognormal(_u(stream, slots, "organic"), col(traffic.organic_peak_median),
                                     col(traffic.organic_peak_sigma)),
        appeal=draws.lognormal(_u(stream, slots, "appeal"), 1.0, col(traffic.appeal_sigma)),
        conversion=draws.lognormal(_u(stream, slots, "conversion"), col(conversion.conversion_median),
                                   col(conversion.conversion_sigma)),
        elasticity=elasticity,
        ref_price=ref_price,
        saturation_rate=np.asarray(cat.saturation_per_30_days, np.float64),
        price_erosion=np.asarray(cat.competitor_price_erosion, np.float64),
        choke_multiple=np.asarray(cat.choke_price_multiple, np.float64),
        unit_cost_cents=np.maximum(np.rint(unit_cost * 100), 1).astype(np.int64),
        ship_cost_cents=np.rint(np.broadcast_to(tier("ship_cost"), unit_cost.shape) * 100).astype(np.int64),
        processing_days=tier("processing_days") * draws.lognormal(_u(stream, slots, "s_processing", n_tiers), 1.0, 0.2),
        shipping_days=tier("shipping_days") * draws.lognormal(_u(stream, slots, "s_shipping", n_tiers), 1.0, 0.15),
        time_cv=np.broadcast_to(tier("time_cv"), unit_cost.shape).copy(),
        defect_rate=np.clip(tier("defect_rate") * draws.lognormal(_u(stream, slots, "s_defect", n_tiers), 1.0, 0.3),
                            0, 1),
        failure_rate=np.clip(tier("failure_rate") * draws.lognormal(_u(stream, slots, "s_failure", n_tiers), 1.0, 0.3),
                             0, 1),
        stockout_rate=np.clip(tier("stockout_rate") * draws.lognormal(_u(stream, slots, "s_stockout", n_tiers),
                                                                      1.0, 0.3), 0, 1),
        stockout_days=np.broadcast_to(tier("stockout_days"), unit_cost.shape).copy(),
    )
