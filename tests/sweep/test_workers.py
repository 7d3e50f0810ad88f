"""The Ray side's guards that need no cluster: a bad --address fails at once."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import time

import pytest

from ds1ray.errors import UserError
from ds1ray.sweep.workers import check_reachable


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_address_nothing_listens_at_fails_within_seconds() -> None:
    port = _closed_port()
    started = time.monotonic()
    with pytest.raises(UserError, match=rf"cannot reach the Ray cluster at 127\.0\.0\.1:{port}: "):
        check_reachable(f"127.0.0.1:{port}")
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("address", ["nohost", "host:port", "ray://host"])
def test_an_address_without_host_and_port_is_refused(address: str) -> None:
    with pytest.raises(UserError, match="is not HOST:PORT"):
        check_reachable(address)


def test_a_listening_address_passes_in_both_forms() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        check_reachable(f"127.0.0.1:{port}")
        check_reachable(f"ray://127.0.0.1:{port}")


def test_a_cohort_worker_simulates_without_importing_pandas() -> None:
    # pandas costs a worker ≈ 0.2 s to import: the driver builds every DataFrame, workers ship arrays.
    code = textwrap.dedent("""
        import sys
        from ds1ray.config import load_config
        from ds1ray.runspec import RunSpec
        from ds1ray.sweep.workers import CohortWorker

        import ray

        result, info = CohortWorker().simulate(load_config(), [RunSpec("w", 1), RunSpec("w", 2)], 5)
        assert result.days == 5 and len(result.run_ids) == 2, result
        assert info["node"] is None and not ray.is_initialized(), info  # used in-process: no Ray started
        print(sorted(name for name in sys.modules if name.split(".")[0] == "pandas"))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
