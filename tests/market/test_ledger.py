"""The ledger: integer cents per category, an identity that closes, and tampering caught."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ds1ray.market.ledger import CATEGORIES, CREDITS, DEBITS, BooksDoNotBalance, Ledger

postings = st.lists(
    st.tuples(st.sampled_from(CATEGORIES), st.lists(st.tuples(st.integers(0, 4), st.integers(0, 10**9)),
                                                    min_size=0, max_size=20)),
    max_size=40)


@settings(max_examples=150, deadline=None)
@given(start=st.lists(st.integers(0, 10**10), min_size=5, max_size=5), postings=postings)
def test_the_identity_holds_after_any_postings(start: list[int], postings: list) -> None:
    ledger = Ledger(np.array(start, np.int64))
    expected = np.array(start, np.int64)
    for category, rows in postings:
        run = np.array([r for r, _ in rows], np.int64)
        cents = np.array([c for _, c in rows], np.int64)
        ledger.post(category, run, cents)
        sign = 1 if category in CREDITS else -1
        np.add.at(expected, run, sign * cents)
    ledger.check()
    np.testing.assert_array_equal(ledger.cash, expected)
    np.testing.assert_array_equal(ledger.expected_cash(), expected)
    assert ledger.cash.dtype == np.int64


def test_repeated_runs_in_one_posting_add_up() -> None:
    ledger = Ledger(np.zeros(3, np.int64))
    ledger.post("revenue", np.array([2, 0, 2, 2]), np.array([100, 5, 250, 1]))
    np.testing.assert_array_equal(ledger.totals["revenue"], [5, 0, 351])
    np.testing.assert_array_equal(ledger.cash, [5, 0, 351])


def test_post_all_posts_one_amount_per_run() -> None:
    ledger = Ledger(np.array([1000, 1000], np.int64))
    ledger.post_all("fixed_costs", np.array([130, 0]))
    ledger.post_all("revenue", np.array([0, 70]))
    np.testing.assert_array_equal(ledger.cash, [870, 1070])
    ledger.check()


@pytest.mark.parametrize("category", DEBITS)
def test_debits_lower_cash_and_only_their_own_total(category: str) -> None:
    ledger = Ledger(np.array([500], np.int64))
    ledger.post(category, np.array([0]), np.array([120]))
    assert ledger.cash[0] == 380
    assert {c: int(t[0]) for c, t in ledger.totals.items() if t[0]} == {category: 120}


def test_a_tampered_cash_value_is_caught_by_check_naming_the_run() -> None:
    ledger = Ledger(np.array([100, 200, 300], np.int64))
    ledger.post("revenue", np.array([0, 1, 2]), np.array([10, 20, 30]))
    ledger.check()
    ledger.cash[1] += 1  # a cent from nowhere
    with pytest.raises(BooksDoNotBalance, match="cohort row 1"):
        ledger.check()


def test_a_tampered_total_is_caught_by_check() -> None:
    ledger = Ledger(np.array([100], np.int64))
    ledger.post("ad_spend", np.array([0]), np.array([40]))
    ledger.totals["ad_spend"][0] -= 40  # spend hidden from the books
    with pytest.raises(BooksDoNotBalance):
        ledger.check()


def test_negative_postings_are_rejected_and_leave_the_books_untouched() -> None:
    ledger = Ledger(np.array([100, 100], np.int64))
    with pytest.raises(ValueError, match="negative posting to refunds"):
        ledger.post("refunds", np.array([0, 1]), np.array([10, -5]))
    with pytest.raises(ValueError, match="negative posting to cogs"):
        ledger.post_all("cogs", np.array([-1, 0]))
    np.testing.assert_array_equal(ledger.cash, [100, 100])
    assert all(not t.any() for t in ledger.totals.values())


def test_an_empty_posting_changes_nothing() -> None:
    ledger = Ledger(np.array([100], np.int64))
    ledger.post("revenue", np.zeros(0, np.int64), np.zeros(0, np.int64))
    assert ledger.cash[0] == 100
