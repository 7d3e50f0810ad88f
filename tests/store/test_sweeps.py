"""Sweep recording: round trip, idempotence per cohort, atomicity, validation (both backends)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ds1ray.errors import UserError
from ds1ray.store import Store, Transaction, load_sweep, open_store
from ds1ray.store import sweeps as sweeps_module
from ds1ray.store.result_tables import check_cohort

from .conftest import PostgresServer
from .frames import make_cohort

MANIFEST = {"experiment": "exp-a", "days": 4, "space": {"marketing.allocation": [0.25, 0.5]}}


def count(store: Store, table: str) -> int:
    return int(store.run(lambda tx: tx.scalar(f"SELECT COUNT(*) FROM {table}")))


def test_a_recorded_cohort_loads_back_with_the_same_columns_dtypes_and_order(store: Store):
    runs, daily = make_cohort(0)
    assert store.record_sweep_cohort("exp-a", MANIFEST, runs, daily, "cohort-0") is True
    loaded_runs, loaded_daily = load_sweep(store, "exp-a")
    pd.testing.assert_frame_equal(loaded_runs, runs)
    pd.testing.assert_frame_equal(loaded_daily, daily)


def test_several_cohorts_load_back_in_recording_order_whatever_their_row_layout(store: Store):
    cohorts = [make_cohort(0), make_cohort(1, runs=3, day_major=True), make_cohort(2, days=7)]
    for index, (runs, daily) in enumerate(cohorts):
        assert store.record_sweep_cohort("exp-a", MANIFEST, runs, daily, f"cohort-{index}")
    loaded_runs, loaded_daily = store.load_sweep("exp-a")
    pd.testing.assert_frame_equal(
        loaded_runs, pd.concat([runs for runs, _ in cohorts], ignore_index=True))
    pd.testing.assert_frame_equal(
        loaded_daily, pd.concat([daily for _, daily in cohorts], ignore_index=True))


def test_runs_that_end_early_keep_their_own_days(store: Store):
    runs, daily = make_cohort(0, runs=4, days=6)
    # Run 1 went bankrupt after day 2, run 3 joined on day 2: different day ranges.
    keep = ~(((daily["run_id"] == "c0-r1") & (daily["day"] > 2))
             | ((daily["run_id"] == "c0-r3") & (daily["day"] < 2)))
    daily = daily[keep].reset_index(drop=True)
    store.record_sweep_cohort("exp-a", MANIFEST, runs, daily, "cohort-0")
    pd.testing.assert_frame_equal(store.load_sweep("exp-a")[1], daily)


def test_recording_a_cohort_twice_writes_nothing_the_second_time(store: Store):
    runs, daily = make_cohort(0)
    assert store.record_sweep_cohort("exp-a", MANIFEST, runs, daily, "cohort-0") is True
    before = [count(store, table) for table in ("sweep_runs", "sweep_daily", "sweep_cohorts")]
    assert store.record_sweep_cohort("exp-a", MANIFEST, runs, daily, "cohort-0") is False
    after = [count(store, table) for table in ("sweep_runs", "sweep_daily", "sweep_cohorts")]
    assert after == before
    assert len(store.load_sweep("exp-a")[0]) == len(runs)


def test_a_write_that_fails_midway_leaves_nothing_and_can_be_redone(
    store: Store, monkeypatch: pytest.MonkeyPatch
):
    runs, daily = make_cohort(0)
    real_copy, real_insert = sweeps_module._copy_cohort, sweeps_module._insert_cohort

    def write_then_die(real: Callable[..., None]) -> Callable[..., None]:
        def broken(tx: Transaction, *args: Any) -> None:
            real(tx, *args)  # the runs and daily rows are written …
            raise KeyboardInterrupt("killed before commit")  # … and the process dies

        return broken

    monkeypatch.setattr(sweeps_module, "_copy_cohort", write_then_die(real_copy))
    monkeypatch.setattr(sweeps_module, "_insert_cohort", write_then_die(real_insert))
    with pytest.raises(KeyboardInterrupt):
        store.record_sweep_cohort("exp-a", MANIFEST, runs, daily, "cohort-0")
    for table in ("experiments", "sweep_cohorts", "sweep_runs", "sweep_daily"):
        assert count(store, table) == 0, table
    monkeypatch.undo()
    assert store.record_sweep_cohort("exp-a", MANIFEST, runs, daily, "cohort-0") is True
    pd.testing.assert_frame_equal(store.load_sweep("exp-a")[0], runs)


def test_a_different_manifest_for_a_recorded_experiment_is_refused(store: Store):
    runs, daily = make_cohort(0)
    store.record_sweep_cohort("exp-a", MANIFEST, runs, daily, "cohort-0")
    other_runs, other_daily = make_cohort(1)
    with pytest.raises(UserError, match="different manifest"):
        store.record_sweep_cohort("exp-a", {**MANIFEST, "days": 5}, other_runs, other_daily, "c1")


def test_a_run_id_recorded_in_another_cohort_is_refused(store: Store):
    runs, daily = make_cohort(0)
    store.record_sweep_cohort("exp-a", MANIFEST, runs, daily, "cohort-0")
    with pytest.raises(ValueError, match="already recorded in another cohort"):
        store.record_sweep_cohort("exp-a", MANIFEST, runs, daily, "cohort-0-again")
    assert count(store, "sweep_cohorts") == 1


def test_frames_that_break_the_result_table_contract_are_refused_by_name(store: Store):
    runs, daily = make_cohort(0)
    with pytest.raises(ValueError, match=r"missing columns \['net_profit'\]"):
        store.record_sweep_cohort("e", MANIFEST, runs.drop(columns="net_profit"), daily, "c")
    with pytest.raises(ValueError, match="unexpected \\['visits'\\]"):
        store.record_sweep_cohort("e", MANIFEST, runs, daily.assign(visits=1), "c")
    with pytest.raises(ValueError, match="run_id 'ghost' is not in runs"):
        broken = daily.copy()
        broken.loc[0, "run_id"] = "ghost"
        store.record_sweep_cohort("e", MANIFEST, runs, broken, "c")
    with pytest.raises(ValueError, match="skips days"):
        store.record_sweep_cohort("e", MANIFEST, runs, daily[daily["day"] != 2], "c")
    with pytest.raises(ValueError, match="'sessions' has counts outside the 32-bit range"):
        store.record_sweep_cohort("e", MANIFEST, runs, daily.assign(sessions=2**31), "c")
    with pytest.raises(ValueError, match="ordered by run"):
        store.record_sweep_cohort("e", MANIFEST, runs, daily.iloc[::-1], "c")
    assert count(store, "experiments") == 0


def test_parameters_that_json_cannot_hold_are_refused_before_any_cohort_is_written(
    store: Store,
):
    good, bad = make_cohort(0), make_cohort(1)
    infinite = bad[0].assign(**{"marketing.allocation": np.inf})
    with pytest.raises(ValueError, match=r"parameter 'marketing\.allocation' has an infinite"):
        store.record_sweep_cohorts("e", MANIFEST, [(*good, "c0"), (infinite, bad[1], "c1")])
    listed = bad[0].astype({"support.channel": object})
    listed.at[2, "support.channel"] = ["email", "chat"]
    with pytest.raises(ValueError, match=r"parameter 'support.channel' has the value \['email'"):
        store.record_sweep_cohorts("e", MANIFEST, [(*good, "c0"), (listed, bad[1], "c1")])
    stamped = bad[0].assign(started=pd.Timestamp("2026-01-05"))
    with pytest.raises(ValueError, match="parameter 'started' has dtype datetime64"):
        store.record_sweep_cohorts("e", MANIFEST, [(*good, "c0"), (stamped, bad[1], "c1")])
    assert count(store, "sweep_runs") == 0
    # Missing values of every kind are stored as JSON null.
    missing = bad[0].astype({"support.channel": object})
    missing.loc[0:2, "support.channel"] = [None, pd.NA, np.nan]
    assert store.record_sweep_cohort("e", MANIFEST, missing, bad[1], "c1")
    assert load_sweep(store, "e")[0]["support.channel"].isna().tolist()[:4] == [
        True, True, True, False]


def test_later_cohorts_must_keep_the_first_cohorts_columns(store: Store):
    runs, daily = make_cohort(0)
    store.record_sweep_cohort("exp-a", MANIFEST, runs, daily, "cohort-0")
    runs1, daily1 = make_cohort(1)
    with pytest.raises(ValueError, match="runs columns/dtypes differ"):
        store.record_sweep_cohort("exp-a", MANIFEST, runs1.assign(seed=runs1["seed"] * 1.0),
                                  daily1, "cohort-1")


def test_loading_an_unknown_experiment_names_it(store: Store):
    with pytest.raises(UserError, match="experiment 'nope' is not recorded"):
        load_sweep(store, "nope")


def test_the_daily_rows_view_shows_one_row_per_run_and_day(store: Store):
    runs, daily = make_cohort(0)
    store.record_sweep_cohort("exp-a", MANIFEST, runs, daily, "cohort-0")
    rows = store.run(lambda tx: tx.execute(
        "SELECT run_id, day, cash, orders, roas FROM sweep_daily_rows WHERE experiment = %s "
        "ORDER BY run_id, day", ["exp-a"]).fetchall())
    expected = daily.sort_values(["run_id", "day"])
    assert [(r, int(d)) for r, d, *_ in rows] == list(
        zip(expected["run_id"], expected["day"].astype(int), strict=True))
    assert np.array_equal([float(row[2]) for row in rows], expected["cash"])
    assert [int(row[3]) for row in rows] == expected["orders"].tolist()
    # NaN shows as NULL on SQLite (JSON has no NaN); infinities survive on both.
    roas = np.array([np.nan if row[4] is None else float(row[4]) for row in rows])
    assert np.array_equal(roas, expected["roas"], equal_nan=True)


def test_the_daily_rows_view_decodes_every_float_and_count_exactly(store: Store):
    runs, daily = make_cohort(0, runs=2, days=6)
    edges = [-0.0, 5e-324, -2.2250738585072014e-308, 1.7976931348623157e308, 1 / 3, -1e-310]
    daily.loc[0:5, "cash"] = edges
    daily.loc[6:11, "revenue"] = [-np.inf, np.inf, 0.1, 2.0**-1022, 123456.78, -7.5]
    daily.loc[0:1, "sessions"] = [2**31 - 1, -(2**31)]
    store.record_sweep_cohort("exp-a", MANIFEST, runs, daily, "cohort-0")
    rows = store.run(lambda tx: tx.execute(
        "SELECT cash, revenue, sessions FROM sweep_daily_rows WHERE experiment = %s "
        "ORDER BY run_id, day", ["exp-a"]).fetchall())
    cash = np.array([row[0] for row in rows], dtype=np.float64)
    revenue = np.array([row[1] for row in rows], dtype=np.float64)
    assert np.array_equal(cash.view(np.int64), daily["cash"].to_numpy().view(np.int64))  # -0.0
    assert np.array_equal(revenue.view(np.int64), daily["revenue"].to_numpy().view(np.int64))
    assert [row[2] for row in rows] == daily["sessions"].tolist()


def test_runs_longer_than_a_span_are_stored_in_rows_of_at_most_a_span(store: Store):
    span = sweeps_module.SPAN_DAYS
    runs, daily = make_cohort(0, runs=3, days=2 * span + 9, day_major=True)
    # The float64 edges either side of the first span border.
    daily = daily.sort_values(["run_id", "day"], kind="stable").reset_index(drop=True)
    daily.loc[span - 3 : span + 2, "cash"] = [-0.0, 5e-324, -2.2250738585072014e-308,
                                               np.nan, -np.inf, 1 / 3]
    daily = daily.sort_values(["day", "run_id"], kind="stable").reset_index(drop=True)
    store.record_sweep_cohort("exp-a", MANIFEST, runs, daily, "cohort-0")
    loaded_runs, loaded_daily = load_sweep(store, "exp-a")
    pd.testing.assert_frame_equal(loaded_runs, runs)
    pd.testing.assert_frame_equal(loaded_daily, daily)
    assert np.array_equal(loaded_daily["cash"].to_numpy().view(np.int64),
                          daily["cash"].to_numpy().view(np.int64))
    spans = store.run(lambda tx: tx.execute(
        "SELECT first_day, day_count FROM sweep_daily ORDER BY run_no, first_day").fetchall())
    assert [(int(first), int(count)) for first, count in spans] == [
        (0, span), (span, span), (2 * span, 9)] * 3
    assert count(store, "sweep_daily_rows") == len(daily)


@pytest.mark.postgres
def test_postgres_keeps_the_daily_rows_inline_without_toast(postgres_server: PostgresServer):
    runs, daily = make_cohort(0, runs=4, days=365)
    with open_store(postgres_server.new_database()) as store:
        store.record_sweep_cohort("exp-a", MANIFEST, runs, daily, "cohort-0")
        toast_bytes = store.run(lambda tx: tx.scalar(
            "SELECT pg_relation_size(reltoastrelid) FROM pg_class WHERE relname = 'sweep_daily'"))
        pd.testing.assert_frame_equal(load_sweep(store, "exp-a")[1], daily)
    assert int(toast_bytes) == 0


def test_daily_kpis_of_a_run_that_is_not_recorded_are_refused_on_loading(store: Store):
    runs, daily = make_cohort(0)
    store.record_sweep_cohort("exp-a", MANIFEST, runs, daily, "cohort-0")
    store.run(lambda tx: tx.execute(
        "INSERT INTO sweep_daily (experiment_id, run_no, first_day, day_count, kpis) "
        "SELECT experiment_id, 99, first_day, day_count, kpis FROM sweep_daily WHERE run_no = 1"))
    with pytest.raises(UserError, match="daily KPIs of run number 99, which sweep_runs does not"):
        load_sweep(store, "exp-a")


def test_daily_run_ids_of_other_dtypes_or_irregular_layouts_still_find_their_runs(store: Store):
    runs, daily = make_cohort(0, runs=3, days=4)
    as_objects = daily.astype({"run_id": object})
    store.record_sweep_cohort("exp-a", MANIFEST, runs, as_objects, "cohort-0")
    pd.testing.assert_frame_equal(load_sweep(store, "exp-a")[1], as_objects)
    # Runs of different lengths, and run ids that are categories of another set.
    runs, daily = make_cohort(1, runs=3, days=4)
    daily = daily[(daily["run_id"] != "c1-r1") | (daily["day"] < 2)].reset_index(drop=True)
    categorical_runs = runs.astype({"run_id": pd.CategoricalDtype(["c1-r0", "c1-r1", "c1-r2"])})
    categorical_daily = daily.astype({"run_id": pd.CategoricalDtype(["c1-r2", "c1-r1", "c1-r0"])})
    checked = check_cohort(categorical_runs, categorical_daily)
    assert checked.run_positions.tolist() == [0] * 4 + [1] * 2 + [2] * 4
    with pytest.raises(ValueError, match="run_id 'c1-r9' is not in runs"):
        check_cohort(runs, daily.replace({"run_id": {"c1-r2": "c1-r9"}}))
