"""`ds1ray live up`, `status` and `down --stop-ray` as a user runs them: real processes, a real head."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.ray, pytest.mark.timeout(900)]


def ds1ray(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ds1ray.cli", *args], env=env, text=True,
                          capture_output=True, timeout=600, check=False)


def test_live_up_status_and_down_run_the_staging_instance_and_leave_nothing_behind(tmp_path: Path) -> None:
    env = {**os.environ, "SHOPIFY_WEBHOOK_SECRET": "s", "STRIPE_WEBHOOK_SECRET": "whsec_t",
           "DS1_PII_HASH_KEY": "k", "DS1_LIVE_ADDRESS_FILE": str(tmp_path / "address")}
    env.pop("RAY_ADDRESS", None)
    up = ds1ray("live", "up", "--overlay", "overlays/bootstrap.staging.yaml",
                "--db", f"sqlite:///{tmp_path / 'live.sqlite3'}", "--port", "0", env=env)
    try:
        assert up.returncode == 0, up.stderr
        assert re.search(r"^serving http://[\d.]+:\d+$", up.stdout, re.M), up.stdout
        assert up.stdout.count("  started agent:") == 8

        status = ds1ray("live", "status", env=env)
        assert status.returncode == 0, status.stderr
        assert re.search(r"agent:ops\s+ALIVE\s+restarts 0", status.stdout), status.stdout
        assert "breakers: none (every adapter is a mock)" in status.stdout
        assert "queues: outbox pending" in status.stdout

        again = ds1ray("live", "up", "--overlay", "overlays/bootstrap.staging.yaml",
                       "--db", f"sqlite:///{tmp_path / 'live.sqlite3'}", "--port", "0", env=env)
        assert again.returncode == 2
        assert "already running" in again.stderr and len(again.stderr.strip().splitlines()) == 1
    finally:
        down = ds1ray("live", "down", "--stop-ray", env=env)
    assert down.returncode == 0, down.stderr
    assert "stopped 11 actors" in down.stdout and "stopped the Ray head" in down.stdout
    assert not (tmp_path / "address").exists()
    gone = ds1ray("live", "status", env=env)
    assert gone.returncode == 2 and "no live Ray cluster is known" in gone.stderr


def test_live_status_names_each_ingress_port_with_its_records_and_failures() -> None:
    from ds1ray.live.cli import ingress_line

    line = ingress_line({"ports": ["email", "shipping"], "polls": 7, "recorded": {"email": 3},
                         "unavailable": {"shipping": 2}, "failed": {}})
    assert line == "ingress: 7 polls; email 3 recorded, shipping 0 recorded (2 unavailable, 0 failed)"
    assert ingress_line({"ports": [], "polls": 0}) == ""
