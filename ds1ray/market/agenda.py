"""Rows scheduled for a future day: shipments, tickets, chargebacks.

Rows keep the order in which they were scheduled, and they are scheduled in
run-major order, so each run sees its own rows in the same order whatever
cohort it is in.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from numpy.typing import NDArray


class Agenda:
    """Columns of rows, filed under the day they fall due."""

    def __init__(self, columns: tuple[str, ...]) -> None:
        self.columns = ("run", *columns)
        self._due: dict[int, list[dict[str, NDArray[Any]]]] = defaultdict(list)

    def add(self, due_day: NDArray[np.int64], **columns: NDArray[Any]) -> None:
        if set(columns) != set(self.columns):
            raise ValueError(f"agenda rows need exactly {self.columns}")
        due_day = np.asarray(due_day, dtype=np.int64)
        if due_day.size == 0:
            return
        arrays = {k: np.asarray(v) for k, v in columns.items()}
        first = int(due_day[0])
        if (due_day == first).all():  # one due day (the common case): the rows as given
            self._due[first].append({k: v.copy() for k, v in arrays.items()})
            return
        # A stable sort by due day, cut where the day changes: each day's rows in scheduling order,
        # with a few NumPy calls per batch instead of a mask per day and column.
        order = np.argsort(due_day, kind="stable")
        sorted_days = due_day[order]
        cuts = (np.flatnonzero(sorted_days[1:] != sorted_days[:-1]) + 1).tolist()
        sorted_columns = {k: v[order] for k, v in arrays.items()}
        for lo, hi in zip([0, *cuts], [*cuts, due_day.size], strict=True):
            self._due[int(sorted_days[lo])].append({k: v[lo:hi] for k, v in sorted_columns.items()})

    def pop(self, day: int) -> dict[str, NDArray[Any]] | None:
        """The rows due on `day` (and any overdue), in scheduling order; None if there are none."""
        days = sorted(d for d in self._due if d <= day)
        chunks = [chunk for d in days for chunk in self._due.pop(d)]
        if not chunks:
            return None
        out = {k: np.concatenate([c[k] for c in chunks]) for k in self.columns}
        run = out["run"]
        if (run[1:] >= run[:-1]).all():  # already run-major (one chunk, mostly): a stable sort would keep it
            return out
        # Chunks of different days interleave runs: restore run-major order, stably.
        order = np.argsort(run, kind="stable")
        return {k: v[order] for k, v in out.items()}
