-- Daily KPIs as raw numbers: each run's KPIs are one blob of big-endian values
-- (float64 for cash, revenue, ad_spend, roas; int32 for the counts), index =
-- day - first_day. PostgreSQL's array input parsed every one of the millions
-- of elements on its own, and lz4 compressed the arrays; a blob is copied as it
-- comes (benchmarks/store_write.py,
-- docs/store.md). Big-endian is PostgreSQL's own binary order (float8send,
-- int4send), so the conversion below and the decoding functions stay plain SQL;
-- load_sweep reads the blobs with NumPy. The view sweep_daily_rows keeps the
-- one-row-per-run-and-day reading for SQL users.

DROP VIEW sweep_daily_rows;
ALTER TABLE sweep_daily RENAME TO sweep_daily_0003;

-- dialect: postgresql
-- The old primary key's index would keep the name the new one needs.
ALTER TABLE sweep_daily_0003 RENAME CONSTRAINT sweep_daily_pkey TO sweep_daily_0003_pkey;

-- dialect: all
CREATE TABLE sweep_daily (
    experiment_id BIGINT NOT NULL,
    run_no BIGINT NOT NULL,
    first_day BIGINT NOT NULL,
    day_count BIGINT NOT NULL,
    -- cash, revenue, ad_spend (float64), orders, sessions, checkouts, refunds,
    -- tickets, active_products (int32), roas (float64): day_count big-endian values
    -- each, in this order; so a KPI starts at byte offset × day_count, offsets
    -- 0, 8, 16, 24, 28, 32, 36, 40, 44, 48, and the blob is 56 × day_count bytes.
    kpis {{blob}} NOT NULL,
    PRIMARY KEY (experiment_id, run_no),
    FOREIGN KEY (experiment_id, run_no) REFERENCES sweep_runs (experiment_id, run_no)
);

-- dialect: postgresql
-- EXTERNAL: out of line, never compressed. Measured (docs/store.md, "Benchmark"):
-- compressing raw doubles gains little and costs server CPU; MAIN (compress, keep
-- inline) still has to move a 20 KB blob out of line and spent as much or more.
ALTER TABLE sweep_daily ALTER COLUMN kpis SET STORAGE EXTERNAL;

-- The recorded arrays, converted in place: float8send/int4send are the values'
-- exact bits, so nothing is rounded.
CREATE FUNCTION ds1ray_pack_float8(values_ DOUBLE PRECISION[]) RETURNS BYTEA
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT COALESCE(string_agg(float8send(v), ''::bytea ORDER BY i), ''::bytea)
    FROM unnest(values_) WITH ORDINALITY AS u(v, i)
$$;
CREATE FUNCTION ds1ray_pack_int4(values_ INTEGER[]) RETURNS BYTEA
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT COALESCE(string_agg(int4send(v), ''::bytea ORDER BY i), ''::bytea)
    FROM unnest(values_) WITH ORDINALITY AS u(v, i)
$$;
INSERT INTO sweep_daily
SELECT experiment_id, run_no, first_day, day_count,
       ds1ray_pack_float8(cash) || ds1ray_pack_float8(revenue) || ds1ray_pack_float8(ad_spend)
       || ds1ray_pack_int4(orders) || ds1ray_pack_int4(sessions) || ds1ray_pack_int4(checkouts)
       || ds1ray_pack_int4(refunds) || ds1ray_pack_int4(tickets)
       || ds1ray_pack_int4(active_products) || ds1ray_pack_float8(roas)
FROM sweep_daily_0003;
DROP TABLE sweep_daily_0003;
DROP FUNCTION ds1ray_pack_float8(DOUBLE PRECISION[]);
DROP FUNCTION ds1ray_pack_int4(INTEGER[]);

