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
    rows = pg_copy.encode_array_rows([ids], [cash, orders, big])
    with psycopg.connect(postgres_server.database_url("postgres"), autocommit=True) as connection:
        connection.execute("CREATE TEMP TABLE t (id BIGINT, cash FLOAT8[], orders INT4[], "
                           "big INT8[])")
        with connection.cursor().copy("COPY t FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(pg_copy.COPY_HEADER + rows.tobytes() + pg_copy.COPY_TRAILER)
        assert connection.execute("SELECT orders[3], big[7] FROM t WHERE id = %s",
                                  [int(ids[2])]).fetchone() == (orders[2, 2], big[2, 6])
        fields = [("id", ">i8", 0), ("cash", ">f8", 7), ("orders", ">i4", 7), ("big", ">i8", 7)]
        with connection.cursor().copy(
            "COPY (SELECT id, cash, orders, big FROM t ORDER BY id) TO STDOUT (FORMAT BINARY)"
        ) as copy:
            [records] = list(pg_copy.decode_fixed_width_rows(copy, fields))
    assert (records["id"] == ids).all()
    np.testing.assert_array_equal(records["cash"]["value"], cash)  # NaN included
    np.testing.assert_array_equal(records["orders"]["value"], orders)
    np.testing.assert_array_equal(records["big"]["value"], big)


def test_a_stream_cut_short_is_an_error_not_fewer_rows():
    rows = pg_copy.encode_array_rows([np.arange(3, dtype=np.int64)], [np.zeros((3, 2))])
    stream = pg_copy.COPY_HEADER + rows.tobytes()  # no trailer: the server died mid-stream
    with pytest.raises(ValueError, match="without its trailer"):
        list(pg_copy.decode_fixed_width_rows([stream[:50], stream[50:]],
                                             [("n", ">i8", 0), ("a", ">f8", 2)]))
