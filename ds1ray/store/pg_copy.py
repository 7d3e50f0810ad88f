"""PostgreSQL binary COPY, built and parsed with NumPy instead of per-value Python.

The daily KPIs of a cohort are a few million numbers; formatting them one by
one in Python would dominate the write. Rows whose runs have the same number
of days have the same width in COPY's binary format, so a block of rows is one
NumPy byte matrix: constant headers broadcast, big-endian values copied in.
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
FLOAT8_OID = 701
INT8_OID = 20
INT4_OID = 23


def _field(kind: np.dtype) -> np.dtype:
    """One non-null field of a binary COPY row: int32 length, then the value."""
    return np.dtype({"names": ["length", "value"], "formats": [">i4", kind],
                     "offsets": [0, 4], "itemsize": 4 + kind.itemsize})


_INT8_FIELD = _field(np.dtype(">i8"))
# Array element dtypes (without byte order) -> (big-endian dtype, PostgreSQL type oid).
_ARRAY_KINDS: dict[str, tuple[np.dtype, int]] = {
    "f8": (np.dtype(">f8"), FLOAT8_OID),
    "i8": (np.dtype(">i8"), INT8_OID),
    "i4": (np.dtype(">i4"), INT4_OID),
}


def encode_array_rows(
    scalars: Sequence[np.ndarray], arrays: Sequence[np.ndarray]
) -> np.ndarray:
    """Binary COPY rows: int8 columns `scalars` (n,), then 1-D arrays `arrays` (n, days).

    Each array is float8[], int8[] or int4[] by its dtype (float64, int64,
    int32). Returns an (n, width) uint8 matrix whose bytes are the rows, ready
    for `copy.write`.
    """
    count = len(scalars[0])
    days = arrays[0].shape[1] if arrays else 0
    kinds = [_ARRAY_KINDS[np.dtype(matrix.dtype).str[1:]] for matrix in arrays]
    template = _row_template(len(scalars), days, tuple(kinds))
    out = np.empty((count, len(template)), dtype=np.uint8)
    # Every byte that is not a value (field counts, lengths, array headers) is the
    # same in each row: one broadcast copy writes them, then one strided pass per
    # column writes the big-endian values.
    out[:] = template
    position = 2
    for values in scalars:
        out[:, position : position + 12].view(_INT8_FIELD)[:, 0]["value"] = values
        position += 12
    for matrix, (kind, _) in zip(arrays, kinds, strict=True):
        # Viewing the element bytes as (length, value) records lets NumPy write the
        # values in one strided pass per array.
        width = days * (4 + kind.itemsize)
        out[:, position + 24 : position + 24 + width].view(_field(kind))["value"] = matrix
        position += 24 + width
    return out


@functools.lru_cache(maxsize=16)
def _row_template(
    scalar_count: int, days: int, kinds: tuple[tuple[np.dtype, int], ...]
) -> np.ndarray:
    """One binary COPY row with every value zero: its constant bytes."""
    parts = [struct.pack(">h", scalar_count + len(kinds))]
    parts += [struct.pack(">iq", 8, 0)] * scalar_count
    for kind, oid in kinds:
        parts.append(struct.pack(">iiiiii", 20 + days * (4 + kind.itemsize), 1, 0, oid, days, 1))
        element = np.zeros(days, dtype=_field(kind))
        element["length"] = kind.itemsize
        parts.append(element.tobytes())
    return np.frombuffer(b"".join(parts), dtype=np.uint8)


def fixed_width_row_dtype(fields: Sequence[tuple[str, str, int]]) -> np.dtype:
    """The NumPy record of one binary COPY row of non-null fields.

    Each field is (name, big-endian kind, length): length 0 is a scalar, n > 0 a
    1-D array of n elements (whose values come out as `record[name]["value"]`).
    """
    layout: list[tuple[Any, ...]] = [("_fields", ">i2")]
    for name, kind, length in fields:
        if length == 0:
            layout += [(f"_{name}_length", ">i4"), (name, kind)]
        else:
            element = [("length", ">i4"), ("value", kind)]
            layout += [(f"_{name}_length", ">i4"), (f"_{name}_header", ">i4", (5,)),
                       (name, element, (length,))]
    return np.dtype(layout)


def decode_fixed_width_rows(
    chunks: Iterable[bytes | bytearray | memoryview], fields: Sequence[tuple[str, str, int]]
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
