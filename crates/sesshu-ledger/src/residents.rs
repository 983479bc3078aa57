//! The resident extract (住民抽出) in the ledger: full replace, delta, lookups.
//!
//! - A full import is one transaction: the table's indexes are dropped, the old rows deleted,
//!   the new rows inserted through one cached prepared statement, the indexes recreated from
//!   their definitions in the migration (read back from `sqlite_master`), the extract meta row
//!   written and the audit entry (counts and file hash, never a resident's data) appended with
//!   its outbox item. Any error rolls all of it back: the previous extract stays as it was.
//!   Building the indexes once after the load is what makes a million rows fit in seconds.
//! - A delta is one transaction too; adding an existing or changing / removing a missing
//!   宛名番号 is a [`LedgerError::DeltaConflict`] naming the file line.
//! - Every lookup that shows a resident writes one `ResidentViewed` audit entry per resident
//!   shown (target = 宛名番号, detail = purpose and key), committed before the result is
//!   returned; residents are returned only as [`ResidentView`] (the 閲覧注意 rule applied).

use crate::ledger::{Mutation, Reader};
use crate::{audit::AuditRecord, Ledger, LedgerError};
use chrono::NaiveDate;
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use sesshu_domain::audit::{AuditAction, AuditOutcome};
use sesshu_domain::resident::{
    display_view, AtenaNumber, LookupKey, LookupPurpose, Resident, ResidentView, Sex,
};

/// Lookups return at most this many candidates.
pub const MAX_CANDIDATES: u32 = 20;

/// Progress is reported every this many rows (and once at the end).
pub const PROGRESS_EVERY: u64 = 10_000;

/// Full replace or delta.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtractKind {
    Full,
    Delta,
}

impl ExtractKind {
    pub fn code(self) -> &'static str {
        match self {
            ExtractKind::Full => "full",
            ExtractKind::Delta => "delta",
        }
    }
}

/// Why a delta line does not fit the extract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DeltaConflict {
    #[error("追加しようとした宛名番号はすでに登録されています")]
    AlreadyExists,
    #[error("変更・削除しようとした宛名番号は登録されていません")]
    Missing,
}

/// One line of a delta file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeltaOp {
    Add(Resident),
    Change(Resident),
    Remove(AtenaNumber),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeltaLine {
    /// 1-based line in the file (header = line 1).
    pub line: u64,
    pub op: DeltaOp,
}

/// What one import did; the facts of its audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExtractImportFacts {
    pub kind: ExtractKind,
    /// Data lines in the file.
    pub rows: u64,
    pub added: u64,
    pub changed: u64,
    pub removed: u64,
    /// Lower-case hex SHA-256 of the file as received.
    pub file_sha256: String,
    /// "utf-8" or "cp932".
    pub encoding: String,
    pub as_of: Option<NaiveDate>,
}

/// The extract's meta row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExtractMeta {
    /// +1 at every import, full or delta.
    pub version: u64,
    pub as_of: Option<NaiveDate>,
    pub imported_at: String,
    pub kind: ExtractKind,
    pub row_count: u64,
    pub file_sha256: String,
}

const COLUMNS: &str = "atena, kana, kana_key, name, sex, birth_date, address, out_of_area, restricted, gaiji, deceased_on, moved_out_on";

const INSERT: &str = "INSERT INTO resident (atena, kana, kana_key, name, sex, birth_date, address, out_of_area, restricted, gaiji, deceased_on, moved_out_on) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";

fn row_to_resident(r: &rusqlite::Row<'_>) -> rusqlite::Result<Resident> {
    let bad = |col: usize, what: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            col,
            rusqlite::types::Type::Text,
            what.to_owned().into(),
        )
    };
    let atena: String = r.get(0)?;
    let sex: u8 = r.get(4)?;
    Ok(Resident {
        atena: AtenaNumber::parse(&atena).map_err(|_| bad(0, "atena"))?,
        kana: r.get(1)?,
        kana_key: r.get(2)?,
        name: r.get(3)?,
        sex: Sex::from_code(sex).ok_or_else(|| bad(4, "sex"))?,
        birth_date: r.get(5)?,
        address: r.get(6)?,
        out_of_area: r.get(7)?,
        restricted: r.get(8)?,
        gaiji: r.get(9)?,
        deceased_on: r.get(10)?,
        moved_out_on: r.get(11)?,
    })
}

