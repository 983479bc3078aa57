-- 0006: sync with the hub: the enrolment (one row), the receipts the hub signed, the items a
-- receipt did not simply accept, and the exportable sync log (counts and codes only: no
-- personal data).
--
-- Acknowledgement is a watermark, not a column update: the drain sends the oldest pending items
-- first and a receipt is stored only when it answers exactly the next items of the outbox, so
-- the acknowledged items are always a prefix of the outbox, up to the highest `last_seq` of
-- `sync_receipt`. Marking 100,000 items then writes a few rows instead of rewriting 100,000
-- outbox rows with their payloads. `outbox.acked_at` (0001) stays NULL.

CREATE TABLE sync_enrolment (
    -- Exactly one row: the hub this terminal is enrolled with (re-enrolment replaces it).
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    hub_url             TEXT NOT NULL,            -- where the hub was; `--hub` may override it
    hub_id              TEXT NOT NULL,
    hub_public_key      TEXT NOT NULL,            -- hex Ed25519: verifies every receipt
    cert_fingerprint    TEXT NOT NULL,            -- pinned TLS key: sesshu_protocol::sign::fingerprint of the SPKI
    terminal_public_key TEXT NOT NULL,            -- hex Ed25519; the private half is in the OS key store
    enrolled_at         TEXT NOT NULL             -- the hub's time of enrolment
) STRICT;

CREATE TABLE sync_receipt (
    -- Receipts kept as signed: the terminal's proof of what the hub acknowledged.
    receipt_id          TEXT PRIMARY KEY,
    batch_id            TEXT NOT NULL UNIQUE,
    batch_hash          TEXT NOT NULL,
    received_at         TEXT NOT NULL,            -- the hub's clock
    item_count          INTEGER NOT NULL,
    first_seq           INTEGER NOT NULL,         -- the outbox positions it acknowledges: every
    last_seq            INTEGER NOT NULL UNIQUE,  -- item in first_seq..=last_seq
    signed_json         TEXT NOT NULL,            -- Signed<Receipt> JSON exactly as received
    stored_at           TEXT NOT NULL,
    CHECK (first_seq <= last_seq)
) STRICT;

CREATE TABLE sync_item_outcome (
    -- Items a receipt answered with something other than "accepted" (already_have, conflict),
    -- with the hub's reason: what the sync screen lists per item.
    seq                 INTEGER PRIMARY KEY REFERENCES outbox (seq),
    receipt_id          TEXT NOT NULL REFERENCES sync_receipt (receipt_id),
    outcome             TEXT NOT NULL,            -- sesshu_protocol::ItemOutcome, snake_case
    reason              TEXT
) STRICT;

CREATE TABLE sync_log (
    seq                 INTEGER PRIMARY KEY,
    at                  TEXT NOT NULL,
    kind                TEXT NOT NULL,            -- enrolled | started | batch | retry | finished | failed
    items               INTEGER NOT NULL DEFAULT 0,
    acknowledged        INTEGER NOT NULL DEFAULT 0,
    pending             INTEGER NOT NULL DEFAULT 0,
    error_code          TEXT                      -- a refusal or transport code, never a message
) STRICT;
