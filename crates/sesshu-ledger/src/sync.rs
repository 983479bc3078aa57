//! Sync state: the hub enrolment, receipts, which receipt acknowledged each outbox item, and
//! the sync log.
//!
//! Two write paths, on purpose:
//! - the **enrolment** is a change of the terminal's configuration: it goes through
//!   [`crate::Ledger::mutate`] with its audit entry like any other change;
//! - **acknowledgements and log lines** are bookkeeping of the transport, not changes of the
//!   records: they go through [`crate::Ledger::sync_state`], which needs no audit entry. If each
//!   acknowledgement were audited, that audit entry would itself be a new outbox item and the
//!   outbox could never drain to zero. A sync run is audited once, when it starts
//!   (`SyncStarted`), before the outbox is read, so that entry travels in the run it opens.

use crate::ledger::{Mutation, Reader, SyncState};
use crate::outbox::{OutboxItem, WATERMARK};
use crate::LedgerError;
use rusqlite::{params, OptionalExtension};

/// The hub this terminal is enrolled with (one row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolment {
    pub hub_url: String,
    pub hub_id: String,
    /// Hex Ed25519 key that signs the hub's receipts.
    pub hub_public_key: String,
    /// The pinned TLS key (`sesshu_protocol::sign::fingerprint` of the certificate's SPKI).
    pub cert_fingerprint: String,
    /// Hex Ed25519 key of this terminal (the private half is in the OS key store).
    pub terminal_public_key: String,
    /// The hub's time of enrolment.
    pub enrolled_at: String,
}

/// A verified receipt as kept by the terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReceipt {
    pub receipt_id: String,
    pub batch_id: String,
    pub batch_hash: String,
    /// The hub's clock when it stored the batch.
    pub received_at: String,
    pub item_count: u64,
    /// `Signed<Receipt>` JSON exactly as received (the proof).
    pub signed_json: String,
    /// The terminal's clock when the receipt was stored.
    pub stored_at: String,
}

/// One line of the exportable sync log: counts and codes only, no personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncLogLine {
    pub seq: i64,
    pub at: String,
    /// `enrolled`, `started`, `batch`, `retry`, `finished`, `failed`.
    pub kind: String,
    pub items: u64,
    pub acknowledged: u64,
    pub pending: u64,
    pub error_code: Option<String>,
}

/// One item a receipt answers: its outbox position, id and outcome code (`accepted`,
/// `already_have`, `conflict`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub seq: i64,
    pub item_id: String,
    pub outcome: &'static str,
    /// The hub's reason, for a conflict.
    pub reason: Option<String>,
}

/// An item the hub did not simply accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemOutcomeRow {
    pub seq: i64,
    pub item_id: String,
    pub stream: String,
    pub outcome: String,
    pub reason: Option<String>,
}

