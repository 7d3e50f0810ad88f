"""`ds1ray promote`: a candidate overlay is rehearsed in simulation before it becomes the live one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ds1ray.cli import main
from ds1ray.errors import UserError
from ds1ray.live.promote import install, promote, smoke

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A copy of the project's overlays and seeds, so promotions cannot touch the real ones."""
    for folder in ("overlays", "seeds"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    return tmp_path


def candidate(root: Path, name: str, text: str) -> Path:
    path = root / "overlays" / name
    path.write_text(text)
    return path


GOOD = (REPO / "overlays" / "bootstrap.live.yaml").read_text().replace(
    "environment: live", "environment: live-next")


def test_a_good_overlay_passes_the_smoke_suite_and_is_installed_with_a_backup(root: Path) -> None:
    live = root / "overlays" / "bootstrap.live.yaml"
    before = live.read_text()
    path = candidate(root, "next.yaml", GOOD)

    report, installed, backup = promote(str(path), root=root, days=5)

    assert report.ok
    assert report.passed[-1] == "2 simulated runs of 5 days, books balanced"
    assert installed == live and live.read_text() == GOOD
    assert backup is not None and backup.parent == root / "overlays" / "backups"
    assert backup.read_text() == before


def test_an_overlay_with_a_key_its_base_lacks_is_refused_and_nothing_is_installed(root: Path) -> None:
    live = root / "overlays" / "bootstrap.live.yaml"
    before = live.read_text()
    path = candidate(root, "drifting.yaml", GOOD + "\nadvertising_budget: 500\n")

    with pytest.raises(UserError, match=r"not promoted: .*advertising_budget: key not in bootstrap.base.yaml"):
        promote(str(path), root=root, days=5)

    assert live.read_text() == before
    assert not (root / "overlays" / "backups").exists()


def test_an_overlay_with_a_literal_secret_is_refused_naming_the_secret(root: Path) -> None:
    path = candidate(root, "leaky.yaml", GOOD.replace('"${SHOPIFY_ACCESS_TOKEN}"', "shpat_123"))

    report = smoke(path, root, days=5)

    assert not report.ok
    assert "secrets.SHOPIFY_ACCESS_TOKEN" in str(report.problem)


def test_an_overlay_whose_values_fail_validation_is_refused_before_the_simulation(root: Path) -> None:
    path = candidate(root, "invalid.yaml", GOOD.replace("environment: live-next",
                                                        "environment: live-next\nschedules:\n"
                                                        "  optimization_every_hours: 0"))

    report = smoke(path, root, days=5)

    assert report.passed == ["overlay keys and secret references"]
    assert "optimization_every_hours" in str(report.problem)


def test_promoting_the_live_overlay_itself_keeps_it_without_a_backup(root: Path) -> None:
    live = root / "overlays" / "bootstrap.live.yaml"
    assert install(live, root) == (live, None)


def test_the_promote_command_refuses_with_one_line_and_a_non_zero_exit(
        root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(root)
    candidate(root, "drifting.yaml", GOOD + "\nadvertising_budget: 500\n")

    assert main(["promote", "overlays/drifting.yaml", "--days", "5"]) == 2

    err = capsys.readouterr().err.strip()
    assert err.startswith("ds1ray promote: error: ") and "advertising_budget" in err
    assert len(err.splitlines()) == 1


def test_the_promote_command_installs_a_good_overlay(
        root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(root)
    candidate(root, "next.yaml", GOOD)

    assert main(["promote", "overlays/next.yaml", "--days", "5"]) == 0

    out = capsys.readouterr().out
    assert "ok  no drift (ds1ray check)" in out and "installed overlays/next.yaml as" in out
    assert (root / "overlays" / "bootstrap.live.yaml").read_text() == GOOD
