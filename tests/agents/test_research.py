"""Research: proposes only trending products above its threshold, a few at a time, each once."""

from __future__ import annotations

import numpy as np
from market.recording import Recorded

from ds1ray.config import Config
from ds1ray.runspec import RunSpec


def test_ideas_pass_the_threshold_come_a_few_at_a_time_and_never_repeat(config: Config) -> None:
    strategies = {"picky": {"research.score_threshold": 0.6}, "eager": {"research.score_threshold": 0.2,
                                                                        "research.products_to_test": 3}}
    runs = [RunSpec("re", s, name, {**params, "ceo.max_active_products": 4})
            for name, params in strategies.items() for s in range(4)]
    recorded = Recorded(config, runs, 90, ["PRODUCT_IDEAS"])
    ideas = recorded.rows("PRODUCT_IDEAS")
    picky = ideas["run"] < 4
    assert (ideas["score"][picky] >= 0.6).all() and (ideas["score"][~picky] >= 0.2).all()
    for run in range(8):
        mine = ideas["run"] == run
        assert len(set(ideas["product"][mine].tolist())) == mine.sum()  # each product proposed once
        _, per_scan = np.unique(ideas["day"][mine], return_counts=True)
        assert (per_scan <= (2 if run < 4 else 3)).all()
    assert picky.sum() < (~picky).sum()
