-- The hub's embedded store (one machine, demo, tests). Same content as the PostgreSQL schema;
-- times are RFC 3339 UTC text with microseconds (`…T…Z`), so they also sort as text.

CREATE TABLE IF NOT EXISTS terminals (
    terminal_id       TEXT PRIMARY KEY,
    terminal_name     TEXT NOT NULL,
    municipality_code TEXT NOT NULL,
    -- Ed25519 public key, hex: pinned at enrolment, replaced only by a new enrolment.
    public_key        TEXT NOT NULL,
    demo              INTEGER NOT NULL,
    enrolled_at       TEXT NOT NULL,
    revoked_at        TEXT,
    -- The newest audit link held for this terminal (0 / 64 zeros before the first).
    chain_seq         INTEGER NOT NULL,
    chain_hash        TEXT NOT NULL,
    reported_seq      INTEGER NOT NULL
);

-- One-time enrolment codes, kept only as SHA-256 of the normalised code.
CREATE TABLE IF NOT EXISTS enrol_codes (
    code_hash         TEXT PRIMARY KEY,
    municipality_code TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    expires_at        TEXT NOT NULL,
    used_at           TEXT,
    used_by           TEXT
);

CREATE TABLE IF NOT EXISTS batches (
    batch_id       TEXT PRIMARY KEY,
    batch_hash     TEXT NOT NULL,
    terminal_id    TEXT NOT NULL,
    received_at    TEXT NOT NULL,
    item_count     INTEGER NOT NULL,
    receipt_id     TEXT,
    -- JSON of the Signed<Receipt> answered: the hub's proof of what it received.
    signed_receipt TEXT
);

-- Every item received once. The rowid keeps arrival order for the export.
CREATE TABLE IF NOT EXISTS items (
    seq          INTEGER PRIMARY KEY,
    item_id      TEXT NOT NULL UNIQUE,
    stream       TEXT NOT NULL,
    record_id    TEXT,
    terminal_id  TEXT NOT NULL,
    entry_id     TEXT NOT NULL,
    payload      TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    batch_id     TEXT NOT NULL,
    received_at  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS items_stream ON items (stream, seq);

-- "Same id, other content": kept for review, never applied.
CREATE TABLE IF NOT EXISTS conflicts (
    id           INTEGER PRIMARY KEY,
    item_id      TEXT NOT NULL,
    stream       TEXT NOT NULL,
    record_id    TEXT,
    terminal_id  TEXT NOT NULL,
    entry_id     TEXT NOT NULL,
    payload      TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    held_hash    TEXT NOT NULL,
    batch_id     TEXT NOT NULL,
    received_at  TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS chain_flags (
    id           INTEGER PRIMARY KEY,
    terminal_id  TEXT NOT NULL,
    batch_id     TEXT NOT NULL,
    kind         TEXT NOT NULL,
    expected_seq INTEGER NOT NULL,
    found_seq    INTEGER NOT NULL,
    flagged_at   TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT OR IGNORE INTO counters (name, value) VALUES ('duplicates_answered', 0);
