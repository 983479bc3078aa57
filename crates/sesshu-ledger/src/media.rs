//! Removable media: the registered media, the media ledger (媒体管理簿) and the batches each
//! export carried (migration `0007-media`).
//!
//! Write paths, as for network sync ([`crate::sync`]):
//! - registering a medium, starting an export and recording an erasure are actions of a person:
//!   [`Mutation`] methods, audited by the caller in the same transaction;
//! - completing an export (its count, hash and batches) and importing a receipt file are
//!   transport bookkeeping: [`SyncState`] methods, not audited (an audit entry would be a new
//!   outbox item, so the outbox could never be emptied by media alone).

use crate::ledger::{Mutation, Reader, SyncState};
use crate::outbox::WATERMARK;
use crate::LedgerError;
use rusqlite::{params, OptionalExtension};

/// A registered medium.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Medium {
    pub medium_id: String,
    pub label: String,
    pub registered_at: String,
    pub registered_by: String,
}

/// One line of the media ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaLedgerRow {
    pub seq: i64,
    pub entry_id: String,
    pub at: String,
    pub medium_id: String,
    pub actor: String,
    /// `out`, `in`, `erased`.
    pub direction: String,
    /// `writing`, `written`, `failed` (out); `imported` (in); `recorded` (erased).
    pub status: String,
    pub item_count: u64,
    pub file_sha256: Option<String>,
    pub file_name: Option<String>,
}

/// A new media ledger line (the ledger adds sequence number and time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMediaLine<'a> {
    pub entry_id: &'a str,
    pub medium_id: &'a str,
    pub actor: &'a str,
    pub direction: &'a str,
    pub status: &'a str,
    pub item_count: u64,
    pub file_sha256: Option<&'a str>,
    pub file_name: Option<&'a str>,
}

/// A batch written to a medium: what its receipt must answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaBatch {
    pub batch_id: String,
    pub export_id: String,
    pub batch_hash: String,
    /// Outbox positions and item ids, in batch order.
    pub items: Vec<(i64, String)>,
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

const LEDGER_COLUMNS: &str =
    "seq, entry_id, at, medium_id, actor, direction, status, item_count, file_sha256, file_name";

fn ledger_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<MediaLedgerRow> {
    Ok(MediaLedgerRow {
        seq: r.get(0)?,
        entry_id: r.get(1)?,
        at: r.get(2)?,
        medium_id: r.get(3)?,
        actor: r.get(4)?,
        direction: r.get(5)?,
        status: r.get(6)?,
        item_count: count(r.get(7)?),
        file_sha256: r.get(8)?,
        file_name: r.get(9)?,
    })
}

fn insert_line(
    tx: &rusqlite::Transaction<'_>,
    now: chrono::DateTime<chrono::Utc>,
    l: &NewMediaLine<'_>,
) -> Result<(), LedgerError> {
    tx.execute(
        "INSERT INTO media_ledger (entry_id, at, medium_id, actor, direction, status, item_count, \
         file_sha256, file_name) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            l.entry_id,
            crate::audit::canonical_time(now),
            l.medium_id,
            l.actor,
            l.direction,
            l.status,
            i64::try_from(l.item_count).unwrap_or(i64::MAX),
            l.file_sha256,
            l.file_name
        ],
    )?;
    Ok(())
}

