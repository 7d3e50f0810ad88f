"""The one seeding entry point: run identities, keys, and counter-based random streams.

A run is identified by (experiment, parameters, replicate seed). Its random
draws never come from a stateful generator: each draw is a pure function of a
64-bit key and a counter that names what is drawn (day, product slot, order id).
So a run's draws do not depend on which other runs share its cohort, in what
order, or on which worker — the basis of bit-identical results alone or in a
cohort of 2,000.

Two kinds of key:
- the *market key* depends on the replicate seed only: every strategy with the
  same seed meets the same market (common random numbers);
- the *run key* depends on the whole identity: the agents' own randomness
  (a bandit's exploration) differs between strategies.

Keys are derived with `numpy.random.SeedSequence`; uniforms come from the
the top 52 bits of the SplitMix64 finaliser applied to `key + counter · golden ratio`, the construction
behind SplitMix64 itself, which passes BigCrush for sequential counters.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtri

U64 = np.uint64
_GOLDEN = U64(0x9E3779B97F4A7C15)
_MIX1 = U64(0xBF58476D1CE4E5B9)
_MIX2 = U64(0x94D049BB133111EB)
_TO_UNIT = 1.0 / float(1 << 52)
_SHIFT12, _SHIFT27, _SHIFT30, _SHIFT31 = U64(12), U64(27), U64(30), U64(31)
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


def canonical_params(params: Mapping[str, Any]) -> str:
    """The parameters as canonical JSON: sorted keys, no whitespace, so equal dicts hash equally."""
    return json.dumps(dict(params), sort_keys=True, separators=(",", ":"), default=str)


def _entropy(*parts: str) -> int:
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).digest()
    return int.from_bytes(digest, "little")


def _key_from(entropy: int) -> int:
    state = np.random.SeedSequence(entropy).generate_state(2, dtype=np.uint32)
    return int(state[0]) | (int(state[1]) << 32)


def run_id(experiment: str, params: Mapping[str, Any], seed: int) -> str:
    """A short stable identifier of (experiment, parameters, replicate seed)."""
    digest = hashlib.blake2b(
        f"{experiment}\x1f{canonical_params(params)}".encode(), digest_size=5
    ).hexdigest()
    return f"{experiment}-{digest}-s{seed}"


def run_key(experiment: str, params: Mapping[str, Any], seed: int) -> int:
    """64-bit key of a run's own randomness (agents' exploration)."""
    return _key_from(_entropy("run", experiment, canonical_params(params), str(int(seed))))


def market_key(seed: int) -> int:
    """64-bit key of the market a replicate seed meets; shared by all strategies."""
    return _key_from(_entropy("market", str(int(seed))))


def stream_key(keys: NDArray[np.uint64], name: str) -> NDArray[np.uint64]:
    """Per-run keys of the stream `name` (one independent stream per name)."""
    return mix64(keys ^ U64(_entropy("stream", name) & 0xFFFFFFFFFFFFFFFF))


def mix64(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """SplitMix64's finaliser: a bijective 64-bit mixer (wrapping arithmetic is intended)."""
    with np.errstate(over="ignore"):
        return _mix64_in_place(x.astype(np.uint64, copy=True))


def _mix64_in_place(z: NDArray[np.uint64]) -> NDArray[np.uint64]:
    z ^= z >> _SHIFT30
    z *= _MIX1
    z ^= z >> _SHIFT27
    z *= _MIX2
    z ^= z >> _SHIFT31
    return z


def counter(*parts: ArrayLike, bits: tuple[int, ...]) -> NDArray[np.uint64]:
    """Pack small non-negative integers into one 64-bit counter, `bits` wide each (first is highest)."""
    if len(parts) != len(bits) or sum(bits) > 64:
        raise ValueError("counter: one width per part, at most 64 bits in all")
    # Each part lands, masked to its width, at the bits after it: the sum of shifted fields. Python ints
    # (days, field numbers) are packed in Python, arrays with one NumPy expression each.
    scalars = 0
    packed: NDArray[np.uint64] | None = None
    offset = sum(bits)
    for part, width in zip(parts, bits, strict=True):
        offset -= width
        mask = (1 << width) - 1
        if type(part) is int and _INT64_MIN <= part <= _INT64_MAX:
            scalars |= (part & mask) << offset
            continue
        value = np.asarray(part)
        value = value.view(np.uint64) if value.dtype == np.int64 else value.astype(np.int64).astype(np.uint64)
        field = (value & U64(mask)) << U64(offset)
        packed = field if packed is None else packed | field
    if packed is None:
        return U64(scalars)  # type: ignore[return-value]  # as NumPy gives for scalar parts
    return packed | U64(scalars) if scalars else packed


class Stream:
    """A named random stream over the runs of a cohort.

    `uniform(count, rows)` draws U(0,1) for counter values `count`. The first
    axis of `count` runs along the keys: one key per run when `rows` is omitted
    (pass a leading axis of 1 to share counters across runs), or the key of each
    row's run when `rows` (cohort row indices) is given.
    """

    def __init__(self, keys: NDArray[np.uint64], name: str) -> None:
        self.name = name
        self.keys = stream_key(keys, name)

    def uniform(self, count: ArrayLike, rows: NDArray[np.integer] | None = None) -> NDArray[np.float64]:
        keys = self.keys if rows is None else self.keys[rows]
        count_arr = np.asarray(count, dtype=np.uint64)
        # The keys run along the counter's first axis; further axes broadcast.
        if count_arr.ndim > 1:
            keys = keys.reshape((-1,) + (1,) * (count_arr.ndim - 1))
        with np.errstate(over="ignore"):
            bits = _mix64_in_place(keys + count_arr * _GOLDEN)  # a fresh array: mixed where it lies
        bits >>= _SHIFT12
        # Open interval (0, 1): inverse CDFs must never see 0 or 1. With 52 bits the largest value,
        # (2**52 - 0.5) / 2**52 = 1 - 2**-53, is exactly representable; with 53 it would round to 1.0.
        unit = bits.astype(np.float64)
        unit += 0.5
        unit *= _TO_UNIT
        return unit

    def normal(self, count: ArrayLike, rows: NDArray[np.integer] | None = None) -> NDArray[np.float64]:
        return np.asarray(ndtri(self.uniform(count, rows)), dtype=np.float64)


class Streams:
    """The streams of a cohort, created once per name."""

    def __init__(self, keys: NDArray[np.uint64]) -> None:
        self.keys = np.asarray(keys, dtype=np.uint64)
        self._streams: dict[str, Stream] = {}

    def __getitem__(self, name: str) -> Stream:
        stream = self._streams.get(name)
        if stream is None:
            stream = self._streams[name] = Stream(self.keys, name)
        return stream
