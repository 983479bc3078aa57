//! The hub's findings (issue 12 §5, migration `0010-findings`): per-item results of the hub's
//! rules check against the resident's full history, kept from verified receipts, and the
//! correction tasks a violation opens for a supervisor.
//!
//! The findings and the task are written in the acknowledgement's transaction
//! ([`SyncState::record_findings`]), so a task is never lost between the receipt and the
//! terminal. Its audit entry (`CorrectionRequested` with the hub's reason) is a change and goes
//! through [`crate::Ledger::mutate`] right after ([`Mutation::mark_task_audited`] in the same
//! mutation), which `sesshu-terminal` does after every sync; an interrupted sync leaves
//! `audited = 0` and the next one writes it.

use crate::ledger::{Mutation, Reader, SyncState};
use crate::LedgerError;
use rusqlite::{params, OptionalExtension};

/// The findings of one acknowledged item, as the drain hands them over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemFindings {
    /// The item's outbox position.
    pub seq: i64,
    pub item_id: String,
    /// `warning` or `violation`: the worst finding.
    pub level: &'static str,
    /// JSON of the receipt's `[Finding]` for the item, as received.
    pub findings_json: String,
    /// The hub's reasons, one per finding (for the task).
    pub reasons: Vec<String>,
}

/// A stored finding, with the form it belongs to when the terminal still holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFinding {
    pub seq: i64,
    pub record_id: Option<String>,
    pub form_id: Option<i64>,
    pub level: String,
    pub findings_json: String,
    pub received_at: String,
}

/// A correction task opened by a violation the hub found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrectionTask {
    pub task_id: i64,
    pub seq: i64,
    pub record_id: Option<String>,
    pub form_id: Option<i64>,
    /// The form's uid (the audit target of its entries), when the terminal holds the form.
    pub form_uid: Option<String>,
    pub reason: String,
    pub opened_at: String,
    pub audited: bool,
    pub closed_at: Option<String>,
    pub closed_by: Option<String>,
    pub note: Option<String>,
}

const TASK_COLUMNS: &str = "t.task_id, t.seq, t.record_id, t.form_id, f.uid, t.reason, \
     t.opened_at, t.audited, t.closed_at, t.closed_by, t.note";

fn task_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CorrectionTask> {
    Ok(CorrectionTask {
        task_id: r.get(0)?,
        seq: r.get(1)?,
        record_id: r.get(2)?,
        form_id: r.get(3)?,
        form_uid: r.get(4)?,
        reason: r.get(5)?,
        opened_at: r.get(6)?,
        audited: r.get::<_, i64>(7)? != 0,
        closed_at: r.get(8)?,
        closed_by: r.get(9)?,
        note: r.get(10)?,
    })
}

impl SyncState<'_> {
    /// Keeps the findings of acknowledged items and opens a correction task for each
    /// violation, in the acknowledgement's transaction. Idempotent per item. Returns the number
    /// of tasks opened.
    pub fn record_findings(
        &mut self,
        receipt_id: &str,
        items: &[ItemFindings],
    ) -> Result<u64, LedgerError> {
        let now = crate::audit::canonical_time(self.now);
        let mut opened = 0;
        for it in items {
            // The record id is the item's own (`record_id` of its payload).
            let record_id: Option<String> = self
                .tx
                .query_row(
                    "SELECT json_extract(payload, '$.record_id') FROM outbox WHERE seq = ?1",
                    [it.seq],
                    |r| r.get(0),
                )
                .optional()?
                .flatten();
            self.tx.execute(
                "INSERT OR IGNORE INTO sync_item_finding \
                 (seq, item_id, receipt_id, record_id, level, findings, received_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    it.seq,
                    it.item_id,
                    receipt_id,
                    record_id,
                    it.level,
                    it.findings_json,
                    now
                ],
            )?;
            if it.level != "violation" {
                continue;
            }
            let form_id: Option<i64> = match &record_id {
                Some(id) => self
                    .tx
                    .query_row(
                        "SELECT form_id FROM form_record WHERE record_id = ?1",
                        [id],
                        |r| r.get(0),
                    )
                    .optional()?,
                None => None,
            };
            opened += self.tx.execute(
                "INSERT OR IGNORE INTO correction_task (seq, record_id, form_id, reason, opened_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![it.seq, record_id, form_id, it.reasons.join("\n"), now],
            )? as u64;
        }
        Ok(opened)
    }
}

