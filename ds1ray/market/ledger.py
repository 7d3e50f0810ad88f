"""The books of every run: integer cents by category, closing exactly.

Only the world's platforms post here (the ad platform charges spend, the payment
processor collects revenue and takes fees, suppliers charge COGS …); agents
can only read the balance through a port. Cash is never created any other way,
so the identity

    final = start + revenue − cogs − ad_spend − payment_fees − refunds
            − chargebacks − ai_cost − fixed_costs

holds by construction, and `check()` proves it for every run.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

CREDITS = ("revenue",)
DEBITS = ("cogs", "ad_spend", "payment_fees", "refunds", "chargebacks", "ai_cost", "fixed_costs")
CATEGORIES = CREDITS + DEBITS


class BooksDoNotBalance(AssertionError):
    """The money identity failed: a bug, never a market outcome."""


class Ledger:
    """Per-run cash and per-category totals, in integer cents."""

    def __init__(self, starting_cash_cents: NDArray[np.int64]) -> None:
        self.starting_cash = np.asarray(starting_cash_cents, dtype=np.int64).copy()
        self.cash = self.starting_cash.copy()
        self.totals = {c: np.zeros_like(self.cash) for c in CATEGORIES}

    def post(self, category: str, run: NDArray[np.int64], cents: NDArray[np.int64]) -> None:
        """Post amounts (≥ 0) for rows of runs; repeated runs add up."""
        cents = np.asarray(cents, dtype=np.int64)
        if cents.size == 0:
            return
        if (cents < 0).any():
            raise ValueError(f"negative posting to {category}")
        amounts = sum_by_run(run, cents, self.cash.size)
        self.totals[category] += amounts
        if category in CREDITS:
            self.cash += amounts
        else:
            self.cash -= amounts

    def post_all(self, category: str, cents: NDArray[np.int64]) -> None:
        """Post one amount (≥ 0) per run."""
        cents = np.asarray(cents, dtype=np.int64)
        if (cents < 0).any():
            raise ValueError(f"negative posting to {category}")
        self.totals[category] += cents
        if category in CREDITS:
            self.cash += cents
        else:
            self.cash -= cents

    def expected_cash(self) -> NDArray[np.int64]:
        out = self.starting_cash + self.totals["revenue"]
        for category in DEBITS:
            out = out - self.totals[category]
        return out

    def check(self) -> None:
        """Raise BooksDoNotBalance naming the first run whose books do not close."""
        bad = np.nonzero(self.expected_cash() != self.cash)[0]
        if bad.size:
            raise BooksDoNotBalance(f"books do not close for cohort row {int(bad[0])}")


def sum_by_run(run: NDArray[np.int64], values: NDArray[np.int64], runs: int) -> NDArray[np.int64]:
    """Integer sums per run. bincount adds in float64, exact for totals below 2**53 cents."""
    return np.bincount(run, weights=values, minlength=runs).astype(np.int64)
