-- 0002: the hub's media ledger (媒体管理簿): every media file imported and every erasure the
-- operator recorded. Ids, counts and hashes only.
CREATE TABLE IF NOT EXISTS media_ledger (
    seq          INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,
    medium_id    TEXT NOT NULL,
    operator     TEXT NOT NULL,
    direction    TEXT NOT NULL CHECK (direction IN ('in', 'erased')),
    terminal_id  TEXT,
    export_id    TEXT,
    item_count   INTEGER NOT NULL DEFAULT 0,
    file_sha256  TEXT
);
