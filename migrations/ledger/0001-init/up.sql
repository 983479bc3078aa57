-- 0001: the terminal, its settings, accounts, the audit hash chain and the outbox.
-- Forward-only: never edit a migration once merged; add a new numbered directory instead.

CREATE TABLE terminal (
    -- Exactly one row, written at setup.
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    terminal_id         TEXT NOT NULL,            -- UUID made at setup; names this terminal to the hub
    terminal_name       TEXT NOT NULL,
    municipality_name   TEXT NOT NULL,
    municipality_code   TEXT NOT NULL CHECK (length(municipality_code) = 6),
    created_at          TEXT NOT NULL
) STRICT;

CREATE TABLE setting (
    key     TEXT PRIMARY KEY,
    value   TEXT NOT NULL
) STRICT;

CREATE TABLE user (
    id              INTEGER PRIMARY KEY,
    -- Personal login id; never reused: accounts are disabled, never deleted.
    login_id        TEXT NOT NULL UNIQUE,
    display_name    TEXT NOT NULL,
    password_hash   TEXT NOT NULL,                -- Argon2id PHC string
    created_at      TEXT NOT NULL,
    disabled_at     TEXT,                         -- disabled now
    disabled_from   TEXT,                         -- disabled from this date (YYYY-MM-DD), e.g. transfer
    failed_attempts INTEGER NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
    locked_until    TEXT
) STRICT;

CREATE TABLE user_role (
    user_id INTEGER NOT NULL REFERENCES user (id),
    role    TEXT NOT NULL CHECK (role IN ('keyer', 'verifier', 'sync_operator', 'administrator')),
    PRIMARY KEY (user_id, role)
) STRICT;

CREATE TABLE audit_entry (
    -- Per-terminal hash chain: hash = SHA-256(prev_hash || canonical content).
    seq         INTEGER PRIMARY KEY,              -- 1, 2, 3 … without gaps
    id          TEXT NOT NULL UNIQUE,             -- UUIDv7
    at          TEXT NOT NULL,                    -- terminal clock (the hub adds its own receive time)
    terminal_id TEXT NOT NULL,
    actor       TEXT,                             -- login id; NULL before anyone signed in
    action      INTEGER NOT NULL,                 -- sesshu_domain::audit::AuditAction code
    target      TEXT,
    outcome     INTEGER NOT NULL CHECK (outcome IN (0, 1, 2)),
    detail      TEXT NOT NULL DEFAULT '{}',       -- JSON, no personal data
    prev_hash   BLOB NOT NULL CHECK (length(prev_hash) = 32),
    hash        BLOB NOT NULL CHECK (length(hash) = 32)
) STRICT;

CREATE TABLE outbox (
    -- Items waiting for the hub; marked acknowledged only from a verified receipt.
    seq             INTEGER PRIMARY KEY,
    item_id         TEXT NOT NULL UNIQUE,         -- UUIDv7
    stream          TEXT NOT NULL,                -- 'audit', later 'records', …
    entry_id        TEXT NOT NULL,
    payload         TEXT NOT NULL,                -- JSON
    content_hash    TEXT NOT NULL,                -- hex SHA-256 of payload: idempotency with item_id
    created_at      TEXT NOT NULL,
    acked_at        TEXT
) STRICT;

CREATE INDEX outbox_pending ON outbox (stream, seq) WHERE acked_at IS NULL;
