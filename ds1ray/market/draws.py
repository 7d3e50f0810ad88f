"""Discrete and continuous draws by inversion of a given uniform.

Every draw takes its uniform from a counter-based stream (`ds1ray.seeding`), so
draws are reproducible per run, and monotone in the uniform, so two strategies
that meet the same uniforms get positively correlated outcomes (common random
numbers). Every count is the exact quantile, the smallest k with CDF(k) ≥ u:
small means by summing probabilities upward, large ones by starting from the
normal approximation with the Cornish–Fisher skewness term and stepping to the
exact quantile with SciPy's CDFs (a step or two). One definition everywhere
keeps counts monotone in the rate too, across the switch between the methods.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import bdtr, ndtri, pdtr

_MAX_STEPS = 64
_POISSON_MAX_STEPS = 200
# Rows left in an inversion below which each finishes in plain Python floats (the same IEEE arithmetic):
# a NumPy call costs a few microseconds whatever its size, a scalar step a tenth of one.
_SCALAR_ROWS = 32
# Rows that finished stay in the inversions' arrays until the live ones are this many times fewer: dropping
# them costs a dozen NumPy calls, carrying them a little arithmetic each.
_COMPACT_WHEN_LIVE_BELOW = 4
_EXACT_POISSON_BELOW = 20.0
_EXACT_BINOMIAL_UP_TO = 30
# Below this mean (of successes, or of failures by symmetry) the binomial is inverted exactly:
# the normal approximation's skew term is wrong far in the tail, and inversion takes few steps.
_EXACT_BINOMIAL_MEAN_BELOW = 25.0


def poisson(u: NDArray[np.float64], lam: NDArray[np.float64]) -> NDArray[np.int64]:
    """Poisson(λ) counts for uniforms `u` (same shape)."""
    u, lam = _broadcast(np.asarray(u, np.float64), np.maximum(np.asarray(lam, np.float64), 0.0))
    small = lam < _EXACT_POISSON_BELOW
    if small.all():  # the common case: one inversion, no masks
        return _poisson_inversion(u.reshape(-1), lam.reshape(-1)).reshape(u.shape)
    out = np.zeros(u.shape, dtype=np.int64)
    if small.any():
        out[small] = _poisson_inversion(u[small], lam[small])
    large = ~small
    if large.any():
        z = ndtri(u[large])
        lam_l = lam[large]
        guess = np.maximum(np.floor(lam_l + np.sqrt(lam_l) * z + (z * z - 1.0) / 6.0 + 0.5), 0)
        out[large] = _exact_quantile(guess, u[large], lambda k, rows: pdtr(k, lam_l[rows]), upper=None)
    return out


def _broadcast(*arrays: NDArray[Any]) -> list[NDArray[Any]]:
    """The arrays broadcast to one shape; as they are when they already share it (the common case, and cheaper)."""
    shape = arrays[0].shape
    if all(a.shape == shape for a in arrays):
        return list(arrays)
    return list(np.broadcast_arrays(*arrays))


Cdf = Callable[[NDArray[np.float64], NDArray[np.intp]], NDArray[np.float64]]
"""cdf(k, rows): the CDF at k of the distributions of `rows` (an index into the caller's arrays)."""


def _exact_quantile(guess: NDArray[np.float64], u: NDArray[np.float64], cdf: Cdf,
                    upper: NDArray[np.float64] | None) -> NDArray[np.int64]:
    """Step from `guess` to the smallest k with cdf(k) ≥ u (the approximation is rarely more than one off).

    Each step re-evaluates the CDF only for the rows that moved: a row that did
    not move has the same answer, and the CDFs (SciPy's incomplete gamma and beta)
    are the dearest part of a large cohort's day.
    """
    k = guess.astype(np.float64)
    rows = np.arange(k.size)
    for _ in range(_MAX_STEPS):
        low = cdf(k[rows], rows) < u[rows]
        if upper is not None:
            low &= k[rows] < upper[rows]
        rows = rows[low]
        if rows.size == 0:
            break
        k[rows] += 1.0
    # A row that stepped up already knows cdf(k − 1) < u (that is why it stepped): only the rows
    # still at their guess may need to step down.
    rows = np.nonzero((k > 0) & (k == guess))[0]
    for _ in range(_MAX_STEPS):
        high = cdf(np.maximum(k[rows] - 1.0, 0.0), rows) >= u[rows]
        rows = rows[high]
        if rows.size == 0:
            break
        k[rows] -= 1.0
        rows = rows[k[rows] > 0]
    return k.astype(np.int64)


def _poisson_inversion(u: NDArray[np.float64], lam: NDArray[np.float64]) -> NDArray[np.int64]:
    # Sums P(k) upward for the rows still below their uniform, on arrays compacted
    # as rows finish: a day's cohort calls this with thousands of rows, most of
    # them done within a few steps.
    k = np.zeros(u.shape, dtype=np.int64)
    p = np.exp(-lam)
    cdf = p.copy()
    rows = np.nonzero(u > cdf)[0]
    u, lam, p, cdf = u[rows], lam[rows], p[rows], cdf[rows]
    # Each row's count of steps below its uniform, which is its k once it stops (the CDF only grows, so a row
    # that stopped stays stopped): finished rows can ride along for a few steps and be dropped together.
    count = np.ones(rows.size, np.int64)
    live = rows.size
    step = 0
    while live > _SCALAR_ROWS and step < _POISSON_MAX_STEPS:
        step += 1
        p *= lam / step
        cdf += p
        still = u > cdf
        count += still
        live = int(np.count_nonzero(still))
        if live * _COMPACT_WHEN_LIVE_BELOW <= rows.size or live <= _SCALAR_ROWS:
            keep = _finish(k, rows, count, still)
            rows, u, lam, p, cdf, count = rows[keep], u[keep], lam[keep], p[keep], cdf[keep], count[keep]
    if live < rows.size:  # the step cap came before a compaction
        keep = _finish(k, rows, count, still)
        rows, u, lam, p, cdf = rows[keep], u[keep], lam[keep], p[keep], cdf[keep]
    # The last few rows, one at a time: the same IEEE products and sums, without a NumPy call per step.
    for row, u_row, lam_row, p_row, cdf_row in zip(rows.tolist(), u.tolist(), lam.tolist(), p.tolist(),
                                                   cdf.tolist(), strict=True):
        row_step = step
        while row_step < _POISSON_MAX_STEPS:
            row_step += 1
            p_row *= lam_row / row_step
            cdf_row += p_row
            if not u_row > cdf_row:
                break
        k[row] = row_step  # rows past the step cap keep the last step, as a bound
    return k


def _finish(k: NDArray[np.int64], rows: NDArray[np.intp], count: NDArray[np.int64], still: NDArray[np.bool_]
            ) -> NDArray[np.intp]:
    """Write the counts of the rows that stopped into `k`; return the positions of those still going."""
    done = ~still
    k[rows[done]] = count[done]
    return np.flatnonzero(still)  # one scan of the mask, then plain gathers


def binomial(u: NDArray[np.float64], n: NDArray[np.int64], p: NDArray[np.float64]) -> NDArray[np.int64]:
    """Binomial(n, p) counts for uniforms `u`."""
    u, n, p = _broadcast(np.asarray(u, np.float64), np.asarray(n, np.int64),
                         np.clip(np.asarray(p, np.float64), 0.0, 1.0))
    out = np.zeros(u.shape, dtype=np.int64)
    # Only draws with some trials and some chance need work (most cells of a day have no sessions):
    # they go on as one flat row each, in order, and every count depends on its own row alone.
    # Flat row numbers, then gathers: a boolean mask over broadcast arrays is several times slower.
    rows = np.flatnonzero((n > 0) & (p > 0))
    if rows.size == 0:
        return out
    flat = out.reshape(-1)
    u, n, p = u.reshape(-1)[rows], n.reshape(-1)[rows], p.reshape(-1)[rows]
    certain = p >= 1.0
    if certain.any():
        flat[rows[certain]] = n[certain]
        uncertain = ~certain
        rows, u, n, p = rows[uncertain], u[uncertain], n[uncertain], p[uncertain]
    flat[rows] = _binomial_counts(u, n, p)
    return out


def _binomial_counts(u: NDArray[np.float64], n: NDArray[np.int64], p: NDArray[np.float64]) -> NDArray[np.int64]:
    """Binomial counts for rows with n > 0 and 0 < p < 1."""
    small = (n <= _EXACT_BINOMIAL_UP_TO) | (n * p < _EXACT_BINOMIAL_MEAN_BELOW)
    if small.all():  # the common case: one inversion, no masks
        return _binomial_inversion(u, n, p)
    out = np.zeros(u.shape, dtype=np.int64)
    if small.any():
        out[small] = _binomial_inversion(u[small], n[small], p[small])
    # Few failures: count them instead (n − Binomial(n, 1 − p) at 1 − u stays monotone in u).
    mirrored = ~small & (n * (1.0 - p) < _EXACT_BINOMIAL_MEAN_BELOW)
    if mirrored.any():
        out[mirrored] = n[mirrored] - _binomial_inversion(1.0 - u[mirrored], n[mirrored], 1.0 - p[mirrored])
    large = ~small & ~mirrored
    if large.any():
        nl, pl = n[large].astype(np.float64), p[large]
        mean, sd = nl * pl, np.sqrt(nl * pl * (1.0 - pl))
        z = ndtri(u[large])
        guess = np.clip(np.floor(mean + sd * z + (1.0 - 2.0 * pl) * (z * z - 1.0) / 6.0 + 0.5), 0, nl)
        n_int = n[large]
        # bdtr takes whole numbers of successes and trials (SciPy deprecates floats there).
        out[large] = _exact_quantile(guess, u[large], lambda k, rows: bdtr(k.astype(np.int64), n_int[rows], pl[rows]),
                                      upper=nl)
    return out


def _binomial_inversion(u: NDArray[np.float64], n: NDArray[np.int64], p: NDArray[np.float64]) -> NDArray[np.int64]:
    # As `_poisson_inversion`: P(k) summed upward on rows compacted as they finish.
    k = np.zeros(u.shape, dtype=np.int64)
    odds = p / (1.0 - p)
    pk = np.power(1.0 - p, n)
    cdf = pk.copy()
    rows = np.nonzero((u > cdf) & (n > 0))[0]
    u, n, odds, pk, cdf = u[rows], n[rows], odds[rows], pk[rows], cdf[rows]
    # Counted as in `_poisson_inversion`; a row past its n trials has pk = 0 from then on, so riding along is safe.
    count = np.ones(rows.size, np.int64)
    live = rows.size
    step = 0
    while live > _SCALAR_ROWS:
        pk *= (n - step) / (step + 1.0) * odds
        step += 1
        cdf += pk
        still = (u > cdf) & (step < n)
        count += still
        live = int(np.count_nonzero(still))
        if live * _COMPACT_WHEN_LIVE_BELOW <= rows.size or live <= _SCALAR_ROWS:
            keep = _finish(k, rows, count, still)
            rows, u, n, odds, pk, cdf, count = rows[keep], u[keep], n[keep], odds[keep], pk[keep], cdf[keep], \
                count[keep]
    for row, u_row, n_row, odds_row, pk_row, cdf_row in zip(rows.tolist(), u.tolist(), n.tolist(), odds.tolist(),
                                                            pk.tolist(), cdf.tolist(), strict=True):
        row_step = step
        while True:
            pk_row *= (n_row - row_step) / (row_step + 1.0) * odds_row
            row_step += 1
            cdf_row += pk_row
            if not (u_row > cdf_row and row_step < n_row):
                break
        k[row] = row_step
    return k


def lognormal(u: NDArray[np.float64], median: NDArray[np.float64] | float, sigma: NDArray[np.float64] | float
              ) -> NDArray[np.float64]:
    """Log-normal with the given median and log-scale sigma."""
    return np.asarray(median * np.exp(sigma * ndtri(u)), dtype=np.float64)


def lognormal_mean_cv(u: NDArray[np.float64], mean: NDArray[np.float64], cv: NDArray[np.float64] | float
                      ) -> NDArray[np.float64]:
    """Log-normal with the given mean and coefficient of variation (delivery times)."""
    sigma2 = np.log1p(np.square(cv))
    return np.asarray(mean * np.exp(np.sqrt(sigma2) * ndtri(u) - sigma2 / 2.0), dtype=np.float64)
