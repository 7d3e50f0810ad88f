"""Progress of a sweep on stderr: runs done of total, run-days per second, ETA.

On a terminal one line is redrawn in place; into a file or pipe a line is
written at most every `every` seconds and once at the end, so logs stay short.
Runs found done on disk (a resumed sweep) count as done but not into the rate.

Example::

    progress = Progress("quickstart", total_runs=96, days=180)
    progress.start(already_done=32)
    progress.advance(16)            # a cohort of 16 runs finished
    progress.finish()
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from typing import TextIO


def format_duration(seconds: float) -> str:
    return str(timedelta(seconds=round(max(0.0, seconds))))


class Progress:
    """Counts finished runs and reports them; `enabled=False` keeps it silent."""

    def __init__(
        self,
        name: str,
        total_runs: int,
        days: int,
        *,
        stream: TextIO | None = None,
        enabled: bool = True,
        every: float = 5.0,
    ) -> None:
        self.name = name
        self.total = total_runs
        self.days = days
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.every = every
        self.reused = 0
        self.done = 0
        self.partial_run_days = 0.0
        self._started = time.perf_counter()
        self._last_shown = float("-inf")
        self._interactive = bool(getattr(self.stream, "isatty", lambda: False)())

    def start(self, already_done: int = 0) -> None:
        """Start the clock; `already_done` runs were found finished on disk."""
        self.reused = self.done = already_done
        self._started = time.perf_counter()
        if already_done:
            self.note(f"{already_done:,} of {self.total:,} runs already done, resuming")
        self.show(force=True)

    def note(self, text: str) -> None:
        """One line about the sweep (not a progress update)."""
        if self.enabled:
            self._write(f"sweep {self.name}: {text}")

    def advance(self, runs: int) -> None:
        """`runs` more runs finished (their cohort's files are written)."""
        self.done += runs
        self.partial_run_days = 0.0
        self.show(force=self.done >= self.total)

    def in_flight(self, run_days: float) -> None:
        """Run-days simulated so far by cohorts not yet finished; refreshes the report."""
        self.partial_run_days = run_days
        self.show()

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self._started

    def run_days(self) -> float:
        """Run-days simulated in this invocation, cohorts in flight included."""
        return (self.done - self.reused) * self.days + self.partial_run_days

    def run_days_per_s(self) -> float:
        elapsed = self.elapsed
        return self.run_days() / elapsed if elapsed > 0 else 0.0

    def line(self) -> str:
        # Runs in flight count by the share of their days done.
        runs = min(self.total, self.done + int(self.partial_run_days // max(1, self.days)))
        share = 100.0 * runs / self.total if self.total else 100.0
        rate = self.run_days_per_s()
        remaining = self.total * self.days - self.reused * self.days - self.run_days()
        eta = format_duration(remaining / rate) if rate > 0 else "?"
        if self.done >= self.total:
            eta = "done"
        return (
            f"sweep {self.name}: {runs:,}/{self.total:,} runs ({share:.0f} %), "
            f"{rate:,.0f} run-days/s, elapsed {format_duration(self.elapsed)}, ETA {eta}"
        )

    def show(self, *, force: bool = False) -> None:
        """Report now if forced, on a terminal, or if `every` seconds have passed."""
        if not self.enabled:
            return
        now = time.perf_counter()
        if not force and not self._interactive and now - self._last_shown < self.every:
            return
        self._last_shown = now
        if self._interactive:
            self.stream.write("\r\033[K" + self.line())
            self.stream.flush()
        else:
            self._write(self.line())

    def finish(self) -> None:
        if self.enabled and self._interactive:
            self.stream.write("\n")
            self.stream.flush()

    def _write(self, text: str) -> None:
        if self._interactive:
            text = "\r\033[K" + text
        self.stream.write(text + "\n")
        self.stream.flush()
