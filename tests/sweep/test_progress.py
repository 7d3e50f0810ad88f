"""Progress lines: runs done of total, run-days/s, ETA; resumed runs do not inflate the rate."""

from __future__ import annotations

import io
import re

from ds1ray.sweep.progress import Progress


def test_progress_reports_runs_done_rate_and_eta() -> None:
    stream = io.StringIO()
    progress = Progress("demo", total_runs=10, days=100, stream=stream, every=0.0)
    progress.start()
    progress.advance(4)
    last = stream.getvalue().strip().splitlines()[-1]
    assert re.search(
        r"sweep demo: 4/10 runs \(40 %\), [\d,]+ run-days/s, elapsed 0:00:00, ETA \d+:\d\d:\d\d",
        last,
    )


def test_finished_progress_says_done() -> None:
    stream = io.StringIO()
    progress = Progress("demo", total_runs=2, days=5, stream=stream, every=3600.0)
    progress.start()
    progress.advance(2)
    assert stream.getvalue().strip().splitlines()[-1].endswith("ETA done")


def test_runs_found_done_count_as_done_but_not_into_the_rate() -> None:
    stream = io.StringIO()
    progress = Progress("demo", total_runs=10, days=100, stream=stream)
    progress.start(already_done=6)
    assert "6 of 10 runs already done" in stream.getvalue()
    assert progress.run_days_per_s() == 0.0


def test_a_log_file_gets_at_most_one_line_per_interval() -> None:
    stream = io.StringIO()
    progress = Progress("demo", total_runs=100, days=1, stream=stream, every=3600.0)
    progress.start()
    for _ in range(50):
        progress.advance(1)
    assert len(stream.getvalue().splitlines()) == 1


def test_disabled_progress_writes_nothing() -> None:
    stream = io.StringIO()
    progress = Progress("demo", total_runs=3, days=1, stream=stream, enabled=False)
    progress.start(already_done=1)
    progress.advance(2)
    progress.finish()
    assert stream.getvalue() == ""


def test_cohorts_in_flight_count_by_their_days_done_toward_runs_rate_and_eta() -> None:
    stream = io.StringIO()
    progress = Progress("demo", total_runs=10, days=100, stream=stream, every=0.0)
    progress.start()
    progress.in_flight(450.0)  # e.g. 5 runs half-way
    assert "4/10 runs (40 %)" in stream.getvalue().splitlines()[-1]
    assert progress.run_days() == 450.0
    progress.advance(5)
    assert progress.run_days() == 500.0
