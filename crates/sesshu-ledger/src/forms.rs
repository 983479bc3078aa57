//! Keying storage: the append-only entries of each form (passes, resolutions, verifications,
//! changes), the form's record derived from them, attributed keying errors, the profile in
//! force, and the queries behind the queues and the operator statistics.
//!
//! Primitives only: `sesshu-terminal::keying` applies the domain rules and writes the audit
//! entry and the outbox item in the same [`Mutation`].

use crate::audit::canonical_time;
use crate::ledger::{Mutation, Reader};
use crate::LedgerError;
use rusqlite::{params, OptionalExtension};
use sesshu_domain::batch::FormState;
use sesshu_domain::double_entry::Keying;
use sesshu_domain::lifecycle::{RecordState, Workflow};

/// Kinds of the entries of a form (`form_entry.kind`), as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    FirstPass,
    SecondPass,
    SecondPassSkipped,
    Rekey,
    Resolution,
    Approval,
    Rejection,
    CorrectionRequest,
    DeletionRequest,
    ChangeConfirmed,
    ChangeRefused,
}

impl EntryKind {
    pub fn code(self) -> &'static str {
        match self {
            EntryKind::FirstPass => "first_pass",
            EntryKind::SecondPass => "second_pass",
            EntryKind::SecondPassSkipped => "second_pass_skipped",
            EntryKind::Rekey => "rekey",
            EntryKind::Resolution => "resolution",
            EntryKind::Approval => "approval",
            EntryKind::Rejection => "rejection",
            EntryKind::CorrectionRequest => "correction_request",
            EntryKind::DeletionRequest => "deletion_request",
            EntryKind::ChangeConfirmed => "change_confirmed",
            EntryKind::ChangeRefused => "change_refused",
        }
    }
}

/// Operator statistics of one keying pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PassMetrics {
    pub fields: u32,
    pub keystrokes: u32,
    pub active_ms: u64,
}

/// A new entry: who did what to which form, with its JSON payload.
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    pub form_id: i64,
    pub kind: EntryKind,
    pub actor: &'a str,
    /// The JST day the work was done.
    pub day: &'a str,
    pub payload: &'a str,
    pub metrics: PassMetrics,
}

/// The record of one form (the cache of its entries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormRecord {
    pub form_id: i64,
    pub form_uid: String,
    pub batch_id: i64,
    pub form_no: u32,
    pub programme: String,
    pub workflow: Workflow,
    pub atena: Option<String>,
    pub first_values: Keying,
    pub second_values: Option<Keying>,
    pub final_values: Option<Keying>,
    /// JSON array of the verifier's comments.
    pub comments: String,
    /// JSON array of stored warnings.
    pub warnings: String,
    pub override_reason: Option<String>,
    pub vaccine: Option<String>,
    pub vaccinated_on: Option<String>,
    pub record_id: Option<String>,
    pub updated_at: String,
}

impl FormRecord {
    pub fn state(&self) -> RecordState {
        self.workflow.state
    }
}

/// One row of the operator statistics: a user's keying on a JST day.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OperatorDay {
    pub actor: String,
    pub day: String,
    pub forms: u32,
    pub fields: u32,
    pub keystrokes: u64,
    pub active_ms: u64,
    pub errors_first: u32,
    pub errors_second: u32,
}

