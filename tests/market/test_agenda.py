"""The agenda: rows come back on their due day, run-major, each run's rows by due day, then as scheduled."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ds1ray.market.agenda import Agenda

# Batches of (due day, run) rows, as the world schedules them: several batches, mixed due days.
batches = st.lists(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 3)), max_size=12), max_size=6)


def _scheduled_rows(batches: list[list[tuple[int, int]]]) -> list[tuple[int, int, int]]:
    """(due day, run, serial) of every row, serial counting rows in scheduling order."""
    rows = [row for batch in batches for row in batch]
    return [(day, run, serial) for serial, (day, run) in enumerate(rows)]


@settings(max_examples=200, deadline=None)
@given(batches=batches)
def test_pop_returns_due_rows_by_run_then_due_day_then_scheduling_order(batches: list[list[tuple[int, int]]]) -> None:
    agenda = Agenda(("serial", "value"))
    serial = 0
    for batch in batches:
        day = np.array([d for d, _ in batch], np.int64)
        run = np.array([r for _, r in batch], np.int64)
        serials = np.arange(serial, serial + len(batch), dtype=np.int64)
        agenda.add(day, run=run, serial=serials, value=serials * 10)
        serial += len(batch)
    rows = _scheduled_rows(batches)
    for today in range(0, 7, 2):  # every other day: overdue rows come along
        due = [(run, s) for run, _, s in sorted((run, day, s) for day, run, s in rows if today - 2 < day <= today)]
        got = agenda.pop(today)
        if not due:
            assert got is None
            continue
        assert got is not None
        assert list(zip(got["run"].tolist(), got["serial"].tolist(), strict=True)) == due
        np.testing.assert_array_equal(got["value"], got["serial"] * 10)
        assert all(v.dtype == np.int64 and v.flags.c_contiguous for v in got.values())


def test_rows_are_copied_when_added() -> None:
    agenda = Agenda(("amount",))
    amount = np.array([5, 6], np.int64)
    agenda.add(np.array([1, 1]), run=np.array([0, 1]), amount=amount)
    amount[:] = 0
    got = agenda.pop(1)
    assert got is not None
    np.testing.assert_array_equal(got["amount"], [5, 6])


def test_columns_must_match() -> None:
    with pytest.raises(ValueError, match="exactly"):
        Agenda(("amount",)).add(np.array([1]), run=np.array([0]))


def test_a_popped_day_is_a_copy_even_when_it_is_one_slice_of_a_scheduling_call() -> None:
    agenda = Agenda(("amount",))
    agenda.add(np.array([1, 2]), run=np.array([0, 0]), amount=np.array([5, 6]))
    got = agenda.pop(1)
    assert got is not None
    got["amount"][:] = 0  # must not reach the row still due on day 2
    later = agenda.pop(2)
    assert later is not None
    np.testing.assert_array_equal(later["amount"], [6])


def test_columns_must_be_integers_of_one_length() -> None:
    with pytest.raises(ValueError, match="integer"):
        Agenda(("amount",)).add(np.array([1]), run=np.array([0]), amount=np.array([2.5]))
    with pytest.raises(ValueError, match="integer"):
        Agenda(("amount",)).add(np.array([1, 1]), run=np.array([0, 1]), amount=np.array([2]))
