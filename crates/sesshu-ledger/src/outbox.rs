//! The outbox: items waiting for the hub, written in the same transaction as their entry.
//!
//! An item is pending until a stored, verified receipt covers its position: acknowledged items
//! are always a prefix of the outbox (see [`crate::sync`] and migration `0006-sync`); the
//! `acked_at` column of 0001 is no longer written.

use crate::ledger::{Mutation, Reader};
use crate::LedgerError;
use rusqlite::params;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    pub seq: i64,
    pub item_id: String,
    pub stream: String,
    pub entry_id: String,
    pub payload: String,
    pub content_hash: String,
}

impl Mutation<'_> {
    /// Queues `payload` for the hub; idempotent at the hub by item id + content hash.
    pub(crate) fn enqueue(
        &mut self,
        stream: &str,
        entry_id: &str,
        payload: &str,
    ) -> Result<(), LedgerError> {
        let item_id = self.ids.new_id(self.now).to_string();
        let hash = hex::encode(Sha256::digest(payload.as_bytes()));
        self.tx.execute(
            "INSERT INTO outbox (item_id, stream, entry_id, payload, content_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![item_id, stream, entry_id, payload, hash, crate::audit::canonical_time(self.now)],
        )?;
        Ok(())
    }
}

/// The outbox position up to which every item is acknowledged by a stored receipt (0: none).
/// See migration `0006-sync`: acknowledged items are always a prefix of the outbox. The queries
/// keep `acked_at IS NULL` (always true since 0006) so that the partial index `outbox_pending`
/// still serves them.
pub(crate) const WATERMARK: &str = "(SELECT coalesce(max(last_seq), 0) FROM sync_receipt)";

impl Reader<'_> {
    /// Items not yet acknowledged by a verified receipt, oldest first.
    pub fn outbox_pending(&self, limit: u32) -> Result<Vec<OutboxItem>, LedgerError> {
        self.sync_pending(0, limit)
    }

    pub fn outbox_pending_count(&self) -> Result<u64, LedgerError> {
        // Left to itself SQLite answers `seq > …` by walking the table's rowid range, which
        // decrypts every pending payload (~0.8 s and a full page cache for 100,000 records);
        // the partial index holds every seq in a few hundred pages.
        Ok(self.conn.query_row(
            &format!(
                "SELECT count(*) FROM outbox INDEXED BY outbox_pending \
                 WHERE acked_at IS NULL AND seq > {WATERMARK}"
            ),
            [],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    /// Items not yet acknowledged, counted per stream.
    pub fn outbox_pending_by_stream(
        &self,
    ) -> Result<std::collections::BTreeMap<String, u64>, LedgerError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT stream, count(*) FROM outbox WHERE acked_at IS NULL AND seq > {WATERMARK} GROUP BY stream"
        ))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows
            .into_iter()
            .map(|(s, n)| (s, u64::try_from(n).unwrap_or(0)))
            .collect())
    }
}
