//! 受付バッチ storage: batches, their forms, and the progress counted from the forms.
//!
//! Primitives only: the caller (`sesshu-terminal::batches`) applies the domain rules and writes
//! the audit entry in the same [`Mutation`].

use crate::audit::canonical_time;
use crate::ledger::{Mutation, Reader};
use crate::LedgerError;
use chrono::NaiveDate;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use sesshu_domain::batch::{BatchProgress, BatchRegistration, BatchStatus, FormState};

/// One batch as listed, with its progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Batch {
    /// Local number (shown on screens and written on the bundle).
    pub id: i64,
    /// UUIDv7 naming the batch to the hub.
    pub uid: String,
    pub clinic_code: String,
    /// The clinic's name from the code table, when the code is in it.
    pub clinic_name: Option<String>,
    pub received_on: NaiveDate,
    /// 請求月 `YYYY-MM`.
    pub claim_month: String,
    pub programme: String,
    pub note: String,
    pub status: BatchStatus,
    pub registered_by: String,
    pub registered_at: String,
    pub closed_by: Option<String>,
    pub closed_at: Option<String>,
    /// Counts by form state; `declared` is the registered count.
    pub progress: BatchProgress,
}

/// One form of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchForm {
    pub id: i64,
    pub uid: String,
    pub batch_id: i64,
    pub state: FormState,
    pub withdrawn_reason: Option<String>,
    pub withdrawn_by: Option<String>,
    pub updated_at: String,
}

const BATCH_COLUMNS: &str = "b.id, b.uid, b.clinic_code, c.name, b.received_on, b.claim_month, \
     b.programme, b.declared_forms, b.note, b.status, b.registered_by, b.registered_at, \
     b.closed_by, b.closed_at";

fn invalid(what: &str) -> LedgerError {
    LedgerError::InvalidData(what.to_owned())
}

fn row_to_batch(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Batch, String)> {
    let declared: i64 = r.get(7)?;
    let status: String = r.get(9)?;
    Ok((
        Batch {
            id: r.get(0)?,
            uid: r.get(1)?,
            clinic_code: r.get(2)?,
            clinic_name: r.get(3)?,
            received_on: r.get(4)?,
            claim_month: r.get(5)?,
            programme: r.get(6)?,
            note: r.get(8)?,
            status: BatchStatus::Open,
            registered_by: r.get(10)?,
            registered_at: r.get(11)?,
            closed_by: r.get(12)?,
            closed_at: r.get(13)?,
            progress: BatchProgress {
                declared: u32::try_from(declared).unwrap_or(0),
                ..Default::default()
            },
        },
        status,
    ))
}

fn row_to_form(r: &rusqlite::Row<'_>) -> rusqlite::Result<(BatchForm, String)> {
    let state: String = r.get(3)?;
    Ok((
        BatchForm {
            id: r.get(0)?,
            uid: r.get(1)?,
            batch_id: r.get(2)?,
            state: FormState::KeyedOnce,
            withdrawn_reason: r.get(4)?,
            withdrawn_by: r.get(5)?,
            updated_at: r.get(6)?,
        },
        state,
    ))
}

fn finish_form((mut f, state): (BatchForm, String)) -> Result<BatchForm, LedgerError> {
    f.state = FormState::from_code(&state).ok_or_else(|| invalid("batch form state"))?;
    Ok(f)
}

impl Reader<'_> {
    fn finish_batch(&self, (mut b, status): (Batch, String)) -> Result<Batch, LedgerError> {
        b.status = BatchStatus::from_code(&status).ok_or_else(|| invalid("batch status"))?;
        let declared = b.progress.declared;
        b.progress = self.batch_progress_counts(b.id)?;
        b.progress.declared = declared;
        Ok(b)
    }

    /// Counts of the batch's forms by state (`declared` left 0).
    fn batch_progress_counts(&self, batch_id: i64) -> Result<BatchProgress, LedgerError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT state, count(*) FROM batch_form WHERE batch_id = ?1 GROUP BY state",
        )?;
        let mut rows = stmt.query([batch_id])?;
        let mut p = BatchProgress::default();
        while let Some(r) = rows.next()? {
            let state: String = r.get(0)?;
            let n: i64 = r.get(1)?;
            let state = FormState::from_code(&state).ok_or_else(|| invalid("batch form state"))?;
            p.add(state, u32::try_from(n).unwrap_or(u32::MAX));
        }
        Ok(p)
    }

    pub fn batch(&self, id: i64) -> Result<Option<Batch>, LedgerError> {
        let row = self
            .conn
            .prepare_cached(&format!(
                "SELECT {BATCH_COLUMNS} FROM batch b LEFT JOIN clinic c ON c.code = b.clinic_code WHERE b.id = ?1"
            ))?
            .query_row([id], row_to_batch)
            .optional()?;
        row.map(|r| self.finish_batch(r)).transpose()
    }

    /// Newest first; only batches in `status` when given; at most `limit`.
    pub fn batches(
        &self,
        status: Option<BatchStatus>,
        limit: u32,
    ) -> Result<Vec<Batch>, LedgerError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {BATCH_COLUMNS} FROM batch b LEFT JOIN clinic c ON c.code = b.clinic_code \
             WHERE ?1 IS NULL OR b.status = ?1 ORDER BY b.id DESC LIMIT ?2"
        ))?;
        let rows = stmt
            .query_map(params![status.map(BatchStatus::code), limit], row_to_batch)?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(|r| self.finish_batch(r)).collect()
    }

    pub fn batch_form(&self, form_id: i64) -> Result<Option<BatchForm>, LedgerError> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT id, uid, batch_id, state, withdrawn_reason, withdrawn_by, updated_at \
                 FROM batch_form WHERE id = ?1",
            )?
            .query_row([form_id], row_to_form)
            .optional()?;
        row.map(finish_form).transpose()
    }

    /// The forms of a batch in the order they were added.
    pub fn batch_forms(&self, batch_id: i64) -> Result<Vec<BatchForm>, LedgerError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, uid, batch_id, state, withdrawn_reason, withdrawn_by, updated_at \
             FROM batch_form WHERE batch_id = ?1 ORDER BY id",
        )?;
        let rows = stmt
            .query_map([batch_id], row_to_form)?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(finish_form).collect()
    }
}

