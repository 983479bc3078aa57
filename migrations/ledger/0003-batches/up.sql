-- 0003: code tables (clinics, vaccine products) and 受付バッチ with their forms.
-- Forward-only: never edit a migration once merged; add a new numbered directory instead.

CREATE TABLE clinic (
    -- 医療機関コード, 10 digits, check digit verified by sesshu_domain::ids::ClinicCode.
    code    TEXT PRIMARY KEY CHECK (length(code) = 10),
    name    TEXT NOT NULL
) STRICT;

CREATE TABLE product (
    code        TEXT PRIMARY KEY,                 -- 製品コード
    vaccine     TEXT NOT NULL,                    -- vaccine code of the schedule rules
    name        TEXT NOT NULL,
    maker       TEXT NOT NULL,                    -- 製造販売業者
    lot_format  TEXT                              -- A letter, 9 digit, * any; NULL: any lot
) STRICT;

CREATE TABLE batch (
    -- Local number shown on screens and written on the bundle ("No. 12").
    id              INTEGER PRIMARY KEY,
    uid             TEXT NOT NULL UNIQUE,         -- UUIDv7: names the batch to the hub
    -- No foreign key to clinic: the code table is replaced wholesale by imports, and a batch
    -- keeps the code it was registered with.
    clinic_code     TEXT NOT NULL CHECK (length(clinic_code) = 10),
    received_on     TEXT NOT NULL,                -- YYYY-MM-DD
    claim_month     TEXT NOT NULL CHECK (length(claim_month) = 7),  -- 請求月 YYYY-MM
    programme       TEXT NOT NULL,
    declared_forms  INTEGER NOT NULL CHECK (declared_forms >= 1),
    note            TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    registered_by   TEXT NOT NULL,
    registered_at   TEXT NOT NULL,
    closed_by       TEXT,
    closed_at       TEXT,
    CHECK ((status = 'closed') = (closed_at IS NOT NULL))
) STRICT;

CREATE INDEX batch_status ON batch (status, id);

CREATE TABLE batch_form (
    -- One paper form of a batch. The keying work adds rows as forms are keyed; the counts of a
    -- batch's progress come from here.
    id                  INTEGER PRIMARY KEY,
    uid                 TEXT NOT NULL UNIQUE,     -- UUIDv7
    batch_id            INTEGER NOT NULL REFERENCES batch (id),
    state               TEXT NOT NULL CHECK (state IN
                            ('keyed_once', 'keyed_twice', 'mismatched', 'approved', 'rejected', 'withdrawn')),
    withdrawn_reason    TEXT,
    withdrawn_by        TEXT,
    updated_at          TEXT NOT NULL,
    CHECK ((state = 'withdrawn') = (withdrawn_reason IS NOT NULL AND withdrawn_reason <> ''))
) STRICT;

CREATE INDEX batch_form_batch ON batch_form (batch_id, state);
