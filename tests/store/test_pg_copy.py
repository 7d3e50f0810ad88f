"""Binary COPY built and parsed with NumPy, checked against a real server."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest

from ds1ray.store import pg_copy

from .conftest import PostgresServer


@pytest.mark.postgres
def test_rows_encoded_by_numpy_are_read_by_postgresql_and_decoded_back(
    postgres_server: PostgresServer,
):
    rng = np.random.default_rng(3)
    cash = rng.normal(0, 1e6, (5, 7))
    cash[0, 0] = np.nan
    orders = rng.integers(-(2**31), 2**31 - 1, (5, 7), dtype=np.int64).astype(np.int32)
    big = rng.integers(-(2**62), 2**62, (5, 7))
    ids = np.arange(5, dtype=np.int64) * 10**12
    rows = pg_copy.encode_bytea_rows([ids], [[cash, orders], [big]])
    with psycopg.connect(postgres_server.database_url("postgres"), autocommit=True) as connection:
        connection.execute("CREATE TEMP TABLE t (id BIGINT, kpis BYTEA, big BYTEA)")
        with connection.cursor().copy("COPY t FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(pg_copy.COPY_HEADER + rows.tobytes() + pg_copy.COPY_TRAILER)
        # A blob is its matrices' rows side by side, big-endian, as PostgreSQL's own send
        # functions make the values.
        assert connection.execute(
            "SELECT substring(kpis FROM 56 + 9 FOR 4) = int4send(%s), length(kpis), length(big) "
            "FROM t WHERE id = %s", [int(orders[2, 2]), int(ids[2])]).fetchone() == (True, 84, 56)
        layout = np.dtype([("cash", ">f8", (7,)), ("orders", ">i4", (7,))])
        fields = [("id", ">i8", 0), ("kpis", layout, 0), ("big", ">i8", 7)]
        with connection.cursor().copy(
            "COPY (SELECT id, kpis, big FROM t ORDER BY id) TO STDOUT (FORMAT BINARY)"
        ) as copy:
            [records] = list(pg_copy.decode_fixed_width_rows(copy, fields))
    assert (records["id"] == ids).all()
    np.testing.assert_array_equal(records["kpis"]["cash"], cash)  # NaN included
    np.testing.assert_array_equal(records["kpis"]["orders"], orders)
    np.testing.assert_array_equal(records["big"], big)


def test_a_stream_cut_short_is_an_error_not_fewer_rows():
    rows = pg_copy.encode_bytea_rows([np.arange(3, dtype=np.int64)], [[np.zeros((3, 2))]])
    stream = pg_copy.COPY_HEADER + rows.tobytes()  # no trailer: the server died mid-stream
    with pytest.raises(ValueError, match="without its trailer"):
        list(pg_copy.decode_fixed_width_rows([stream[:50], stream[50:]],
                                             [("n", ">i8", 0), ("a", ">f8", 2)]))