-- Decoding for SQL users: the big-endian int32 or float64 at byte offset `at`.
CREATE FUNCTION ds1ray_int4_at(blob BYTEA, at INTEGER) RETURNS INTEGER
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ('x' || encode(substring(blob FROM at + 1 FOR 4), 'hex'))::bit(32)::integer
$$;
-- The float64 from its bits: sign, 11-bit exponent, 52-bit mantissa. The mantissa
-- (< 2^53) and the power of two are exact doubles, so their product is exact.
CREATE FUNCTION ds1ray_float8_at(blob BYTEA, at INTEGER) RETURNS DOUBLE PRECISION
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE exponent
               WHEN 2047 THEN CASE WHEN mantissa = 0 THEN sign * 'Infinity'::float8
                                   ELSE 'NaN'::float8 END
               WHEN 0 THEN sign * (mantissa::float8 * power(2::float8, -1074))
               ELSE sign * ((mantissa + 4503599627370496)::float8
                            * power(2::float8, exponent - 1075))
           END
    FROM (SELECT CASE WHEN bits < 0 THEN -1::float8 ELSE 1::float8 END AS sign,
                 ((bits >> 52) & 2047)::integer AS exponent,
                 bits & 4503599627370495 AS mantissa
          FROM (SELECT ('x' || encode(substring(blob FROM at + 1 FOR 8), 'hex'))
                       ::bit(64)::bigint AS bits) AS b) AS parts
$$;

CREATE VIEW sweep_daily_rows AS
SELECT e.name AS experiment, r.run_id, d.first_day + k.i AS day,
       ds1ray_float8_at(d.kpis, 8 * k.i) AS cash,
       ds1ray_float8_at(d.kpis, 8 * c.n + 8 * k.i) AS revenue,
       ds1ray_float8_at(d.kpis, 16 * c.n + 8 * k.i) AS ad_spend,
       ds1ray_int4_at(d.kpis, 24 * c.n + 4 * k.i) AS orders,
       ds1ray_int4_at(d.kpis, 28 * c.n + 4 * k.i) AS sessions,
       ds1ray_int4_at(d.kpis, 32 * c.n + 4 * k.i) AS checkouts,
       ds1ray_int4_at(d.kpis, 36 * c.n + 4 * k.i) AS refunds,
       ds1ray_int4_at(d.kpis, 40 * c.n + 4 * k.i) AS tickets,
       ds1ray_int4_at(d.kpis, 44 * c.n + 4 * k.i) AS active_products,
       ds1ray_float8_at(d.kpis, 48 * c.n + 8 * k.i) AS roas
FROM sweep_daily d
JOIN sweep_runs r USING (experiment_id, run_no)
JOIN experiments e ON e.id = d.experiment_id
CROSS JOIN LATERAL (SELECT d.day_count::integer AS n) AS c
CROSS JOIN LATERAL generate_series(0, c.n - 1) AS k(i);