impl Mutation<'_> {
    /// Stores a validated registration as a new open batch; returns its local number and uid.
    pub fn insert_batch(
        &mut self,
        reg: &BatchRegistration,
        registered_by: &str,
    ) -> Result<(i64, String), LedgerError> {
        let uid = self.ids.new_id(self.now).to_string();
        self.tx
            .prepare_cached(
                "INSERT INTO batch (uid, clinic_code, received_on, claim_month, programme, \
                 declared_forms, note, registered_by, registered_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                uid,
                reg.clinic.as_str(),
                reg.received_on,
                reg.claim_month.to_text(),
                reg.programme,
                reg.declared_forms,
                reg.note,
                registered_by,
                canonical_time(self.now),
            ])?;
        Ok((self.tx.last_insert_rowid(), uid))
    }

    /// Marks an open batch closed. The caller has checked the close rule in this transaction.
    pub fn mark_batch_closed(&mut self, batch_id: i64, closed_by: &str) -> Result<(), LedgerError> {
        let n = self.tx.execute(
            "UPDATE batch SET status = 'closed', closed_by = ?2, closed_at = ?3 \
             WHERE id = ?1 AND status = 'open'",
            params![batch_id, closed_by, canonical_time(self.now)],
        )?;
        if n != 1 {
            return Err(invalid("batch to close is not open"));
        }
        Ok(())
    }

    /// Adds a form to a batch in `state` (the keying work calls this when a form's first pass
    /// is saved). A form is never added withdrawn.
    pub fn add_batch_form(&mut self, batch_id: i64, state: FormState) -> Result<i64, LedgerError> {
        if state == FormState::Withdrawn {
            return Err(invalid("a form is withdrawn only with a reason"));
        }
        let uid = self.ids.new_id(self.now).to_string();
        self.tx
            .prepare_cached(
                "INSERT INTO batch_form (uid, batch_id, state, updated_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                uid,
                batch_id,
                state.code(),
                canonical_time(self.now)
            ])?;
        Ok(self.tx.last_insert_rowid())
    }

    /// Moves a form to another state other than withdrawn (see [`Self::withdraw_batch_form`]).
    pub fn set_batch_form_state(
        &mut self,
        form_id: i64,
        state: FormState,
    ) -> Result<(), LedgerError> {
        if state == FormState::Withdrawn {
            return Err(invalid("a form is withdrawn only with a reason"));
        }
        let n = self.tx.execute(
            "UPDATE batch_form SET state = ?2, withdrawn_reason = NULL, withdrawn_by = NULL, \
             updated_at = ?3 WHERE id = ?1",
            params![form_id, state.code(), canonical_time(self.now)],
        )?;
        if n != 1 {
            return Err(invalid("no such batch form"));
        }
        Ok(())
    }

    /// Withdraws a form with a (checked, normalised) reason.
    pub fn withdraw_batch_form(
        &mut self,
        form_id: i64,
        reason: &str,
        withdrawn_by: &str,
    ) -> Result<(), LedgerError> {
        let n = self.tx.execute(
            "UPDATE batch_form SET state = 'withdrawn', withdrawn_reason = ?2, withdrawn_by = ?3, \
             updated_at = ?4 WHERE id = ?1",
            params![form_id, reason, withdrawn_by, canonical_time(self.now)],
        )?;
        if n != 1 {
            return Err(invalid("no such batch form"));
        }
        Ok(())
    }
}
