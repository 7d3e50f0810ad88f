"""PostgreSQL faults: clear connection errors, and a server restart while writing.

The restart test really restarts the local cluster (`pg_ctlcluster … restart`)
and always leaves it running.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import pandas as pd
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ds1ray.cli import main
from ds1ray.errors import UserError
from ds1ray.store import Event, OutboxRelay, Store, open_store

from .conftest import PostgresServer
from .frames import make_cohort

pytestmark = pytest.mark.postgres


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def url_with(server: PostgresServer, **changes: str) -> str:
    return make_conninfo(server.url, **changes)


@pytest.fixture
def bad_urls(postgres_server: PostgresServer) -> dict[str, tuple[str, str]]:
    port = free_port()
    return {
        "unreachable": (f"postgresql://ds1:hunter2@127.0.0.1:{port}/dropship",
                        f"PostgreSQL database 'dropship' at 127.0.0.1:{port}: connection refused"),
        "wrong user": (url_with(postgres_server, user="no_such_role", password="hunter2",
                                dbname="dropship"),
                       "authentication failed"),
        "missing database": (url_with(postgres_server, password="hunter2",
                                      dbname="ds1ray_no_such_db"),
                             "PostgreSQL database 'ds1ray_no_such_db' at .*: the database does "
                             "not exist \\(create it with `ds1ray db migrate"),
    }


@pytest.mark.parametrize("case", ["unreachable", "wrong user", "missing database"])
def test_connection_failures_are_one_error_naming_the_database_but_not_the_password(
    bad_urls: dict[str, tuple[str, str]], case: str
):
    url, message = bad_urls[case]
    with pytest.raises(UserError, match=message) as raised:
        open_store(url)
    params = conninfo_to_dict(url)
    assert params.get("password") == "hunter2"
    assert "hunter2" not in str(raised.value)
    assert f":{params.get('port', '5432')}" in str(raised.value)


@pytest.mark.parametrize("case", ["unreachable", "wrong user", "missing database"])
def test_the_cli_prints_one_line_and_exits_non_zero_on_connection_failures(
    bad_urls: dict[str, tuple[str, str]], case: str, capsys: pytest.CaptureFixture[str]
):
    url, _ = bad_urls[case]
    assert main(["dlq", "list", "--db", url]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1
    assert captured.err.startswith("ds1ray dlq: error: cannot connect to PostgreSQL database")
    assert "hunter2" not in captured.err


def test_migrate_creates_a_missing_database(postgres_server: PostgresServer):
    name = f"{postgres_server.template}_created"
    postgres_server.created.append(name)
    assert main(["db", "migrate", "--db", postgres_server.database_url(name)]) == 0
    with open_store(postgres_server.database_url(name)) as store:
        assert store.schema_version() >= 1


# A real server restart -------------------------------------------------------


def cluster_version() -> str:
    versions = sorted(os.listdir("/etc/postgresql"), key=lambda v: float(v)) \
        if os.path.isdir("/etc/postgresql") else []
    return versions[-1] if versions else ""


def server_accepts(url: str) -> bool:
    try:
        with psycopg.connect(make_conninfo(url, dbname="postgres"), connect_timeout=2):
            return True
    except psycopg.Error:
        return False


@pytest.fixture
def restart_server(postgres_server: PostgresServer) -> Iterator[None]:
    """A callable fixture's precondition: this machine's cluster can be restarted by us."""
    version = cluster_version()
    if not shutil.which("pg_ctlcluster") or not version:
        reason = "pg_ctlcluster or /etc/postgresql is missing: cannot restart the server"
        if os.environ.get("DS1_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    yield
    # Whatever happened, leave the server running for everyone else.
    if not server_accepts(postgres_server.url):
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
                       check=False, capture_output=True, timeout=120)
    assert server_accepts(postgres_server.url)


def restart(server: PostgresServer) -> None:
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", cluster_version(), "main", "restart"],
        check=True, capture_output=True, timeout=120,
    )
    deadline = time.monotonic() + 60
    while not server_accepts(server.url):
        assert time.monotonic() < deadline, "the server did not come back after its restart"
        time.sleep(0.2)


def test_a_sweep_writing_through_a_server_restart_loses_nothing_and_duplicates_nothing(
    postgres_server: PostgresServer, restart_server: None
):
    url = postgres_server.new_database()
    manifest = {"experiment": "restart"}
    cohorts: list[tuple[pd.DataFrame, pd.DataFrame]] = []
    failures: list[BaseException] = []
    cut_short: list[BaseException] = []
    started, restarted = threading.Event(), threading.Event()

    def sweep(store: Store) -> None:
        # Keep writing until three cohorts went in after the server came back.
        try:
            after_restart = 0
            while after_restart < 3:
                after_restart += restarted.is_set()
                runs, daily = make_cohort(len(cohorts), runs=120, days=365)
                cohorts.append((runs, daily))
                store.record_sweep_cohort("restart", manifest, runs, daily,
                                          f"cohort-{len(cohorts) - 1}")
                started.set()
        except BaseException as error:
            failures.append(error)

    with open_store(url) as store:
        is_transient = store.backend.is_transient

        def counting(error: BaseException) -> bool:
            cut_short.append(error)
            return is_transient(error)

        store.backend.is_transient = counting  # type: ignore[method-assign]
        writer = threading.Thread(target=sweep, args=(store,))
        writer.start()
        assert started.wait(timeout=60)
        restart(postgres_server)
        restarted.set()
        writer.join(timeout=180)
        assert not writer.is_alive() and not failures
        # The restart hit the writer: a transaction was cut (and retried), or the
        # pool found its connections dead and reconnected.
        stats = store.backend.pool.get_stats()  # type: ignore[attr-defined]
        assert cut_short or stats.get("connections_lost", 0) + stats.get(
            "connections_errors", 0) > 0, "the restart went unnoticed: nothing was tested"
        # A resumed sweep offers every cohort again: nothing is written twice.
        for index, (runs, daily) in enumerate(cohorts):
            assert store.record_sweep_cohort(
                "restart", manifest, runs, daily, f"cohort-{index}") is False
        loaded_runs, loaded_daily = store.load_sweep("restart")
    pd.testing.assert_frame_equal(
        loaded_runs, pd.concat([runs for runs, _ in cohorts], ignore_index=True))
    pd.testing.assert_frame_equal(
        loaded_daily, pd.concat([daily for _, daily in cohorts], ignore_index=True))


def test_the_relay_draining_through_a_server_restart_publishes_every_event(
    postgres_server: PostgresServer, restart_server: None
):
    url = postgres_server.new_database()
    with open_store(url) as store:
        with store.transaction() as tx:
            events = [Event(type="ORDER_PAID", source="shopify", payload={"n": index})
                      for index in range(300)]
            for event in events:
                tx.outbox.add(event)
        published: list[str] = []
        restarted = threading.Event()

        def restart_then_flag() -> None:
            restart(postgres_server)
            restarted.set()

        def publish(event: Event) -> None:
            published.append(event.event_id)
            if len(published) == 100:
                threading.Thread(target=restart_then_flag).start()
            if len(published) == 101:
                # Hold the relay's open transaction until the server has restarted under it.
                assert restarted.wait(timeout=120)

        OutboxRelay(store, publish, batch_size=10).drain()
        assert restarted.wait(timeout=120)
        OutboxRelay(store, publish, batch_size=10).drain()  # whatever the restart cut short
        assert store.run(lambda tx: tx.outbox.pending_count()) == 0
    # At least once: every event published; a repeat only for the batch the restart cut.
    assert set(published) == {event.event_id for event in events}
    assert len(published) - len(set(published)) <= 10