fn invalid(what: &str) -> LedgerError {
    LedgerError::InvalidData(what.to_owned())
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, LedgerError> {
    serde_json::to_string(v).map_err(|e| invalid(&format!("json: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, LedgerError> {
    serde_json::from_str(s).map_err(|e| invalid(&format!("json: {e}")))
}

/// The stored code of a record state (its serde name).
pub fn state_code(state: RecordState) -> Result<String, LedgerError> {
    match serde_json::to_value(state) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        _ => Err(invalid("record state code")),
    }
}

const RECORD_COLUMNS: &str = "r.form_id, f.uid, r.batch_id, r.form_no, r.programme, r.workflow, \
     r.atena, r.first_values, r.second_values, r.final_values, r.comments, r.warnings, \
     r.override_reason, r.vaccine, r.vaccinated_on, r.record_id, r.updated_at";

/// [`RECORD_COLUMNS`] without the keyed values (lists and queues never show them).
const SUMMARY_COLUMNS: &str = "r.form_id, f.uid, r.batch_id, r.form_no, r.programme, r.workflow, \
     r.atena, '{}', NULL, NULL, r.comments, r.warnings, \
     r.override_reason, r.vaccine, r.vaccinated_on, r.record_id, r.updated_at";

type RawRecord = (
    (i64, String, i64, i64, String, String),
    (Option<String>, String, Option<String>, Option<String>),
    (
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
    ),
    (Option<String>, String),
);

fn raw_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRecord> {
    Ok((
        (
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
        ),
        (r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?),
        (r.get(10)?, r.get(11)?, r.get(12)?, r.get(13)?, r.get(14)?),
        (r.get(15)?, r.get(16)?),
    ))
}

fn finish_record(raw: RawRecord) -> Result<FormRecord, LedgerError> {
    let ((form_id, form_uid, batch_id, form_no, programme, workflow), a, b, c) = raw;
    let (atena, first, second, fin) = a;
    let (comments, warnings, override_reason, vaccine, vaccinated_on) = b;
    let (record_id, updated_at) = c;
    Ok(FormRecord {
        form_id,
        form_uid,
        batch_id,
        form_no: u32::try_from(form_no).map_err(|_| invalid("form number"))?,
        programme,
        workflow: from_json(&workflow)?,
        atena,
        first_values: from_json(&first)?,
        second_values: second.as_deref().map(from_json).transpose()?,
        final_values: fin.as_deref().map(from_json).transpose()?,
        comments,
        warnings,
        override_reason,
        vaccine,
        vaccinated_on,
        record_id,
        updated_at,
    })
}

impl Reader<'_> {
    fn records_where(
        &self,
        condition: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<FormRecord>, LedgerError> {
        self.select_records(RECORD_COLUMNS, condition, args)
    }

    fn select_records(
        &self,
        columns: &str,
        condition: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<FormRecord>, LedgerError> {
        let sql = format!(
            "SELECT {columns} FROM form_record r JOIN batch_form f ON f.id = r.form_id \
             WHERE {condition}"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let raws = stmt
            .query_map(args, raw_record)?
            .collect::<Result<Vec<_>, _>>()?;
        raws.into_iter().map(finish_record).collect()
    }

    pub fn form_record(&self, form_id: i64) -> Result<Option<FormRecord>, LedgerError> {
        Ok(self
            .records_where("r.form_id = ?1", &[&form_id])?
            .into_iter()
            .next())
    }

    /// Records of a batch in 票番号 order, without their keyed values (lists and reports).
    pub fn batch_records(&self, batch_id: i64) -> Result<Vec<FormRecord>, LedgerError> {
        self.select_records(
            SUMMARY_COLUMNS,
            "r.batch_id = ?1 ORDER BY r.form_no",
            &[&batch_id],
        )
    }

    /// Records in any of `states`, oldest first, at most `limit`.
    pub fn records_in_states(
        &self,
        states: &[RecordState],
        limit: u32,
    ) -> Result<Vec<FormRecord>, LedgerError> {
        self.in_states(RECORD_COLUMNS, states, limit)
    }

    /// [`Self::records_in_states`] without the keyed values (empty): what a queue lists.
    pub fn record_summaries_in_states(
        &self,
        states: &[RecordState],
        limit: u32,
    ) -> Result<Vec<FormRecord>, LedgerError> {
        self.in_states(SUMMARY_COLUMNS, states, limit)
    }

    fn in_states(
        &self,
        columns: &str,
        states: &[RecordState],
        limit: u32,
    ) -> Result<Vec<FormRecord>, LedgerError> {
        let codes = states
            .iter()
            .map(|s| state_code(*s))
            .collect::<Result<Vec<_>, _>>()?;
        let list = serde_json::to_string(&codes).map_err(|e| invalid(&e.to_string()))?;
        self.select_records(
            columns,
            "r.state IN (SELECT value FROM json_each(?1)) ORDER BY r.form_id LIMIT ?2",
            &[&list, &limit],
        )
    }

    /// Records of a batch in `state`, first keyed by someone other than `not_keyer` (a second
    /// pass) or by `keyer` (a re-keying), oldest first.
    pub fn batch_records_in_state(
        &self,
        batch_id: i64,
        state: RecordState,
    ) -> Result<Vec<FormRecord>, LedgerError> {
        let code = state_code(state)?;
        self.records_where(
            "r.batch_id = ?1 AND r.state = ?2 ORDER BY r.form_no",
            &[&batch_id, &code],
        )
    }

    /// Number of forms of a batch that have a record (the next 票番号 is this + 1).
    pub fn batch_record_count(&self, batch_id: i64) -> Result<u32, LedgerError> {
        let n: i64 = self.conn.query_row(
            // Purged records keep their numbers (migration 0009): a number is never reused.
            "SELECT max(coalesce((SELECT max(form_no) FROM form_record WHERE batch_id = ?1), 0), \
             coalesce((SELECT max(form_no) FROM purged_form WHERE batch_id = ?1), 0))",
            [batch_id],
            |r| r.get(0),
        )?;
        u32::try_from(n).map_err(|_| invalid("form number"))
    }

    /// The payload of `actor`'s newest keying pass in a batch (for carry-forward).
    pub fn last_pass_payload(
        &self,
        batch_id: i64,
        actor: &str,
    ) -> Result<Option<String>, LedgerError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT e.payload FROM form_entry e JOIN form_record r ON r.form_id = e.form_id \
                 WHERE r.batch_id = ?1 AND e.actor = ?2 \
                 AND e.kind IN ('first_pass', 'second_pass', 'rekey') \
                 ORDER BY e.seq DESC LIMIT 1",
            )?
            .query_row(params![batch_id, actor], |r| r.get(0))
            .optional()?)
    }

    /// The resident's vaccinations in approved (or later) records: (vaccine, date), for the
    /// schedule check of a new form. `except_form` leaves out the form being keyed.
    pub fn resident_history(
        &self,
        atena: &str,
        except_form: Option<i64>,
    ) -> Result<Vec<(String, String)>, LedgerError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT vaccine, vaccinated_on FROM form_record \
             WHERE atena = ?1 AND form_id <> ?2 AND vaccine IS NOT NULL \
             AND vaccinated_on IS NOT NULL \
             AND state IN ('approved', 'queued', 'synced', 'correction_pending', 'deletion_pending') \
             ORDER BY vaccinated_on",
        )?;
        let rows = stmt
            .query_map(params![atena, except_form.unwrap_or(-1)], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// A keyer's recent quality for the sampling rule: over their newest `window` first passes
    /// that were compared, (records, fields verified, errors attributed to them).
    pub fn keyer_quality(&self, keyer: &str, window: u32) -> Result<(u32, u64, u64), LedgerError> {
        let (records, fields): (i64, i64) = self.conn.query_row(
            "SELECT count(*), coalesce(sum(fields), 0) FROM (SELECT e.fields FROM form_entry e \
             JOIN form_record r ON r.form_id = e.form_id \
             WHERE e.actor = ?1 AND e.kind IN ('first_pass', 'rekey') AND r.second_keyer IS NOT NULL \
             ORDER BY e.seq DESC LIMIT ?2)",
            params![keyer, window],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let errors: i64 = self.conn.query_row(
            "SELECT count(*) FROM keying_error WHERE keyer = ?1 AND pass = 1 AND form_id IN \
             (SELECT e.form_id FROM form_entry e WHERE e.actor = ?1 \
              AND e.kind IN ('first_pass', 'rekey') ORDER BY e.seq DESC LIMIT ?2)",
            params![keyer, window],
            |r| r.get(0),
        )?;
        Ok((
            u32::try_from(records).unwrap_or(u32::MAX),
            u64::try_from(fields).unwrap_or(0),
            u64::try_from(errors).unwrap_or(0),
        ))
    }

    /// Per user and JST day between `from` and `to` (inclusive, `YYYY-MM-DD`): keying passes
    /// and the errors attributed to them; `only` limits it to one user. Read from
    /// `operator_day`, which every pass and resolution keeps in step.
    pub fn operator_days(
        &self,
        from: &str,
        to: &str,
        only: Option<&str>,
    ) -> Result<Vec<OperatorDay>, LedgerError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT actor, day, forms, fields, keystrokes, active_ms, errors_first, errors_second \
             FROM operator_day WHERE day BETWEEN ?1 AND ?2 AND (?3 IS NULL OR actor = ?3) \
             ORDER BY actor, day",
        )?;
        let rows = stmt
            .query_map(params![from, to, only], |r| {
                let n = |i: usize| -> rusqlite::Result<i64> { r.get(i) };
                Ok(OperatorDay {
                    actor: r.get(0)?,
                    day: r.get(1)?,
                    forms: u32::try_from(n(2)?).unwrap_or(u32::MAX),
                    fields: u32::try_from(n(3)?).unwrap_or(u32::MAX),
                    keystrokes: u64::try_from(n(4)?).unwrap_or(0),
                    active_ms: u64::try_from(n(5)?).unwrap_or(0),
                    errors_first: u32::try_from(n(6)?).unwrap_or(u32::MAX),
                    errors_second: u32::try_from(n(7)?).unwrap_or(u32::MAX),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// The payload of the newest entry of `kind` on a form.
    pub fn last_entry_payload(
        &self,
        form_id: i64,
        kind: EntryKind,
    ) -> Result<Option<(String, String)>, LedgerError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT actor, payload FROM form_entry WHERE form_id = ?1 AND kind = ?2 \
                 ORDER BY seq DESC LIMIT 1",
            )?
            .query_row(params![form_id, kind.code()], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?)
    }

    /// The JST day of the newest entry of `kind` on a form (the day a pass was keyed).
    pub fn last_entry_day(
        &self,
        form_id: i64,
        kind: EntryKind,
    ) -> Result<Option<String>, LedgerError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT day FROM form_entry WHERE form_id = ?1 AND kind = ?2 \
                 ORDER BY seq DESC LIMIT 1",
            )?
            .query_row(params![form_id, kind.code()], |r| r.get(0))
            .optional()?)
    }

    /// The profile in force as (version, JSON), if the centre or an administrator set one.
    pub fn municipality_profile(&self) -> Result<Option<(String, String)>, LedgerError> {
        Ok(self
            .conn
            .query_row(
                "SELECT version, json FROM municipality_profile WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }
}

impl Mutation<'_> {
    /// Appends an entry; returns its (seq, UUIDv7).
    pub fn append_form_entry(&mut self, e: &NewEntry<'_>) -> Result<(i64, String), LedgerError> {
        let id = self.ids.new_id(self.now).to_string();
        self.tx
            .prepare_cached(
                "INSERT INTO form_entry (id, form_id, kind, actor, at, day, payload, fields, \
                 keystrokes, active_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                id,
                e.form_id,
                e.kind.code(),
                e.actor,
                canonical_time(self.now),
                e.day,
                e.payload,
                e.metrics.fields,
                e.metrics.keystrokes,
                i64::try_from(e.metrics.active_ms).unwrap_or(i64::MAX),
            ])?;
        let seq = self.tx.last_insert_rowid();
        if matches!(
            e.kind,
            EntryKind::FirstPass | EntryKind::SecondPass | EntryKind::Rekey
        ) {
            self.tx
                .prepare_cached(
                    "INSERT INTO operator_day (actor, day, forms, fields, keystrokes, active_ms) \
                     VALUES (?1, ?2, 1, ?3, ?4, ?5) ON CONFLICT (day, actor) DO UPDATE SET \
                     forms = forms + 1, fields = fields + excluded.fields, \
                     keystrokes = keystrokes + excluded.keystrokes, \
                     active_ms = active_ms + excluded.active_ms",
                )?
                .execute(params![
                    e.actor,
                    e.day,
                    e.metrics.fields,
                    e.metrics.keystrokes,
                    i64::try_from(e.metrics.active_ms).unwrap_or(i64::MAX),
                ])?;
        }
        Ok((seq, id))
    }

    /// A new form of a batch with its first pass's record; returns the form id.
    pub fn insert_form_record(&mut self, rec: &FormRecord) -> Result<i64, LedgerError> {
        let form_id = self.add_batch_form(rec.batch_id, FormState::of_record(rec.state()))?;
        self.tx
            .prepare_cached(
                "INSERT INTO form_record (form_id, batch_id, form_no, programme, state, workflow, \
                 first_keyer, first_values, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                form_id,
                rec.batch_id,
                rec.form_no,
                rec.programme,
                state_code(rec.state())?,
                to_json(&rec.workflow)?,
                rec.workflow.first_keyer.0,
                to_json(&rec.first_values)?,
                canonical_time(self.now),
            ])?;
        let mut stored = rec.clone();
        stored.form_id = form_id;
        self.update_form_record(&stored)?;
        Ok(form_id)
    }

    /// Writes the record's current facts and keeps the batch's form state in step.
    pub fn update_form_record(&mut self, rec: &FormRecord) -> Result<(), LedgerError> {
        let w = &rec.workflow;
        let n = self
            .tx
            .prepare_cached(
                "UPDATE form_record SET state = ?2, workflow = ?3, atena = ?4, first_keyer = ?5, \
                 second_keyer = ?6, resolver = ?7, approver = ?8, first_values = ?9, \
                 second_values = ?10, final_values = ?11, comments = ?12, warnings = ?13, \
                 override_reason = ?14, vaccine = ?15, vaccinated_on = ?16, record_id = ?17, \
                 updated_at = ?18 WHERE form_id = ?1",
            )?
            .execute(params![
                rec.form_id,
                state_code(w.state)?,
                to_json(w)?,
                rec.atena,
                w.first_keyer.0,
                w.second_keyer.as_ref().map(|u| u.0.as_str()),
                w.resolver.as_ref().map(|u| u.0.as_str()),
                w.approver.as_ref().map(|u| u.0.as_str()),
                to_json(&rec.first_values)?,
                rec.second_values.as_ref().map(to_json).transpose()?,
                rec.final_values.as_ref().map(to_json).transpose()?,
                rec.comments,
                rec.warnings,
                rec.override_reason,
                rec.vaccine,
                rec.vaccinated_on,
                rec.record_id,
                canonical_time(self.now),
            ])?;
        if n != 1 {
            return Err(invalid("no such form record"));
        }
        match FormState::of_record(w.state) {
            FormState::Withdrawn => self.withdraw_batch_form(rec.form_id, "削除", &w.first_keyer.0),
            s => self.set_batch_form_state(rec.form_id, s),
        }
    }

    /// Records the errors a resolution attributed.
    pub fn insert_keying_errors(
        &mut self,
        entry_seq: i64,
        form_id: i64,
        errors: &[(String, String, u8, String)],
    ) -> Result<(), LedgerError> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO keying_error (entry_seq, form_id, field, keyer, pass, day) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        let mut per_day = self.tx.prepare_cached(
            "INSERT INTO operator_day (actor, day, errors_first, errors_second) \
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT (day, actor) DO UPDATE SET \
             errors_first = errors_first + excluded.errors_first, \
             errors_second = errors_second + excluded.errors_second",
        )?;
        for (field, keyer, pass, day) in errors {
            stmt.execute(params![entry_seq, form_id, field, keyer, pass, day])?;
            let (first, second) = if *pass == 1 { (1, 0) } else { (0, 1) };
            per_day.execute(params![keyer, day, first, second])?;
        }
        Ok(())
    }

    /// Queues an item for the hub in this transaction (stream `records`, `corrections`,
    /// `deletions`); idempotent at the hub by item id and content hash.
    pub fn enqueue_item(
        &mut self,
        stream: &str,
        entry_id: &str,
        payload: &str,
    ) -> Result<(), LedgerError> {
        self.enqueue(stream, entry_id, payload)
    }

    /// A new UUIDv7 from the ledger's id source (for record ids).
    pub fn new_uid(&self) -> String {
        self.ids.new_id(self.now).to_string()
    }

    /// Replaces the profile in force.
    pub fn set_municipality_profile(
        &mut self,
        version: &str,
        json: &str,
    ) -> Result<(), LedgerError> {
        self.tx.execute(
            "INSERT INTO municipality_profile (id, version, json, installed_at) VALUES (1, ?1, ?2, ?3) \
             ON CONFLICT (id) DO UPDATE SET version = excluded.version, json = excluded.json, \
             installed_at = excluded.installed_at",
            params![version, json, canonical_time(self.now)],
        )?;
        Ok(())
    }
}