impl Reader<'_> {
    /// The newest `limit` findings, newest first.
    pub fn findings(&self, limit: u32) -> Result<Vec<StoredFinding>, LedgerError> {
        let mut stmt = self.conn.prepare(
            "SELECT s.seq, s.record_id, f.form_id, s.level, s.findings, s.received_at \
             FROM sync_item_finding s LEFT JOIN form_record f ON f.record_id = s.record_id \
             ORDER BY s.seq DESC LIMIT ?1",
        )?;
        let rows = stmt
            .query_map([limit], |r| {
                Ok(StoredFinding {
                    seq: r.get(0)?,
                    record_id: r.get(1)?,
                    form_id: r.get(2)?,
                    level: r.get(3)?,
                    findings_json: r.get(4)?,
                    received_at: r.get(5)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// The findings of one record (its newest item's), if the hub reported any.
    pub fn findings_of_record(
        &self,
        record_id: &str,
    ) -> Result<Option<StoredFinding>, LedgerError> {
        Ok(self
            .conn
            .query_row(
                "SELECT s.seq, s.record_id, f.form_id, s.level, s.findings, s.received_at \
                 FROM sync_item_finding s LEFT JOIN form_record f ON f.record_id = s.record_id \
                 WHERE s.record_id = ?1 ORDER BY s.seq DESC LIMIT 1",
                [record_id],
                |r| {
                    Ok(StoredFinding {
                        seq: r.get(0)?,
                        record_id: r.get(1)?,
                        form_id: r.get(2)?,
                        level: r.get(3)?,
                        findings_json: r.get(4)?,
                        received_at: r.get(5)?,
                    })
                },
            )
            .optional()?)
    }

    /// Kept findings by worst level and the open correction tasks:
    /// `(warnings, violations, open tasks)`.
    pub fn findings_counts(&self) -> Result<(u64, u64, u64), LedgerError> {
        Ok(self.conn.query_row(
            "SELECT (SELECT count(*) FROM sync_item_finding WHERE level = 'warning'), \
                    (SELECT count(*) FROM sync_item_finding WHERE level = 'violation'), \
                    (SELECT count(*) FROM correction_task WHERE closed_at IS NULL)",
            [],
            |r| {
                let n = |i: usize| -> rusqlite::Result<u64> {
                    Ok(u64::try_from(r.get::<_, i64>(i)?).unwrap_or(0))
                };
                Ok((n(0)?, n(1)?, n(2)?))
            },
        )?)
    }

    /// The findings kept for the item at outbox position `seq`.
    pub fn findings_of_seq(&self, seq: i64) -> Result<Option<StoredFinding>, LedgerError> {
        Ok(self
            .conn
            .query_row(
                "SELECT s.seq, s.record_id, f.form_id, s.level, s.findings, s.received_at \
                 FROM sync_item_finding s LEFT JOIN form_record f ON f.record_id = s.record_id \
                 WHERE s.seq = ?1",
                [seq],
                |r| {
                    Ok(StoredFinding {
                        seq: r.get(0)?,
                        record_id: r.get(1)?,
                        form_id: r.get(2)?,
                        level: r.get(3)?,
                        findings_json: r.get(4)?,
                        received_at: r.get(5)?,
                    })
                },
            )
            .optional()?)
    }

    /// Correction tasks, oldest first: the open ones only, or all.
    pub fn correction_tasks(
        &self,
        open_only: bool,
        limit: u32,
    ) -> Result<Vec<CorrectionTask>, LedgerError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {TASK_COLUMNS} FROM correction_task t \
             LEFT JOIN batch_form f ON f.id = t.form_id \
             WHERE (?1 = 0 OR t.closed_at IS NULL) ORDER BY t.task_id LIMIT ?2"
        ))?;
        let rows = stmt
            .query_map(params![i64::from(open_only), limit], task_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Tasks whose `CorrectionRequested` audit entry is not written yet.
    pub fn unaudited_correction_tasks(&self) -> Result<Vec<CorrectionTask>, LedgerError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {TASK_COLUMNS} FROM correction_task t \
             LEFT JOIN batch_form f ON f.id = t.form_id \
             WHERE t.audited = 0 ORDER BY t.task_id"
        ))?;
        let rows = stmt
            .query_map([], task_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    pub fn correction_task(&self, task_id: i64) -> Result<Option<CorrectionTask>, LedgerError> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {TASK_COLUMNS} FROM correction_task t \
                     LEFT JOIN batch_form f ON f.id = t.form_id WHERE t.task_id = ?1"
                ),
                [task_id],
                task_row,
            )
            .optional()?)
    }
}

impl Mutation<'_> {
    /// Marks a task's audit entry written (the caller writes it in the same mutation).
    pub fn mark_task_audited(&mut self, task_id: i64) -> Result<(), LedgerError> {
        self.tx.execute(
            "UPDATE correction_task SET audited = 1 WHERE task_id = ?1",
            [task_id],
        )?;
        Ok(())
    }

    /// Closes an open task; `false` when it is not open. The caller audits it.
    pub fn close_correction_task(
        &mut self,
        task_id: i64,
        by: &str,
        note: &str,
    ) -> Result<bool, LedgerError> {
        let n = self.tx.execute(
            "UPDATE correction_task SET closed_at = ?2, closed_by = ?3, note = ?4 \
             WHERE task_id = ?1 AND closed_at IS NULL",
            params![task_id, crate::audit::canonical_time(self.now), by, note],
        )?;
        Ok(n == 1)
    }
}
