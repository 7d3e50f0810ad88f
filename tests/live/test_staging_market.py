"""The staging market keeps the outside world's state in the store, as a real platform would."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ds1ray.config import load_config
from ds1ray.live.runtime import StagingMarket
from ds1ray.store.store import migrate_store

ONE = np.zeros(1, np.int64)


def _url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'staging.sqlite3'}"
    migrate_store(url)
    return url


def _a_day_of_business(market: StagingMarket) -> None:
    market.open_day(0)
    market.call("store:e1:0", "shop", "publish", ONE, ONE, np.array([2999]), np.array([10]), np.ones(1, bool))
    market.call("marketing:e2:0", "ads", "set_budgets", ONE, ONE, np.array([5000]))
    market.open_day(1)
    market.open_day(2)


def test_a_restarted_staging_market_takes_back_its_committed_world(tmp_path: Path) -> None:
    config = load_config(overlay="overlays/bootstrap.staging.yaml")
    url = _url(tmp_path)
    first = StagingMarket(config, horizon_days=60, store_url=url)
    _a_day_of_business(first)
    assert first.kpis()["ad_spend_cents"] > 0  # the market really moved

    restarted = StagingMarket(config, horizon_days=60, store_url=url)
    assert restarted.kpis() == first.kpis()
    assert restarted.world.day == 2
    np.testing.assert_array_equal(restarted.world.price, first.world.price)
    np.testing.assert_array_equal(restarted.world.ledger.cash, first.world.ledger.cash)
    # The same next day follows from either: nothing of the market was lost.
    assert [b.type for b in restarted.open_day(3)] == [b.type for b in first.open_day(3)]
    assert restarted.kpis() == first.kpis()


def test_a_market_without_a_store_starts_fresh(tmp_path: Path) -> None:
    config = load_config(overlay="overlays/bootstrap.staging.yaml")
    url = _url(tmp_path)
    _a_day_of_business(StagingMarket(config, horizon_days=60))  # no store: nothing committed
    assert StagingMarket(config, horizon_days=60, store_url=url).world.day < 0
