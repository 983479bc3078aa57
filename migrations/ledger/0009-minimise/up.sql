-- 0009: data minimisation. Records and audit entries the hub has acknowledged are purged from
-- the terminal after a grace period (sesshu_ledger::purge); what must stay is kept here.
-- Forward-only: never edit a migration once merged; add a new numbered directory instead.

CREATE TABLE audit_base (
    -- Exactly one row once audit entries were purged: the last purged entry. The chain kept on
    -- the terminal starts from it (entry base.seq + 1 has prev_hash = base.hash), and the audit
    -- anchor covers it (sesshu_ledger::anchor, format 2).
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    hash        BLOB NOT NULL CHECK (length(hash) = 32),
    purged_at   TEXT NOT NULL
) STRICT;

CREATE TABLE purged_form (
    -- What remains of a purged record: no personal data, only what keeps form numbers unique
    -- within a batch and lets the data screen count purged records.
    form_id         INTEGER PRIMARY KEY REFERENCES batch_form (id),
    batch_id        INTEGER NOT NULL REFERENCES batch (id),
    form_no         INTEGER NOT NULL CHECK (form_no >= 1),
    record_id       TEXT,                         -- the hub's id of the record
    acknowledged_at TEXT NOT NULL,                -- when the receipt covering its last item was stored
    purged_at       TEXT NOT NULL,
    UNIQUE (batch_id, form_no)
) STRICT;

-- The purge finds a record's outbox items through its form entries.
CREATE INDEX outbox_entry ON outbox (entry_id);