impl Reader<'_> {
    pub fn medium(&self, medium_id: &str) -> Result<Option<Medium>, LedgerError> {
        Ok(self
            .conn
            .query_row(
                "SELECT medium_id, label, registered_at, registered_by FROM media_medium \
                 WHERE medium_id = ?1",
                [medium_id],
                |r| {
                    Ok(Medium {
                        medium_id: r.get(0)?,
                        label: r.get(1)?,
                        registered_at: r.get(2)?,
                        registered_by: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    /// The media ledger, newest first, at most `limit` lines.
    pub fn media_ledger(&self, limit: u32) -> Result<Vec<MediaLedgerRow>, LedgerError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {LEDGER_COLUMNS} FROM media_ledger ORDER BY seq DESC LIMIT ?1"
        ))?;
        let rows = stmt
            .query_map([limit], ledger_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    pub fn media_line(&self, entry_id: &str) -> Result<Option<MediaLedgerRow>, LedgerError> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {LEDGER_COLUMNS} FROM media_ledger WHERE entry_id = ?1"),
                [entry_id],
                ledger_row,
            )
            .optional()?)
    }

    /// An `in` line for a receipt file with this hash, if it was imported before.
    pub fn media_receipt_imported(&self, file_sha256: &str) -> Result<bool, LedgerError> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM media_ledger WHERE direction = 'in' AND file_sha256 = ?1",
                [file_sha256],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    pub fn media_batch(&self, batch_id: &str) -> Result<Option<MediaBatch>, LedgerError> {
        let row: Option<(String, String, String, String)> = self
            .conn
            .query_row(
                "SELECT batch_id, export_id, batch_hash, items FROM media_batch WHERE batch_id = ?1",
                [batch_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        row.map(|(batch_id, export_id, batch_hash, items)| {
            let items: Vec<(i64, String)> = serde_json::from_str(&items)
                .map_err(|e| LedgerError::InvalidData(format!("media_batch items: {e}")))?;
            Ok(MediaBatch {
                batch_id,
                export_id,
                batch_hash,
                items,
            })
        })
        .transpose()
    }

    /// How many batches an export carried.
    pub fn media_batch_count(&self, export_id: &str) -> Result<u64, LedgerError> {
        Ok(count(self.conn.query_row(
            "SELECT count(*) FROM media_batch WHERE export_id = ?1",
            [export_id],
            |r| r.get(0),
        )?))
    }

    /// The outbox position up to which every item is acknowledged (0: none).
    pub fn ack_watermark(&self) -> Result<i64, LedgerError> {
        Ok(self
            .conn
            .query_row(&format!("SELECT {WATERMARK}"), [], |r| r.get(0))?)
    }
}

impl Mutation<'_> {
    /// Registers a medium (the caller audits it). A medium registered before is an error
    /// ([`LedgerError::InvalidData`] is not used: the caller checks with [`Reader::medium`]).
    pub fn register_medium(&mut self, m: &Medium) -> Result<(), LedgerError> {
        self.tx.execute(
            "INSERT INTO media_medium (medium_id, label, registered_at, registered_by) \
             VALUES (?1, ?2, ?3, ?4)",
            params![m.medium_id, m.label, m.registered_at, m.registered_by],
        )?;
        Ok(())
    }

    /// Appends a media ledger line (the caller audits it in this transaction).
    pub fn media_line(&mut self, l: &NewMediaLine<'_>) -> Result<(), LedgerError> {
        insert_line(&self.tx, self.now, l)
    }
}

impl SyncState<'_> {
    /// Completes an export begun with a `writing` line: its count, file hash and name, and the
    /// batches it carried.
    pub fn media_export_written(
        &mut self,
        export_id: &str,
        item_count: u64,
        file_sha256: &str,
        file_name: &str,
        batches: &[MediaBatch],
    ) -> Result<(), LedgerError> {
        let n = self.tx.execute(
            "UPDATE media_ledger SET status = 'written', item_count = ?2, file_sha256 = ?3, \
             file_name = ?4 WHERE entry_id = ?1 AND direction = 'out' AND status = 'writing'",
            params![
                export_id,
                i64::try_from(item_count).unwrap_or(i64::MAX),
                file_sha256,
                file_name
            ],
        )?;
        if n != 1 {
            return Err(LedgerError::InvalidData(format!(
                "no export {export_id} being written"
            )));
        }
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO media_batch (batch_id, export_id, batch_hash, items) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for b in batches {
            let items = serde_json::to_string(&b.items)
                .map_err(|e| LedgerError::InvalidData(e.to_string()))?;
            stmt.execute(params![b.batch_id, export_id, b.batch_hash, items])?;
        }
        Ok(())
    }

    /// Marks an export that could not be written.
    pub fn media_export_failed(&mut self, export_id: &str) -> Result<(), LedgerError> {
        self.tx.execute(
            "UPDATE media_ledger SET status = 'failed' WHERE entry_id = ?1 AND status = 'writing'",
            [export_id],
        )?;
        Ok(())
    }

    /// Appends a media ledger line for an imported receipt file (bookkeeping, see the module doc).
    pub fn media_line(&mut self, l: &NewMediaLine<'_>) -> Result<(), LedgerError> {
        insert_line(&self.tx, self.now, l)
    }
}
