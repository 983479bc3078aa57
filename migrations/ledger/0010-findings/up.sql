-- 0010: the hub's findings (issue 12 §5). The hub re-runs the rules check of every record
-- against the resident's full history (the municipality's 予防接種台帳 and the records of every
-- terminal) and answers per item in its signed receipt; the terminal keeps the findings and,
-- for a violation, a correction task for a supervisor.
-- Forward-only: never edit a migration once merged; add a new numbered directory instead.
--
-- No foreign keys to outbox, form_record or sync_receipt: the data-minimisation purge removes
-- those rows after the grace period, and a finding (codes and the hub's reasons, no personal
-- data beyond a vaccine code and a date) must not hold a purge back.

CREATE TABLE sync_item_finding (
    -- One row per outbox item whose receipt carried findings (warnings or violations).
    seq          INTEGER PRIMARY KEY,            -- the item's outbox position
    item_id      TEXT NOT NULL,
    receipt_id   TEXT NOT NULL,
    record_id    TEXT,                           -- the record the item carries
    level        TEXT NOT NULL CHECK (level IN ('warning', 'violation')),  -- the worst finding
    findings     TEXT NOT NULL,                  -- JSON [sesshu_protocol::Finding] as received
    received_at  TEXT NOT NULL                   -- the terminal's clock
) STRICT;
CREATE INDEX sync_item_finding_record ON sync_item_finding (record_id);

CREATE TABLE correction_task (
    -- A violation found by the hub: a supervisor must look at the record and file a correction
    -- or deletion request (or close the task with a note saying why the record stands).
    -- Opened in the acknowledgement's transaction, so it is never lost; its audit entry
    -- (CorrectionRequested, with the hub's reason) is written right after, in its own
    -- transaction, and `audited` says it was.
    task_id      INTEGER PRIMARY KEY,
    seq          INTEGER NOT NULL UNIQUE,        -- the finding (sync_item_finding.seq)
    record_id    TEXT,
    form_id      INTEGER,                        -- form_record.form_id, when the form is held
    reason       TEXT NOT NULL,                  -- the hub's reasons, one line each
    opened_at    TEXT NOT NULL,
    audited      INTEGER NOT NULL DEFAULT 0 CHECK (audited IN (0, 1)),
    closed_at    TEXT,
    closed_by    TEXT,
    note         TEXT                            -- the supervisor's closing note
) STRICT;
CREATE INDEX correction_task_open ON correction_task (closed_at, task_id);
