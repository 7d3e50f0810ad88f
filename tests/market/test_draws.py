"""Draws by inversion: right moments in both regimes, monotone in the uniform (CRN), sane edges.

Moments are measured over a fine grid of uniforms ((i + ½) / N), which
integrates the inverse CDF almost exactly, so tolerances can be tight.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from ds1ray.market import draws

GRID = (np.arange(200_000) + 0.5) / 200_000


@pytest.mark.parametrize("lam", [0.05, 0.8, 3.0, 12.0, 19.5])
def test_poisson_by_exact_inversion_has_the_poisson_mean_and_variance(lam: float) -> None:
    k = draws.poisson(GRID, np.full(GRID.size, lam))
    assert k.mean() == pytest.approx(lam, rel=1e-3, abs=1e-4)
    assert k.var() == pytest.approx(lam, rel=5e-3, abs=1e-4)


@pytest.mark.parametrize("lam", [20.0, 45.0, 300.0, 5000.0])
def test_poisson_by_approximation_has_close_to_poisson_mean_and_variance(lam: float) -> None:
    k = draws.poisson(GRID, np.full(GRID.size, lam))
    assert k.mean() == pytest.approx(lam, rel=5e-3)
    assert k.var() == pytest.approx(lam, rel=0.02)
    # The skewness term brings the quantiles close to the true ones, not just the moments.
    true = stats.poisson.ppf(GRID[::1000], lam)
    assert np.abs(k[::1000] - true).max() <= 1


# Exact inversion: few trials, or a small mean of successes, or (mirrored) of failures.
@pytest.mark.parametrize(("n", "p"), [(1, 0.5), (10, 0.3), (30, 0.9), (25, 0.02), (200, 0.05), (100, 0.0006),
                                      (2000, 0.99), (100, 0.8)])
def test_binomial_by_exact_inversion_has_the_binomial_mean_and_variance(n: int, p: float) -> None:
    k = draws.binomial(GRID, np.full(GRID.size, n), np.full(GRID.size, p))
    assert k.mean() == pytest.approx(n * p, rel=1e-3)
    assert k.var() == pytest.approx(n * p * (1 - p), rel=5e-3)
    np.testing.assert_array_equal(k[::997], stats.binom.ppf(GRID[::997], n, p))


@pytest.mark.parametrize(("n", "p"), [(60, 0.5), (400, 0.07), (1000, 0.4), (50_000, 0.97)])
def test_binomial_by_approximation_has_close_to_binomial_mean_and_variance(n: int, p: float) -> None:
    u = GRID[::4]
    k = draws.binomial(u, np.full(u.size, n), np.full(u.size, p))
    assert k.mean() == pytest.approx(n * p, rel=5e-3)
    assert k.var() == pytest.approx(n * p * (1 - p), rel=0.03)


@pytest.mark.parametrize("lam", [0.3, 7.0, 19.99, 20.0, 80.0])
def test_poisson_is_non_decreasing_in_the_uniform(lam: float) -> None:
    k = draws.poisson(GRID, np.full(GRID.size, lam))
    assert (np.diff(k) >= 0).all()


@pytest.mark.parametrize(("n", "p"), [(5, 0.5), (30, 0.1), (31, 0.1), (400, 0.7), (100, 0.26), (2000, 0.99)])
def test_binomial_is_non_decreasing_in_the_uniform_and_stays_within_zero_and_n(n: int, p: float) -> None:
    u = GRID[::4]
    k = draws.binomial(u, np.full(u.size, n), np.full(u.size, p))
    assert (np.diff(k) >= 0).all()
    assert k.min() >= 0 and k.max() <= n


def test_binomial_stays_within_zero_and_n_for_any_n_p_and_uniform() -> None:
    rng = np.random.default_rng(0)
    size = 100_000
    n = rng.integers(0, 2000, size)
    p = rng.uniform(-0.1, 1.1, size)  # out-of-range probabilities are clipped
    u = rng.uniform(1e-12, 1 - 1e-12, size)
    k = draws.binomial(u, n, p)
    assert (k >= 0).all() and (k <= n).all()


def test_poisson_is_non_negative_and_monotone_over_the_uniforms_streams_can_produce() -> None:
    # Streams give (k + 0.5) / 2**52: the smallest is 2**-53, the largest 1 − 2**-53.
    u = np.array([2.0**-53, 1e-12, 0.5, 1 - 1e-12, 1 - 2**-53])
    for lam in (0.01, 5.0, 25.0, 1e4):
        k = draws.poisson(u, np.full(u.size, lam))
        assert (k >= 0).all() and (np.diff(k) >= 0).all()


@pytest.mark.parametrize(("n", "p"), [(100, 0.0006), (40, 0.005), (31, 0.01)])
def test_binomial_with_many_trials_and_a_small_mean_keeps_the_mean_and_is_monotone(n: int, p: float) -> None:
    # The world draws carts as Binomial(sessions, cart rate): hundreds of ad clicks on a dear product.
    k = draws.binomial(GRID, np.full(GRID.size, n), np.full(GRID.size, p))
    assert k.mean() == pytest.approx(n * p, rel=0.02)
    assert (np.diff(k) >= 0).all()


@pytest.mark.parametrize("draw", ["poisson", "binomial"])
def test_counts_are_non_decreasing_in_the_rate_across_the_regime_switch(draw: str) -> None:
    # Common random numbers rely on it: under the same uniform, a higher conversion never sells less.
    # Rates on both sides of the switch (Poisson λ = 20, binomial n·p = 25), finely around it.
    u = GRID[::20]
    if draw == "poisson":
        rates = np.linspace(19.8, 20.2, 41)
        counts = np.stack([draws.poisson(u, np.full(u.size, lam)) for lam in rates])
    else:
        rates = np.linspace(0.245, 0.255, 41)
        counts = np.stack([draws.binomial(u, np.full(u.size, 100), np.full(u.size, p)) for p in rates])
    assert (np.diff(counts, axis=0) >= 0).all()


def test_edge_cases_give_degenerate_counts() -> None:
    u = GRID[::1000]
    assert (draws.binomial(u, np.full(u.size, 12), np.zeros(u.size)) == 0).all()
    assert (draws.binomial(u, np.full(u.size, 12), np.ones(u.size)) == 12).all()
    assert (draws.binomial(u, np.zeros(u.size, np.int64), np.full(u.size, 0.5)) == 0).all()
    assert (draws.poisson(u, np.zeros(u.size)) == 0).all()
    assert (draws.poisson(u, np.full(u.size, -3.0)) == 0).all()  # a negative rate means none
    assert draws.poisson(u, np.zeros(u.size)).dtype == np.int64


def test_draws_broadcast_scalar_parameters_over_array_uniforms() -> None:
    u = GRID[::5000]
    np.testing.assert_array_equal(draws.poisson(u, np.asarray(4.0)), draws.poisson(u, np.full(u.size, 4.0)))
    expected = draws.binomial(u, np.full(u.size, 9), np.full(u.size, 0.4))
    np.testing.assert_array_equal(draws.binomial(u, np.asarray(9), np.asarray(0.4)), expected)


def test_lognormal_has_the_given_median_and_lognormal_mean_cv_the_given_mean_and_cv() -> None:
    x = draws.lognormal(GRID, 20.0, 0.5)
    assert np.median(x) == pytest.approx(20.0, rel=1e-4)
    y = draws.lognormal_mean_cv(GRID, np.full(GRID.size, 14.0), 0.35)
    assert y.mean() == pytest.approx(14.0, rel=2e-3)
    assert y.std() / y.mean() == pytest.approx(0.35, rel=0.02)
    assert (np.diff(y) > 0).all()


def test_a_count_does_not_depend_on_the_rows_drawn_with_it() -> None:
    # A large call steps its rows as arrays and finishes the last few one at a time; a row drawn
    # alone goes one at a time from the start. Both must give the same count, to the integer.
    rng = np.random.default_rng(7)
    u = np.concatenate([rng.random(400), 1.0 - rng.random(40) * 1e-12])
    lam = rng.uniform(0.0, 19.9, u.size)
    n, p = rng.integers(1, 400, u.size), rng.uniform(0.0, 0.2, u.size)
    together_poisson, together_binomial = draws.poisson(u, lam), draws.binomial(u, n, p)
    alone_poisson = [draws.poisson(u[i:i + 1], lam[i:i + 1])[0] for i in range(u.size)]
    alone_binomial = [draws.binomial(u[i:i + 1], n[i:i + 1], p[i:i + 1])[0] for i in range(u.size)]
    np.testing.assert_array_equal(together_poisson, alone_poisson)
    np.testing.assert_array_equal(together_binomial, alone_binomial)
    assert together_poisson.max() > 20 and together_binomial.max() > 20  # the long tails were reached


def test_rows_past_the_poisson_step_cap_keep_the_cap_together_or_alone() -> None:
    # Beyond the exact regime's rates, so many rows reach the step cap while still below their uniform:
    # the rows that stopped just before it and those that never stop must both get the count a lone row gets.
    rng = np.random.default_rng(11)
    u = np.concatenate([rng.random(200), 1.0 - rng.random(200) * 1e-12])
    lam = rng.uniform(120.0, 190.0, u.size)
    together = draws._poisson_inversion(u, lam)
    alone = [draws._poisson_inversion(u[i:i + 1], lam[i:i + 1])[0] for i in range(u.size)]
    np.testing.assert_array_equal(together, alone)
    assert together.max() == draws._POISSON_MAX_STEPS and (together < draws._POISSON_MAX_STEPS).any()
