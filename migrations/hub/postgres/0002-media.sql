-- 0002: the hub's media ledger (媒体管理簿): every media file imported and every erasure the
-- operator recorded. Ids, counts and hashes only.
CREATE TABLE media_ledger (
    seq          bigserial PRIMARY KEY,
    at           timestamptz NOT NULL,
    medium_id    text NOT NULL,
    operator     text NOT NULL,
    direction    text NOT NULL CHECK (direction IN ('in', 'erased')),
    terminal_id  text,
    export_id    text,
    item_count   bigint NOT NULL DEFAULT 0,
    file_sha256  text
);
