//! Data minimisation: deleting what the hub has acknowledged (migration `0009-minimise`).
//!
//! *When* something is due is a domain rule (`sesshu_domain::retention`); this module reads
//! the facts the rule needs and deletes, and it refuses on its own to delete anything the hub
//! has not acknowledged: every delete re-checks the acknowledged prefix of the outbox
//! (the outbox watermark) in the purge's own transaction.
//!
//! - **A record** (a form with a record id) goes when the receipts cover its newest outbox item
//!   (the approval and every later correction or deletion): its form entries (every keyed pass),
//!   its record row, its attributed keying errors and the payloads of its outbox items are
//!   deleted; `purged_form` keeps the form number (never reused), the record id and the dates,
//!   no personal data. `batch_form` (state only) stays, so a batch's counts still add up, and
//!   the outbox rows keep id and content hash (the proof of what was sent) without payload.
//! - **Audit entries** go when a receipt says the hub holds them and their chain head
//!   (`chain.held`): everything up to the held head, but never the newest entry, so the anchored
//!   entry survives the purge. The last purged entry becomes the chain's base (`audit_base`),
//!   which the anchor covers (see [`crate::anchor`]); the purge's own audit entry names it.

use crate::audit::canonical_time;
use crate::ledger::{Mutation, Reader};
use crate::outbox::WATERMARK;
use crate::LedgerError;
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};
use sesshu_protocol::chain::ChainHead;

/// What an outbox payload becomes once purged.
pub const PURGED_PAYLOAD: &str = r#"{"purged":true}"#;

/// Record states after approval in which nothing is waiting for a second person: a record in
/// any other state (a correction or deletion requested) has an open change task.
const SETTLED_STATES: &str = "('approved', 'queued', 'synced', 'deletion_queued', 'deleted')";

/// Streams whose items carry a record or a change of one.
const RECORD_STREAMS: &str = "('records', 'corrections', 'deletions')";

/// A record that has reached the outbox, and how far the hub has acknowledged it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordAck {
    pub form_id: i64,
    /// When the receipt covering the record's newest outbox item was stored (terminal time);
    /// `None` while that item is unacknowledged.
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// A correction or deletion is requested and not yet confirmed or refused, or a
    /// correction task the hub's findings opened is not closed yet (the supervisor needs the
    /// record to act on it).
    pub open_change_task: bool,
}

/// What one purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub records: u64,
    pub form_entries: u64,
    pub outbox_payloads: u64,
    pub audit_entries: u64,
    /// The hub's findings on the purged records, and their closed correction tasks.
    pub findings: u64,
    /// The chain's base after the purge, when audit entries were purged.
    pub audit_base: Option<(i64, [u8; 32])>,
}

impl Purged {
    pub fn is_empty(&self) -> bool {
        self.records == 0 && self.audit_entries == 0
    }

    /// The purge's audit detail: counts only (no personal data) and, when the chain's base
    /// moved, the base in the form the anchor check looks for.
    pub fn audit_detail(&self) -> serde_json::Value {
        let mut d = serde_json::json!({
            "records": self.records,
            "form_entries": self.form_entries,
            "outbox_payloads": self.outbox_payloads,
            "audit_entries": self.audit_entries,
            "findings": self.findings,
        });
        if let (Some((seq, hash)), Some(obj)) = (self.audit_base, d.as_object_mut()) {
            obj.insert("audit_base_seq".into(), serde_json::json!(seq));
            obj.insert(
                "audit_base_hash".into(),
                serde_json::json!(hex::encode(hash)),
            );
        }
        d
    }
}

/// How much personal data the terminal holds (the administrator's data screen).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataCounts {
    pub residents: u64,
    /// Doses of the centre's last doses per series (profile setting `downlink_last_doses`).
    pub last_doses: u64,
    /// Records per `RecordState` code.
    pub records_by_state: std::collections::BTreeMap<String, u64>,
    /// Records already purged (only their form number and record id remain).
    pub purged_records: u64,
    pub audit_entries: u64,
    pub outbox_pending: u64,
    /// The oldest keyed pass still held.
    pub oldest_record_at: Option<DateTime<Utc>>,
    pub oldest_audit_at: Option<DateTime<Utc>>,
    /// The oldest record item waiting for the hub.
    pub oldest_pending_record_at: Option<DateTime<Utc>>,
    pub last_receipt_at: Option<DateTime<Utc>>,
    pub last_purge_at: Option<DateTime<Utc>>,
}

