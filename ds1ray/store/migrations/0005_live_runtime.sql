-- The live runtime's own tables (`ds1ray live`): agent snapshots, settings such
-- as the business's start date, and the product-slot <-> platform-id map.
-- Before this migration `ds1ray live up` created them itself (CREATE TABLE IF NOT
-- EXISTS); IF NOT EXISTS here keeps such a store's tables and rows as they are,
-- with the same definitions.

-- One row per agent: its pickled state (base64) and the last event it handled.
CREATE TABLE IF NOT EXISTS live_agent_snapshots (
    agent_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    last_event TEXT NOT NULL,
    saved_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS live_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- (kind, slot, tier) -> the platform's id and the facts a port answers from.
CREATE TABLE IF NOT EXISTS live_platform_ids (
    kind TEXT NOT NULL,
    slot BIGINT NOT NULL,
    tier BIGINT NOT NULL,
    platform_id TEXT NOT NULL,
    attributes TEXT NOT NULL,
    PRIMARY KEY (kind, slot, tier)
);
