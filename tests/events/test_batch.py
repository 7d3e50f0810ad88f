"""Columnar event batches: exactly the contract's fields, typed columns, and lossless round trips."""

from __future__ import annotations

import numpy as np
import pytest

from ds1ray.events import CONTRACTS, EventBatch
from ds1ray.events.contracts import OrderPaid, TicketCreated, UserCommand


def _orders(runs: list[int], start: int = 0) -> EventBatch:
    n = len(runs)
    return EventBatch.of("ORDER_PAID", runs, order_id=np.arange(start, start + n), product=np.arange(n) % 3,
                         amount_cents=np.arange(n) * 100 + 99, channel=np.arange(n) % 2, customer_ref=7)


def test_a_batch_missing_contract_fields_is_refused_naming_them() -> None:
    with pytest.raises(ValueError, match=r"ORDER_PAID batch: missing fields \['channel', 'customer_ref'\]"):
        EventBatch.of("ORDER_PAID", [0], order_id=1, product=2, amount_cents=300)


def test_a_batch_with_unknown_fields_is_refused_naming_them() -> None:
    with pytest.raises(ValueError, match=r"unknown fields \['coupon'\]"):
        EventBatch.of("DAILY_TICK", [0], day=3, coupon=1)


def test_an_unknown_event_type_is_refused() -> None:
    with pytest.raises(KeyError, match="NOT_AN_EVENT"):
        EventBatch.of("NOT_AN_EVENT", [0])


def test_a_column_of_the_wrong_length_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match=r"DAILY_TICK\.day: 2 values for 3 rows"):
        EventBatch.of("DAILY_TICK", [0, 1, 2], day=[1, 2])


def test_a_typed_array_of_the_wrong_length_is_refused_too() -> None:
    with pytest.raises(ValueError, match=r"DAILY_TICK\.day: 2 values for 3 rows"):
        EventBatch.of("DAILY_TICK", np.arange(3), day=np.array([1, 2], np.int64))


def test_fractional_values_in_an_integer_field_are_refused() -> None:
    with pytest.raises(ValueError, match=r"DAILY_TICK\.day: fractional values"):
        EventBatch.of("DAILY_TICK", np.arange(2), day=np.array([1.0, 2.5]))
    with pytest.raises(ValueError, match=r"DAILY_TICK\.day: fractional values"):
        EventBatch.of("DAILY_TICK", np.arange(2), day=2.5)  # a Python float is no integer scalar either
    assert EventBatch.of("DAILY_TICK", np.arange(2), day=np.array([1.0, 2.0]))["day"].dtype == np.int64


def test_columns_take_the_dtype_of_their_contract_field() -> None:
    batch = EventBatch.of("MARKET_CRASH", [0, 1], kind="market_crash", traffic=0.5, conversion=[0.8, 0.9],
                          cpm=1, days=21)
    assert batch.run.dtype == np.int64
    assert batch["kind"].dtype == object and list(batch["kind"]) == ["market_crash"] * 2
    assert batch["traffic"].dtype == np.float64
    assert batch["cpm"].dtype == np.float64
    assert batch["days"].dtype == np.int64
    money = _orders([0, 1])
    assert money["amount_cents"].dtype == np.int64  # money travels as integer cents


def test_scalars_are_broadcast_to_every_row() -> None:
    batch = EventBatch.of("DAILY_TICK", [3, 4, 5], day=9)
    np.testing.assert_array_equal(batch["day"], [9, 9, 9])
    assert len(batch) == 3
    batch["day"][0] = 1  # broadcasting copies: rows are independent
    assert batch["day"][1] == 9


def test_every_contract_can_build_an_empty_batch_with_typed_columns() -> None:
    for event_type, contract in CONTRACTS.items():
        batch = EventBatch.empty(event_type)
        assert len(batch) == 0
        assert set(batch.columns) == set(contract.model_fields)


def test_take_selects_rows_by_mask_or_index_in_every_column() -> None:
    batch = _orders([0, 1, 0, 2])
    by_mask = batch.take(batch.run == 0)
    np.testing.assert_array_equal(by_mask["order_id"], [0, 2])
    np.testing.assert_array_equal(by_mask.run, [0, 0])
    by_index = batch.take(np.array([3, 1]))
    np.testing.assert_array_equal(by_index["amount_cents"], [399, 199])
    np.testing.assert_array_equal(by_index.run, [2, 1])
    assert by_index.type == "ORDER_PAID"


def test_concat_puts_batches_end_to_end() -> None:
    joined = EventBatch.concat([_orders([0, 1]), _orders([2], start=10), _orders([1, 1], start=20)])
    np.testing.assert_array_equal(joined.run, [0, 1, 2, 1, 1])
    np.testing.assert_array_equal(joined["order_id"], [0, 1, 10, 20, 21])
    assert set(joined.columns) == set(OrderPaid.model_fields)


def test_concat_refuses_batches_of_different_types() -> None:
    with pytest.raises(ValueError):
        EventBatch.concat([EventBatch.of("DAILY_TICK", [0], day=1), EventBatch.of("OPTIMIZATION_TICK", [0], day=1)])


def test_events_yields_each_row_as_a_validated_contract_model_with_python_values() -> None:
    batch = EventBatch.of("USER_COMMAND", [4, 2], target=["ceo", "store"], command="pause", argument=["", "3"])
    rows = list(batch.events())
    assert [run for run, _ in rows] == [4, 2]
    assert rows[1][1] == UserCommand(target="store", command="pause", argument="3")
    for _, event in _orders([0, 1, 2]).events():
        assert isinstance(event, OrderPaid)
        assert type(event.amount_cents) is int


def test_from_events_round_trips_through_events() -> None:
    tickets = [TicketCreated(ticket_id=i, order_id=10 + i, product=i % 2, reason=i % 4, days_late=i, amount_cents=999)
               for i in range(5)]
    runs = [3, 1, 4, 1, 5]
    batch = EventBatch.from_events(runs, tickets)
    assert batch.type == "TICKET_CREATED"
    assert list(batch.events()) == list(zip(runs, tickets, strict=True))
    again = EventBatch.from_events([r for r, _ in batch.events()], [e for _, e in batch.events()])
    for name in batch.columns:
        np.testing.assert_array_equal(again[name], batch[name])


def test_from_events_refuses_nothing_and_mixed_types() -> None:
    with pytest.raises(ValueError, match="at least one event"):
        EventBatch.from_events([], [])
    mixed = [UserCommand(target="ceo", command="pause", argument=""),
             TicketCreated(ticket_id=1, order_id=1, product=1, reason=1, days_late=1, amount_cents=1)]
    with pytest.raises(ValueError, match="one type"):
        EventBatch.from_events([0, 0], mixed)


def test_one_per_type_concatenates_by_type_keeping_first_seen_type_and_row_order() -> None:
    day = [EventBatch.of("DAILY_TICK", [0], day=3), EventBatch.of("DAILY_TICK", [2, 1], day=3)]
    crash = EventBatch.of("MARKET_CRASH", [1], kind="market_crash", traffic=0.5, conversion=0.8, cpm=0.9, days=21)
    grouped = EventBatch.one_per_type([day[0], crash, day[1]])
    assert [b.type for b in grouped] == ["DAILY_TICK", "MARKET_CRASH"]
    np.testing.assert_array_equal(grouped[0].run, [0, 2, 1])
    assert grouped[1] is crash
    assert EventBatch.one_per_type([]) == []
