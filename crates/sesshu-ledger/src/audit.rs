//! The audit log: a per-terminal hash chain.
//!
//! Each entry stores `hash = SHA-256(prev_hash || canonical(content))`, the first entry chaining
//! from 32 zero bytes. [`Reader::verify_audit_chain`] recomputes every link and names the first
//! broken one, so a row changed or removed behind the app's back is detected. Removing the
//! newest entries leaves a valid shorter chain: that is why every sync batch carries the chain
//! head and the hub checks continuity.

use crate::ledger::{Mutation, Reader};
use crate::LedgerError;
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};
use sesshu_domain::audit::{AuditAction, AuditOutcome};

pub use sesshu_protocol::chain::GENESIS;

/// What a caller records; the ledger adds id, time, terminal and the chain.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    /// Login id of the acting user; `None` before anyone signed in.
    pub actor: Option<String>,
    pub action: AuditAction,
    /// What was acted on (a login id, a setting name…), never a resident's name.
    pub target: Option<String>,
    pub outcome: AuditOutcome,
    /// Extra facts as JSON (e.g. roles before/after). No personal data.
    pub detail: serde_json::Value,
}

impl AuditRecord {
    pub fn new(
        actor: Option<&str>,
        action: AuditAction,
        target: Option<&str>,
        outcome: AuditOutcome,
    ) -> Self {
        AuditRecord {
            actor: actor.map(str::to_owned),
            action,
            target: target.map(str::to_owned),
            outcome,
            detail: serde_json::Value::Object(Default::default()),
        }
    }

    pub fn with_detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }
}

/// One audit entry, as chained and as sent to the hub: the protocol's link type, so that the
/// terminal and the hub hash it with the same code.
pub use sesshu_protocol::chain::AuditLink as AuditEntry;

/// The entry's terminal time, parsed.
pub fn entry_time(e: &AuditEntry) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(&e.at)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// Canonical timestamp text: fixed width, UTC, microseconds.
pub(crate) fn canonical_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

pub(crate) fn row_to_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEntry> {
    let prev: Vec<u8> = r.get(9)?;
    let hash: Vec<u8> = r.get(10)?;
    let to32 = |v: Vec<u8>, col: usize| -> rusqlite::Result<[u8; 32]> {
        v.try_into().map_err(|_| {
            rusqlite::Error::FromSqlConversionFailure(
                col,
                rusqlite::types::Type::Blob,
                "hash length".into(),
            )
        })
    };
    Ok(AuditEntry {
        seq: r.get(0)?,
        id: r.get(1)?,
        at: r.get(2)?,
        terminal_id: r.get(3)?,
        actor: r.get(4)?,
        action: r.get(5)?,
        target: r.get(6)?,
        outcome: r.get(7)?,
        detail: r.get(8)?,
        prev_hash: to32(prev, 9)?,
        hash: to32(hash, 10)?,
    })
}

pub(crate) const COLUMNS: &str =
    "seq, id, at, terminal_id, actor, action, target, outcome, detail, prev_hash, hash";

/// Result of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub entries_checked: u64,
    /// Sequence number of the first entry that does not link (content changed, entry removed
    /// or inserted, numbering broken).
    pub first_broken_seq: Option<i64>,
    pub head_hash: [u8; 32],
}

