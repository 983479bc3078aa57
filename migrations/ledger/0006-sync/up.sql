-- 0006: sync with the hub: the enrolment (one row), the receipts the hub signed, which receipt
-- acknowledged each outbox item, and the exportable sync log (counts and codes only: no
-- personal data).

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
    signed_json         TEXT NOT NULL,            -- Signed<Receipt> JSON exactly as received
    stored_at           TEXT NOT NULL
) STRICT;

ALTER TABLE outbox ADD COLUMN receipt_id TEXT REFERENCES sync_receipt (receipt_id);
-- accepted | already_have | conflict (sesshu_protocol::ItemOutcome), set with acked_at.
ALTER TABLE outbox ADD COLUMN outcome TEXT;

CREATE INDEX outbox_receipt ON outbox (receipt_id) WHERE receipt_id IS NOT NULL;

CREATE TABLE sync_log (
    seq                 INTEGER PRIMARY KEY,
    at                  TEXT NOT NULL,
    kind                TEXT NOT NULL,            -- enrolled | started | batch | retry | finished | failed
    items               INTEGER NOT NULL DEFAULT 0,
    acknowledged        INTEGER NOT NULL DEFAULT 0,
    pending             INTEGER NOT NULL DEFAULT 0,
    error_code          TEXT                      -- a refusal or transport code, never a message
) STRICT;