-- dialect: sqlite
-- SQLite has no function that reads a number out of a blob: each value's bytes
-- are taken as hex digits (x) and put together with integer arithmetic (y): an
-- int32 from its 8 digits; a float64 from its sign and exponent (the first 3
-- digits, hi) and mantissa (the other 13, mant), then as above. NaN shows as
-- NULL (SQLite has no NaN), infinities as ±9e999 (SQLite's infinity).
CREATE VIEW sweep_daily_rows AS
WITH RECURSIVE k(i) AS (
    SELECT 0 WHERE EXISTS (SELECT 1 FROM sweep_daily)
    UNION ALL
    SELECT i + 1 FROM k WHERE i + 1 < (SELECT MAX(day_count) FROM sweep_daily)
)
SELECT experiment, run_id, day,
       CASE cash_hi & 2047
           WHEN 2047 THEN CASE WHEN cash_mant = 0 THEN 9e999 END
           WHEN 0 THEN cash_mant * pow(2, -1074)
           ELSE (cash_mant + 4503599627370496) * pow(2, (cash_hi & 2047) - 1075)
       END * (1 - 2 * (cash_hi >> 11)) AS cash,
       CASE revenue_hi & 2047
           WHEN 2047 THEN CASE WHEN revenue_mant = 0 THEN 9e999 END
           WHEN 0 THEN revenue_mant * pow(2, -1074)
           ELSE (revenue_mant + 4503599627370496) * pow(2, (revenue_hi & 2047) - 1075)
       END * (1 - 2 * (revenue_hi >> 11)) AS revenue,
       CASE ad_spend_hi & 2047
           WHEN 2047 THEN CASE WHEN ad_spend_mant = 0 THEN 9e999 END
           WHEN 0 THEN ad_spend_mant * pow(2, -1074)
           ELSE (ad_spend_mant + 4503599627370496) * pow(2, (ad_spend_hi & 2047) - 1075)
       END * (1 - 2 * (ad_spend_hi >> 11)) AS ad_spend,
       orders_int - (orders_int >> 31) * 4294967296 AS orders,
       sessions_int - (sessions_int >> 31) * 4294967296 AS sessions,
       checkouts_int - (checkouts_int >> 31) * 4294967296 AS checkouts,
       refunds_int - (refunds_int >> 31) * 4294967296 AS refunds,
       tickets_int - (tickets_int >> 31) * 4294967296 AS tickets,
       active_products_int - (active_products_int >> 31) * 4294967296 AS active_products,
       CASE roas_hi & 2047
           WHEN 2047 THEN CASE WHEN roas_mant = 0 THEN 9e999 END
           WHEN 0 THEN roas_mant * pow(2, -1074)
           ELSE (roas_mant + 4503599627370496) * pow(2, (roas_hi & 2047) - 1075)
       END * (1 - 2 * (roas_hi >> 11)) AS roas
FROM (
    SELECT experiment, run_id, day,
           ((instr('0123456789ABCDEF', substr(x.cash, 1, 1)) - 1) * 256 + (instr('0123456789ABCDEF', substr(x.cash, 2, 1)) - 1) * 16 + (instr('0123456789ABCDEF', substr(x.cash, 3, 1)) - 1)) AS cash_hi,
           ((instr('0123456789ABCDEF', substr(x.cash, 4, 1)) - 1) << 48) + ((instr('0123456789ABCDEF', substr(x.cash, 5, 1)) - 1) << 44) +
               ((instr('0123456789ABCDEF', substr(x.cash, 6, 1)) - 1) << 40) + ((instr('0123456789ABCDEF', substr(x.cash, 7, 1)) - 1) << 36) +
               ((instr('0123456789ABCDEF', substr(x.cash, 8, 1)) - 1) << 32) + ((instr('0123456789ABCDEF', substr(x.cash, 9, 1)) - 1) << 28) +
               ((instr('0123456789ABCDEF', substr(x.cash, 10, 1)) - 1) << 24) + ((instr('0123456789ABCDEF', substr(x.cash, 11, 1)) - 1) << 20) +
               ((instr('0123456789ABCDEF', substr(x.cash, 12, 1)) - 1) << 16) + ((instr('0123456789ABCDEF', substr(x.cash, 13, 1)) - 1) << 12) +
               ((instr('0123456789ABCDEF', substr(x.cash, 14, 1)) - 1) << 8) + ((instr('0123456789ABCDEF', substr(x.cash, 15, 1)) - 1) << 4) +
               ((instr('0123456789ABCDEF', substr(x.cash, 16, 1)) - 1) << 0) AS cash_mant,
           ((instr('0123456789ABCDEF', substr(x.revenue, 1, 1)) - 1) * 256 + (instr('0123456789ABCDEF', substr(x.revenue, 2, 1)) - 1) * 16 + (instr('0123456789ABCDEF', substr(x.revenue, 3, 1)) - 1)) AS revenue_hi,
           ((instr('0123456789ABCDEF', substr(x.revenue, 4, 1)) - 1) << 48) + ((instr('0123456789ABCDEF', substr(x.revenue, 5, 1)) - 1) << 44) +
               ((instr('0123456789ABCDEF', substr(x.revenue, 6, 1)) - 1) << 40) + ((instr('0123456789ABCDEF', substr(x.revenue, 7, 1)) - 1) << 36) +
               ((instr('0123456789ABCDEF', substr(x.revenue, 8, 1)) - 1) << 32) + ((instr('0123456789ABCDEF', substr(x.revenue, 9, 1)) - 1) << 28) +
               ((instr('0123456789ABCDEF', substr(x.revenue, 10, 1)) - 1) << 24) + ((instr('0123456789ABCDEF', substr(x.revenue, 11, 1)) - 1) << 20) +
               ((instr('0123456789ABCDEF', substr(x.revenue, 12, 1)) - 1) << 16) + ((instr('0123456789ABCDEF', substr(x.revenue, 13, 1)) - 1) << 12) +
               ((instr('0123456789ABCDEF', substr(x.revenue, 14, 1)) - 1) << 8) + ((instr('0123456789ABCDEF', substr(x.revenue, 15, 1)) - 1) << 4) +
               ((instr('0123456789ABCDEF', substr(x.revenue, 16, 1)) - 1) << 0) AS revenue_mant,
           ((instr('0123456789ABCDEF', substr(x.ad_spend, 1, 1)) - 1) * 256 + (instr('0123456789ABCDEF', substr(x.ad_spend, 2, 1)) - 1) * 16 + (instr('0123456789ABCDEF', substr(x.ad_spend, 3, 1)) - 1)) AS ad_spend_hi,
           ((instr('0123456789ABCDEF', substr(x.ad_spend, 4, 1)) - 1) << 48) + ((instr('0123456789ABCDEF', substr(x.ad_spend, 5, 1)) - 1) << 44) +
               ((instr('0123456789ABCDEF', substr(x.ad_spend, 6, 1)) - 1) << 40) + ((instr('0123456789ABCDEF', substr(x.ad_spend, 7, 1)) - 1) << 36) +
               ((instr('0123456789ABCDEF', substr(x.ad_spend, 8, 1)) - 1) << 32) + ((instr('0123456789ABCDEF', substr(x.ad_spend, 9, 1)) - 1) << 28) +
               ((instr('0123456789ABCDEF', substr(x.ad_spend, 10, 1)) - 1) << 24) + ((instr('0123456789ABCDEF', substr(x.ad_spend, 11, 1)) - 1) << 20) +
               ((instr('0123456789ABCDEF', substr(x.ad_spend, 12, 1)) - 1) << 16) + ((instr('0123456789ABCDEF', substr(x.ad_spend, 13, 1)) - 1) << 12) +
               ((instr('0123456789ABCDEF', substr(x.ad_spend, 14, 1)) - 1) << 8) + ((instr('0123456789ABCDEF', substr(x.ad_spend, 15, 1)) - 1) << 4) +
               ((instr('0123456789ABCDEF', substr(x.ad_spend, 16, 1)) - 1) << 0) AS ad_spend_mant,
           ((instr('0123456789ABCDEF', substr(x.orders, 1, 1)) - 1) << 28) + ((instr('0123456789ABCDEF', substr(x.orders, 2, 1)) - 1) << 24) +
               ((instr('0123456789ABCDEF', substr(x.orders, 3, 1)) - 1) << 20) + ((instr('0123456789ABCDEF', substr(x.orders, 4, 1)) - 1) << 16) +
               ((instr('0123456789ABCDEF', substr(x.orders, 5, 1)) - 1) << 12) + ((instr('0123456789ABCDEF', substr(x.orders, 6, 1)) - 1) << 8) +
               ((instr('0123456789ABCDEF', substr(x.orders, 7, 1)) - 1) << 4) + ((instr('0123456789ABCDEF', substr(x.orders, 8, 1)) - 1) << 0) AS orders_int,
           ((instr('0123456789ABCDEF', substr(x.sessions, 1, 1)) - 1) << 28) + ((instr('0123456789ABCDEF', substr(x.sessions, 2, 1)) - 1) << 24) +
               ((instr('0123456789ABCDEF', substr(x.sessions, 3, 1)) - 1) << 20) + ((instr('0123456789ABCDEF', substr(x.sessions, 4, 1)) - 1) << 16) +
               ((instr('0123456789ABCDEF', substr(x.sessions, 5, 1)) - 1) << 12) + ((instr('0123456789ABCDEF', substr(x.sessions, 6, 1)) - 1) << 8) +
               ((instr('0123456789ABCDEF', substr(x.sessions, 7, 1)) - 1) << 4) + ((instr('0123456789ABCDEF', substr(x.sessions, 8, 1)) - 1) << 0) AS sessions_int,
           ((instr('0123456789ABCDEF', substr(x.checkouts, 1, 1)) - 1) << 28) + ((instr('0123456789ABCDEF', substr(x.checkouts, 2, 1)) - 1) << 24) +
               ((instr('0123456789ABCDEF', substr(x.checkouts, 3, 1)) - 1) << 20) + ((instr('0123456789ABCDEF', substr(x.checkouts, 4, 1)) - 1) << 16) +
               ((instr('0123456789ABCDEF', substr(x.checkouts, 5, 1)) - 1) << 12) + ((instr('0123456789ABCDEF', substr(x.checkouts, 6, 1)) - 1) << 8) +
               ((instr('0123456789ABCDEF', substr(x.checkouts, 7, 1)) - 1) << 4) + ((instr('0123456789ABCDEF', substr(x.checkouts, 8, 1)) - 1) << 0) AS checkouts_int,
           ((instr('0123456789ABCDEF', substr(x.refunds, 1, 1)) - 1) << 28) + ((instr('0123456789ABCDEF', substr(x.refunds, 2, 1)) - 1) << 24) +
               ((instr('0123456789ABCDEF', substr(x.refunds, 3, 1)) - 1) << 20) + ((instr('0123456789ABCDEF', substr(x.refunds, 4, 1)) - 1) << 16) +
               ((instr('0123456789ABCDEF', substr(x.refunds, 5, 1)) - 1) << 12) + ((instr('0123456789ABCDEF', substr(x.refunds, 6, 1)) - 1) << 8) +
               ((instr('0123456789ABCDEF', substr(x.refunds, 7, 1)) - 1) << 4) + ((instr('0123456789ABCDEF', substr(x.refunds, 8, 1)) - 1) << 0) AS refunds_int,
           ((instr('0123456789ABCDEF', substr(x.tickets, 1, 1)) - 1) << 28) + ((instr('0123456789ABCDEF', substr(x.tickets, 2, 1)) - 1) << 24) +
               ((instr('0123456789ABCDEF', substr(x.tickets, 3, 1)) - 1) << 20) + ((instr('0123456789ABCDEF', substr(x.tickets, 4, 1)) - 1) << 16) +
               ((instr('0123456789ABCDEF', substr(x.tickets, 5, 1)) - 1) << 12) + ((instr('0123456789ABCDEF', substr(x.tickets, 6, 1)) - 1) << 8) +
               ((instr('0123456789ABCDEF', substr(x.tickets, 7, 1)) - 1) << 4) + ((instr('0123456789ABCDEF', substr(x.tickets, 8, 1)) - 1) << 0) AS tickets_int,
           ((instr('0123456789ABCDEF', substr(x.active_products, 1, 1)) - 1) << 28) + ((instr('0123456789ABCDEF', substr(x.active_products, 2, 1)) - 1) << 24) +
               ((instr('0123456789ABCDEF', substr(x.active_products, 3, 1)) - 1) << 20) + ((instr('0123456789ABCDEF', substr(x.active_products, 4, 1)) - 1) << 16) +
               ((instr('0123456789ABCDEF', substr(x.active_products, 5, 1)) - 1) << 12) + ((instr('0123456789ABCDEF', substr(x.active_products, 6, 1)) - 1) << 8) +
               ((instr('0123456789ABCDEF', substr(x.active_products, 7, 1)) - 1) << 4) + ((instr('0123456789ABCDEF', substr(x.active_products, 8, 1)) - 1) << 0) AS active_products_int,
           ((instr('0123456789ABCDEF', substr(x.roas, 1, 1)) - 1) * 256 + (instr('0123456789ABCDEF', substr(x.roas, 2, 1)) - 1) * 16 + (instr('0123456789ABCDEF', substr(x.roas, 3, 1)) - 1)) AS roas_hi,
           ((instr('0123456789ABCDEF', substr(x.roas, 4, 1)) - 1) << 48) + ((instr('0123456789ABCDEF', substr(x.roas, 5, 1)) - 1) << 44) +
               ((instr('0123456789ABCDEF', substr(x.roas, 6, 1)) - 1) << 40) + ((instr('0123456789ABCDEF', substr(x.roas, 7, 1)) - 1) << 36) +
               ((instr('0123456789ABCDEF', substr(x.roas, 8, 1)) - 1) << 32) + ((instr('0123456789ABCDEF', substr(x.roas, 9, 1)) - 1) << 28) +
               ((instr('0123456789ABCDEF', substr(x.roas, 10, 1)) - 1) << 24) + ((instr('0123456789ABCDEF', substr(x.roas, 11, 1)) - 1) << 20) +
               ((instr('0123456789ABCDEF', substr(x.roas, 12, 1)) - 1) << 16) + ((instr('0123456789ABCDEF', substr(x.roas, 13, 1)) - 1) << 12) +
               ((instr('0123456789ABCDEF', substr(x.roas, 14, 1)) - 1) << 8) + ((instr('0123456789ABCDEF', substr(x.roas, 15, 1)) - 1) << 4) +
               ((instr('0123456789ABCDEF', substr(x.roas, 16, 1)) - 1) << 0) AS roas_mant
    FROM (
        SELECT e.name AS experiment, r.run_id, d.first_day + k.i AS day,
               hex(substr(d.kpis, 8 * k.i + 1, 8)) AS cash,
               hex(substr(d.kpis, 8 * d.day_count + 8 * k.i + 1, 8)) AS revenue,
               hex(substr(d.kpis, 16 * d.day_count + 8 * k.i + 1, 8)) AS ad_spend,
               hex(substr(d.kpis, 24 * d.day_count + 4 * k.i + 1, 4)) AS orders,
               hex(substr(d.kpis, 28 * d.day_count + 4 * k.i + 1, 4)) AS sessions,
               hex(substr(d.kpis, 32 * d.day_count + 4 * k.i + 1, 4)) AS checkouts,
               hex(substr(d.kpis, 36 * d.day_count + 4 * k.i + 1, 4)) AS refunds,
               hex(substr(d.kpis, 40 * d.day_count + 4 * k.i + 1, 4)) AS tickets,
               hex(substr(d.kpis, 44 * d.day_count + 4 * k.i + 1, 4)) AS active_products,
               hex(substr(d.kpis, 48 * d.day_count + 8 * k.i + 1, 8)) AS roas
        FROM sweep_daily d
        JOIN k ON k.i < d.day_count
        JOIN sweep_runs r ON r.experiment_id = d.experiment_id AND r.run_no = d.run_no
        JOIN experiments e ON e.id = d.experiment_id
    ) AS x
) AS y;
-- The old rows are converted by ds1ray.store.migration_steps (SQLite cannot
-- read the bits of a number in SQL), which then drops sweep_daily_0003.