impl Reader<'_> {
    /// The newest entry's sequence number and hash (genesis for an empty log).
    pub fn audit_head(&self) -> Result<(i64, [u8; 32]), LedgerError> {
        let head: Option<(i64, Vec<u8>)> = self
            .conn
            .query_row(
                "SELECT seq, hash FROM audit_entry ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        match head {
            // Everything purged would leave the base as the head; the purge always keeps the
            // newest entry, so this is only a safeguard.
            None => self.audit_base(),
            Some((seq, h)) => Ok((
                seq,
                h.try_into()
                    .map_err(|_| LedgerError::InvalidData("audit hash length".into()))?,
            )),
        }
    }

    /// Newest first, at most `limit`, below `before_seq` when given.
    ///
    /// See [`Self::audit_page_filtered`] for the audit viewer's filters.
    pub fn audit_page(
        &self,
        limit: u32,
        before_seq: Option<i64>,
    ) -> Result<Vec<AuditEntry>, LedgerError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM audit_entry WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2"
        ))?;
        let rows = stmt
            .query_map(params![before_seq.unwrap_or(i64::MAX), limit], row_to_entry)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// [`Self::audit_page`] with filters (combined with AND). The resident filter matches the
    /// entry's target (resident views) or the `resident` of its detail (keying work).
    pub fn audit_page_filtered(
        &self,
        limit: u32,
        before_seq: Option<i64>,
        filter: &AuditFilter,
    ) -> Result<Vec<AuditEntry>, LedgerError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM audit_entry WHERE seq < ?1 \
             AND (?3 IS NULL OR actor = ?3) \
             AND (?4 IS NULL OR target = ?4 OR json_extract(detail, '$.resident') = ?4) \
             AND (?5 IS NULL OR action = ?5) \
             AND (?6 IS NULL OR at >= ?6) AND (?7 IS NULL OR at < ?7) \
             ORDER BY seq DESC LIMIT ?2"
        ))?;
        let rows = stmt
            .query_map(
                params![
                    before_seq.unwrap_or(i64::MAX),
                    limit,
                    filter.actor,
                    filter.resident,
                    filter.action,
                    filter.from.map(canonical_time),
                    filter.until.map(canonical_time),
                ],
                row_to_entry,
            )?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// The chain's base: `(seq, hash)` of the last entry purged after the hub held it
    /// (see [`crate::purge`]), `(0, GENESIS)` when nothing was purged. The chain is verified
    /// from here; the anchor covers it.
    pub fn audit_base(&self) -> Result<(i64, [u8; 32]), LedgerError> {
        let base: Option<(i64, Vec<u8>)> = self
            .conn
            .query_row("SELECT seq, hash FROM audit_base WHERE id = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        match base {
            None => Ok((0, GENESIS)),
            Some((seq, h)) => Ok((
                seq,
                h.try_into()
                    .map_err(|_| LedgerError::InvalidData("audit base hash length".into()))?,
            )),
        }
    }

    /// Walks the whole chain kept on the terminal in order (from its base, see
    /// [`Self::audit_base`]) and reports the first broken link.
    pub fn verify_audit_chain(&self) -> Result<ChainReport, LedgerError> {
        let (base_seq, base_hash) = self.audit_base()?;
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {COLUMNS} FROM audit_entry ORDER BY seq"))?;
        let mut rows = stmt.query([])?;
        let mut expected_prev = base_hash;
        let mut expected_seq = base_seq + 1;
        let mut checked = 0u64;
        while let Some(row) = rows.next()? {
            let e = match row_to_entry(row) {
                Ok(e) => e,
                Err(_) => {
                    let seq: i64 = row.get(0)?;
                    return Ok(ChainReport {
                        entries_checked: checked,
                        first_broken_seq: Some(seq),
                        head_hash: expected_prev,
                    });
                }
            };
            checked += 1;
            if e.seq != expected_seq || e.prev_hash != expected_prev || e.compute_hash() != e.hash {
                return Ok(ChainReport {
                    entries_checked: checked,
                    first_broken_seq: Some(e.seq),
                    head_hash: expected_prev,
                });
            }
            expected_prev = e.hash;
            expected_seq += 1;
        }
        Ok(ChainReport {
            entries_checked: checked,
            first_broken_seq: None,
            head_hash: expected_prev,
        })
    }
}

impl Mutation<'_> {
    /// Appends an audit entry to the chain and queues it for the hub, in this transaction.
    pub fn audit(&mut self, rec: AuditRecord) -> Result<AuditEntry, LedgerError> {
        let (head_seq, head_hash) = self.reader().audit_head()?;
        let terminal_id = self
            .reader()
            .terminal()?
            .map(|t| t.terminal_id)
            .unwrap_or_else(|| "unregistered".to_owned());
        let mut e = AuditEntry {
            seq: head_seq + 1,
            id: self.ids.new_id(self.now).to_string(),
            at: canonical_time(self.now),
            terminal_id,
            actor: rec.actor,
            action: rec.action.code(),
            target: rec.target,
            outcome: rec.outcome.code(),
            detail: rec.detail.to_string(),
            prev_hash: head_hash,
            hash: [0; 32],
        };
        e.hash = e.compute_hash();
        self.tx.execute(
            &format!("INSERT INTO audit_entry ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"),
            params![
                e.seq,
                e.id,
                e.at,
                e.terminal_id,
                e.actor,
                e.action,
                e.target,
                e.outcome,
                e.detail,
                e.prev_hash.as_slice(),
                e.hash.as_slice()
            ],
        )?;
        let payload =
            serde_json::to_string(&e).map_err(|err| LedgerError::InvalidData(err.to_string()))?;
        self.enqueue("audit", &e.id, &payload)?;
        self.audited = true;
        self.head = Some((e.seq, e.hash));
        Ok(e)
    }
}

/// Filters of the audit viewer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub actor: Option<String>,
    /// 宛名番号.
    pub resident: Option<String>,
    pub action: Option<u16>,
    /// From this instant, inclusive.
    pub from: Option<DateTime<Utc>>,
    /// Before this instant.
    pub until: Option<DateTime<Utc>>,
}
