"""The store's transactions and at-most-once handler effects (both backends)."""

from __future__ import annotations

import threading

import pytest

from ds1ray.store import Store, Transaction, open_store


def add_supplier(tx: Transaction, supplier_id: str) -> None:
    tx.insert("suppliers", {"id": supplier_id, "name": "Acme", "country": "CN",
                            "lead_time_days": 9, "created_at": tx.now(), "updated_at": tx.now()})


def suppliers(store: Store) -> list[str]:
    return [row[0] for row in store.run(
        lambda tx: tx.execute("SELECT id FROM suppliers ORDER BY id").fetchall())]


def test_a_transaction_commits_its_rows_or_none_of_them(store: Store):
    with store.transaction() as tx:
        add_supplier(tx, "sup_1")
    with pytest.raises(RuntimeError), store.transaction() as tx:
        add_supplier(tx, "sup_2")
        raise RuntimeError("crash before commit")
    assert suppliers(store) == ["sup_1"]


def test_update_changes_the_matching_rows_and_reports_how_many(store: Store):
    with store.transaction() as tx:
        add_supplier(tx, "sup_1")
        changed = tx.update("suppliers", {"id": "sup_1"}, {"status": "paused"})
        assert changed == 1
        assert tx.scalar("SELECT status FROM suppliers WHERE id = %s", ["sup_1"]) == "paused"


def test_table_and_column_names_are_checked_before_they_reach_sql(store: Store):
    with pytest.raises(ValueError, match="not a valid"), store.transaction() as tx:
        tx.insert("suppliers; DROP TABLE orders", {"id": "x"})


def test_a_redelivered_event_has_one_effect(store: Store):
    def effect(tx: Transaction) -> None:
        add_supplier(tx, "sup_from_event")

    assert store.consume_once("supplier-sync", "evt_1", effect) is True
    assert store.consume_once("supplier-sync", "evt_1", effect) is False
    assert suppliers(store) == ["sup_from_event"]


def test_another_handler_still_gets_the_same_event(store: Store):
    seen: list[str] = []
    store.consume_once("a", "evt_1", lambda tx: seen.append("a"))
    store.consume_once("b", "evt_1", lambda tx: seen.append("b"))
    assert seen == ["a", "b"]


def test_a_failed_handler_leaves_no_mark_so_the_event_can_be_retried(store: Store):
    def failing(tx: Transaction) -> None:
        add_supplier(tx, "sup_x")
        raise ConnectionError("supplier API down")

    with pytest.raises(ConnectionError):
        store.consume_once("supplier-sync", "evt_2", failing)
    assert suppliers(store) == []
    assert store.consume_once("supplier-sync", "evt_2", lambda tx: add_supplier(tx, "sup_x"))
    assert suppliers(store) == ["sup_x"]


def test_concurrent_deliveries_of_one_event_apply_it_once(store_url: str):
    start = threading.Barrier(6)
    results: list[bool] = []

    def consumer() -> None:
        with open_store(store_url) as store:
            start.wait()
            results.append(store.consume_once(
                "supplier-sync", "evt_3", lambda tx: add_supplier(tx, "sup_once")))

    threads = [threading.Thread(target=consumer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == [False] * 5 + [True]
    with open_store(store_url) as store:
        assert suppliers(store) == ["sup_once"]
