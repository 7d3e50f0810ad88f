"""Rows scheduled for a future day: shipments, tickets, chargebacks.

Rows keep the order in which they were scheduled, and they are scheduled in
run-major order, so each run sees its own rows in the same order whatever
cohort it is in. Every column is an integer (ids, days, cents, codes).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from numpy.typing import NDArray

I64 = NDArray[np.int64]


class Agenda:
    """Integer columns of rows, filed under the day they fall due.

    Rows are kept as one (columns × rows) block per scheduling call: a day's share of a call is one
    slice and a day's rows one concatenation, whatever the number of columns (a NumPy call per column
    and day was a fixed cost of every simulated day).
    """

    def __init__(self, columns: tuple[str, ...]) -> None:
        self.columns = ("run", *columns)
        self._due: dict[int, list[I64]] = defaultdict(list)

    def add(self, due_day: I64, **columns: I64) -> None:
        if set(columns) != set(self.columns):
            raise ValueError(f"agenda rows need exactly {self.columns}")
        due_day = np.asarray(due_day, dtype=np.int64)
        if due_day.size == 0:
            return
        block = self._block(columns)
        first = int(due_day[0])
        if (due_day == first).all():  # one due day (the common case): the rows as given
            self._due[first].append(block)
            return
        # A stable sort by due day, cut where the day changes: each day's rows in scheduling order.
        order = np.argsort(due_day, kind="stable")
        sorted_days = due_day[order]
        cuts = (np.flatnonzero(sorted_days[1:] != sorted_days[:-1]) + 1).tolist()
        block = block.take(order, axis=1)  # take: a fancy index over the second axis is slower
        starts = [0, *cuts]
        for day, lo, hi in zip(sorted_days[starts].tolist(), starts, [*cuts, due_day.size], strict=True):
            self._due[day].append(block[:, lo:hi])

    def _block(self, columns: dict[str, I64]) -> I64:
        """The columns as the rows of a new int64 array (a copy: later changes to the caller's arrays stay out)."""
        wrong = ValueError(f"agenda columns {self.columns} must be integer arrays of one length")
        try:
            block = np.array([columns[k] for k in self.columns])
        except ValueError as error:  # columns of different lengths
            raise wrong from error
        if block.ndim != 2 or block.dtype.kind not in "iu" or block.dtype == np.uint64:
            raise wrong
        return block.astype(np.int64, copy=False)

    def pop(self, day: int) -> dict[str, I64] | None:
        """The rows due on `day` (and any overdue), in scheduling order; None if there are none."""
        days = sorted(d for d in self._due if d <= day)
        chunks = [chunk for d in days for chunk in self._due.pop(d)]
        if not chunks:
            return None
        # A fresh array either way: a lone chunk may be a slice of a block other days' chunks share.
        block = chunks[0].copy() if len(chunks) == 1 else np.concatenate(chunks, axis=1)
        run = block[0]
        if not (run[1:] >= run[:-1]).all():
            # Chunks of different days interleave runs: restore run-major order, stably.
            block = block.take(np.argsort(run, kind="stable"), axis=1)
        return dict(zip(self.columns, block, strict=True))  # rows of a C-ordered block: contiguous columns
