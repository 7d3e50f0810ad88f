-- Sweep results: experiments, their runs (swept parameters as JSON plus the
-- fixed outcome columns) and the daily KPIs.
--
-- Daily KPIs are stored one row per run with one array per KPI (index = day -
-- first_day): ten arrays of 365 values ingest through COPY several times faster
-- than 365 narrow rows, and stay queryable (unnest on PostgreSQL, json_each on
-- SQLite; see the sweep_daily_rows view).
-- Placeholders ({{json}}, …) are replaced per backend by ds1ray.store.migrations.

CREATE TABLE experiments (
    id {{auto_id}},
    name TEXT NOT NULL UNIQUE,
    manifest {{json}} NOT NULL,
    -- [[column, dtype], …] exactly as written, so load_sweep restores order and dtypes.
    runs_columns {{json}} NOT NULL,
    daily_columns {{json}} NOT NULL,
    created_at {{timestamp}} NOT NULL
);

CREATE TABLE sweep_cohorts (
    experiment_id BIGINT NOT NULL REFERENCES experiments (id),
    cohort_key TEXT NOT NULL,
    first_run_no BIGINT NOT NULL,
    run_count BIGINT NOT NULL,
    -- 'run_major' or 'day_major': the order the daily rows were written in.
    daily_order TEXT NOT NULL,
    recorded_at {{timestamp}} NOT NULL,
    PRIMARY KEY (experiment_id, cohort_key)
);

CREATE TABLE sweep_runs (
    experiment_id BIGINT NOT NULL,
    run_no BIGINT NOT NULL,
    run_id TEXT NOT NULL,
    cohort_key TEXT NOT NULL,
    seed BIGINT NOT NULL,
    strategy TEXT NOT NULL,
    parameters {{json}} NOT NULL,
    revenue {{float}},
    cogs {{float}},
    ad_spend {{float}},
    payment_fees {{float}},
    refunds {{float}},
    chargebacks {{float}},
    ai_cost {{float}},
    fixed_costs {{float}},
    net_profit {{float}},
    starting_cash {{float}},
    final_cash {{float}},
    orders BIGINT,
    tickets BIGINT,
    conversion_rate {{float}},
    roas {{float}},
    refund_rate {{float}},
    bankrupt_day BIGINT,
    PRIMARY KEY (experiment_id, run_no),
    UNIQUE (experiment_id, run_id),
    FOREIGN KEY (experiment_id, cohort_key) REFERENCES sweep_cohorts (experiment_id, cohort_key)
);

CREATE TABLE sweep_daily (
    experiment_id BIGINT NOT NULL,
    run_no BIGINT NOT NULL,
    first_day BIGINT NOT NULL,
    day_count BIGINT NOT NULL,
    cash {{float_array}},
    revenue {{float_array}},
    ad_spend {{float_array}},
    orders {{int_array}},
    sessions {{int_array}},
    checkouts {{int_array}},
    refunds {{int_array}},
    tickets {{int_array}},
    active_products {{int_array}},
    roas {{float_array}},
    PRIMARY KEY (experiment_id, run_no),
    FOREIGN KEY (experiment_id, run_no) REFERENCES sweep_runs (experiment_id, run_no)
);

-- dialect: postgresql
-- lz4 compresses the KPI arrays several times faster than the default pglz.
ALTER TABLE sweep_daily
    ALTER COLUMN cash SET COMPRESSION lz4,
    ALTER COLUMN revenue SET COMPRESSION lz4,
    ALTER COLUMN ad_spend SET COMPRESSION lz4,
    ALTER COLUMN orders SET COMPRESSION lz4,
    ALTER COLUMN sessions SET COMPRESSION lz4,
    ALTER COLUMN checkouts SET COMPRESSION lz4,
    ALTER COLUMN refunds SET COMPRESSION lz4,
    ALTER COLUMN tickets SET COMPRESSION lz4,
    ALTER COLUMN active_products SET COMPRESSION lz4,
    ALTER COLUMN roas SET COMPRESSION lz4;

CREATE VIEW sweep_daily_rows AS
SELECT e.name AS experiment, r.run_id, d.first_day + u.i - 1 AS day,
       u.cash, u.revenue, u.ad_spend, u.orders, u.sessions, u.checkouts, u.refunds,
       u.tickets, u.active_products, u.roas
FROM sweep_daily d
JOIN sweep_runs r USING (experiment_id, run_no)
JOIN experiments e ON e.id = d.experiment_id
CROSS JOIN LATERAL unnest(d.cash, d.revenue, d.ad_spend, d.orders, d.sessions, d.checkouts,
                          d.refunds, d.tickets, d.active_products, d.roas)
    WITH ORDINALITY AS u(cash, revenue, ad_spend, orders, sessions, checkouts, refunds,
                         tickets, active_products, roas, i);

-- dialect: sqlite
CREATE VIEW sweep_daily_rows AS
SELECT e.name AS experiment, r.run_id, d.first_day + k.key AS day,
       json_extract(d.cash, '$[' || k.key || ']') AS cash,
       json_extract(d.revenue, '$[' || k.key || ']') AS revenue,
       json_extract(d.ad_spend, '$[' || k.key || ']') AS ad_spend,
       json_extract(d.orders, '$[' || k.key || ']') AS orders,
       json_extract(d.sessions, '$[' || k.key || ']') AS sessions,
       json_extract(d.checkouts, '$[' || k.key || ']') AS checkouts,
       json_extract(d.refunds, '$[' || k.key || ']') AS refunds,
       json_extract(d.tickets, '$[' || k.key || ']') AS tickets,
       json_extract(d.active_products, '$[' || k.key || ']') AS active_products,
       json_extract(d.roas, '$[' || k.key || ']') AS roas
FROM sweep_daily d
JOIN sweep_runs r ON r.experiment_id = d.experiment_id AND r.run_no = d.run_no
JOIN experiments e ON e.id = d.experiment_id
JOIN json_each(d.cash) AS k;
