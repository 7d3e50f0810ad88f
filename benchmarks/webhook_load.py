"""Benchmark: signed Shopify orders/paid webhooks against the live HTTP app, on loopback.

The app (`ds1ray.live.app`, served by `ds1ray.live.server.HttpServer`) runs in
a child process over a store; this process is an open-loop load generator
(asyncio, keep-alive connections): at each rate, requests are sent on a fixed schedule whatever the
answers, a share of them re-deliveries of an earlier webhook (same
X-Shopify-Event-Id and body). Each request is answered 200 only after its
event was committed. Per rate it prints the sustained webhooks/s answered,
p50/p99 latency (measured from each request's scheduled send time, so a server
that falls behind shows it), and checks the record: event-log rows and outbox
rows must equal the distinct webhooks accepted, and each distinct webhook must
have been answered `duplicate: false` exactly once.

    python benchmarks/webhook_load.py [--stores sqlite,postgresql] [--stacks plain,standard]
        [--rates 250,500,1000,1500] [--seconds 5] [--duplicates 0.1]
        [--pg-url postgresql://postgres@127.0.0.1:5432/] [--json FILE]

Stacks: `plain` is uvicorn with h11 and asyncio (what `pip install ds1ray` brings);
`standard` adds httptools and uvloop (`uvicorn[standard]`), measured when installed.

The PostgreSQL database `ds1ray_webhook_bench_<pid>` is created and dropped; the
SQLite file lives in a temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from ds1ray.live.signatures import shopify_webhook_headers

SECRET = "bench-shopify-secret"
SERVER_ENV = {"SHOPIFY_WEBHOOK_SECRET": SECRET, "STRIPE_WEBHOOK_SECRET": "bench-stripe-secret",
              "DS1_PII_HASH_KEY": "bench-pii-key"}
CONNECTIONS = 64


def order_paid(order_id: int, rng: random.Random) -> dict[str, Any]:
    """A realistic orders/paid payload (customer data included, so redaction does its work)."""
    first, last = rng.choice(["Ada", "Grace", "Alan", "Edsger"]), rng.choice(["Lovelace", "Hopper", "Turing"])
    address = {"first_name": first, "last_name": last, "name": f"{first} {last}",
               "address1": f"{rng.randint(1, 999)} Main Street", "address2": None, "city": "Springfield",
               "zip": f"{rng.randint(10000, 99999)}", "province_code": "IL", "country_code": "US",
               "phone": f"+1 555 010 {rng.randint(1000, 9999)}", "company": None}
    price = rng.randint(1500, 9000)
    return {
        "id": order_id, "admin_graphql_api_id": f"gid://shopify/Order/{order_id}", "name": f"#{order_id}",
        "email": f"{first}.{last}{order_id}@example.com".lower(), "created_at": "2026-11-25T10:00:00Z",
        "currency": "USD", "financial_status": "paid", "fulfillment_status": None,
        "total_price": f"{price / 100:.2f}", "subtotal_price": f"{price / 100:.2f}", "total_tax": "0.00",
        "total_discounts": "0.00", "note": f"Please call {address['phone']} on arrival",
        "line_items": [{"id": order_id * 10, "product_id": 632910392, "variant_id": 808950810,
                        "title": "Cat Tree Deluxe", "sku": "SKU-CAT-TREE", "quantity": 1,
                        "price": f"{price / 100:.2f}"}],
        "shipping_address": address, "billing_address": copy.deepcopy(address),
        "customer": {"id": order_id + 7, "email": f"{first}{order_id}@example.com", "first_name": first,
                     "last_name": last, "phone": address["phone"]},
    }


@dataclass
class Step:
    store: str
    stack: str
    rate: int
    seconds: float
    sent: int
    answered_200: int
    errors: int
    distinct_sent: int
    accepted_new: int
    duplicates_answered: int
    sustained_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    recorded_events: int
    recorded_outbox: int
    commits: int | None
    server_cpu_ms_per_request: float
    client_cpu_ms_per_request: float
    ok: bool


def make_requests(count: int, duplicate_share: float, first_id: int, rng: random.Random
                  ) -> list[tuple[str, bytes, dict[str, str]]]:
    """(event id, body, headers) per request; a duplicate repeats an earlier request of this list."""
    requests: list[tuple[str, bytes, dict[str, str]]] = []
    for index in range(count):
        if requests and rng.random() < duplicate_share:
            requests.append(rng.choice(requests))
            continue
        order_id = first_id + index
        body = json.dumps(order_paid(order_id, rng)).encode()
        event_id = f"bench-{order_id}"
        requests.append((event_id, body, shopify_webhook_headers(body, SECRET, topic="orders/paid",
                                                                 event_id=event_id)))
    return requests


def raw_request(host: str, body: bytes, headers: dict[str, str]) -> bytes:
    """One HTTP/1.1 keep-alive POST, serialised once before the run."""
    lines = ["POST /webhooks/shopify HTTP/1.1", f"Host: {host}", "Content-Type: application/json",
             f"Content-Length: {len(body)}", *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Status and body of one response (Content-Length framed, as uvicorn answers JSON)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    length = next(int(line.split(":", 1)[1]) for line in header_lines
                  if line.lower().startswith("content-length:"))
    return int(status_line.split(" ", 2)[1]), await reader.readexactly(length)


async def fire(url: str, requests: list[tuple[str, bytes, dict[str, str]]], rate: int
               ) -> tuple[list[float], list[tuple[str, int, bool | None]], float]:
    """Send on an open-loop schedule over `CONNECTIONS` keep-alive connections.

    A scheduler releases request i at start + i/rate whatever the answers; a free
    connection takes it. Latency counts from the scheduled time, so time spent
    waiting for a connection (the server falling behind) is included. The client
    is a minimal HTTP/1.1 writer/reader: httpx costs ≈ 4 ms of CPU per request on
    this machine, more than the server under test, and both share its 2 cores.
    """
    host_port = url.removeprefix("http://")
    host, port = host_port.rsplit(":", 1)
    wire = [raw_request(host_port, body, headers) for _, body, headers in requests]
    queue: asyncio.Queue[int | None] = asyncio.Queue()
    latencies: list[float] = []
    outcomes: list[tuple[str, int, bool | None]] = []
    start = time.perf_counter() + 0.1

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while (index := await queue.get()) is not None:
                scheduled = start + index / rate
                try:
                    writer.write(wire[index])
                    status, body = await read_response(reader)
                except (OSError, asyncio.IncompleteReadError):
                    outcomes.append((requests[index][0], 0, None))
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, int(port))
                    continue
                latencies.append(time.perf_counter() - scheduled)
                duplicate = json.loads(body).get("duplicate") if status == 200 else None
                outcomes.append((requests[index][0], status, duplicate))
        finally:
            writer.close()

    async def schedule() -> None:
        for index in range(len(requests)):
            delay = start + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            queue.put_nowait(index)
        for _ in range(CONNECTIONS):
            queue.put_nowait(None)

    await asyncio.gather(schedule(), *(connection() for _ in range(CONNECTIONS)))
    return latencies, outcomes, time.perf_counter() - start


def count_recorded(server_url: str) -> tuple[int, int]:
    """Event-log and outbox rows of the benchmark's webhooks, asked through the app's own store."""
    response = httpx.get(f"{server_url}/bench/recorded", timeout=30)
    response.raise_for_status()
    data = response.json()
    return int(data["events"]), int(data["outbox"])


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def run_step(store: str, stack: str, url: str, server: psutil.Process, rate: int, seconds: float,
             duplicates: float, first_id: int, rng: random.Random) -> Step:
    requests = make_requests(int(rate * seconds), duplicates, first_id, rng)
    before_events, before_outbox = count_recorded(url)
    commits_before = httpx.get(f"{url}/bench/commits").json()["commits"]

    server_cpu, client_cpu = cpu_seconds(server), time.process_time()
    latencies, outcomes, elapsed = asyncio.run(fire(url, requests, rate))
    server_cpu, client_cpu = cpu_seconds(server) - server_cpu, time.process_time() - client_cpu
    events, outbox = count_recorded(url)
    commits = httpx.get(f"{url}/bench/commits").json()["commits"] - commits_before
    ok_outcomes = [o for o in outcomes if o[1] == 200]
    distinct_sent = len({event_id for event_id, _, _ in outcomes})
    new_per_id: dict[str, int] = {}
    for event_id, _, duplicate in ok_outcomes:
        new_per_id[event_id] = new_per_id.get(event_id, 0) + (0 if duplicate else 1)
    accepted_new = sum(new_per_id.values())
    distinct_accepted = len(new_per_id)
    lat_ms = np.array(latencies) * 1000 if latencies else np.array([np.nan])
    recorded_events, recorded_outbox = events - before_events, outbox - before_outbox
    exactly_once = all(count == 1 for count in new_per_id.values())
    return Step(
        store=store, stack=stack, rate=rate, seconds=round(elapsed, 3), sent=len(requests),
        answered_200=len(ok_outcomes), errors=len(outcomes) - len(ok_outcomes),
        distinct_sent=distinct_sent, accepted_new=accepted_new,
        duplicates_answered=len(ok_outcomes) - accepted_new,
        sustained_per_s=round(len(ok_outcomes) / elapsed, 1),
        p50_ms=round(float(np.percentile(lat_ms, 50)), 2), p99_ms=round(float(np.percentile(lat_ms, 99)), 2),
        max_ms=round(float(lat_ms.max()), 2), recorded_events=recorded_events, recorded_outbox=recorded_outbox,
        commits=commits, server_cpu_ms_per_request=round(server_cpu / len(requests) * 1000, 3),
        client_cpu_ms_per_request=round(client_cpu / len(requests) * 1000, 3),
        ok=(exactly_once and recorded_events == distinct_accepted == recorded_outbox
            and len(ok_outcomes) == len(requests)),
    )


# ----------------------------------------------------------------------------- the server process


def serve(db_url: str, stack: str) -> None:
    """Child process: the app over `db_url` with an in-process business; prints its URL."""
    from fastapi import FastAPI

    from ds1ray.config import load_config
    from ds1ray.live.app import EventRecorder, create_app, intake_from_config
    from ds1ray.live.backend import InProcessBackend
    from ds1ray.live.server import HttpServer
    from ds1ray.store import open_store

    config = load_config("bootstrap.staging.yaml")
    store = open_store(db_url, migrate=True)
    intake, redactor = intake_from_config(config)
    recorder = EventRecorder(store)
    # The overlay's webhook rate limit (120/min) would refuse a load test; lift it here only.
    app: FastAPI = create_app(config, store, InProcessBackend(config, store, days=30), intake,
                              redactor=redactor, recorder=recorder, webhook_rate_limit_per_minute=10**9)

    @app.get("/bench/recorded")
    def recorded() -> dict[str, int]:
        def count(tx: Any) -> dict[str, int]:
            return {"events": tx.scalar("SELECT COUNT(*) FROM event_log WHERE type = 'ORDER_PAID'"),
                    "outbox": tx.scalar("SELECT COUNT(*) FROM outbox o JOIN event_log e "
                                        "ON e.event_id = o.event_id WHERE e.type = 'ORDER_PAID'")}
        return store.run(count)

    @app.get("/bench/commits")
    def commits() -> dict[str, int]:
        return {"commits": recorder.batches}

    http, loop = ("h11", "asyncio") if stack == "plain" else ("auto", "auto")
    server = HttpServer(app, port=0, http=http, loop=loop)
    print(server.start(), flush=True)
    sys.stdin.read()  # serve until the parent closes our stdin
    server.stop()
    store.close()


def start_server(db_url: str, stack: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen([sys.executable, __file__, "--serve", db_url, "--stack", stack],
                               stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True, env={**os.environ, **SERVER_ENV})
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    if not url.startswith("http"):
        process.kill()
        raise SystemExit(f"the app server did not start (exit {process.wait()})")
    return process, url


def stop_server(process: subprocess.Popen[str]) -> None:
    assert process.stdin is not None
    process.stdin.close()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()


# ----------------------------------------------------------------------------- main


STACKS = {"plain": "h11 + asyncio", "standard": "httptools + uvloop"}


def standard_stack_installed() -> bool:
    """Whether uvicorn[standard]'s httptools and uvloop are importable here."""
    try:
        import httptools  # noqa: F401
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def bench_store(store: str, db_url: str, stack: str, rates: list[int], seconds: float, duplicates: float,
                rng: random.Random) -> list[Step]:
    process, url = start_server(db_url, stack)
    server = psutil.Process(process.pid)
    steps = []
    try:
        run_step(store, stack, url, server, 100, 1.0, duplicates, 1, rng)  # warm-up: connections, caches
        for number, rate in enumerate(rates):
            step = run_step(store, stack, url, server, rate, seconds, duplicates, (number + 1) * 10_000_000, rng)
            steps.append(step)
            print(f"{store:10s} {stack:8s} {rate:5d}/s offered {step.sustained_per_s:7.1f}/s answered  "
                  f"p50 {step.p50_ms:7.2f} ms  p99 {step.p99_ms:7.2f} ms  "
                  f"distinct {step.distinct_sent:5d} recorded {step.recorded_events:5d} "
                  f"(outbox {step.recorded_outbox:5d})  dup answers {step.duplicates_answered:4d}  "
                  f"errors {step.errors}  commits {step.commits}  CPU ms/request server "
                  f"{step.server_cpu_ms_per_request:.2f} client {step.client_cpu_ms_per_request:.2f}  "
                  f"{'OK' if step.ok else 'FAIL'}",
                  flush=True)
    finally:
        stop_server(process)
    return steps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serve", metavar="DB_URL", help=argparse.SUPPRESS)
    parser.add_argument("--stack", default="standard", help=argparse.SUPPRESS)
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--stacks", default=None,
                        help="plain (h11 + asyncio) and/or standard (httptools + uvloop, uvicorn[standard]); "
                             "default: both when installed, else plain")
    parser.add_argument("--rates", default="250,500,1000,1500")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--duplicates", type=float, default=0.1, help="share of re-deliveries (default 0.1)")
    parser.add_argument("--pg-url", default=os.environ.get("DS1_TEST_POSTGRES_URL",
                                                           "postgresql://postgres@127.0.0.1:5432/"))
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.stack)
        return 0
    rates = [int(rate) for rate in args.rates.split(",")]
    stacks = (args.stacks or ("plain,standard" if standard_stack_installed() else "plain")).split(",")
    for stack in stacks:
        if stack not in STACKS:
            parser.error(f"unknown stack {stack!r} (plain or standard)")
        if stack == "standard" and not standard_stack_installed():
            parser.error("the standard stack needs httptools and uvloop (pip install 'uvicorn[standard]')")
    rng = random.Random(7)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"webhook load: Python {platform.python_version()}, {os.cpu_count()} CPUs (load average {load}), "
          f"{args.seconds:g} s per rate, {args.duplicates:.0%} duplicates, {CONNECTIONS} client connections; "
          f"stacks: {', '.join(f'{s} = {STACKS[s]}' for s in stacks)}", flush=True)
    steps: list[Step] = []
    for store in args.stores.split(","):
        for stack in stacks:
            if store == "sqlite":
                with tempfile.TemporaryDirectory() as folder:
                    steps += bench_store(store, f"sqlite:///{folder}/bench.sqlite3", stack, rates, args.seconds,
                                         args.duplicates, rng)
            elif store == "postgresql":
                name = f"ds1ray_webhook_bench_{os.getpid()}"
                try:
                    steps += bench_store(store, make_conninfo(args.pg_url, dbname=name), stack, rates,
                                         args.seconds, args.duplicates, rng)
                finally:
                    with psycopg.connect(make_conninfo(args.pg_url, dbname="postgres"), autocommit=True) as admin:
                        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                            sql.Identifier(name)))
            else:
                parser.error(f"unknown store {store!r} (sqlite or postgresql)")
    if args.json:
        args.json.write_text(json.dumps({"load_average": os.getloadavg(), "stacks": stacks,
                                         "steps": [asdict(step) for step in steps]}, indent=2))
    return 0 if all(step.ok for step in steps) else 1


if __name__ == "__main__":
    sys.exit(main())
