"""`ds1ray db` and `ds1ray dlq`, run through the real CLI entry point (both backends)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ds1ray.cli import main
from ds1ray.store import Event, HandlerRegistry, deliver, migrate_store, open_store, registry
from ds1ray.store.migrations import code_version

HANDLER_MODULE = '''
from ds1ray.store import registry

def record_refund(tx, event):
    tx.insert("tickets", {"id": event.payload["ticket"], "channel": "email",
                          "subject": "refund", "created_at": tx.now(), "updated_at": tx.now()})

registry.register("support.refund_ticket", record_refund)
'''


def test_db_migrate_then_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    url = f"sqlite:///{tmp_path / 'new' / 'ds1.sqlite3'}"
    assert main(["db", "migrate", "--db", url]) == 0
    assert "applied 0001_sweeps" in capsys.readouterr().out
    assert main(["db", "migrate", "--db", url]) == 0
    assert f"up to date (version {code_version()})" in capsys.readouterr().out
    assert main(["db", "status", "--db", url]) == 0
    out = capsys.readouterr().out
    assert f"schema version {code_version()}, this ds1ray needs {code_version()}" in out
    assert out.count("  applied  ") == code_version()


def test_db_status_of_a_store_behind_exits_non_zero_and_names_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    migrate_store(url, target=1)
    assert main(["db", "status", "--db", url]) == 1
    out = capsys.readouterr().out
    assert "  pending  0002_live" in out and "run `ds1ray db migrate --db" in out


def test_a_missing_store_is_one_line_and_a_non_zero_exit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    assert main(["dlq", "list", "--db", str(tmp_path / "nowhere.sqlite3")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "no store at SQLite database" in err and "ds1ray db migrate" in err


def test_dlq_list_and_redrive_through_a_handler_module(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    failing = HandlerRegistry()
    failing.register("support.refund_ticket", lambda tx, event: (_ for _ in ()).throw(
        TimeoutError("mail server timed out")))
    event = Event(type="REFUND_REQUESTED", source="email", payload={"ticket": "t-9"})
    with open_store(store_url) as store:
        deliver(store, event, handlers=failing, max_attempts=2, backoff_seconds=0.001)

    assert main(["dlq", "list", "--db", store_url]) == 0
    out = capsys.readouterr().out
    assert "support.refund_ticket" in out and "REFUND_REQUESTED" in out
    assert "TimeoutError: mail server timed out" in out

    assert main(["dlq", "redrive", "--db", store_url]) == 2  # the handler is not loaded
    assert "no handler named 'support.refund_ticket'" in capsys.readouterr().err

    (tmp_path / "refund_handlers.py").write_text(HANDLER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert main(["dlq", "redrive", "1", "--db", store_url,
                     "--handlers", "refund_handlers"]) == 0
        assert capsys.readouterr().out == "redriven 1\n"
    finally:
        registry.unregister("support.refund_ticket")
        sys.modules.pop("refund_handlers", None)
    assert main(["dlq", "list", "--db", store_url]) == 0
    assert capsys.readouterr().out == "no dead letters\n"
    with open_store(store_url) as store:
        assert store.run(lambda tx: tx.scalar("SELECT subject FROM tickets WHERE id = 't-9'")) \
            == "refund"


def test_dlq_redrive_rejects_ids_that_are_not_numbers(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as raised:
        main(["dlq", "redrive", "abc"])
    assert raised.value.code == 2
    assert "not a dead-letter id: 'abc'" in capsys.readouterr().err


def test_dlq_redrive_names_a_handler_module_that_cannot_be_imported(
    store_url: str, capsys: pytest.CaptureFixture[str]
):
    assert main(["dlq", "redrive", "--db", store_url, "--handlers", "no_such_module_x"]) == 2
    assert "cannot import handler module 'no_such_module_x'" in capsys.readouterr().err