fn insert(stmt: &mut rusqlite::CachedStatement<'_>, r: &Resident) -> rusqlite::Result<usize> {
    stmt.execute(params![
        r.atena.as_str(),
        r.kana,
        r.kana_key,
        r.name,
        r.sex.code(),
        r.birth_date,
        r.address,
        r.out_of_area,
        r.restricted,
        r.gaiji,
        r.deceased_on,
        r.moved_out_on
    ])
}

/// The smallest string greater than every string starting with `prefix` (for an index range).
fn prefix_upper_bound(prefix: &str) -> String {
    let mut s = prefix.to_owned();
    s.push(char::MAX);
    s
}

impl Reader<'_> {
    /// One resident by 宛名番号. Not audited: internal use (e.g. the import); screens use
    /// [`Ledger::view_resident`].
    pub fn resident(&self, atena: &AtenaNumber) -> Result<Option<Resident>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM resident WHERE atena = ?1"))?;
        Ok(stmt
            .query_row([atena.as_str()], row_to_resident)
            .optional()?)
    }

    /// Residents born on `birth_date` whose kana search key starts with `key_prefix` (and of
    /// `sex` if given): exact name first, then prefix matches by key, at most `limit`. Not
    /// audited; screens use [`Ledger::search_residents`].
    pub fn residents_by_kana_birth(
        &self,
        key_prefix: &str,
        birth_date: NaiveDate,
        sex: Option<Sex>,
        limit: u32,
    ) -> Result<Vec<Resident>, LedgerError> {
        // Served by resident_birth_kana: equality on the date, a range on the key. The exact
        // name is ranked first explicitly (it is also the smallest key with the prefix, so
        // the order only states the intent).
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM resident
             WHERE birth_date = ?1 AND kana_key >= ?2 AND kana_key < ?3
               AND (?4 IS NULL OR sex = ?4)
             ORDER BY kana_key <> ?2, kana_key, atena
             LIMIT ?5"
        ))?;
        let rows = stmt
            .query_map(
                params![
                    birth_date,
                    key_prefix,
                    prefix_upper_bound(key_prefix),
                    sex.map(Sex::code),
                    limit
                ],
                row_to_resident,
            )?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    pub fn resident_count(&self) -> Result<u64, LedgerError> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM resident", [], |r| r.get(0))?;
        Ok(n as u64)
    }

    /// The extract's meta row; `None` before the first import.
    pub fn resident_extract(&self) -> Result<Option<ExtractMeta>, LedgerError> {
        let row: Option<(i64, Option<NaiveDate>, String, String, i64, String)> = self
            .conn
            .query_row(
                "SELECT version, as_of, imported_at, kind, row_count, file_sha256 FROM resident_extract WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
            )
            .optional()?;
        Ok(row.map(
            |(version, as_of, imported_at, kind, row_count, file_sha256)| ExtractMeta {
                version: version as u64,
                as_of,
                imported_at,
                kind: if kind == "delta" {
                    ExtractKind::Delta
                } else {
                    ExtractKind::Full
                },
                row_count: row_count as u64,
                file_sha256,
            },
        ))
    }

    /// Every resident in 宛名番号 order (tests and exports of small extracts).
    pub fn all_residents(&self) -> Result<Vec<Resident>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {COLUMNS} FROM resident ORDER BY atena"))?;
        let rows = stmt
            .query_map([], row_to_resident)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}

