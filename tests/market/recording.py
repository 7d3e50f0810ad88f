"""A cohort run to its end with the batches it delivered recorded: how tests watch the bus."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ds1ray.cohort import Cohort
from ds1ray.config import Config
from ds1ray.events.batch import EventBatch
from ds1ray.runspec import RunSpec


class Recorded:
    """Runs `runs` for `days` days, recording every batch of `types` (all types if None) with its day."""

    def __init__(self, config: Config, runs: Sequence[RunSpec], days: int,
                 types: Sequence[str] | None = None) -> None:
        self.cohort = Cohort(config, runs, days)
        self.batches: list[tuple[int, EventBatch]] = []
        wanted = None if types is None else set(types)

        def record(batch: EventBatch) -> None:
            if wanted is None or batch.type in wanted:
                self.batches.append((self.cohort.day, batch))

        self.cohort.bus.observers.append(record)
        self.result = self.cohort.run()

    def rows(self, event_type: str) -> dict[str, np.ndarray]:
        """All recorded rows of one type as columns, plus `run` and `day`."""
        chosen = [(day, b) for day, b in self.batches if b.type == event_type]
        if not chosen:
            return {"run": np.zeros(0, np.int64), "day": np.zeros(0, np.int64)}
        out = {name: np.concatenate([b[name] for _, b in chosen]) for name in chosen[0][1].columns}
        out["run"] = np.concatenate([b.run for _, b in chosen])
        out["day"] = np.concatenate([np.full(len(b), day) for day, b in chosen])
        return out
