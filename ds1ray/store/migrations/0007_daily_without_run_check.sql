-- sweep_daily loses its foreign key to sweep_runs. PostgreSQL checks a foreign
-- key with one query per inserted row, and since 0006 a run has a row per
-- 128-day span: the checks were ~40 % of the server's time to COPY a cohort's
-- daily rows (docs/store.md, "Benchmark"). The rows of a run are only ever
-- written by record_sweep_cohort, in the transaction that inserts the run, and
-- load_sweep refuses daily rows whose run is missing (naming the run), so a
-- damaged store is still noticed, on reading instead of on writing.

-- dialect: postgresql
DO $$
DECLARE
    name_ TEXT;
BEGIN
    FOR name_ IN SELECT conname FROM pg_constraint
                 WHERE conrelid = 'sweep_daily'::regclass AND contype = 'f' LOOP
        EXECUTE format('ALTER TABLE sweep_daily DROP CONSTRAINT %I', name_);
    END LOOP;
END
$$;

-- dialect: sqlite
-- A constraint cannot be dropped in place on SQLite: ds1ray.store.migration_steps
-- copies the rows into this table and puts it in sweep_daily's place.
CREATE TABLE sweep_daily_0007 (
    experiment_id BIGINT NOT NULL,
    run_no BIGINT NOT NULL,
    first_day BIGINT NOT NULL,
    day_count BIGINT NOT NULL,
    kpis {{blob}} NOT NULL,
    PRIMARY KEY (experiment_id, run_no, first_day)
);