impl Mutation<'_> {
    /// Replaces every resident with `rows`, in this transaction. `rows` is consumed as it
    /// comes (a streamed file is never held whole in memory); its first `Err` stops the load
    /// and is returned, and the caller's transaction then rolls back. `total` is the expected
    /// row count for `progress(done, total)`, called every [`PROGRESS_EVERY`] rows and at the
    /// end. Returns the number of rows loaded. Duplicate 宛名番号 are refused by the unique
    /// index when it is rebuilt (callers that want the line number check before).
    pub fn replace_residents<E: From<LedgerError>>(
        &mut self,
        rows: impl Iterator<Item = Result<Resident, E>>,
        total: u64,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<u64, E> {
        let indexes: Vec<(String, String)> = {
            let mut stmt = self
                .tx
                .prepare(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'resident' AND sql IS NOT NULL ORDER BY name",
                )
                .map_err(LedgerError::from)?;

            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(LedgerError::from)?
        };
        for (name, _) in &indexes {
            self.tx
                .execute_batch(&format!("DROP INDEX \"{}\"", name.replace('"', "\"\"")))
                .map_err(LedgerError::from)?;
        }
        // Without a WHERE clause SQLite truncates the table instead of deleting row by row.
        self.tx
            .execute("DELETE FROM resident", [])
            .map_err(LedgerError::from)?;
        let mut done = 0u64;
        {
            let mut stmt = self.tx.prepare_cached(INSERT).map_err(LedgerError::from)?;
            for r in rows {
                let r = r?;
                insert(&mut stmt, &r).map_err(LedgerError::from)?;
                done += 1;
                if done.is_multiple_of(PROGRESS_EVERY) {
                    progress(done, total.max(done));
                }
            }
        }
        for (_, sql) in &indexes {
            self.tx.execute_batch(sql).map_err(LedgerError::from)?;
        }
        // The centre's last doses go with the residents the new extract no longer holds.
        self.prune_last_doses()?;
        progress(done, done);
        Ok(done)
    }

    /// Applies a delta in this transaction, in file order. Returns (added, changed, removed).
    pub fn apply_resident_delta(
        &mut self,
        lines: &[DeltaLine],
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<(u64, u64, u64), LedgerError> {
        let total = lines.len() as u64;
        let (mut added, mut changed, mut removed) = (0u64, 0u64, 0u64);
        let conflict =
            |line: u64, conflict: DeltaConflict| LedgerError::DeltaConflict { line, conflict };
        for (i, l) in lines.iter().enumerate() {
            match &l.op {
                DeltaOp::Add(r) => {
                    let exists = self.reader().resident(&r.atena)?.is_some();
                    if exists {
                        return Err(conflict(l.line, DeltaConflict::AlreadyExists));
                    }
                    let mut stmt = self.tx.prepare_cached(INSERT)?;
                    insert(&mut stmt, r)?;
                    added += 1;
                }
                DeltaOp::Change(r) => {
                    let mut stmt = self.tx.prepare_cached(
                        "UPDATE resident SET kana = ?2, kana_key = ?3, name = ?4, sex = ?5, birth_date = ?6, address = ?7, out_of_area = ?8, restricted = ?9, gaiji = ?10, deceased_on = ?11, moved_out_on = ?12 WHERE atena = ?1",
                    )?;
                    if insert(&mut stmt, r)? == 0 {
                        return Err(conflict(l.line, DeltaConflict::Missing));
                    }
                    changed += 1;
                }
                DeltaOp::Remove(a) => {
                    let gone = self
                        .tx
                        .prepare_cached("DELETE FROM resident WHERE atena = ?1")?
                        .execute([a.as_str()])?;
                    if gone == 0 {
                        return Err(conflict(l.line, DeltaConflict::Missing));
                    }
                    self.delete_last_doses(a)?;
                    removed += 1;
                }
            }
            let done = i as u64 + 1;
            if done.is_multiple_of(PROGRESS_EVERY) {
                progress(done, total);
            }
        }
        progress(total, total);
        Ok((added, changed, removed))
    }

    /// Writes the extract meta row and the import's audit entry (with its outbox item).
    /// The detail holds counts and the file hash only.
    pub fn record_extract_import(
        &mut self,
        actor_login: &str,
        facts: &ExtractImportFacts,
    ) -> Result<ExtractMeta, LedgerError> {
        let version = self
            .reader()
            .resident_extract()?
            .map_or(1, |m| m.version + 1);
        let row_count = self.reader().resident_count()?;
        let imported_at = crate::audit::canonical_time(self.now);
        self.tx.execute(
            "INSERT INTO resident_extract (id, version, as_of, imported_at, kind, row_count, file_sha256)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (id) DO UPDATE SET version = excluded.version, as_of = excluded.as_of,
               imported_at = excluded.imported_at, kind = excluded.kind,
               row_count = excluded.row_count, file_sha256 = excluded.file_sha256",
            params![
                version as i64,
                facts.as_of,
                imported_at,
                facts.kind.code(),
                row_count as i64,
                facts.file_sha256
            ],
        )?;
        let action = match facts.kind {
            ExtractKind::Full => AuditAction::ResidentsImported,
            ExtractKind::Delta => AuditAction::ResidentsDeltaApplied,
        };
        self.audit(
            AuditRecord::new(
                Some(actor_login),
                action,
                Some("resident_extract"),
                AuditOutcome::Success,
            )
            .with_detail(serde_json::json!({
                "kind": facts.kind.code(),
                "rows": facts.rows,
                "added": facts.added,
                "changed": facts.changed,
                "removed": facts.removed,
                "total_after": row_count,
                "file_sha256": facts.file_sha256,
                "encoding": facts.encoding,
                "version": version,
                "as_of": facts.as_of,
            })),
        )?;
        Ok(ExtractMeta {
            version,
            as_of: facts.as_of,
            imported_at,
            kind: facts.kind,
            row_count,
            file_sha256: facts.file_sha256.clone(),
        })
    }

    fn audit_view(
        &mut self,
        actor_login: &str,
        purpose: LookupPurpose,
        key: LookupKey,
        atena: &AtenaNumber,
    ) -> Result<(), LedgerError> {
        self.audit(
            AuditRecord::new(
                Some(actor_login),
                AuditAction::ResidentViewed,
                Some(atena.as_str()),
                AuditOutcome::Success,
            )
            .with_detail(serde_json::json!({
                "purpose": purpose.code(),
                "key": key.code(),
            })),
        )?;
        Ok(())
    }
}

impl Ledger {
    /// Shows one resident by 宛名番号 (`key` says how the caller got it: typed, or from a
    /// 接種券 OCR line). Audited when found; `None` leaves no trace.
    pub fn view_resident(
        &self,
        actor_login: &str,
        purpose: LookupPurpose,
        key: LookupKey,
        atena: &AtenaNumber,
    ) -> Result<Option<ResidentView>, LedgerError> {
        self.read_audited(|m| {
            let Some(r) = m.reader().resident(atena)? else {
                return Ok(None);
            };
            m.audit_view(actor_login, purpose, key, &r.atena)?;
            Ok(Some(display_view(&r)))
        })
    }

    /// Candidates by kana search-key prefix + date of birth (+ sex), ranked (exact name first,
    /// then prefix), at most [`MAX_CANDIDATES`]; one audit entry per candidate shown.
    pub fn search_residents(
        &self,
        actor_login: &str,
        purpose: LookupPurpose,
        key_prefix: &str,
        birth_date: NaiveDate,
        sex: Option<Sex>,
    ) -> Result<Vec<ResidentView>, LedgerError> {
        self.read_audited(|m| {
            let found =
                m.reader()
                    .residents_by_kana_birth(key_prefix, birth_date, sex, MAX_CANDIDATES)?;
            for r in &found {
                m.audit_view(actor_login, purpose, LookupKey::KanaBirthDate, &r.atena)?;
            }
            Ok(found.iter().map(display_view).collect())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_bound_orders_after_every_extension() {
        let up = prefix_upper_bound("ヤマ");
        for s in ["ヤマ", "ヤマダ", "ヤマヴ", "ヤマ\u{FFFF}"] {
            assert!(s < up.as_str(), "{s}");
        }
        assert!("ヤミ" > up.as_str());
    }
}
