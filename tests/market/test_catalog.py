"""Trending product candidates: life cycles, saturation, price erosion, and draws inside their ranges."""

from __future__ import annotations

import numpy as np
import pytest

from ds1ray.config import Config
from ds1ray.market.catalog import SUPPLIER_TIERS
from ds1ray.runspec import RunSpec

from .conftest import MakeWorld


def test_heat_is_zero_before_launch_one_at_the_peak_and_never_above_one(make_world: MakeWorld) -> None:
    cat = make_world([RunSpec("cat", s) for s in range(4)], 10).catalog
    days = range(-60, 400)
    heat = np.stack([cat.heat(d) for d in days])
    assert heat.min() >= 0.0 and heat.max() <= 1.0
    for d_index, d in enumerate(days):
        assert (heat[d_index][d < cat.launch] == 0).all()
    # Exactly one at the peak; rising before it, decaying after it.
    peak = cat.peak[0, 0]
    assert cat.heat(peak)[0, 0] == pytest.approx(1.0)
    assert cat.heat(peak - 3)[0, 0] < cat.heat(peak - 1)[0, 0] < 1.0
    assert cat.heat(peak + 30)[0, 0] < cat.heat(peak + 1)[0, 0] < 1.0


def test_a_days_heat_and_market_price_are_kept_read_only_and_follow_the_day(make_world: MakeWorld) -> None:
    cat = make_world([RunSpec("cat", s) for s in range(2)], 10).catalog
    day = int(np.ceil(cat.launch.max())) + 5
    for of_day in (cat.heat, cat.market_price):
        today = of_day(day)
        assert of_day(day) is today and not today.flags.writeable
        tomorrow = of_day(day + 1)
        assert not np.array_equal(tomorrow, today)
        np.testing.assert_array_equal(of_day(day), today)


def test_competition_and_market_price_fall_as_a_product_ages(make_world: MakeWorld) -> None:
    cat = make_world([RunSpec("cat", 1)], 10).catalog
    launch = int(np.ceil(cat.launch[0, 0]))
    competition = [cat.competition(launch + d)[0, 0] for d in (0, 30, 120)]
    price = [cat.market_price(launch + d)[0, 0] for d in (0, 30, 120, 2000)]
    assert competition[0] == pytest.approx(1.0, abs=0.01) and competition[0] > competition[1] > competition[2]
    assert price[0] == pytest.approx(cat.ref_price[0, 0], rel=0.01)
    assert price[0] > price[1] > price[2]
    erosion = cat.price_erosion[0]
    assert price[3] == pytest.approx(cat.ref_price[0, 0] * (1 - erosion), rel=1e-6)


def test_catalog_draws_stay_inside_their_configured_ranges(config: Config, make_world: MakeWorld) -> None:
    params = config.bootstrap.market.catalog
    cat = make_world([RunSpec("cat", s) for s in range(32)], 10).catalog
    assert cat.launch.shape == (32, params.catalog_size)
    assert params.first_launch_day <= cat.launch.min() and cat.launch.max() <= params.launch_window_days
    assert params.rise_days_min <= cat.rise.min() and cat.rise.max() <= params.rise_days_max
    assert params.decay_days_min <= cat.decay.min() and cat.decay.max() <= params.decay_days_max
    assert params.elasticity_min <= cat.elasticity.min() and cat.elasticity.max() <= params.elasticity_max
    assert cat.elasticity.mean() == pytest.approx(params.elasticity_mean, abs=0.15)
    share = cat.unit_cost_cents[..., 0] / 100.0 / cat.ref_price  # the cheap tier's multiple is 1
    assert 0.9 * params.unit_cost_share_min <= share.min() and share.max() <= 1.1 * params.unit_cost_share_max
    assert (cat.landed_cost_cents() > 0).all() and cat.landed_cost_cents().dtype == np.int64


def test_supplier_tiers_trade_cost_against_speed_and_reliability(make_world: MakeWorld) -> None:
    cat = make_world([RunSpec("cat", s) for s in range(32)], 10).catalog
    cheap, fast, reliable = (SUPPLIER_TIERS.index(t) for t in ("cheap", "fast", "reliable"))
    landed = cat.landed_cost_cents().mean(axis=(0, 1))
    days = (cat.processing_days + cat.shipping_days).mean(axis=(0, 1))
    defects = cat.defect_rate.mean(axis=(0, 1))
    assert landed[cheap] < landed[reliable] < landed[fast]
    assert days[fast] < days[reliable] < days[cheap]
    assert defects[reliable] < defects[fast] < defects[cheap]


def test_a_cohort_must_share_its_catalog_size(make_world: MakeWorld) -> None:
    runs = [RunSpec("cat", 0), RunSpec("cat", 1, "small", {"market.catalog.catalog_size": 8})]
    with pytest.raises(ValueError, match="catalog_size must be the same"):
        make_world(runs, 10)
