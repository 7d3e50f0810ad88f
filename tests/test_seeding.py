"""The seeding entry point: run identities, keys, and counter-based uniforms.

A run's draws must be a pure function of (key, stream name, counter): these
tests pin that down, check the uniforms look uniform and independent, and that
identities do not depend on the process (hash randomisation, dict order).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from ds1ray import seeding
from ds1ray.runspec import RunSpec
from ds1ray.seeding import Stream, Streams, counter, mix64

U64 = np.uint64
_MASK = (1 << 64) - 1


def _keys(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.uint64)


def _unmix64(z: int) -> int:
    """Inverse of SplitMix64's finaliser, to construct a key whose first draw has chosen bits."""

    def unxorshift(x: int, shift: int) -> int:
        out = x
        for _ in range(64 // shift + 1):
            out = x ^ (out >> shift)
        return out & _MASK

    z = unxorshift(z, 31)
    z = (z * pow(0x94D049BB133111EB, -1, 1 << 64)) & _MASK
    z = unxorshift(z, 27)
    z = (z * pow(0xBF58476D1CE4E5B9, -1, 1 << 64)) & _MASK
    return unxorshift(z, 30)


def test_unmix64_inverts_the_finaliser_so_the_constructed_keys_below_mean_what_they_say() -> None:
    for x in (0, 1, 0x0123456789ABCDEF, _MASK):
        assert _unmix64(int(mix64(np.array([x], U64))[0])) == x


def test_same_key_and_counter_give_the_same_uniform() -> None:
    a = Stream(_keys(7, 8), "demand").uniform(np.arange(100)[None, :] + np.zeros((2, 1), np.int64))
    b = Stream(_keys(7, 8), "demand").uniform(np.arange(100)[None, :] + np.zeros((2, 1), np.int64))
    np.testing.assert_array_equal(a, b)
    # Asking for one counter alone gives the value it has inside a larger request.
    single = Stream(_keys(7, 8), "demand").uniform(np.array([[42], [42]]))
    np.testing.assert_array_equal(single[:, 0], a[:, 42])


def test_a_rows_draw_depends_on_its_own_key_not_on_its_position_in_the_cohort() -> None:
    keys = _keys(11, 22, 33)
    together = Stream(keys, "orders").uniform(np.arange(50)[None, :], rows=np.array([2, 0, 1]))
    alone = Stream(_keys(33), "orders").uniform(np.arange(50)[None, :])
    np.testing.assert_array_equal(together[0], alone[0])


def test_different_stream_names_give_unrelated_draws() -> None:
    streams = Streams(_keys(5))
    count = np.arange(20_000)[None, :]
    a, b = streams["demand"].uniform(count)[0], streams["orders"].uniform(count)[0]
    assert not np.any(a == b)
    assert abs(np.corrcoef(a, b)[0, 1]) < 4 / np.sqrt(a.size)


def test_different_keys_give_unrelated_draws() -> None:
    count = np.arange(20_000)[None, :]
    a, b = Stream(_keys(1), "x").uniform(count)[0], Stream(_keys(2), "x").uniform(count)[0]
    assert not np.any(a == b)
    assert abs(np.corrcoef(a, b)[0, 1]) < 4 / np.sqrt(a.size)


def test_streams_are_created_once_per_name() -> None:
    streams = Streams(_keys(3))
    assert streams["a"] is streams["a"]
    assert streams["a"] is not streams["b"]


def test_uniforms_lie_in_the_open_unit_interval_with_mean_one_half_and_flat_histogram() -> None:
    n = 200_000
    u = Stream(_keys(123456789), "check").uniform(np.arange(n)[None, :])[0]
    assert u.min() > 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 4 * np.sqrt(1 / 12 / n)
    assert abs(u.var() - 1 / 12) < 0.002
    counts, _ = np.histogram(u, bins=20, range=(0, 1))
    expected = n / 20
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 45.3  # 99.9th percentile of chi-square with 19 degrees of freedom


def test_adjacent_counters_give_uncorrelated_uniforms() -> None:
    u = Stream(_keys(99), "check").uniform(np.arange(100_000)[None, :])[0]
    for lag in (1, 2, 64):
        assert abs(np.corrcoef(u[:-lag], u[lag:])[0, 1]) < 4 / np.sqrt(u.size)


def test_adjacent_keys_give_uncorrelated_uniforms() -> None:
    keys = np.arange(50_000, dtype=np.uint64)
    u = Stream(keys, "check").uniform(np.zeros((keys.size, 1), np.int64))[:, 0]
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 4 / np.sqrt(u.size)


def test_uniform_never_returns_one_even_when_all_53_bits_are_set() -> None:
    # Construct the run key whose stream key makes the draw at counter 0 all ones.
    name = "edge"
    stream_key = _unmix64(_MASK)  # mix64(stream_key + 0 · golden) is all ones
    run_key = _unmix64(stream_key) ^ (seeding._entropy("stream", name) & _MASK)
    stream = Stream(_keys(run_key), name)
    assert int(stream.keys[0]) == stream_key
    u = stream.uniform(np.zeros((1, 1), np.int64))
    assert u[0, 0] < 1.0
    assert np.isfinite(stream.normal(np.zeros((1, 1), np.int64))[0, 0])


def test_counter_packs_parts_into_disjoint_bit_fields() -> None:
    c = counter(3, 5, 7, bits=(24, 24, 16))
    assert int(c) == (3 << 40) | (5 << 16) | 7
    grid = counter(np.arange(4)[:, None], np.arange(3)[None, :], bits=(32, 32))
    assert grid.shape == (4, 3)
    assert len(np.unique(grid)) == 12


def test_counter_masks_each_part_to_its_width_whether_scalar_or_array() -> None:
    # Python ints are packed in Python, arrays (any integer dtype) in NumPy: the same fields either way.
    run = np.array([0, 5, 70_000], np.int64)
    expected = [((9 & 0xFF) << 56) | ((r & 0xFFFF) << 40) | (-2 & 0xFF_FFFF_FFFF) for r in run.tolist()]
    for parts in ((9, run, -2), (np.int64(9), run.astype(np.int32), np.full(3, -2))):
        packed = counter(*parts, bits=(8, 16, 40))
        assert packed.dtype == np.uint64
        assert packed.tolist() == expected


def test_counter_rejects_mismatched_widths() -> None:
    with pytest.raises(ValueError, match="one width per part"):
        counter(1, 2, bits=(32,))
    with pytest.raises(ValueError, match="at most 64 bits"):
        counter(1, 2, bits=(40, 40))


def test_run_id_and_run_key_are_stable_for_equal_identities_whatever_the_dict_order() -> None:
    a = {"marketing.allocation": "bandit", "store.markup": 3.0}
    b = {"store.markup": 3.0, "marketing.allocation": "bandit"}
    assert seeding.run_id("exp", a, 4) == seeding.run_id("exp", b, 4)
    assert seeding.run_key("exp", a, 4) == seeding.run_key("exp", b, 4)
    assert seeding.run_key("exp", a, 4) != seeding.run_key("exp", a, 5)
    assert seeding.run_key("exp", a, 4) != seeding.run_key("other", a, 4)
    assert seeding.run_key("exp", a, 4) != seeding.run_key("exp", {**a, "store.markup": 3.5}, 4)
    assert seeding.run_id("exp", a, 4).startswith("exp-") and seeding.run_id("exp", a, 4).endswith("-s4")


def test_run_identity_and_keys_are_the_same_in_another_process() -> None:
    spec = RunSpec("stable", 17, "greedy", {"marketing.allocation": "roas_greedy", "store.markup": 2.75})
    script = textwrap.dedent("""
        from ds1ray.runspec import RunSpec
        spec = RunSpec("stable", 17, "greedy", {"store.markup": 2.75, "marketing.allocation": "roas_greedy"})
        print(spec.run_id, spec.run_key, spec.market_key)
    """)
    # A different hash seed: anything relying on Python's str hash would change.
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env)
    run_id, run_key, market_key = out.stdout.split()
    assert (run_id, int(run_key), int(market_key)) == (spec.run_id, spec.run_key, spec.market_key)


def test_market_key_depends_on_the_seed_only() -> None:
    specs = [RunSpec("a", 9), RunSpec("b", 9, "bandit", {"marketing.allocation": "bandit"}),
             RunSpec("a", 9, "rich", {"market.money.starting_cash": 1e5})]
    assert len({s.market_key for s in specs}) == 1
    assert len({s.run_key for s in specs}) == 3
    assert len({seeding.market_key(seed) for seed in range(1000)}) == 1000


def test_keys_are_64_bit_unsigned_integers() -> None:
    for key in (seeding.market_key(0), seeding.run_key("e", {}, 0)):
        assert 0 <= key <= _MASK
