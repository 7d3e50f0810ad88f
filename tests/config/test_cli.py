"""`ds1ray check`: OK on every shipped overlay, one line per finding and a non-zero exit otherwise."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ds1ray.cli import main

from .conftest import REPOSITORY, ManifestCopy


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--overlay", "overlays/bootstrap.simulation.yaml"],
        ["--overlay", "overlays/bootstrap.live.yaml"],
        ["--overlay", "overlays/bootstrap.staging.yaml"],
        ["--overlay", "live"],
    ],
)
def test_check_passes_on_every_shipped_overlay(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPOSITORY)

    code = main(["check", *argv])

    out = capsys.readouterr().out
    assert code == 0, out
    assert out.startswith("ds1ray check: OK — 9 files, 8 agents, 20 events, overlay bootstrap.")


def test_check_prints_each_finding_as_file_line_message_and_fails(
    manifests: ManifestCopy, capsys: pytest.CaptureFixture[str]
) -> None:
    manifests.replace("overlays/event_bus.yaml", "OPTIMIZATION_TICK, BUSINESS_REPORT]", "OPTIMIZATION_TICK]")
    manifests.replace("overlays/agent_config.yaml", "      port: shipping\n", "      port: tracking\n")
    bus_line = manifests.line_of("overlays/event_bus.yaml", "delivery_order:")
    tool_line = manifests.line_of("overlays/agent_config.yaml", "      port: tracking\n")

    code = main(["check", "--root", str(manifests.root)])

    captured = capsys.readouterr()
    assert code == 1
    assert captured.out.splitlines() == [
        f"{manifests.path('overlays/agent_config.yaml')}:{tool_line}: agents.ops.tools.1.port: "
        "tool track_shipment: unknown port 'tracking' "
        "(ports: ai, trends, competitor, supplier, shop, ads, email, shipping)",
        f"{manifests.path('overlays/event_bus.yaml')}:{bus_line}: delivery_order: "
        "BUSINESS_REPORT is missing: it would never be delivered",
    ]
    assert captured.err == "ds1ray check: 2 finding(s)\n"


def test_check_reports_a_load_error_as_one_finding(manifests: ManifestCopy, capsys: pytest.CaptureFixture[str]) -> None:
    line = manifests.replace("overlays/bootstrap.base.yaml", "  temperature: 0.3\n", "  temperature: hot\n")

    code = main(["check", "--root", str(manifests.root)])

    assert code == 1
    assert capsys.readouterr().out == (
        f"{manifests.path('overlays/bootstrap.base.yaml')}:{line}: ai_policy.temperature: "
        "Input should be a valid number, unable to parse string as a number\n"
    )


def test_check_lists_every_bad_key_of_an_overlay(manifests: ManifestCopy, capsys: pytest.CaptureFixture[str]) -> None:
    manifests.replace("overlays/bootstrap.staging.yaml", "  dashboard: true\n", "  dashbord: true\n")
    manifests.replace("overlays/bootstrap.staging.yaml", '"${STRIPE_WEBHOOK_SECRET}"', "whsec_abc")

    code = main(["check", "--root", str(manifests.root), "--overlay", "staging"])

    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert [line.split(": ")[1] for line in lines] == ["secrets.STRIPE_WEBHOOK_SECRET", "features.dashbord"]
    assert all(line.startswith(str(manifests.path("overlays/bootstrap.staging.yaml")) + ":") for line in lines)


def test_check_as_a_subprocess_exits_non_zero_with_one_line_and_no_traceback(manifests: ManifestCopy) -> None:
    manifests.replace(
        "overlays/bootstrap.simulation.yaml", "  name: dropship_sim\n", "  name: dropship_sim\n  nmae: x\n"
    )

    bad = subprocess.run(
        [sys.executable, "-m", "ds1ray.cli", "check", "--root", str(manifests.root)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    good = subprocess.run(
        [sys.executable, "-m", "ds1ray.cli", "check"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPOSITORY,
    )

    assert bad.returncode == 1
    assert "Traceback" not in bad.stderr + bad.stdout
    assert bad.stdout.strip().endswith(
        "database.nmae: key not in bootstrap.base.yaml (an overlay may only set keys of its base; there: name, url)"
    )
    assert good.returncode == 0, good.stdout + good.stderr
    assert good.stdout.startswith("ds1ray check: OK")


def test_check_params_lists_every_settable_path_with_its_bounds(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPOSITORY)

    code = main(["check", "--params"])

    rows = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines())
    assert code == 0
    assert rows["store.markup"] == "float ≥ 1.0 and ≤ 6.0"
    assert rows["market.traffic.cpm"] == "float ≥ 0.5 and ≤ 1000"
