"""`ds1ray live up|status|down` and `ds1ray promote OVERLAY`.

`live up` checks the overlay's secrets before it touches Ray (a missing one is
one error naming the variable), connects to the cluster at `--address` (or
RAY_ADDRESS, or the one an earlier `live up` started), starting a local head
when there is none, and starts the live instance (`ds1ray.live.runtime`).
The address of a head it started is kept in `~/.local/share/ds1ray/live-ray-address`
(or the file DS1_LIVE_ADDRESS_FILE names), so `status` and `down` find it
without `--address`.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any

from ds1ray.errors import UserError

ADDRESS_FILE = Path(os.environ.get("DS1_LIVE_ADDRESS_FILE",
                                   "~/.local/share/ds1ray/live-ray-address")).expanduser()
DEFAULT_OVERLAY = "overlays/bootstrap.live.yaml"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    live = subparsers.add_parser("live", help="run the live business on a Ray cluster")
    actions = live.add_subparsers(dest="live_command", required=True, metavar="ACTION")
    up = actions.add_parser("up", help="start the agents, adapters, coordinator and HTTP API")
    _address(up)
    up.add_argument("--overlay", default=DEFAULT_OVERLAY,
                    help=f"bootstrap overlay (default {DEFAULT_OVERLAY}; staging: "
                         "overlays/bootstrap.staging.yaml)")
    up.add_argument("--db", metavar="URL", help="store URL (default: the overlay's database)")
    up.add_argument("--port", type=int, help="HTTP port (default: the overlay's http.port)")
    up.set_defaults(func=run_up)
    status = actions.add_parser("status", help="actors, breakers, queue depths, dead letters")
    _address(status)
    status.set_defaults(func=run_status)
    down = actions.add_parser("down", help="drain the outbox and stop every live actor")
    _address(down)
    down.add_argument("--stop-ray", action="store_true",
                      help="also stop the local Ray head that `ds1ray live up` started")
    down.set_defaults(func=run_down)

    promote = subparsers.add_parser(
        "promote", help="rehearse an overlay in simulation, then install it as the live overlay")
    promote.add_argument("overlay", metavar="OVERLAY", help="the candidate overlay file")
    promote.add_argument("--days", type=int, default=30, help="days of the smoke simulation")
    promote.set_defaults(func=run_promote)


def _address(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--address", metavar="RAY_ADDRESS",
                        help="the Ray cluster (default: RAY_ADDRESS, else the head `live up` started)")


# Ray --------------------------------------------------------------------------------------------

def _known_address(given: str | None) -> str | None:
    if given:
        return given
    if os.environ.get("RAY_ADDRESS"):
        return os.environ["RAY_ADDRESS"]
    if ADDRESS_FILE.is_file():
        return ADDRESS_FILE.read_text().strip() or None
    return None


def connect(given: str | None, *, start: bool) -> str:
    """Connect to the cluster; with `start`, start a local head when none is known or reachable."""
    _token_mode()
    import ray

    from ds1ray.live.agent_host import NAMESPACE

    address = _known_address(given)
    if address is not None:
        try:
            ray.init(address=address, namespace=NAMESPACE, logging_level=logging.ERROR,
                     log_to_driver=False)
            return address
        except (ConnectionError, RuntimeError) as error:
            if given or not start:
                raise UserError(f"cannot connect to the Ray cluster at {address}: {error}") from None
    if not start:
        raise UserError("no live Ray cluster is known: pass --address or set RAY_ADDRESS "
                        "(`ds1ray live up` starts one)")
    address = _start_head()
    ray.init(address=address, namespace=NAMESPACE, logging_level=logging.ERROR, log_to_driver=False)
    return address


def _token_mode() -> None:
    """Ray >= 2.59 starts local heads with token authentication; a driver connecting by
    address sends the token (kept under the user's home) only in token mode, which Ray
    reads when it is imported: so this runs before anything imports ray."""
    os.environ.setdefault("RAY_AUTH_MODE", "token")


def _start_head() -> str:
    """`ray start --head` on a free port of this machine (never 6379, which Redis holds)."""
    executable = shutil.which("ray")
    if executable is None:
        raise UserError("the `ray` command is not on PATH (pip install 'ray[default]')")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"127.0.0.1:{port}"
    done = subprocess.run(
        [executable, "start", "--head", f"--port={port}", "--include-dashboard=false",
         "--disable-usage-stats"],
        capture_output=True, text=True, check=False, env={**os.environ, "RAY_AUTH_MODE": "token"})
    if done.returncode != 0:
        raise UserError(f"`ray start --head` failed: {done.stderr.strip().splitlines()[-1:]}")
    ADDRESS_FILE.parent.mkdir(parents=True, exist_ok=True)
    ADDRESS_FILE.write_text(address + "\n")
    return address


# Commands ---------------------------------------------------------------------------------------

def run_up(args: argparse.Namespace) -> int:
    _token_mode()
    from ds1ray.config import load_config
    from ds1ray.live.runtime import check_http, check_secrets, start_live

    config = load_config(args.overlay)
    check_secrets(config)  # before any cluster is touched
    check_http(config)
    address = connect(args.address, start=True)
    instance = start_live(config, store_url=args.db, port=args.port)
    print(f"live instance up on Ray cluster {address} (namespace ds1ray-live), "
          f"overlay {config.overlay}")
    print(f"store: {instance.store_url.split('@')[-1]}")
    for name in instance.actors:
        print(f"  started {name}")
    if instance.url:
        print(f"serving {instance.url}")
    else:
        print("HTTP: not served (ds1ray.live.server is not installed)")
    return 0


def run_status(args: argparse.Namespace) -> int:
    _token_mode()
    from ds1ray.live.runtime import live_status

    address = connect(args.address, start=False)
    status = live_status()
    print(f"live instance on Ray cluster {address} (namespace ds1ray-live)")
    print("actors:")
    for actor in status["actors"]:
        handled = actor.get("handled")
        since = (f"  since start: {handled['handled']} handled, {handled['duplicates']} duplicates, "
                 f"{handled['dead_lettered']} dead-lettered") if handled else ""
        print(f"  {actor['name']:<18} {actor['state']:<10} restarts {actor['restarts']:<3} "
              f"pid {actor['pid']}{since}")
    _print_breakers(status["breakers"])
    c = status["coordinator"]
    print(f"queues: outbox pending {c['outbox_pending']}, dead letters {c['dead_letters']}")
    print(f"relay: published {c['published']}, failed deliveries {c['failed_deliveries']}, "
          f"dead-lettered {c['relay_dead_lettered']}, running {c['running']}")
    line = ingress_line(c.get("ingress") or {})
    if line:
        print(line)
    print(f"business day {c['day']}, last tick {c['last_tick_at']}")
    if c["last_error"]:
        print(f"last relay error: {c['last_error']}")
    return 0


def ingress_line(ingress: dict[str, Any]) -> str:
    """The live ingress ports' polls, records and failures, on one line ('' when none is live)."""
    if not ingress.get("ports"):
        return ""
    parts = []
    for port in ingress["ports"]:
        part = f"{port} {ingress['recorded'].get(port, 0)} recorded"
        unavailable, failed = ingress["unavailable"].get(port, 0), ingress["failed"].get(port, 0)
        if unavailable or failed:
            part += f" ({unavailable} unavailable, {failed} failed)"
        parts.append(part)
    return f"ingress: {ingress['polls']} polls; " + ", ".join(parts)


def _print_breakers(breakers: dict[str, Any]) -> None:
    if not breakers:
        print("breakers: none (every adapter is a mock)")
        return
    print("breakers:")
    for platform, snapshot in sorted(breakers.items()):
        print(f"  {platform:<18} {snapshot.get('state')} "
              f"({snapshot.get('consecutive_failures')} consecutive failures, "
              f"opened {snapshot.get('opens')} times)")


def run_down(args: argparse.Namespace) -> int:
    _token_mode()
    from ds1ray.live.runtime import stop_live

    address = connect(args.address, start=False)
    started_here = ADDRESS_FILE.is_file() and ADDRESS_FILE.read_text().strip() == address
    if args.stop_ray and not started_here:
        raise UserError(f"--stop-ray stops only a Ray head that `ds1ray live up` started; the "
                        f"cluster at {address} was not (stop it the way it was started)")
    stopped = stop_live()
    print(f"drained: {stopped['drained'] or 'no coordinator was running'}")
    print(f"stopped {len(stopped['killed'])} actors: {', '.join(stopped['killed']) or 'none'}")
    if not args.stop_ray:
        print(f"the Ray cluster at {address} keeps running (`ds1ray live down --stop-ray` stops "
              f"a head that `live up` started)")
        return 0
    import ray

    ray.shutdown()
    ended = _stop_head(address)
    ADDRESS_FILE.unlink(missing_ok=True)
    print(f"stopped the Ray head at {address} ({ended} processes)")
    return 0


def _stop_head(address: str) -> int:
    """End the processes of the Ray session whose GCS listens on `address`'s port.

    Only that session's processes: `ray stop` would end every Ray instance on the
    machine, other users' included.
    """
    import psutil

    port = int(address.rsplit(":", 1)[1])
    listeners = [c.pid for c in psutil.net_connections("tcp")
                 if c.pid and c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN]
    if not listeners:
        return 0
    session = re.search(r"session_[0-9_-]+", " ".join(psutil.Process(listeners[0]).cmdline()))
    if session is None:
        return 0
    named = [p for p in psutil.process_iter(["cmdline"])
             if session.group(0) in " ".join(p.info["cmdline"] or [])]
    # Ray renames its agents and workers (`ray::DashboardAgent`): take the children too.
    found = {p.pid: p for p in named}
    for process in named:
        with contextlib.suppress(psutil.NoSuchProcess):
            found.update({child.pid: child for child in process.children(recursive=True)})
    processes = list(found.values())
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.terminate()
    _, alive = psutil.wait_procs(processes, timeout=15)
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    return len(processes)


def run_promote(args: argparse.Namespace) -> int:
    from ds1ray.live.promote import promote

    if args.days < 1:
        raise UserError(f"--days must be at least 1, got {args.days}")
    report, installed, backup = promote(args.overlay, days=args.days)
    for passed in report.passed:
        print(f"  ok  {passed}")
    print(f"installed {args.overlay} as {installed}"
          + (f" (previous kept as {backup})" if backup else ""))
    return 0
