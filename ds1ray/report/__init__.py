"""Reports: a sweep's results turned into a decision one can defend.

`tables(results)` gives the numbers as DataFrames (outcomes, paired, bands,
survival, sensitivity, effects); `build_report`/`write_report` put them into one
self-contained HTML page with figures; `ds1ray report` is the command.

Example::

    from ds1ray.report import tables, write_report
    from ds1ray.sweep import load_results
    frames = tables(load_results("results/quickstart"), baseline="baseline")
    write_report("results/quickstart", "quickstart.html")

`docs/reports.md` explains how to read a report and the sensitivity method.
"""

from __future__ import annotations

from ds1ray.report.html import build_report, write_report
from ds1ray.report.sensitivity import main_effects, sensitivity
from ds1ray.report.tables import grouping, tables

__all__ = ["build_report", "grouping", "main_effects", "sensitivity", "tables", "write_report"]
