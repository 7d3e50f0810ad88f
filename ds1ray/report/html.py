"""One self-contained HTML page from a sweep's results: findings, figures, tables, reproduction.

Figures are PNG data URIs and the style sheet is inline, so the file opens
anywhere without a network or a folder beside it.

Example::

    from ds1ray.report import write_report
    write_report("results/quickstart", "quickstart.html", baseline="baseline")
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ds1ray.report import figures
from ds1ray.report.findings import findings
from ds1ray.report.sensitivity import MIN_RUNS_PER_SLICE
from ds1ray.report.tables import OUTCOME_METRICS, grouping, tables
from ds1ray.sweep.results import Results, load_results

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; max-width: 1180px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; font-size: 13px; margin: .8em 0; }
th, td { border: 1px solid #ddd; padding: 3px 7px; text-align: right; }
th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; } .note { color: #555; font-size: 13px; }
pre { background: #f7f7f7; padding: .8em; overflow-x: auto; font-size: 12px; }
ul.findings li { margin: .3em 0; }
"""


def _table(frame: pd.DataFrame, digits: int = 4) -> str:
    def fmt(value: float) -> str:
        return f"{value:,.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"

    return frame.to_html(index=False, float_format=fmt, na_rep="–", border=0)


def _figure(uri: str, alt: str) -> str:
    return f'<p><img src="{uri}" alt="{html.escape(alt)}"></p>'


def _seeds_text(seeds: list[int]) -> str:
    if seeds and seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{len(seeds)} seeds: {seeds[0]} … {seeds[-1]} (consecutive)"
    return f"{len(seeds)} seeds: " + ", ".join(map(str, seeds))


def build_report(results: Results, by: str = "strategy", baseline: str | None = None) -> str:
    """The report of `results` as one HTML string; see the module docstring."""
    frames = tables(results, by=by, baseline=baseline)
    chosen = grouping(results, by, baseline)
    groups, runs, manifest = chosen.groups, results.runs, results.manifest
    name = str(manifest.get("experiment") or (results.directory.name if results.directory else "sweep"))
    paired = frames["paired"]
    sections = [
        f"<h1>Report: {html.escape(name)}</h1>",
        f"<p>{html.escape(str(manifest.get('spec', {}).get('description', '')))}</p>",
        f"<p class=note>{len(runs):,} runs · {manifest.get('days')} days each · "
        f"{len(manifest.get('seeds', []))} replicate seeds · groups by <b>{html.escape(by)}</b>: "
        f"{html.escape(', '.join(map(str, groups)))} · baseline <b>{html.escape(str(chosen.baseline))}</b> · "
        f"generated {datetime.now(UTC).isoformat(timespec='seconds')}</p>",
        "<h2>Findings</h2><ul class=findings>"
        + "".join(f"<li>{html.escape(s)}</li>" for s in findings(frames, by))
        + "</ul>",
        "<h2>Outcomes per group</h2>",
        _figure(figures.outcome_distributions(runs, frames["outcomes"], by, groups, OUTCOME_METRICS),
                "outcome distributions"),
        _table(frames["outcomes"]),
        "<p class=note><code>bankrupt</code> is the share of runs that went bankrupt. CI: 95 % Student-t "
        "interval of the mean.</p>",
        f"<h2>Paired differences against {html.escape(str(chosen.baseline))}</h2>",
        "<p>Every group met the same markets: runs are matched on "
        f"<code>{html.escape(', '.join(paired.attrs.get('matched_on', [])))}</code> (common random numbers), so "
        "the paired interval uses the spread of per-market differences. The unpaired (Welch) interval treats "
        "the groups as independent samples; it is what the same runs would support without pairing. "
        "<code>width_ratio</code> = unpaired ÷ paired width.</p>",
        _figure(figures.paired_versus_unpaired(paired, OUTCOME_METRICS), "paired versus unpaired differences")
        if len(paired) else "<p>Only one group: nothing to pair.</p>",
        _table(paired),
        "<h2>Daily KPIs over time</h2>",
        _figure(figures.kpi_bands(frames["bands"], groups, list(pd.unique(frames["bands"]["kpi"]))), "daily KPI bands"),
        "<h2>Survival</h2><p>Share of runs not yet bankrupt by each day "
        "(from <code>bankrupt_day</code>).</p>",
        _figure(figures.survival_curves(frames["survival"], groups), "survival curves"),
        _table(_survival_summary(frames["survival"])),
        *_sensitivity_section(frames, groups, results),
        *_reproduction_section(results, by, chosen.baseline),
    ]
    body = "\n".join(sections)
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        f"<title>ds1ray report: {html.escape(name)}</title><style>{STYLE}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )


def _survival_summary(survival: pd.DataFrame) -> pd.DataFrame:
    last = int(survival["day"].max())
    checkpoints = sorted({last // 4, last // 2, 3 * last // 4, last})
    shown = survival[survival["day"].isin(checkpoints)]
    table = shown.pivot(index="group", columns="day", values="solvent_share")
    table.columns = [f"solvent on day {day}" for day in table.columns]
    return table.reset_index()


def _sensitivity_section(frames: dict[str, pd.DataFrame], groups: list[Any], results: Results) -> list[str]:
    sensitivity = frames["sensitivity"]
    head = ["<h2>Sensitivity of net profit to the swept parameters</h2>"]
    if sensitivity.empty:
        return [*head, "<p>The sweep varies no parameter besides the groups: nothing to rank.</p>"]
    methods = ", ".join(sorted(set(sensitivity["method"])))
    designs = ", ".join(sorted(set(sensitivity["design"])))
    explanation = (
        f"<p>Design of the space: <b>{html.escape(designs)}</b>. Method used: <b>{html.escape(methods)}</b>. "
        "A sweep's grid or Latin-hypercube/random design is not the Saltelli design that the classic Sobol "
        "estimators need, so the first-order Sobol index S<sub>i</sub> = Var(E[net profit | X<sub>i</sub>]) / "
        "Var(net profit) is estimated from conditional means: per distinct value of a parameter with few "
        "values (levels), else per equal-count bin of its values (binned). The estimate is bias-corrected for "
        "replicate noise (ε², as in ANOVA) and its 95 % interval comes from a bootstrap over runs. Where a "
        f"slice holds fewer than {MIN_RUNS_PER_SLICE} runs, conditional means are noise, and the index falls "
        "back to the squared standardised regression coefficient (SRC², the variance share under a linear "
        "response). Indices are computed within each group, so the group itself explains nothing here. "
        "The rest of net profit's variance is interactions and replicate noise (the market each seed draws).</p>"
    )
    return [
        *head,
        explanation,
        _figure(figures.sensitivity_bars(sensitivity, groups), "sensitivity indices"),
        _table(sensitivity, digits=3),
        "<h3>Mean net profit across each parameter's range</h3>",
        _figure(figures.main_effect_lines(frames["effects"], groups), "main effects"),
    ]


def _reproduction_section(results: Results, by: str, baseline: object) -> list[str]:
    manifest = results.manifest
    spec = manifest.get("spec", {})
    code = manifest.get("code", {})
    experiment_file = manifest.get("experiment_file") or f"experiments/{manifest.get('experiment')}.yaml"
    folder = results.directory or f"results/{manifest.get('experiment')}"
    commands = (
        f"ds1ray sweep {experiment_file} --out {folder}\n"
        f"ds1ray report {folder} --by {by} --baseline {baseline}"
    )
    details = {
        "experiment": manifest.get("experiment"),
        "experiment_hash": manifest.get("experiment_hash"),
        "git_commit": code.get("git_commit"),
        "ds1ray_version": code.get("ds1ray_version"),
        "ray_version": code.get("ray_version"),
        "python": code.get("python"),
        "finished_at": manifest.get("finished_at"),
        "swept_parameters": manifest.get("swept_parameters"),
        "strategies": manifest.get("strategies"),
        "scenario_overrides": manifest.get("scenario_overrides"),
    }
    return [
        "<h2>Reproduce</h2>",
        "<p>Every run is identified by (experiment, parameters, replicate seed); the same spec, configuration "
        "and seeds give bit-identical runs on any machine. Commands:</p>",
        f"<pre>{html.escape(commands)}</pre>",
        f"<p><b>Seeds</b>: {html.escape(_seeds_text(list(manifest.get('seeds', []))))}.</p>",
        f"<pre>{html.escape(yaml.safe_dump(details, sort_keys=False, allow_unicode=True))}</pre>",
        "<h3>Experiment spec (manifest.json → spec)</h3>",
        f"<pre>{html.escape(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True))}</pre>",
        "<details><summary>Merged configuration (manifest.json → config)</summary>"
        f"<pre>{html.escape(json.dumps(manifest.get('config', {}), indent=1))}</pre></details>",
    ]


def write_report(
    results_dir: str | Path, out: str | Path | None = None, by: str = "strategy", baseline: str | None = None
) -> Path:
    """Write the report of the sweep in `results_dir` to `out` (default `<results_dir>/report.html`)."""
    results = load_results(results_dir)
    target = Path(out) if out is not None else Path(results_dir) / "report.html"
    page = build_report(results, by=by, baseline=baseline)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page, encoding="utf-8")
    return target