fn time(s: Option<String>) -> Option<DateTime<Utc>> {
    s.and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
        .map(|d| d.with_timezone(&Utc))
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl Reader<'_> {
    /// Every record with a record id and how far the hub acknowledged it.
    pub fn purge_candidates(&self) -> Result<Vec<RecordAck>, LedgerError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT r.form_id, r.state IN {SETTLED_STATES} AND NOT EXISTS \
               (SELECT 1 FROM correction_task c WHERE c.closed_at IS NULL \
                AND (c.form_id = r.form_id OR c.record_id = r.record_id)), \
               (SELECT s.stored_at FROM sync_receipt s \
                WHERE s.last_seq >= x.last_seq AND s.first_seq <= x.last_seq \
                AND x.last_seq <= {WATERMARK} ORDER BY s.last_seq LIMIT 1) \
             FROM form_record r JOIN \
               (SELECT e.form_id AS form_id, max(o.seq) AS last_seq FROM form_entry e \
                JOIN outbox o ON o.entry_id = e.id WHERE o.stream IN {RECORD_STREAMS} \
                GROUP BY e.form_id) x ON x.form_id = r.form_id \
             WHERE r.record_id IS NOT NULL ORDER BY r.form_id"
        ))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(RecordAck {
                    form_id: r.get(0)?,
                    open_change_task: !r.get::<_, bool>(1)?,
                    acknowledged_at: time(r.get(2)?),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// The audit chain head the hub held per the newest receipt stored at or before `at`
    /// (receipts are verified before they are stored).
    pub fn hub_held_audit_head(&self, at: DateTime<Utc>) -> Result<Option<ChainHead>, LedgerError> {
        let json: Option<String> = self
            .conn
            .query_row(
                "SELECT signed_json FROM sync_receipt WHERE stored_at <= ?1 \
                 ORDER BY last_seq DESC LIMIT 1",
                [canonical_time(at)],
                |r| r.get(0),
            )
            .optional()?;
        let Some(json) = json else {
            return Ok(None);
        };
        // A receipt kept in another form (e.g. one imported from a medium) says nothing about
        // the chain here: then no audit entry is purged, and records still are.
        let held = serde_json::from_str::<sesshu_protocol::Signed<sesshu_protocol::Receipt>>(&json)
            .ok()
            .and_then(|signed| signed.peek().ok())
            .map(|receipt| receipt.chain.held);
        if held.is_none() {
            tracing::warn!("newest receipt does not name the hub's chain head; audit kept");
        }
        Ok(held)
    }

    /// When the oldest record item still waiting for the hub was queued.
    pub fn oldest_pending_record_item_at(&self) -> Result<Option<DateTime<Utc>>, LedgerError> {
        let at: Option<String> = self.conn.query_row(
            &format!(
                "SELECT min(created_at) FROM outbox WHERE acked_at IS NULL \
                 AND seq > {WATERMARK} AND stream IN {RECORD_STREAMS}"
            ),
            [],
            |r| r.get(0),
        )?;
        Ok(time(at))
    }

    /// The counts of the administrator's data screen.
    pub fn data_counts(&self) -> Result<DataCounts, LedgerError> {
        let one = |sql: &str| -> Result<i64, LedgerError> {
            Ok(self.conn.query_row(sql, [], |r| r.get(0))?)
        };
        let text = |sql: &str| -> Result<Option<String>, LedgerError> {
            Ok(self.conn.query_row(sql, [], |r| r.get(0))?)
        };
        let mut stmt = self
            .conn
            .prepare("SELECT state, count(*) FROM form_record GROUP BY state")?;
        let records_by_state = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
            .map(|r| r.map(|(s, n)| (s, count(n))))
            .collect::<Result<_, _>>()?;
        Ok(DataCounts {
            residents: count(one("SELECT count(*) FROM resident")?),
            last_doses: count(one("SELECT count(*) FROM resident_last_dose")?),
            records_by_state,
            purged_records: count(one("SELECT count(*) FROM purged_form")?),
            audit_entries: count(one("SELECT count(*) FROM audit_entry")?),
            outbox_pending: self.outbox_pending_count()?,
            oldest_record_at: time(text("SELECT min(at) FROM form_entry")?),
            oldest_audit_at: time(text("SELECT min(at) FROM audit_entry")?),
            oldest_pending_record_at: self.oldest_pending_record_item_at()?,
            last_receipt_at: time(text("SELECT max(stored_at) FROM sync_receipt")?),
            last_purge_at: time(text(
                "SELECT max(t) FROM (SELECT max(purged_at) AS t FROM purged_form \
                 UNION ALL SELECT purged_at FROM audit_base)",
            )?),
        })
    }
}

impl Mutation<'_> {
    /// Deleted content is overwritten in the pages it leaves (`PRAGMA secure_delete`), not just
    /// unlinked: a purge must not leave the records readable in free pages to whoever holds the
    /// key. Only for the purge's own statements (a full resident import would pay twice for
    /// its deletes). The WAL's copies of older page versions go with the checkpoint the
    /// terminal runs after a purge.
    fn secure_delete(&mut self, on: bool) -> Result<(), LedgerError> {
        self.tx.execute_batch(if on {
            "PRAGMA secure_delete = ON"
        } else {
            "PRAGMA secure_delete = OFF"
        })?;
        Ok(())
    }

    /// Purges the records of `form_ids` whose newest outbox item the hub has acknowledged and
    /// that have no open change task (re-checked here: anything else is skipped, never
    /// deleted). The caller decides which are due and audits the purge in this transaction.
    pub fn purge_records(&mut self, form_ids: &[i64]) -> Result<Purged, LedgerError> {
        let acked: std::collections::BTreeMap<i64, DateTime<Utc>> = self
            .reader()
            .purge_candidates()?
            .into_iter()
            .filter(|c| !c.open_change_task)
            .filter_map(|c| c.acknowledged_at.map(|at| (c.form_id, at)))
            .collect();
        let now = canonical_time(self.now);
        let mut out = Purged::default();
        self.secure_delete(true)?;
        for id in form_ids {
            let Some(at) = acked.get(id) else {
                continue;
            };
            out.outbox_payloads += count(
                i64::try_from(self.tx.execute(
                    &format!(
                        "UPDATE outbox SET payload = ?2 WHERE seq <= {WATERMARK} \
                     AND entry_id IN (SELECT id FROM form_entry WHERE form_id = ?1)"
                    ),
                    params![id, PURGED_PAYLOAD],
                )?)
                .unwrap_or(0),
            );
            self.tx
                .execute("DELETE FROM keying_error WHERE form_id = ?1", [id])?;
            // The hub's findings name the doses they compared (a vaccine and a date): they
            // leave with the record. Its correction tasks are all closed here (an open one
            // keeps the record), and their closing stays in the audit.
            self.tx.execute(
                "DELETE FROM correction_task WHERE closed_at IS NOT NULL AND (form_id = ?1 \
                 OR record_id = (SELECT record_id FROM form_record WHERE form_id = ?1))",
                [id],
            )?;
            out.findings += self.tx.execute(
                "DELETE FROM sync_item_finding WHERE record_id = \
                 (SELECT record_id FROM form_record WHERE form_id = ?1) \
                 AND seq NOT IN (SELECT seq FROM correction_task)",
                [id],
            )? as u64;
            self.tx.execute(
                "INSERT INTO purged_form (form_id, batch_id, form_no, record_id, acknowledged_at, purged_at) \
                 SELECT form_id, batch_id, form_no, record_id, ?2, ?3 FROM form_record WHERE form_id = ?1",
                params![id, canonical_time(*at), now],
            )?;
            self.tx
                .execute("DELETE FROM form_record WHERE form_id = ?1", [id])?;
            let entries = self
                .tx
                .execute("DELETE FROM form_entry WHERE form_id = ?1", [id])?;
            out.form_entries += entries as u64;
            out.records += 1;
        }
        self.secure_delete(false)?;
        Ok(out)
    }

    /// Purges the audit entries up to `held` (the head the hub holds), keeping at least the
    /// newest entry; nothing when the entry at `held.seq` is not the one the hub holds (the
    /// hub's view differs: continuity is IT's question, not the purge's) or when any of them
    /// is not acknowledged. Returns how many were purged and the new base.
    pub fn purge_audit_held(&mut self, held: &ChainHead) -> Result<Purged, LedgerError> {
        let r = self.reader();
        let (head_seq, _) = r.audit_head()?;
        let (base_seq, _) = r.audit_base()?;
        let held_hash: Option<Vec<u8>> = self
            .tx
            .query_row(
                "SELECT hash FROM audit_entry WHERE seq = ?1",
                [held.seq],
                |r| r.get(0),
            )
            .optional()?;
        if held_hash.as_deref() != Some(held.hash.as_slice()) {
            return Ok(Purged::default());
        }
        let upto = held.seq.min(head_seq - 1);
        if upto <= base_seq {
            return Ok(Purged::default());
        }
        let unacked: i64 = self.tx.query_row(
            &format!(
                "SELECT count(*) FROM outbox WHERE stream = 'audit' AND seq > {WATERMARK} \
                 AND entry_id IN (SELECT id FROM audit_entry WHERE seq <= ?1)"
            ),
            [upto],
            |r| r.get(0),
        )?;
        if unacked > 0 {
            return Ok(Purged::default());
        }
        let base_hash: Vec<u8> =
            self.tx
                .query_row("SELECT hash FROM audit_entry WHERE seq = ?1", [upto], |r| {
                    r.get(0)
                })?;
        let base_hash: [u8; 32] = base_hash
            .try_into()
            .map_err(|_| LedgerError::InvalidData("audit hash length".into()))?;
        self.secure_delete(true)?;
        let payloads = self.tx.execute(
            "UPDATE outbox SET payload = ?2 WHERE stream = 'audit' \
             AND entry_id IN (SELECT id FROM audit_entry WHERE seq <= ?1)",
            params![upto, PURGED_PAYLOAD],
        )?;
        let deleted = self
            .tx
            .execute("DELETE FROM audit_entry WHERE seq <= ?1", [upto])?;
        self.tx.execute(
            "INSERT INTO audit_base (id, seq, hash, purged_at) VALUES (1, ?1, ?2, ?3) \
             ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, \
             purged_at = excluded.purged_at",
            params![upto, base_hash.as_slice(), canonical_time(self.now)],
        )?;
        self.secure_delete(false)?;
        Ok(Purged {
            audit_entries: deleted as u64,
            outbox_payloads: payloads as u64,
            audit_base: Some((upto, base_hash)),
            ..Purged::default()
        })
    }
}

