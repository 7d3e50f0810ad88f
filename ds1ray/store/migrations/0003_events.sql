-- Reliable messaging: the append-only event log, the transactional outbox,
-- dead letters, idempotency keys (Stripe semantics) and per-handler dedupe.

CREATE TABLE event_log (
    event_id TEXT PRIMARY KEY,
    correlation_id TEXT,
    run_id TEXT,
    type TEXT NOT NULL,
    source TEXT NOT NULL,
    payload {{json}} NOT NULL,
    created_at {{timestamp}} NOT NULL
);
CREATE INDEX event_log_correlation ON event_log (correlation_id);
CREATE INDEX event_log_type_created ON event_log (type, created_at);

-- Rows are claimed by the relay and marked published after the publish
-- callback succeeds; dead_lettered_at ends a row that failed too often.
CREATE TABLE outbox (
    id {{auto_id}},
    event_id TEXT NOT NULL UNIQUE REFERENCES event_log (event_id),
    created_at {{timestamp}} NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    first_failed_at {{timestamp}},
    published_at {{timestamp}},
    dead_lettered_at {{timestamp}}
);
CREATE INDEX outbox_pending ON outbox (id) WHERE published_at IS NULL AND dead_lettered_at IS NULL;

CREATE TABLE dead_letters (
    id {{auto_id}},
    handler TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event {{json}} NOT NULL,
    attempts BIGINT NOT NULL,
    last_error TEXT NOT NULL,
    first_failed_at {{timestamp}} NOT NULL,
    last_failed_at {{timestamp}} NOT NULL,
    UNIQUE (handler, event_id)
);

CREATE TABLE idempotency_keys (
    key TEXT PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 255),
    request_hash TEXT NOT NULL,
    -- NULL only inside the claiming transaction, which fills them before commit.
    response_status BIGINT,
    response_body {{json}},
    created_at {{timestamp}} NOT NULL
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

CREATE TABLE processed_events (
    handler TEXT NOT NULL,
    event_id TEXT NOT NULL,
    processed_at {{timestamp}} NOT NULL,
    PRIMARY KEY (handler, event_id)
);

-- dialect: postgresql
CREATE FUNCTION event_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'event_log is append-only (% refused)', TG_OP;
END;
$$;
CREATE TRIGGER event_log_append_only BEFORE UPDATE OR DELETE ON event_log
    FOR EACH ROW EXECUTE FUNCTION event_log_is_append_only();

-- dialect: sqlite
CREATE TRIGGER event_log_no_update BEFORE UPDATE ON event_log
BEGIN
    SELECT RAISE(ABORT, 'event_log is append-only (UPDATE refused)');
END;
CREATE TRIGGER event_log_no_delete BEFORE DELETE ON event_log
BEGIN
    SELECT RAISE(ABORT, 'event_log is append-only (DELETE refused)');
END;
