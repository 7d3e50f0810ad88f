-- The live business's domain tables. Money is integer cents; people are kept
-- as references (hashed or platform ids), never as names or addresses.

CREATE TABLE suppliers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    country TEXT NOT NULL,
    lead_time_days BIGINT NOT NULL,
    rating {{float}},
    status TEXT NOT NULL DEFAULT 'active',
    created_at {{timestamp}} NOT NULL,
    updated_at {{timestamp}} NOT NULL
);

CREATE TABLE products (
    id TEXT PRIMARY KEY,
    supplier_id TEXT NOT NULL REFERENCES suppliers (id),
    title TEXT NOT NULL,
    unit_cost_cents BIGINT NOT NULL CHECK (unit_cost_cents >= 0),
    status TEXT NOT NULL DEFAULT 'candidate',
    created_at {{timestamp}} NOT NULL,
    updated_at {{timestamp}} NOT NULL
);

CREATE TABLE listings (
    id TEXT PRIMARY KEY,
    product_id TEXT NOT NULL REFERENCES products (id),
    channel TEXT NOT NULL,
    external_id TEXT,
    price_cents BIGINT NOT NULL CHECK (price_cents >= 0),
    status TEXT NOT NULL DEFAULT 'draft',
    created_at {{timestamp}} NOT NULL,
    updated_at {{timestamp}} NOT NULL,
    UNIQUE (channel, external_id)
);

CREATE TABLE purchase_orders (
    id TEXT PRIMARY KEY,
    supplier_id TEXT NOT NULL REFERENCES suppliers (id),
    product_id TEXT NOT NULL REFERENCES products (id),
    order_id TEXT,
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    unit_cost_cents BIGINT NOT NULL CHECK (unit_cost_cents >= 0),
    status TEXT NOT NULL DEFAULT 'placed',
    tracking_number TEXT,
    created_at {{timestamp}} NOT NULL,
    updated_at {{timestamp}} NOT NULL
);

CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    external_id TEXT NOT NULL,
    listing_id TEXT REFERENCES listings (id),
    customer_ref TEXT,
    total_cents BIGINT NOT NULL CHECK (total_cents >= 0),
    currency TEXT NOT NULL,
    financial_status TEXT NOT NULL,
    fulfillment_status TEXT,
    created_at {{timestamp}} NOT NULL,
    updated_at {{timestamp}} NOT NULL,
    UNIQUE (channel, external_id)
);

CREATE TABLE campaigns (
    id TEXT PRIMARY KEY,
    platform TEXT NOT NULL,
    external_id TEXT,
    product_id TEXT REFERENCES products (id),
    name TEXT NOT NULL,
    objective TEXT NOT NULL,
    daily_budget_cents BIGINT NOT NULL CHECK (daily_budget_cents >= 0),
    status TEXT NOT NULL DEFAULT 'paused',
    created_at {{timestamp}} NOT NULL,
    updated_at {{timestamp}} NOT NULL,
    UNIQUE (platform, external_id)
);

CREATE TABLE tickets (
    id TEXT PRIMARY KEY,
    order_id TEXT REFERENCES orders (id),
    channel TEXT NOT NULL,
    external_id TEXT,
    subject TEXT NOT NULL,
    priority TEXT NOT NULL DEFAULT 'normal',
    status TEXT NOT NULL DEFAULT 'open',
    created_at {{timestamp}} NOT NULL,
    updated_at {{timestamp}} NOT NULL,
    UNIQUE (channel, external_id)
);