/// Settings of the retention rules (administrator, audited by the caller as a settings change).
pub const PURGE_GRACE_DAYS: &str = "purge_grace_days";
pub const MAX_OFFLINE_DAYS: &str = "max_offline_days";
/// The administrator's override of the offline block (JSON `OfflineOverride`), while any.
pub const OFFLINE_OVERRIDE: &str = "offline_override";

impl Reader<'_> {
    /// The retention settings, with the defaults for anything never set.
    pub fn retention_policy(
        &self,
    ) -> Result<sesshu_domain::retention::RetentionPolicy, LedgerError> {
        let d = sesshu_domain::retention::RetentionPolicy::default();
        let get = |key: &str, default: u32| -> Result<u32, LedgerError> {
            match self.setting(key)? {
                None => Ok(default),
                Some(v) => v
                    .parse()
                    .map_err(|_| LedgerError::InvalidData(format!("setting {key}"))),
            }
        };
        Ok(sesshu_domain::retention::RetentionPolicy {
            purge_grace_days: get(PURGE_GRACE_DAYS, d.purge_grace_days)?,
            max_offline_days: get(MAX_OFFLINE_DAYS, d.max_offline_days)?,
        })
    }

    /// The last override granted (it may have expired: the domain rule compares its end).
    pub fn offline_override(
        &self,
    ) -> Result<Option<sesshu_domain::retention::OfflineOverride>, LedgerError> {
        match self.setting(OFFLINE_OVERRIDE)? {
            None => Ok(None),
            Some(v) => serde_json::from_str(&v)
                .map(Some)
                .map_err(|_| LedgerError::InvalidData(format!("setting {OFFLINE_OVERRIDE}"))),
        }
    }
}

impl Mutation<'_> {
    pub fn put_retention_policy(
        &mut self,
        p: &sesshu_domain::retention::RetentionPolicy,
    ) -> Result<(), LedgerError> {
        self.put_setting(PURGE_GRACE_DAYS, &p.purge_grace_days.to_string())?;
        self.put_setting(MAX_OFFLINE_DAYS, &p.max_offline_days.to_string())
    }

    pub fn put_offline_override(
        &mut self,
        o: &sesshu_domain::retention::OfflineOverride,
    ) -> Result<(), LedgerError> {
        let v = serde_json::to_string(o).map_err(|e| LedgerError::InvalidData(e.to_string()))?;
        self.put_setting(OFFLINE_OVERRIDE, &v)
    }
}
