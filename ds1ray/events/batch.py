"""Columnar event batches: how events travel inside a cohort.

A batch holds many events of one type, one row per event. `run` tags each row
with its cohort row; every other column is a field of the event's contract.
Agents work on whole columns (NumPy), never on one event at a time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ds1ray.events.contracts import CONTRACTS, Event

_DTYPES = {int: np.int64, float: np.float64, str: object, bool: np.bool_}

# Field names and column dtypes per event type, read from the contracts once: batches are built
# thousands of times per simulated year, and pydantic's field lookup is not free.
_COLUMNS: dict[str, dict[str, Any]] = {
    event_type: {name: _DTYPES[info.annotation] for name, info in contract.model_fields.items()}  # type: ignore[index]
    for event_type, contract in CONTRACTS.items()
}


_INT64 = np.dtype(np.int64)
# Python scalars that fill a column of the contract's dtype as they are (what `_column` would make of them):
# event codes, counts and constant strings an agent passes as one value for every row.
_SCALAR_FILLS = frozenset({(int, np.int64), (int, np.float64), (float, np.float64), (str, object), (bool, np.bool_)})


def _column_dtype(event_type: str, field: str) -> Any:
    return _COLUMNS[event_type][field]


def _is_column(raw: object, dtype: Any) -> TypeGuard[NDArray[Any]]:
    """Whether `raw` is a 1-D array of `dtype`."""
    return type(raw) is np.ndarray and raw.ndim == 1 and raw.dtype == dtype


def _column(event_type: str, name: str, value: ArrayLike, dtype: Any, run: NDArray[np.int64]) -> NDArray[Any]:
    """`value` as a column of `dtype` with one value per row of `run` (a scalar is broadcast)."""
    raw = np.asarray(value)
    if dtype is np.int64 and raw.dtype.kind == "f" and not np.array_equal(raw, np.round(raw)):
        # Integer fields hold cents and counts: a fraction here is a bug upstream, never rounding.
        raise ValueError(f"{event_type}.{name}: fractional values in an integer field")
    arr = raw.astype(dtype, copy=False)
    column = np.full(run.shape, arr, dtype) if arr.ndim == 0 else arr.reshape(-1)
    if column.shape != run.shape:
        raise ValueError(f"{event_type}.{name}: {column.shape[0]} values for {run.size} rows")
    return column


@dataclass(frozen=True)
class EventBatch:
    """Events of one type as columns. Build with `EventBatch.of(...)`, which checks the contract."""

    type: str
    run: NDArray[np.int64]
    columns: dict[str, NDArray[Any]]

    @classmethod
    def of(cls, event_type: str, run: ArrayLike, **columns: ArrayLike) -> EventBatch:
        """A batch whose columns are exactly the contract's fields (scalars are broadcast)."""
        fields = _COLUMNS.get(event_type)
        if fields is None:
            raise KeyError(f"no contract for event type {event_type!r}")
        if columns.keys() != fields.keys():
            expected = set(fields)
            missing, extra = sorted(expected - set(columns)), sorted(set(columns) - expected)
            raise ValueError(f"{event_type} batch: missing fields {missing}, unknown fields {extra}")
        run_arr = run if _is_column(run, _INT64) else np.asarray(run, dtype=np.int64).reshape(-1)
        cols: dict[str, NDArray[Any]] = {}
        shape = run_arr.shape
        for name, dtype in fields.items():
            raw = columns[name]
            # Most columns already are what the contract asks for: taken as they are, with no NumPy call
            # (the test of `_is_column`, inline: it runs for every column of some twelve thousand batches a year).
            if type(raw) is np.ndarray and raw.ndim == 1 and raw.dtype == dtype and raw.shape == shape:
                cols[name] = raw
            elif (type(raw), dtype) in _SCALAR_FILLS:
                column = np.empty(shape, dtype)
                column.fill(raw)
                cols[name] = column
            else:
                cols[name] = _column(event_type, name, raw, dtype, run_arr)
        return cls(event_type, run_arr, cols)

    @classmethod
    def empty(cls, event_type: str) -> EventBatch:
        return cls(event_type, np.zeros(0, np.int64),
                   {name: np.zeros(0, dtype) for name, dtype in _COLUMNS[event_type].items()})

    @classmethod
    def from_events(cls, runs: Sequence[int], events: Sequence[Event]) -> EventBatch:
        """A batch from validated contract models (live ingress, tests)."""
        if not events:
            raise ValueError("from_events needs at least one event")
        event_type = events[0].type
        if any(e.type != event_type for e in events):
            raise ValueError("a batch holds events of one type")
        fields = CONTRACTS[event_type].model_fields
        return cls.of(event_type, list(runs), **{f: [getattr(e, f) for e in events] for f in fields})

    def __len__(self) -> int:
        return int(self.run.shape[0])

    def __getitem__(self, field: str) -> NDArray[Any]:
        return self.columns[field]

    def take(self, rows: NDArray[Any]) -> EventBatch:
        """The rows selected by a boolean mask or an index array."""
        return EventBatch(self.type, self.run[rows], {k: v[rows] for k, v in self.columns.items()})

    def events(self) -> Iterator[tuple[int, Event]]:
        """Each row as (cohort row, validated contract model): for logs, the store and the live side."""
        contract = CONTRACTS[self.type]
        for i in range(len(self)):
            payload = {k: v[i].item() if hasattr(v[i], "item") else v[i] for k, v in self.columns.items()}
            yield int(self.run[i]), contract.model_validate(payload)

    @staticmethod
    def concat(batches: Sequence[EventBatch]) -> EventBatch:
        """Batches of one type, end to end."""
        event_type = batches[0].type
        mixed = sorted({b.type for b in batches} - {event_type})
        if mixed:
            raise ValueError(f"cannot concatenate {event_type} with {', '.join(mixed)}: a batch holds one type")
        if len(batches) == 1:
            return batches[0]
        return EventBatch(
            event_type,
            np.concatenate([b.run for b in batches]),
            {k: np.concatenate([b.columns[k] for b in batches]) for k in batches[0].columns},
        )

    @staticmethod
    def one_per_type(batches: Sequence[EventBatch]) -> list[EventBatch]:
        """The batches concatenated by event type (types in first-seen order, rows in their order).

        Each batch costs every subscriber a handler call, so events published
        together travel together.
        """
        if len(batches) < 2:  # most handler calls: nothing to group
            return list(batches)
        by_type: dict[str, list[EventBatch]] = {}
        for batch in batches:
            by_type.setdefault(batch.type, []).append(batch)
        return [EventBatch.concat(same) for same in by_type.values()]
