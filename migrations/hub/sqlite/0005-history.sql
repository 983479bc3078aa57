-- 0005 (issue 12 §5): the municipality's vaccination history and the doses of received
-- records, for the rules check against a resident's full history at ingest.

-- One row per history import (`sesshu-hub history import`): an import replaces the history
-- imported before it (the 予防接種台帳 extract is a full snapshot).
CREATE TABLE IF NOT EXISTS history_imports (
    import_id    TEXT PRIMARY KEY,
    file_sha256  TEXT NOT NULL,
    dose_count   INTEGER NOT NULL,
    imported_at  TEXT NOT NULL
);

-- The imported history: one dose per row.
CREATE TABLE IF NOT EXISTS history_doses (
    id           INTEGER PRIMARY KEY,
    import_id    TEXT NOT NULL REFERENCES history_imports (import_id),
    atena_no     TEXT NOT NULL,
    vaccine      TEXT NOT NULL,
    dose_number  INTEGER,
    dose_date    TEXT NOT NULL,  -- YYYY-MM-DD
    source       TEXT            -- free text of the 台帳 (clinic, 他市町村, …)
);
CREATE INDEX IF NOT EXISTS history_doses_atena ON history_doses (atena_no);

-- The dose each received record (as last corrected; deleted records removed) stands for:
-- the records' half of a resident's history, indexed by 宛名番号 so that a batch's residents
-- are looked up in one query instead of reading payloads.
CREATE TABLE IF NOT EXISTS record_doses (
    record_id    TEXT PRIMARY KEY,
    atena_no     TEXT NOT NULL,
    vaccine      TEXT NOT NULL,
    dose_date    TEXT NOT NULL   -- YYYY-MM-DD
);
CREATE INDEX IF NOT EXISTS record_doses_atena ON record_doses (atena_no);
