//! The embedded store: one plain SQLite file (no SQLCipher key: the hub's disk is IT's to
//! protect), WAL, one connection behind a mutex. For one machine, the demo and the tests.
//!
//! Throughput: a batch is one transaction with cached prepared statements, so a 5,000-item
//! batch costs one fsync (WAL, `synchronous=NORMAL`: a power cut may lose the last batches,
//! never corrupt the file, and a lost batch is simply resent by its terminal).

use super::ResidentRev;
use super::{
    ChainFlag, ExportedRecord, HubStats, HubStore, IngestBatch, MediaLine, NewEnrolCode, Redeemed,
    StoreError, StoredBatch, StoredItem, TerminalRecord,
};
use super::{DoseSource, HistoryDose, HistoryImport, KnownDose, RecordDoseChange};
use crate::hub_audit::HubAuditDraft;
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use sesshu_protocol::chain::AuditLink;
use sesshu_protocol::chain::ChainHead;
use sesshu_protocol::ItemOutcome;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// The migrations, in order: (version, SQL). Forward-only; each is applied with its
/// `user_version` in one transaction. New files are appended here and in
/// `migrations/hub/postgres` (same numbers on both stores).
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        include_str!("../../../../migrations/hub/sqlite/0001-init.sql"),
    ),
    (
        2,
        include_str!("../../../../migrations/hub/sqlite/0002-media.sql"),
    ),
    (
        3,
        include_str!("../../../../migrations/hub/sqlite/0003-downlink.sql"),
    ),
    (
        4,
        include_str!("../../../../migrations/hub/sqlite/0004-hub-audit.sql"),
    ),
    (
        5,
        include_str!("../../../../migrations/hub/sqlite/0005-history.sql"),
    ),
    (
        6,
        include_str!("../../../../migrations/hub/sqlite/0006-last-dose.sql"),
    ),
];

/// The hub's store in one SQLite file.
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteStore(..)")
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the store at `path` and applies the schema.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let conn = Connection::open(path).map_err(unavailable)?;
        // Another process (`sesshu-hub enrol-code` beside a running `serve`) may hold the
        // write lock for a moment: wait rather than fail.
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(backend)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(backend)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(backend)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(backend)?;
        let store = SqliteStore {
            conn: Mutex::new(conn),
        };
        store.migrate()?;
        Ok(store)
    }

    fn conn(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        // A panic while holding the lock cannot leave a half transaction behind (rusqlite rolls
        // back on drop), so the connection is still usable.
        Ok(self.conn.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

fn backend(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) =>
        {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Backend(e.to_string()),
    }
}

fn unavailable(e: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// The one text form of a time in the store (sorts as text).
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_ts(s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| StoreError::Invalid(format!("time {s:?}")))
}

fn parse_hash(s: &str) -> Result<[u8; 32], StoreError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|_| StoreError::Invalid("chain hash".into()))?;
    Ok(out)
}

const TERMINAL_COLUMNS: &str = "terminal_id, terminal_name, municipality_code, public_key, demo, \
     enrolled_at, revoked_at, chain_seq, chain_hash, reported_seq";

struct TerminalRow {
    terminal_id: String,
    terminal_name: String,
    municipality_code: String,
    public_key: String,
    demo: bool,
    enrolled_at: String,
    revoked_at: Option<String>,
    chain_seq: i64,
    chain_hash: String,
    reported_seq: i64,
}

impl TerminalRow {
    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<TerminalRow> {
        Ok(TerminalRow {
            terminal_id: r.get(0)?,
            terminal_name: r.get(1)?,
            municipality_code: r.get(2)?,
            public_key: r.get(3)?,
            demo: r.get(4)?,
            enrolled_at: r.get(5)?,
            revoked_at: r.get(6)?,
            chain_seq: r.get(7)?,
            chain_hash: r.get(8)?,
            reported_seq: r.get(9)?,
        })
    }

    fn into_record(self) -> Result<TerminalRecord, StoreError> {
        Ok(TerminalRecord {
            terminal_id: self.terminal_id,
            terminal_name: self.terminal_name,
            municipality_code: self.municipality_code,
            public_key: self.public_key,
            demo: self.demo,
            enrolled_at: parse_ts(&self.enrolled_at)?,
            revoked_at: self.revoked_at.as_deref().map(parse_ts).transpose()?,
            chain: ChainHead {
                seq: self.chain_seq,
                hash: parse_hash(&self.chain_hash)?,
            },
            reported_seq: self.reported_seq,
        })
    }
}

