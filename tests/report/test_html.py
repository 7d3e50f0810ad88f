"""The HTML report and `ds1ray report`: self-contained, complete, and one clear line on bad input."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from ds1ray.cli import main
from ds1ray.report import build_report
from ds1ray.sweep import Results

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_report_embeds_its_figures_as_png_and_loads_nothing_from_outside(results: Results) -> None:
    page = build_report(results)
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 6  # outcomes, paired, bands, survival, sensitivity, main effects
    assert all(base64.b64decode(image).startswith(PNG_SIGNATURE) for image in images)
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "<script" not in page


def test_report_states_method_seeds_and_how_to_reproduce(results: Results) -> None:
    page = build_report(results)
    manifest = results.manifest
    assert "first-order variance" in page or "standardised regression" in page
    assert "6 seeds: 10 … 15 (consecutive)" in page
    assert manifest["experiment_hash"] in page
    assert f"ds1ray sweep {manifest['experiment_file']}" in page
    assert "market_crash" in page  # the scenario's script, from the manifest


def test_report_findings_quote_the_paired_difference(results: Results) -> None:
    from ds1ray.report import tables
    from ds1ray.report.findings import money

    paired = tables(results)["paired"]
    equal = paired[(paired["group"] == "equal") & (paired["metric"] == "net_profit")].iloc[0]
    page = build_report(results)
    assert f"equal vs baseline: Δ net profit {money(equal['diff_mean'])}" in page.replace("&#x27;", "'")


def test_cli_writes_the_report(sweep_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "nested" / "report.html"
    assert main(["report", str(sweep_dir), "--out", str(out), "--baseline", "lean"]) == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert "baseline <b>lean</b>" in out.read_text(encoding="utf-8")
    assert str(out) in capsys.readouterr().out


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["missing-folder"], "missing-folder: no such results folder"),
        (["{sweep}", "--baseline", "nope"], "unknown baseline 'nope' for --by strategy"),
        (["{sweep}", "--by", "colour"], "cannot group by 'colour'"),
    ],
)
def test_cli_bad_input_is_one_line(
    arguments: list[str], message: str, sweep_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["report", *(a.replace("{sweep}", str(sweep_dir)) for a in arguments), "--out", str(tmp_path / "r.html")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r.html").exists()


def test_cli_refuses_an_unfinished_sweep(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "cohorts").mkdir()
    assert main(["report", str(tmp_path)]) == 2
    assert "no finished sweep here" in capsys.readouterr().err
