-- Daily KPIs in rows that fit a page: a run's days are cut into spans of at most
-- 128 days, one sweep_daily row each (first_day, day_count and kpis now describe
-- the span; the blob layout of 0004 is unchanged within it). A whole run's blob
-- (20 KB for 365 days) was larger than a page, so PostgreSQL cut every one into
-- TOAST chunks and indexed them; a 128-day span is 7 KB, stored inline
-- (STORAGE PLAIN) with no TOAST work (measured: docs/store.md, "Benchmark").
-- A run's spans are told apart by their first day: the key becomes
-- (experiment_id, run_no, first_day). The view sweep_daily_rows already reads
-- each row from its own first_day and day_count, so it stays as it is.

-- dialect: postgresql
ALTER TABLE sweep_daily DROP CONSTRAINT sweep_daily_pkey;
CREATE TABLE sweep_daily_0005 AS SELECT * FROM sweep_daily;
TRUNCATE sweep_daily;
ALTER TABLE sweep_daily ALTER COLUMN kpis SET STORAGE PLAIN;

-- Each old blob, span by span: a KPI with values of w bytes starting at byte
-- s × n of the old blob (n = its day count) gives its values of days
-- [start, start + len) of the span; substring copies bytes, so nothing is rounded.
INSERT INTO sweep_daily (experiment_id, run_no, first_day, day_count, kpis)
SELECT o.experiment_id, o.run_no, o.first_day + s.start, p.len,
       substring(o.kpis FROM 1 + 8 * s.start FOR 8 * p.len)
       || substring(o.kpis FROM 1 + 8 * c.n + 8 * s.start FOR 8 * p.len)
       || substring(o.kpis FROM 1 + 16 * c.n + 8 * s.start FOR 8 * p.len)
       || substring(o.kpis FROM 1 + 24 * c.n + 4 * s.start FOR 4 * p.len)
       || substring(o.kpis FROM 1 + 28 * c.n + 4 * s.start FOR 4 * p.len)
       || substring(o.kpis FROM 1 + 32 * c.n + 4 * s.start FOR 4 * p.len)
       || substring(o.kpis FROM 1 + 36 * c.n + 4 * s.start FOR 4 * p.len)
       || substring(o.kpis FROM 1 + 40 * c.n + 4 * s.start FOR 4 * p.len)
       || substring(o.kpis FROM 1 + 44 * c.n + 4 * s.start FOR 4 * p.len)
       || substring(o.kpis FROM 1 + 48 * c.n + 8 * s.start FOR 8 * p.len)
FROM sweep_daily_0005 o
CROSS JOIN LATERAL (SELECT o.day_count::integer AS n) AS c
CROSS JOIN LATERAL generate_series(0, c.n - 1, 128) AS s(start)
CROSS JOIN LATERAL (SELECT LEAST(128, c.n - s.start) AS len) AS p;

ALTER TABLE sweep_daily ADD PRIMARY KEY (experiment_id, run_no, first_day);
DROP TABLE sweep_daily_0005;

-- dialect: sqlite
-- A primary key cannot change in place on SQLite: the table is rebuilt.
-- ds1ray.store.migration_steps fills this one span by span (SQLite's || makes
-- text of blobs), puts it in sweep_daily's place and recreates the view.
CREATE TABLE sweep_daily_0006 (
    experiment_id BIGINT NOT NULL,
    run_no BIGINT NOT NULL,
    first_day BIGINT NOT NULL,
    day_count BIGINT NOT NULL,
    kpis {{blob}} NOT NULL,
    PRIMARY KEY (experiment_id, run_no, first_day),
    FOREIGN KEY (experiment_id, run_no) REFERENCES sweep_runs (experiment_id, run_no)
);