impl HubStore for SqliteStore {
    fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        // IMMEDIATE: two hubs starting at once on one file serialise here; the second finds
        // the versions applied.
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(backend)?;
        let applied: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(backend)?;
        let newest_known = MIGRATIONS.last().map_or(0, |m| m.0);
        if applied > newest_known {
            return Err(StoreError::Invalid(format!(
                "the database has schema version {applied}, newer than this program knows ({newest_known})"
            )));
        }
        for (version, sql) in MIGRATIONS {
            if *version <= applied {
                continue;
            }
            tx.execute_batch(sql).map_err(backend)?;
            // PRAGMA takes no parameters; the version is a constant of this program.
            tx.execute_batch(&format!("PRAGMA user_version = {version}"))
                .map_err(backend)?;
            tracing::info!(version, "hub store: SQLite migration applied");
        }
        tx.commit().map_err(backend)
    }

    fn add_enrol_code(&self, code: &NewEnrolCode) -> Result<(), StoreError> {
        self.conn()?
            .execute(
                "INSERT INTO enrol_codes (code_hash, municipality_code, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    code.code_hash,
                    code.municipality_code,
                    ts(code.created_at),
                    ts(code.expires_at)
                ],
            )
            .map_err(backend)?;
        Ok(())
    }

    fn redeem_enrol_code(
        &self,
        code_hash: &str,
        now: DateTime<Utc>,
        terminal: &TerminalRecord,
    ) -> Result<Redeemed, StoreError> {
        let mut conn = self.conn()?;
        // IMMEDIATE: two terminals racing for one code serialise here, and only one wins.
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(backend)?;
        let row: Option<(String, String, Option<String>)> = tx
            .query_row(
                "SELECT municipality_code, expires_at, used_at FROM enrol_codes \
                 WHERE code_hash = ?1",
                [code_hash],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(backend)?;
        let Some((municipality, expires_at, used_at)) = row else {
            return Ok(Redeemed::Unknown);
        };
        if used_at.is_some() {
            return Ok(Redeemed::AlreadyUsed);
        }
        if now >= parse_ts(&expires_at)? {
            return Ok(Redeemed::Expired);
        }
        if municipality != terminal.municipality_code {
            return Ok(Redeemed::WrongMunicipality);
        }
        tx.execute(
            "UPDATE enrol_codes SET used_at = ?1, used_by = ?2 WHERE code_hash = ?3",
            params![ts(now), terminal.terminal_id, code_hash],
        )
        .map_err(backend)?;
        // A re-enrolment (reinstall) replaces the key and clears a revocation; the chain held
        // so far stays, so a terminal cannot shed its history by enrolling again.
        tx.execute(
            "INSERT INTO terminals (terminal_id, terminal_name, municipality_code, public_key, \
                 demo, enrolled_at, revoked_at, chain_seq, chain_hash, reported_seq) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7, ?8, ?9) \
             ON CONFLICT (terminal_id) DO UPDATE SET terminal_name = excluded.terminal_name, \
                 municipality_code = excluded.municipality_code, \
                 public_key = excluded.public_key, demo = excluded.demo, \
                 enrolled_at = excluded.enrolled_at, revoked_at = NULL",
            params![
                terminal.terminal_id,
                terminal.terminal_name,
                terminal.municipality_code,
                terminal.public_key,
                terminal.demo,
                ts(terminal.enrolled_at),
                terminal.chain.seq,
                hex::encode(terminal.chain.hash),
                terminal.reported_seq
            ],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)?;
        Ok(Redeemed::Enrolled)
    }

    fn terminal(&self, terminal_id: &str) -> Result<Option<TerminalRecord>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {TERMINAL_COLUMNS} FROM terminals WHERE terminal_id = ?1"
            ))
            .map_err(backend)?;
        let row = stmt
            .query_row([terminal_id], TerminalRow::read)
            .optional()
            .map_err(backend)?;
        row.map(TerminalRow::into_record).transpose()
    }

    fn terminals(&self) -> Result<Vec<TerminalRecord>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {TERMINAL_COLUMNS} FROM terminals ORDER BY enrolled_at, terminal_id"
            ))
            .map_err(backend)?;
        let rows = stmt
            .query_map([], TerminalRow::read)
            .map_err(backend)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(backend)?;
        rows.into_iter().map(TerminalRow::into_record).collect()
    }

    fn revoke_terminal(&self, terminal_id: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
        // A second revocation keeps the first time.
        let n = self
            .conn()?
            .execute(
                "UPDATE terminals SET revoked_at = COALESCE(revoked_at, ?1) WHERE terminal_id = ?2",
                params![ts(at), terminal_id],
            )
            .map_err(backend)?;
        Ok(n > 0)
    }

    fn ingest(&self, batch: &IngestBatch) -> Result<Vec<ItemOutcome>, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(backend)?;
        let received_at = ts(batch.received_at);
        let mut outcomes = Vec::with_capacity(batch.items.len());
        let mut duplicates: i64 = 0;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO items (item_id, stream, record_id, terminal_id, entry_id, \
                         payload, content_hash, batch_id, received_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
                     ON CONFLICT (item_id) DO NOTHING",
                )
                .map_err(backend)?;
            let mut held = tx
                .prepare_cached("SELECT content_hash FROM items WHERE item_id = ?1")
                .map_err(backend)?;
            let mut conflict = tx
                .prepare_cached(
                    "INSERT INTO conflicts (item_id, stream, record_id, terminal_id, entry_id, \
                         payload, content_hash, held_hash, batch_id, received_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .map_err(backend)?;
            for inc in &batch.items {
                let it = &inc.item;
                let n = insert
                    .execute(params![
                        it.id,
                        it.stream.as_str(),
                        inc.record_id,
                        batch.terminal_id,
                        it.entry_id,
                        it.payload,
                        it.content_hash,
                        batch.batch_id,
                        received_at
                    ])
                    .map_err(backend)?;
                if n == 1 {
                    outcomes.push(ItemOutcome::Accepted);
                    continue;
                }
                let held_hash: String = held.query_row([&it.id], |r| r.get(0)).map_err(backend)?;
                if held_hash == it.content_hash {
                    duplicates += 1;
                    outcomes.push(ItemOutcome::AlreadyHave);
                } else {
                    conflict
                        .execute(params![
                            it.id,
                            it.stream.as_str(),
                            inc.record_id,
                            batch.terminal_id,
                            it.entry_id,
                            it.payload,
                            it.content_hash,
                            held_hash,
                            batch.batch_id,
                            received_at
                        ])
                        .map_err(backend)?;
                    outcomes.push(ItemOutcome::Conflict);
                }
            }
        }
        // A batch id already recorded is a batch stored whose receipt was never kept (the hub
        // stopped between the two): its resend is answered again, not refused.
        tx.execute(
            "INSERT INTO batches (batch_id, batch_hash, terminal_id, received_at, item_count) \
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (batch_id) DO NOTHING",
            params![
                batch.batch_id,
                batch.batch_hash,
                batch.terminal_id,
                received_at,
                batch.items.len() as i64
            ],
        )
        .map_err(backend)?;
        let n = tx
            .execute(
                "UPDATE terminals SET chain_seq = ?1, chain_hash = ?2, reported_seq = ?3 \
                 WHERE terminal_id = ?4",
                params![
                    batch.chain.seq,
                    hex::encode(batch.chain.hash),
                    batch.reported_seq,
                    batch.terminal_id
                ],
            )
            .map_err(backend)?;
        if n != 1 {
            return Err(StoreError::Backend(
                "batch from a terminal that is not enrolled".into(),
            ));
        }
        for flag in &batch.flags {
            let (kind, expected, found) = match *flag {
                ChainFlag::Gap {
                    expected_seq,
                    found_seq,
                } => ("gap", expected_seq, found_seq),
                ChainFlag::HeadWentBack {
                    reported_seq,
                    previous_seq,
                } => ("head_went_back", previous_seq, reported_seq),
            };
            tx.execute(
                "INSERT INTO chain_flags (terminal_id, batch_id, kind, expected_seq, found_seq, \
                     flagged_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    batch.terminal_id,
                    batch.batch_id,
                    kind,
                    expected,
                    found,
                    received_at
                ],
            )
            .map_err(backend)?;
        }
        if duplicates > 0 {
            tx.execute(
                "UPDATE counters SET value = value + ?1 WHERE name = 'duplicates_answered'",
                [duplicates],
            )
            .map_err(backend)?;
        }
        tx.commit().map_err(backend)?;
        Ok(outcomes)
    }

    fn save_receipt(
        &self,
        batch_id: &str,
        receipt_id: &str,
        signed_receipt: &str,
    ) -> Result<(), StoreError> {
        let n = self
            .conn()?
            .execute(
                "UPDATE batches SET receipt_id = ?1, signed_receipt = ?2 WHERE batch_id = ?3",
                params![receipt_id, signed_receipt, batch_id],
            )
            .map_err(backend)?;
        if n != 1 {
            return Err(StoreError::Backend(format!(
                "no batch {batch_id} to keep a receipt for"
            )));
        }
        Ok(())
    }

    fn receipt(&self, batch_id: &str) -> Result<Option<String>, StoreError> {
        let conn = self.conn()?;
        let r: Option<Option<String>> = conn
            .query_row(
                "SELECT signed_receipt FROM batches WHERE batch_id = ?1",
                [batch_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(backend)?;
        Ok(r.flatten())
    }

    fn export_records(
        &self,
        visit: &mut dyn FnMut(&ExportedRecord) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare(
                "SELECT i.record_id, i.item_id, i.terminal_id, t.municipality_code, \
                     i.received_at, i.payload \
                 FROM items i JOIN terminals t ON t.terminal_id = i.terminal_id \
                 WHERE i.stream = 'records' ORDER BY i.seq",
            )
            .map_err(backend)?;
        let mut rows = stmt.query([]).map_err(backend)?;
        let mut n = 0u64;
        while let Some(r) = rows.next().map_err(backend)? {
            let item_id: String = r.get(1).map_err(backend)?;
            let record_id: Option<String> = r.get(0).map_err(backend)?;
            let received_at: String = r.get(4).map_err(backend)?;
            let rec = ExportedRecord {
                record_id: record_id.unwrap_or_else(|| item_id.clone()),
                item_id,
                terminal_id: r.get(2).map_err(backend)?,
                municipality_code: r.get(3).map_err(backend)?,
                received_at: parse_ts(&received_at)?,
                payload: r.get(5).map_err(backend)?,
            };
            visit(&rec)?;
            n += 1;
        }
        Ok(n)
    }

    fn stats(&self) -> Result<HubStats, StoreError> {
        let conn = self.conn()?;
        let count = |sql: &str| -> Result<u64, StoreError> {
            let n: i64 = conn.query_row(sql, [], |r| r.get(0)).map_err(backend)?;
            Ok(u64::try_from(n).unwrap_or(0))
        };
        let mut stats = HubStats {
            terminals: count("SELECT COUNT(*) FROM terminals")?,
            duplicates_answered: count(
                "SELECT COALESCE(SUM(value), 0) FROM counters WHERE name = 'duplicates_answered'",
            )?,
            conflicts_held: count("SELECT COUNT(*) FROM conflicts")?,
            chain_flags: count("SELECT COUNT(*) FROM chain_flags")?,
            batches: count("SELECT COUNT(*) FROM batches")?,
            ..HubStats::default()
        };
        let mut stmt = conn
            .prepare("SELECT stream, COUNT(*) FROM items GROUP BY stream")
            .map_err(backend)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(backend)?;
        for row in rows {
            let (stream, n) = row.map_err(backend)?;
            stats
                .items_per_stream
                .insert(stream, u64::try_from(n).unwrap_or(0));
        }
        Ok(stats)
    }

    // --- media (issue 12.1): the hub's media ledger ---

    fn record_media(&self, line: &MediaLine) -> Result<(), StoreError> {
        self.conn()?
            .execute(
                "INSERT INTO media_ledger (at, medium_id, operator, direction, terminal_id, \
                 export_id, item_count, file_sha256) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    ts(line.at),
                    line.medium_id,
                    line.operator,
                    line.direction,
                    line.terminal_id,
                    line.export_id,
                    i64::try_from(line.item_count).unwrap_or(i64::MAX),
                    line.file_sha256
                ],
            )
            .map_err(backend)?;
        Ok(())
    }

    fn media_ledger(&self) -> Result<Vec<MediaLine>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare(
                "SELECT at, medium_id, operator, direction, terminal_id, export_id, item_count, \
                 file_sha256 FROM media_ledger ORDER BY seq",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    MediaLine {
                        at: DateTime::<Utc>::MIN_UTC,
                        medium_id: r.get(1)?,
                        operator: r.get(2)?,
                        direction: r.get(3)?,
                        terminal_id: r.get(4)?,
                        export_id: r.get(5)?,
                        item_count: u64::try_from(r.get::<_, i64>(6)?).unwrap_or(0),
                        file_sha256: r.get(7)?,
                    },
                ))
            })
            .map_err(backend)?;
        let mut out = Vec::new();
        for row in rows {
            let (at, mut line) = row.map_err(backend)?;
            line.at = parse_ts(&at)?;
            out.push(line);
        }
        Ok(out)
    }
    // ---- Hub audit and export reads (issue 12 §4, §6: the exports part) ----

    fn hub_audit_append(&self, draft: &HubAuditDraft) -> Result<AuditLink, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(backend)?;
        let link = append_audit(&tx, draft)?;
        tx.commit().map_err(backend)?;
        Ok(link)
    }

    fn hub_audit_visit(
        &self,
        since_seq: i64,
        visit: &mut dyn FnMut(&AuditLink) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare(
                "SELECT seq, id, at, operator, event, target, outcome, detail, prev_hash, hash \
                 FROM hub_audit WHERE seq > ?1 ORDER BY seq",
            )
            .map_err(backend)?;
        let mut rows = stmt.query([since_seq]).map_err(backend)?;
        let mut n = 0u64;
        while let Some(r) = rows.next().map_err(backend)? {
            let prev: String = r.get(8).map_err(backend)?;
            let hash: String = r.get(9).map_err(backend)?;
            let link = AuditLink {
                seq: r.get(0).map_err(backend)?,
                id: r.get(1).map_err(backend)?,
                at: r.get(2).map_err(backend)?,
                terminal_id: crate::hub_audit::HUB_CHAIN_ID.to_owned(),
                actor: r.get(3).map_err(backend)?,
                action: r.get(4).map_err(backend)?,
                target: r.get(5).map_err(backend)?,
                outcome: r.get(6).map_err(backend)?,
                detail: r.get(7).map_err(backend)?,
                prev_hash: parse_hash(&prev)?,
                hash: parse_hash(&hash)?,
            };
            visit(&link)?;
            n += 1;
        }
        Ok(n)
    }

    fn add_enrol_code_audited(
        &self,
        code: &NewEnrolCode,
        audit: &HubAuditDraft,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(backend)?;
        tx.execute(
            "INSERT INTO enrol_codes (code_hash, municipality_code, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4)",
            params![
                code.code_hash,
                code.municipality_code,
                ts(code.created_at),
                ts(code.expires_at)
            ],
        )
        .map_err(backend)?;
        append_audit(&tx, audit)?;
        tx.commit().map_err(backend)
    }

    fn revoke_terminal_audited(
        &self,
        terminal_id: &str,
        at: DateTime<Utc>,
        audit: &HubAuditDraft,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(backend)?;
        let n = tx
            .execute(
                "UPDATE terminals SET revoked_at = COALESCE(revoked_at, ?1) WHERE terminal_id = ?2",
                params![ts(at), terminal_id],
            )
            .map_err(backend)?;
        if n > 0 {
            append_audit(&tx, audit)?;
        }
        tx.commit().map_err(backend)?;
        Ok(n > 0)
    }

    fn visit_items(
        &self,
        stream: Option<&str>,
        terminal_id: Option<&str>,
        visit: &mut dyn FnMut(&StoredItem) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare(
                "SELECT seq, item_id, stream, record_id, terminal_id, entry_id, payload, \
                     batch_id, received_at \
                 FROM items WHERE (?1 IS NULL OR stream = ?1) AND (?2 IS NULL OR terminal_id = ?2) \
                 ORDER BY seq",
            )
            .map_err(backend)?;
        let mut rows = stmt.query(params![stream, terminal_id]).map_err(backend)?;
        visit_item_rows(&mut rows, visit)
    }

    fn visit_conflicts(
        &self,
        visit: &mut dyn FnMut(&StoredItem) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare(
                // record_id is not read: the PostgreSQL store does not keep it for conflicts,
                // and both answer alike (readers take it from the payload).
                "SELECT id, item_id, stream, NULL, terminal_id, entry_id, payload, \
                     batch_id, received_at \
                 FROM conflicts ORDER BY id",
            )
            .map_err(backend)?;
        let mut rows = stmt.query([]).map_err(backend)?;
        visit_item_rows(&mut rows, visit)
    }

    fn visit_batches(
        &self,
        visit: &mut dyn FnMut(&StoredBatch) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare(
                "SELECT batch_id, terminal_id, received_at, item_count, signed_receipt \
                 FROM batches ORDER BY received_at, batch_id",
            )
            .map_err(backend)?;
        let mut rows = stmt.query([]).map_err(backend)?;
        let mut n = 0u64;
        while let Some(r) = rows.next().map_err(backend)? {
            let received_at: String = r.get(2).map_err(backend)?;
            visit(&StoredBatch {
                batch_id: r.get(0).map_err(backend)?,
                terminal_id: r.get(1).map_err(backend)?,
                received_at: parse_ts(&received_at)?,
                item_count: r.get(3).map_err(backend)?,
                signed_receipt: r.get(4).map_err(backend)?,
            })?;
            n += 1;
        }
        Ok(n)
    }

    // ---- Downlinks (issue 12.2).

    fn dl_version(&self, municipality: &str, kind: &str) -> Result<u64, StoreError> {
        let conn = self.conn()?;
        dl_version_in(&conn, municipality, kind)
    }

    fn dl_load_profile(
        &self,
        municipality: &str,
        body: &str,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(backend)?;
        let v = dl_bump(&tx, municipality, "profile")?;
        tx.execute(
            "INSERT INTO dl_profile (municipality_code, version, body, loaded_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (municipality_code) DO UPDATE SET version = excluded.version, \
             body = excluded.body, loaded_at = excluded.loaded_at",
            params![municipality, v as i64, body, ts(at)],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)?;
        Ok(v)
    }

    fn dl_profile(&self, municipality: &str) -> Result<Option<(u64, String)>, StoreError> {
        let conn = self.conn()?;
        let row: Option<(i64, String)> = conn
            .query_row(
                "SELECT version, body FROM dl_profile WHERE municipality_code = ?1",
                [municipality],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(backend)?;
        Ok(row.map(|(v, b)| (u64::try_from(v).unwrap_or(0), b)))
    }

    fn dl_load_residents(
        &self,
        municipality: &str,
        rows: &[ResidentRev],
        full: bool,
    ) -> Result<u64, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(backend)?;
        let current = dl_version_in(&tx, municipality, "residents")?;
        let next = current + 1;
        type State = (Option<String>, Option<String>, Option<String>);
        let mut latest: std::collections::HashMap<String, State> = std::collections::HashMap::new();
        {
            let mut stmt = tx
                .prepare(
                    "SELECT r.atena, r.district, r.body, r.last_doses FROM dl_resident_rev r \
                     WHERE r.municipality_code = ?1 AND r.version = (SELECT max(version) \
                     FROM dl_resident_rev x WHERE x.municipality_code = r.municipality_code \
                     AND x.atena = r.atena)",
                )
                .map_err(backend)?;
            let it = stmt
                .query_map([municipality], |r| {
                    Ok((r.get::<_, String>(0)?, (r.get(1)?, r.get(2)?, r.get(3)?)))
                })
                .map_err(backend)?;
            for x in it {
                let (a, st) = x.map_err(backend)?;
                latest.insert(a, st);
            }
        }
        let mut changed = 0u64;
        let mut seen = std::collections::HashSet::new();
        {
            let mut ins = tx
                .prepare_cached(
                    "INSERT INTO dl_resident_rev (municipality_code, atena, version, district, body, \
                     last_doses) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                     ON CONFLICT (municipality_code, atena, version) \
                     DO UPDATE SET district = excluded.district, body = excluded.body, \
                     last_doses = excluded.last_doses",
                )
                .map_err(backend)?;
            for r in rows {
                seen.insert(r.atena.clone());
                // A removed resident keeps no last doses.
                let last = r.district.as_ref().and(r.last_doses.clone());
                let state = (r.district.clone(), r.body.clone(), last);
                let removed_already = latest.get(&r.atena).is_none_or(|s| s.0.is_none());
                if latest.get(&r.atena) == Some(&state) || (state.0.is_none() && removed_already) {
                    continue;
                }
                ins.execute(params![
                    municipality,
                    r.atena,
                    next as i64,
                    state.0,
                    state.1,
                    state.2
                ])
                .map_err(backend)?;
                changed += 1;
            }
            if full {
                for (a, st) in &latest {
                    if st.0.is_some() && !seen.contains(a) {
                        ins.execute(params![
                            municipality,
                            a,
                            next as i64,
                            Option::<String>::None,
                            Option::<String>::None,
                            Option::<String>::None
                        ])
                        .map_err(backend)?;
                        changed += 1;
                    }
                }
            }
        }
        let v = if changed > 0 {
            dl_bump(&tx, municipality, "residents")?
        } else {
            current
        };
        tx.commit().map_err(backend)?;
        Ok(v)
    }

    fn dl_resident_history(
        &self,
        municipality: &str,
        after: Option<u64>,
    ) -> Result<Vec<ResidentRev>, StoreError> {
        let conn = self.conn()?;
        let after = after.map_or(-1, |a| a as i64);
        let mut stmt = conn
            .prepare(
                "SELECT atena, version, district, body, last_doses FROM dl_resident_rev \
                 WHERE municipality_code = ?1 AND atena IN (SELECT atena FROM dl_resident_rev \
                 WHERE municipality_code = ?1 AND version > ?2) ORDER BY atena, version",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map(params![municipality, after], |r| {
                Ok(ResidentRev {
                    atena: r.get(0)?,
                    version: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                    district: r.get(2)?,
                    body: r.get(3)?,
                    last_doses: r.get(4)?,
                })
            })
            .map_err(backend)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(backend)?;
        Ok(rows)
    }

    fn dl_municipalities(&self) -> Result<Vec<String>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare("SELECT municipality_code FROM dl_profile ORDER BY municipality_code")
            .map_err(backend)?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(backend)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(backend)?;
        Ok(rows)
    }

    fn dl_set_last_doses(
        &self,
        municipality: &str,
        rows: &[(String, Option<String>)],
    ) -> Result<u64, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(backend)?;
        let current = dl_version_in(&tx, municipality, "residents")?;
        let next = current + 1;
        let mut changed = 0u64;
        {
            let mut newest = tx
                .prepare_cached(
                    "SELECT district, body, last_doses FROM dl_resident_rev \
                     WHERE municipality_code = ?1 AND atena = ?2 ORDER BY version DESC LIMIT 1",
                )
                .map_err(backend)?;
            let mut ins = tx
                .prepare_cached(
                    "INSERT INTO dl_resident_rev (municipality_code, atena, version, district, body, \
                     last_doses) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                     ON CONFLICT (municipality_code, atena, version) \
                     DO UPDATE SET last_doses = excluded.last_doses",
                )
                .map_err(backend)?;
            for (atena, last) in rows {
                let held: Option<(Option<String>, Option<String>, Option<String>)> = newest
                    .query_row(params![municipality, atena], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })
                    .optional()
                    .map_err(backend)?;
                let Some((Some(district), body, held_last)) = held else {
                    continue;
                };
                if held_last == *last {
                    continue;
                }
                ins.execute(params![
                    municipality,
                    atena,
                    next as i64,
                    district,
                    body,
                    last
                ])
                .map_err(backend)?;
                changed += 1;
            }
        }
        let v = if changed > 0 {
            dl_bump(&tx, municipality, "residents")?
        } else {
            current
        };
        tx.commit().map_err(backend)?;
        Ok(v)
    }

    fn dl_set_scope(
        &self,
        municipality: &str,
        terminal_id: &str,
        districts: &[String],
    ) -> Result<u64, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(backend)?;
        let v = dl_bump(&tx, municipality, "residents")?;
        let json =
            serde_json::to_string(districts).map_err(|e| StoreError::Backend(e.to_string()))?;
        tx.execute(
            "INSERT INTO dl_scope_rev (terminal_id, version, districts) VALUES (?1, ?2, ?3)",
            params![terminal_id, v as i64, json],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)?;
        Ok(v)
    }

    fn dl_scope_history(&self, terminal_id: &str) -> Result<Vec<(u64, Vec<String>)>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare("SELECT version, districts FROM dl_scope_rev WHERE terminal_id = ?1 ORDER BY version")
            .map_err(backend)?;
        let rows = stmt
            .query_map([terminal_id], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(backend)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(backend)?;
        rows.into_iter()
            .map(|(v, d)| {
                let d: Vec<String> = serde_json::from_str(&d)
                    .map_err(|_| StoreError::Invalid("scope districts".into()))?;
                Ok((u64::try_from(v).unwrap_or(0), d))
            })
            .collect()
    }

    fn dl_upsert_accounts(
        &self,
        municipality: &str,
        accounts: &[(String, String)],
    ) -> Result<u64, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(backend)?;
        let current = dl_version_in(&tx, municipality, "roster")?;
        let next = current + 1;
        let mut changed = 0u64;
        for (login, body) in accounts {
            let old: Option<String> = tx
                .query_row(
                    "SELECT body FROM dl_account WHERE municipality_code = ?1 AND login_id = ?2",
                    params![municipality, login],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            if old.as_deref() == Some(body.as_str()) {
                continue;
            }
            tx.execute(
                "INSERT INTO dl_account (municipality_code, login_id, version, body) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (municipality_code, login_id) DO UPDATE SET version = excluded.version, body = excluded.body",
                params![municipality, login, next as i64, body],
            )
            .map_err(backend)?;
            changed += 1;
        }
        let v = if changed > 0 {
            dl_bump(&tx, municipality, "roster")?
        } else {
            current
        };
        tx.commit().map_err(backend)?;
        Ok(v)
    }

    fn dl_accounts_since(&self, municipality: &str, after: u64) -> Result<Vec<String>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare(
                "SELECT body FROM dl_account WHERE municipality_code = ?1 AND version > ?2 ORDER BY login_id",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map(params![municipality, after as i64], |r| r.get(0))
            .map_err(backend)?
            .collect::<Result<Vec<String>, _>>()
            .map_err(backend)?;
        Ok(rows)
    }

    fn dl_account(&self, municipality: &str, login_id: &str) -> Result<Option<String>, StoreError> {
        let conn = self.conn()?;
        conn.query_row(
            "SELECT body FROM dl_account WHERE municipality_code = ?1 AND login_id = ?2",
            params![municipality, login_id],
            |r| r.get(0),
        )
        .optional()
        .map_err(backend)
    }

    // ---- history (issue 12 §5) ----

    fn replace_history(
        &self,
        import: &HistoryImport,
        doses: &[HistoryDose],
    ) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(backend)?;
        tx.execute("DELETE FROM history_doses", [])
            .map_err(backend)?;
        tx.execute(
            "INSERT INTO history_imports (import_id, file_sha256, dose_count, imported_at) \
             VALUES (?1, ?2, ?3, ?4)",
            params![
                import.import_id,
                import.file_sha256,
                i64::try_from(doses.len()).unwrap_or(i64::MAX),
                import
                    .imported_at
                    .to_rfc3339_opts(SecondsFormat::Micros, true)
            ],
        )
        .map_err(backend)?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO history_doses (import_id, atena_no, vaccine, dose_number, dose_date, source) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(backend)?;
            for d in doses {
                stmt.execute(params![
                    import.import_id,
                    d.atena_no,
                    d.vaccine,
                    d.dose_number,
                    d.date.to_string(),
                    d.source
                ])
                .map_err(backend)?;
            }
        }
        tx.commit().map_err(backend)
    }

    fn apply_record_doses(&self, changes: &[RecordDoseChange]) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(backend)?;
        {
            let mut set = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO record_doses (record_id, atena_no, vaccine, dose_date) \
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(backend)?;
            let mut remove = tx
                .prepare_cached("DELETE FROM record_doses WHERE record_id = ?1")
                .map_err(backend)?;
            for c in changes {
                match c {
                    RecordDoseChange::Set {
                        record_id,
                        atena_no,
                        vaccine,
                        date,
                    } => set
                        .execute(params![record_id, atena_no, vaccine, date.to_string()])
                        .map_err(backend)?,
                    RecordDoseChange::Remove { record_id } => {
                        remove.execute(params![record_id]).map_err(backend)?
                    }
                };
            }
        }
        tx.commit().map_err(backend)
    }

    fn record_dose_atenas(&self, record_ids: &[String]) -> Result<Vec<String>, StoreError> {
        if record_ids.is_empty() {
            return Ok(Vec::new());
        }
        let conn = self.conn()?;
        let wanted =
            serde_json::to_string(record_ids).map_err(|e| StoreError::Backend(e.to_string()))?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT DISTINCT atena_no FROM record_doses \
                 WHERE record_id IN (SELECT value FROM json_each(?1)) ORDER BY atena_no",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map([wanted], |r| r.get::<_, String>(0))
            .map_err(backend)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(backend)?;
        Ok(rows)
    }

    fn histories(&self, atena_nos: &[String]) -> Result<Vec<KnownDose>, StoreError> {
        if atena_nos.is_empty() {
            return Ok(Vec::new());
        }
        let conn = self.conn()?;
        // One query for the whole set: the residents go in as one JSON array.
        let wanted =
            serde_json::to_string(atena_nos).map_err(|e| StoreError::Backend(e.to_string()))?;
        let mut stmt = conn
            .prepare_cached(
                "WITH wanted(atena_no) AS (SELECT DISTINCT value FROM json_each(?1)) \
                 SELECT h.atena_no, h.vaccine, h.dose_date, 'history', h.source \
                   FROM history_doses h JOIN wanted w ON w.atena_no = h.atena_no \
                 UNION ALL \
                 SELECT r.atena_no, r.vaccine, r.dose_date, 'record', r.record_id \
                   FROM record_doses r JOIN wanted w ON w.atena_no = r.atena_no",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map([wanted], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            })
            .map_err(backend)?;
        let mut out = Vec::new();
        for row in rows {
            let (atena_no, vaccine, date, kind, extra) = row.map_err(backend)?;
            let date = date
                .parse::<chrono::NaiveDate>()
                .map_err(|e| StoreError::Invalid(format!("dose date {date}: {e}")))?;
            let source = if kind == "record" {
                DoseSource::Record(extra.unwrap_or_default())
            } else {
                DoseSource::History(extra)
            };
            out.push(KnownDose {
                atena_no,
                vaccine,
                date,
                source,
            });
        }
        Ok(out)
    }

    fn history_count(&self) -> Result<u64, StoreError> {
        let conn = self.conn()?;
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM history_doses", [], |r| r.get(0))
            .map_err(backend)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

/// Chains `draft` after the head read inside `tx` and inserts it.
fn append_audit(
    tx: &rusqlite::Transaction<'_>,
    draft: &HubAuditDraft,
) -> Result<AuditLink, StoreError> {
    let head: Option<(i64, String)> = tx
        .query_row(
            "SELECT seq, hash FROM hub_audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(backend)?;
    let head = match head {
        None => ChainHead::EMPTY,
        Some((seq, hash)) => ChainHead {
            seq,
            hash: parse_hash(&hash)?,
        },
    };
    let link = draft.link(head);
    tx.execute(
        "INSERT INTO hub_audit (seq, id, at, operator, event, target, outcome, detail, \
             prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            link.seq,
            link.id,
            link.at,
            link.actor,
            link.action,
            link.target,
            link.outcome,
            link.detail,
            hex::encode(link.prev_hash),
            hex::encode(link.hash)
        ],
    )
    .map_err(backend)?;
    Ok(link)
}

fn visit_item_rows(
    rows: &mut rusqlite::Rows<'_>,
    visit: &mut dyn FnMut(&StoredItem) -> Result<(), StoreError>,
) -> Result<u64, StoreError> {
    let mut n = 0u64;
    while let Some(r) = rows.next().map_err(backend)? {
        let received_at: String = r.get(8).map_err(backend)?;
        visit(&StoredItem {
            seq: r.get(0).map_err(backend)?,
            item_id: r.get(1).map_err(backend)?,
            stream: r.get(2).map_err(backend)?,
            record_id: r.get(3).map_err(backend)?,
            terminal_id: r.get(4).map_err(backend)?,
            entry_id: r.get(5).map_err(backend)?,
            payload: r.get(6).map_err(backend)?,
            batch_id: r.get(7).map_err(backend)?,
            received_at: parse_ts(&received_at)?,
        })?;
        n += 1;
    }
    Ok(n)
}

fn dl_version_in(conn: &Connection, municipality: &str, kind: &str) -> Result<u64, StoreError> {
    let v: Option<i64> = conn
        .query_row(
            "SELECT version FROM dl_version WHERE municipality_code = ?1 AND kind = ?2",
            params![municipality, kind],
            |r| r.get(0),
        )
        .optional()
        .map_err(backend)?;
    Ok(v.and_then(|v| u64::try_from(v).ok()).unwrap_or(0))
}

/// +1 on the municipality's version of `kind`, in the caller's transaction.
fn dl_bump(conn: &Connection, municipality: &str, kind: &str) -> Result<u64, StoreError> {
    let v = dl_version_in(conn, municipality, kind)? + 1;
    conn.execute(
        "INSERT INTO dl_version (municipality_code, kind, version) VALUES (?1, ?2, ?3) \
         ON CONFLICT (municipality_code, kind) DO UPDATE SET version = excluded.version",
        params![municipality, kind, v as i64],
    )
    .map_err(backend)?;
    Ok(v)
}
