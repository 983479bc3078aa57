-- 0005 (issue 12 §5): the municipality's vaccination history and the doses of received
-- records, for the rules check against a resident's full history at ingest.

-- One row per history import (`sesshu-hub history import`): an import replaces the history
-- imported before it (the 予防接種台帳 extract is a full snapshot).
CREATE TABLE history_imports (
    import_id    text PRIMARY KEY,
    file_sha256  text NOT NULL,
    dose_count   bigint NOT NULL,
    imported_at  timestamptz NOT NULL
);

-- The imported history: one dose per row.
CREATE TABLE history_doses (
    id           bigserial PRIMARY KEY,
    import_id    text NOT NULL REFERENCES history_imports (import_id),
    atena_no     text NOT NULL,
    vaccine      text NOT NULL,
    dose_number  integer,
    dose_date    date NOT NULL,
    source       text
);
CREATE INDEX history_doses_atena ON history_doses (atena_no);

-- The dose each received record (as last corrected; deleted records removed) stands for:
-- the records' half of a resident's history, indexed by 宛名番号 so that a batch's residents
-- are looked up in one query instead of reading payloads.
CREATE TABLE record_doses (
    record_id    text PRIMARY KEY,
    atena_no     text NOT NULL,
    vaccine      text NOT NULL,
    dose_date    date NOT NULL
);
CREATE INDEX record_doses_atena ON record_doses (atena_no);
