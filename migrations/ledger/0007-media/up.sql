-- 0007: removable media (媒体). The media registered on this terminal, the media ledger
-- (媒体管理簿: every file written to or read from a medium, and every erasure) and which outbox
-- items each exported batch carried, so that the hub's receipt file can be matched to them.
-- No personal data: ids, counts, hashes, login ids and times.

CREATE TABLE media_medium (
    medium_id       TEXT PRIMARY KEY,         -- the id in SESSHU-MEDIUM.json at the medium's root
    label           TEXT NOT NULL DEFAULT '', -- what IT wrote on the stick
    registered_at   TEXT NOT NULL,
    registered_by   TEXT NOT NULL             -- login id
) STRICT;

CREATE TABLE media_ledger (
    seq             INTEGER PRIMARY KEY,
    entry_id        TEXT NOT NULL UNIQUE,     -- UUIDv7; for an export, the file's export id
    at              TEXT NOT NULL,
    medium_id       TEXT NOT NULL REFERENCES media_medium (medium_id),
    actor           TEXT NOT NULL,            -- login id
    direction       TEXT NOT NULL CHECK (direction IN ('out', 'in', 'erased')),
    -- out: writing -> written | failed; in: imported (a receipt file); erased: recorded
    status          TEXT NOT NULL,
    item_count      INTEGER NOT NULL DEFAULT 0,
    file_sha256     TEXT,                     -- SHA-256 of the whole file, hex
    file_name       TEXT                      -- base name only (no directories)
) STRICT;

CREATE TABLE media_batch (
    -- One row per batch of an export: the receipt for `batch_id` must answer these items.
    batch_id        TEXT PRIMARY KEY,
    export_id       TEXT NOT NULL REFERENCES media_ledger (entry_id),
    batch_hash      TEXT NOT NULL,            -- Signed::body_hash of the batch
    items           TEXT NOT NULL             -- JSON [[outbox seq, item id], ...] in batch order
) STRICT;

CREATE INDEX media_batch_export ON media_batch (export_id);
