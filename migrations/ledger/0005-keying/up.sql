-- 0005: keying work — every pass, resolution, verification and change as an append-only entry,
-- the record of each form as a cache derived from its entries, attributed keying errors for
-- the operator statistics, and the municipality profile in force.
-- Forward-only: never edit a migration once merged; add a new numbered directory instead.

CREATE TABLE form_entry (
    -- Append-only: one row per piece of work on a form. Never updated or deleted.
    seq         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,                 -- UUIDv7
    form_id     INTEGER NOT NULL REFERENCES batch_form (id),
    kind        TEXT NOT NULL CHECK (kind IN
                    ('first_pass', 'second_pass', 'second_pass_skipped', 'rekey', 'resolution',
                     'approval', 'rejection', 'correction_request', 'deletion_request',
                     'change_confirmed', 'change_refused')),
    actor       TEXT NOT NULL,                        -- login id
    at          TEXT NOT NULL,                        -- terminal clock (UTC)
    day         TEXT NOT NULL CHECK (length(day) = 10), -- the JST day, for the statistics
    payload     TEXT NOT NULL,                        -- JSON: keyed values, comments, changes …
    -- Operator statistics of a keying pass (0 for other entries).
    fields      INTEGER NOT NULL DEFAULT 0 CHECK (fields >= 0),
    keystrokes  INTEGER NOT NULL DEFAULT 0 CHECK (keystrokes >= 0),
    active_ms   INTEGER NOT NULL DEFAULT 0 CHECK (active_ms >= 0)
) STRICT;

CREATE INDEX form_entry_form ON form_entry (form_id, seq);
CREATE INDEX form_entry_day ON form_entry (day, actor);
-- The sampling rule's look at a keyer's newest first passes.
CREATE INDEX form_entry_actor ON form_entry (actor, kind, seq);

CREATE TABLE form_record (
    -- The current record of a form, rebuilt by each entry in the same transaction. The batch's
    -- coarse form state (batch_form.state) is kept in step by the same write.
    form_id         INTEGER PRIMARY KEY REFERENCES batch_form (id),
    batch_id        INTEGER NOT NULL REFERENCES batch (id),
    form_no         INTEGER NOT NULL CHECK (form_no >= 1),   -- 票番号 within the batch
    programme       TEXT NOT NULL,
    state           TEXT NOT NULL,                -- sesshu_domain::lifecycle::RecordState
    workflow        TEXT NOT NULL,                -- JSON sesshu_domain::lifecycle::Workflow
    atena           TEXT,                         -- 宛名番号 of the agreed (or first) values
    first_keyer     TEXT NOT NULL,
    second_keyer    TEXT,
    resolver        TEXT,
    approver        TEXT,
    first_values    TEXT NOT NULL,                -- JSON keying of the (latest) first pass
    second_values   TEXT,
    final_values    TEXT,                         -- agreed values: compared, resolved, corrected
    comments        TEXT NOT NULL DEFAULT '[]',   -- a verifier's per-field comments on rejection
    warnings        TEXT NOT NULL DEFAULT '[]',   -- the rules check's warnings (警告内容)
    override_reason TEXT,
    vaccine         TEXT,                         -- for the schedule history of later forms
    vaccinated_on   TEXT,
    record_id       TEXT UNIQUE,                  -- UUIDv7 of the approved record (the hub's id)
    updated_at      TEXT NOT NULL,
    UNIQUE (batch_id, form_no)
) STRICT;

CREATE INDEX form_record_state ON form_record (state, form_id);
CREATE INDEX form_record_batch ON form_record (batch_id, state);
CREATE INDEX form_record_atena ON form_record (atena) WHERE atena IS NOT NULL;

CREATE TABLE keying_error (
    -- An error attributed by a resolution: which keyer, which pass, on which day they keyed it.
    entry_seq   INTEGER NOT NULL REFERENCES form_entry (seq),
    form_id     INTEGER NOT NULL REFERENCES batch_form (id),
    field       TEXT NOT NULL,
    keyer       TEXT NOT NULL,
    pass        INTEGER NOT NULL CHECK (pass IN (1, 2)),
    day         TEXT NOT NULL CHECK (length(day) = 10)
) STRICT;

CREATE INDEX keying_error_day ON keying_error (day, keyer);
CREATE INDEX keying_error_keyer ON keying_error (keyer, entry_seq);

CREATE TABLE municipality_profile (
    -- The profile in force (one row); absent: the built-in default.
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    version         TEXT NOT NULL,
    json            TEXT NOT NULL,
    installed_at    TEXT NOT NULL
) STRICT;

CREATE TABLE operator_day (
    -- The operator statistics per user and JST day, kept in step with form_entry and
    -- keying_error in the same transaction (a cache: rebuildable from them), so the
    -- statistics screen reads a few rows instead of every pass of the period.
    actor           TEXT NOT NULL,
    day             TEXT NOT NULL CHECK (length(day) = 10),
    forms           INTEGER NOT NULL DEFAULT 0,
    fields          INTEGER NOT NULL DEFAULT 0,
    keystrokes      INTEGER NOT NULL DEFAULT 0,
    active_ms       INTEGER NOT NULL DEFAULT 0,
    errors_first    INTEGER NOT NULL DEFAULT 0,
    errors_second   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, actor)
) STRICT, WITHOUT ROWID;
