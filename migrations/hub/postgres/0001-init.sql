-- The hub's PostgreSQL schema, version 1. Applied by PgStore::migrate in one transaction with
-- its row in schema_version; migrations are forward-only.
--
-- Payloads are kept as `text`, byte for byte as the terminal sent them: their content hash is
-- over those bytes (jsonb would re-encode them).

-- One-time enrolment codes, as SHA-256 of the normalised code (the code is shown once to IT).
CREATE TABLE enrol_codes (
    code_hash         text PRIMARY KEY,
    municipality_code text NOT NULL,
    created_at        timestamptz NOT NULL,
    expires_at        timestamptz NOT NULL,
    used_at           timestamptz,
    used_by           text
);

-- Enrolled terminals, their pinned key and the audit chain head the hub holds for each.
CREATE TABLE terminals (
    terminal_id       text PRIMARY KEY,
    terminal_name     text NOT NULL,
    municipality_code text NOT NULL,
    public_key        text NOT NULL,
    demo              boolean NOT NULL,
    enrolled_at       timestamptz NOT NULL,
    revoked_at        timestamptz,
    chain_seq         bigint NOT NULL,
    chain_hash        bytea NOT NULL CHECK (octet_length(chain_hash) = 32),
    reported_seq      bigint NOT NULL
);

-- Every stored batch, with the municipality its terminal belonged to when it arrived, how many
-- of its items were answered "already have it", and its signed receipt once made.
CREATE TABLE batches (
    batch_id          text PRIMARY KEY,
    batch_hash        text NOT NULL,
    terminal_id       text NOT NULL REFERENCES terminals (terminal_id),
    municipality_code text NOT NULL,
    received_at       timestamptz NOT NULL,
    item_count        integer NOT NULL,
    duplicates        bigint NOT NULL DEFAULT 0,
    receipt_id        text,
    signed_receipt    text
);

-- Every item accepted, once per id. `seq` is the order of arrival (the export's order).
CREATE TABLE items (
    seq          bigint GENERATED ALWAYS AS IDENTITY,
    item_id      text PRIMARY KEY,
    stream       text NOT NULL CHECK (stream IN ('records', 'corrections', 'deletions', 'audit')),
    entry_id     text NOT NULL,
    payload      text NOT NULL,
    content_hash text NOT NULL,
    record_id    text,
    terminal_id  text NOT NULL,
    batch_id     text NOT NULL,
    received_at  timestamptz NOT NULL
);
-- The export reads records in order of arrival.
CREATE INDEX items_records_by_seq ON items (seq) WHERE stream = 'records';

-- Copies that arrived with an id already held under another content hash: kept for review,
-- never applied. A copy resent unchanged is held once.
CREATE TABLE conflicts (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id      text NOT NULL,
    stream       text NOT NULL,
    entry_id     text NOT NULL,
    payload      text NOT NULL,
    content_hash text NOT NULL,
    held_hash    text NOT NULL,
    terminal_id  text NOT NULL,
    batch_id     text NOT NULL,
    received_at  timestamptz NOT NULL,
    UNIQUE (item_id, content_hash)
);

-- Audit chain irregularities per terminal, for IT.
CREATE TABLE chain_flags (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    terminal_id text NOT NULL,
    batch_id    text NOT NULL,
    flagged_at  timestamptz NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('gap', 'head_went_back')),
    -- gap: the expected and the found seq; head_went_back: the reported and the previous seq.
    seq_a       bigint NOT NULL,
    seq_b       bigint NOT NULL
);
CREATE INDEX chain_flags_by_terminal ON chain_flags (terminal_id);