/// A log line to write (the ledger adds sequence number and time).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewLogLine {
    pub kind: &'static str,
    pub items: u64,
    pub acknowledged: u64,
    pub pending: u64,
    pub error_code: Option<String>,
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl Reader<'_> {
    pub fn sync_enrolment(&self) -> Result<Option<Enrolment>, LedgerError> {
        Ok(self
            .conn
            .query_row(
                "SELECT hub_url, hub_id, hub_public_key, cert_fingerprint, terminal_public_key, enrolled_at \
                 FROM sync_enrolment WHERE id = 1",
                [],
                |r| {
                    Ok(Enrolment {
                        hub_url: r.get(0)?,
                        hub_id: r.get(1)?,
                        hub_public_key: r.get(2)?,
                        cert_fingerprint: r.get(3)?,
                        terminal_public_key: r.get(4)?,
                        enrolled_at: r.get(5)?,
                    })
                },
            )
            .optional()?)
    }

    /// The newest receipt stored, if any.
    pub fn last_receipt(&self) -> Result<Option<StoredReceipt>, LedgerError> {
        Ok(self
            .conn
            .query_row(
                "SELECT receipt_id, batch_id, batch_hash, received_at, item_count, signed_json, stored_at \
                 FROM sync_receipt ORDER BY last_seq DESC LIMIT 1",
                [],
                |r| {
                    Ok(StoredReceipt {
                        receipt_id: r.get(0)?,
                        batch_id: r.get(1)?,
                        batch_hash: r.get(2)?,
                        received_at: r.get(3)?,
                        item_count: count(r.get(4)?),
                        signed_json: r.get(5)?,
                        stored_at: r.get(6)?,
                    })
                },
            )
            .optional()?)
    }

    pub fn receipt_count(&self) -> Result<u64, LedgerError> {
        Ok(count(self.conn.query_row(
            "SELECT count(*) FROM sync_receipt",
            [],
            |r| r.get(0),
        )?))
    }

    /// The newest `limit` log lines, newest first.
    pub fn sync_log(&self, limit: u32) -> Result<Vec<SyncLogLine>, LedgerError> {
        let mut stmt = self.conn.prepare(
            "SELECT seq, at, kind, items, acknowledged, pending, error_code FROM sync_log \
             ORDER BY seq DESC LIMIT ?1",
        )?;
        let rows = stmt
            .query_map([limit], |r| {
                Ok(SyncLogLine {
                    seq: r.get(0)?,
                    at: r.get(1)?,
                    kind: r.get(2)?,
                    items: count(r.get(3)?),
                    acknowledged: count(r.get(4)?),
                    pending: count(r.get(5)?),
                    error_code: r.get(6)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Acknowledged items per outcome (`accepted`, `already_have`, `conflict`).
    pub fn outbox_outcomes(&self) -> Result<std::collections::BTreeMap<String, u64>, LedgerError> {
        let mut out = std::collections::BTreeMap::new();
        let total: i64 = self.conn.query_row(
            "SELECT coalesce(sum(item_count), 0) FROM sync_receipt",
            [],
            |r| r.get(0),
        )?;
        let mut stmt = self
            .conn
            .prepare("SELECT outcome, count(*) FROM sync_item_outcome GROUP BY outcome")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        let others: i64 = rows.iter().map(|(_, n)| n).sum();
        if total > others {
            out.insert("accepted".to_owned(), count(total - others));
        }
        for (k, n) in rows {
            out.insert(k, count(n));
        }
        Ok(out)
    }

    /// How one receipt's items were answered, by outcome (`already_have`, `conflict`; items not
    /// counted here were accepted).
    pub fn receipt_outcomes(
        &self,
        receipt_id: &str,
    ) -> Result<std::collections::BTreeMap<String, u64>, LedgerError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT outcome, count(*) FROM sync_item_outcome WHERE receipt_id = ?1 GROUP BY outcome",
        )?;
        let rows = stmt
            .query_map([receipt_id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows
            .into_iter()
            .map(|(k, n)| (k, u64::try_from(n).unwrap_or(0)))
            .collect())
    }

    /// Items the hub answered with `outcome` (`already_have`, `conflict`), newest first, with
    /// the hub's reason.
    pub fn sync_item_outcomes(
        &self,
        outcome: &str,
        limit: u32,
    ) -> Result<Vec<ItemOutcomeRow>, LedgerError> {
        let mut stmt = self.conn.prepare(
            "SELECT o.seq, b.item_id, b.stream, o.outcome, o.reason FROM sync_item_outcome o \
             JOIN outbox b ON b.seq = o.seq WHERE o.outcome = ?1 ORDER BY o.seq DESC LIMIT ?2",
        )?;
        let rows = stmt
            .query_map(params![outcome, limit], |r| {
                Ok(ItemOutcomeRow {
                    seq: r.get(0)?,
                    item_id: r.get(1)?,
                    stream: r.get(2)?,
                    outcome: r.get(3)?,
                    reason: r.get(4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Pending items after outbox position `after_seq`, oldest first, at most `limit`: the
    /// drain's read. The drain acknowledges in outbox order, so it passes the position of the
    /// last item acknowledged and the read starts there instead of stepping over every item
    /// already sent (which grows with each batch).
    pub fn sync_pending(&self, after_seq: i64, limit: u32) -> Result<Vec<OutboxItem>, LedgerError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT seq, item_id, stream, entry_id, payload, content_hash FROM outbox \
             WHERE acked_at IS NULL AND seq > max(?1, {WATERMARK}) ORDER BY seq LIMIT ?2"
        ))?;
        let rows = stmt
            .query_map(params![after_seq, limit], |r| {
                Ok(OutboxItem {
                    seq: r.get(0)?,
                    item_id: r.get(1)?,
                    stream: r.get(2)?,
                    entry_id: r.get(3)?,
                    payload: r.get(4)?,
                    content_hash: r.get(5)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}

impl Mutation<'_> {
    /// Records the hub this terminal is enrolled with, replacing an earlier enrolment. The
    /// caller audits it in the same mutation.
    pub fn set_sync_enrolment(&mut self, e: &Enrolment) -> Result<(), LedgerError> {
        self.tx.execute(
            "INSERT OR REPLACE INTO sync_enrolment \
             (id, hub_url, hub_id, hub_public_key, cert_fingerprint, terminal_public_key, enrolled_at) \
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                e.hub_url,
                e.hub_id,
                e.hub_public_key,
                e.cert_fingerprint,
                e.terminal_public_key,
                e.enrolled_at
            ],
        )?;
        Ok(())
    }
}

impl SyncState<'_> {
    /// Reads inside this transaction.
    pub fn reader(&self) -> Reader<'_> {
        Reader { conn: &self.tx }
    }

    /// Stores a verified receipt for the items it answers, which must be exactly the next
    /// items of the outbox after the acknowledged prefix, in order (`acks`, with their
    /// positions, ids and outcomes): then they become part of the acknowledged prefix
    /// (migration `0006-sync`) and items not simply accepted are recorded with their outcome.
    /// Anything else writes nothing ([`LedgerError::NotPending`]) and the caller's transaction
    /// rolls back. `receipt.item_count` is taken from `acks`.
    pub fn acknowledge(
        &mut self,
        receipt: &StoredReceipt,
        acks: &[Ack],
    ) -> Result<(), LedgerError> {
        let (Some(first), Some(last)) = (acks.first(), acks.last()) else {
            return Ok(());
        };
        // The next items of the outbox, checked without reading the outbox rows themselves
        // (each holds its payload: reading them again doubled the pages a sync decrypts):
        // the first is the first position after the acknowledged prefix, each id is at its
        // position (the item id's own index), and no item lies between two of them.
        let refuse = |a: &Ack| LedgerError::NotPending {
            item_id: a.item_id.clone(),
        };
        let next: Option<i64> = self.tx.query_row(
            &format!("SELECT min(seq) FROM outbox WHERE seq > {WATERMARK}"),
            [],
            |r| r.get(0),
        )?;
        if next != Some(first.seq) {
            return Err(refuse(first));
        }
        {
            // Each id's position, in one statement (the ids as a JSON array, one probe of the
            // id index each): a query per item cost as much again in statement overhead.
            let ids = serde_json::to_string(&acks.iter().map(|a| &a.item_id).collect::<Vec<_>>())
                .map_err(|e| LedgerError::InvalidData(format!("acknowledged ids: {e}")))?;
            let mut at = self.tx.prepare_cached(
                "SELECT o.seq FROM json_each(?1) j LEFT JOIN outbox o ON o.item_id = j.value \
                 ORDER BY j.key",
            )?;
            let seqs = at
                .query_map([&ids], |r| r.get::<_, Option<i64>>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            if seqs.len() != acks.len() {
                return Err(refuse(first));
            }
            let mut between = self
                .tx
                .prepare_cached("SELECT count(*) FROM outbox WHERE seq > ?1 AND seq < ?2")?;
            let mut prev: Option<i64> = None;
            for (a, seq) in acks.iter().zip(seqs) {
                if seq != Some(a.seq) {
                    return Err(refuse(a));
                }
                if let Some(p) = prev {
                    let gap =
                        a.seq > p + 1 && between.query_row([p, a.seq], |r| r.get::<_, i64>(0))? > 0;
                    if a.seq <= p || gap {
                        return Err(refuse(a));
                    }
                }
                prev = Some(a.seq);
            }
        }
        self.tx.execute(
            "INSERT INTO sync_receipt (receipt_id, batch_id, batch_hash, received_at, item_count, \
             first_seq, last_seq, signed_json, stored_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                receipt.receipt_id,
                receipt.batch_id,
                receipt.batch_hash,
                receipt.received_at,
                i64::try_from(acks.len()).unwrap_or(i64::MAX),
                first.seq,
                last.seq,
                receipt.signed_json,
                crate::audit::canonical_time(self.now)
            ],
        )?;
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO sync_item_outcome (seq, receipt_id, outcome, reason) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for a in acks.iter().filter(|a| a.outcome != "accepted") {
            stmt.execute(params![a.seq, receipt.receipt_id, a.outcome, a.reason])?;
        }
        Ok(())
    }

    /// Appends a line to the sync log.
    pub fn log(&mut self, line: &NewLogLine) -> Result<(), LedgerError> {
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.tx.execute(
            "INSERT INTO sync_log (at, kind, items, acknowledged, pending, error_code) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                crate::audit::canonical_time(self.now),
                line.kind,
                n(line.items),
                n(line.acknowledged),
                n(line.pending),
                line.error_code
            ],
        )?;
        Ok(())
    }
}
