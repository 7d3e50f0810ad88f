"""PostgreSQL binary COPY, built and parsed with NumPy instead of per-value Python.

The daily KPIs of a cohort are a few million numbers; formatting them one by
one in Python would dominate the write. A row's daily KPIs (a run's span of
days) are one bytea of big-endian values, so rows with the same number of days
have the same width in COPY's binary format, and a block of rows is one NumPy
byte matrix: constant length words broadcast, big-endian values copied in.
Reading back works the same way on a fixed-width `COPY (SELECT …) TO STDOUT`.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
COPY_TRAILER = struct.pack(">h", -1)
DECODE_BATCH_BYTES = 8 << 20


def encode_bytea_rows(
    scalars: Sequence[np.ndarray], blobs: Sequence[Sequence[np.ndarray]]
) -> np.ndarray:
    """Binary COPY rows: int8 columns `scalars` (n,), then one bytea column per entry of
    `blobs`, each row's value the row's values of its (n, k) matrices side by side,
    big-endian (float64, int32, … as given).

    Returns an (n, width) uint8 matrix whose bytes are the rows, ready for `copy.write`.
    """
    count = len(scalars[0])
    kinds = tuple(tuple((np.dtype(m.dtype).newbyteorder(">"), m.shape[1]) for m in blob)
                  for blob in blobs)
    template = _row_template(len(scalars), kinds)
    out = np.empty((count, len(template)), dtype=np.uint8)
    # Every byte that is not a value (field count, lengths) is the same in each row:
    # one broadcast copy writes them, then one strided pass per matrix the values.
    out[:] = template
    position = 2
    for values in scalars:
        out[:, position + 4 : position + 12].view(">i8")[:, 0] = values
        position += 12
    for blob, blob_kinds in zip(blobs, kinds, strict=True):
        position += 4
        for matrix, (kind, width) in zip(blob, blob_kinds, strict=True):
            out[:, position : position + width * kind.itemsize].view(kind)[:] = matrix
            position += width * kind.itemsize
    return out


@functools.lru_cache(maxsize=16)
def _row_template(
    scalar_count: int, kinds: tuple[tuple[tuple[np.dtype, int], ...], ...]
) -> np.ndarray:
    """One binary COPY row with every value zero: its constant bytes."""
    parts = [struct.pack(">h", scalar_count + len(kinds))]
    parts += [struct.pack(">iq", 8, 0)] * scalar_count
    for blob in kinds:
        size = sum(kind.itemsize * width for kind, width in blob)
        parts.append(struct.pack(">i", size) + bytes(size))
    return np.frombuffer(b"".join(parts), dtype=np.uint8)


def fixed_width_row_dtype(fields: Sequence[tuple[str, Any, int]]) -> np.dtype:
    """The NumPy record of one binary COPY row of non-null fields.

    Each field is (name, big-endian kind, length): length 0 is one value of `kind`
    (a scalar, or a structured dtype laying out a bytea), n > 0 a bytea holding n
    big-endian values of `kind`. Values come out as `record[name]`.
    """
    layout: list[tuple[Any, ...]] = [("_fields", ">i2")]
    for name, kind, length in fields:
        shape = () if length == 0 else (length,)
        layout += [(f"_{name}_length", ">i4"), (name, kind, shape)]
    return np.dtype(layout)


def decode_fixed_width_rows(
    chunks: Iterable[bytes | bytearray | memoryview], fields: Sequence[tuple[str, Any, int]]
) -> Iterator[np.ndarray]:
    """Parse a binary COPY TO stream of fixed-width rows into record arrays, chunk by chunk."""
    row = fixed_width_row_dtype(fields)
    pending = bytearray()
    header_seen = False

    def complete_rows() -> np.ndarray:
        # The 2-byte trailer is shorter than a row, so it never counts as one.
        size = len(pending) // row.itemsize * row.itemsize
        records = np.frombuffer(bytes(pending[:size]), dtype=row)
        if (records["_fields"] != len(fields)).any():
            raise ValueError("binary COPY row has an unexpected field count (a NULL value?)")
        del pending[:size]
        return records

    for chunk in chunks:
        # The server sends one message per row: parse in large batches.
        pending += chunk
        if not header_seen:
            if len(pending) < len(COPY_HEADER):
                continue
            if bytes(pending[: len(COPY_HEADER)]) != COPY_HEADER:
                raise ValueError("unexpected binary COPY header")
            del pending[: len(COPY_HEADER)]
            header_seen = True
        if len(pending) >= DECODE_BATCH_BYTES:
            yield complete_rows()
    if len(pending) > len(COPY_TRAILER):
        yield complete_rows()
    if bytes(pending) != COPY_TRAILER:
        raise ValueError("binary COPY stream ended without its trailer")
