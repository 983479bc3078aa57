//! Sync by removable media: the same signed batches the drain sends, sealed to the pinned hub
//! key in one file ([`build_media_file`]), and the hub's receipt file applied exactly like
//! network receipts ([`import_receipt_file`]).
//!
//! The batches are prepared by the drain's own code (`drain::prepare`: outbox order, chunk
//! limits, the audit chain head, the terminal's signature), so a batch on a stick and a batch
//! over HTTPS are the same bytes in kind and the hub ingests both the same way. Writing a file
//! marks nothing: items stay pending until a verified receipt for them is imported.

use crate::drain::{check_receipt, outcome_code, prepare, DrainOptions, ReceiptProblem};
use crate::SyncIdentity;
use sesshu_ledger::media::{MediaBatch, NewMediaLine};
use sesshu_ledger::sync::{Ack, StoredReceipt};
use sesshu_ledger::{Ledger, LedgerError};
use sesshu_protocol::chain::ChainHead;
use sesshu_protocol::envelope::{self, EnvelopeError, EnvelopeInfo, EnvelopePurpose};
use sesshu_protocol::media::{
    file_sha256, MediaFormatError, MediaPayload, MediaReceiptFile, MEDIA_FORMAT,
};
use sesshu_protocol::wire::{Batch, Item, ItemOutcome, Receipt, Stream};
use sesshu_protocol::{ProtocolError, Signed, PROTOCOL_VERSION};

/// Why a media file could not be made or a receipt file not applied.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("ledger: {0}")]
    Ledger(#[from] LedgerError),
    #[error("envelope: {0}")]
    Envelope(#[from] EnvelopeError),
    #[error("media format: {0}")]
    Format(#[from] MediaFormatError),
    #[error("encoding: {0}")]
    Encoding(ProtocolError),
    /// Nothing is pending: no file is written.
    #[error("nothing to export")]
    NothingPending,
    /// The receipt file answers another terminal.
    #[error("the receipt file is for another terminal")]
    OtherTerminal,
    /// The receipt file answers no export of this terminal (or another file of it).
    #[error("the receipt file answers no export of this terminal")]
    UnknownExport,
    /// A receipt in the file fails its checks (signature, batch, items).
    #[error("receipt refused: {0}")]
    Receipt(ReceiptProblem),
    /// The file does not answer every batch of the export exactly once.
    #[error("the receipt file does not answer every batch of the export")]
    Incomplete,
}

/// A media file ready to be written.
#[derive(Debug)]
pub struct MediaFile {
    /// The envelope, exactly as it goes to the medium.
    pub bytes: Vec<u8>,
    pub item_count: u64,
    pub file_sha256: String,
    pub batches: Vec<MediaBatch>,
}

/// Seals every pending item, in batches prepared by the drain, to the pinned hub key.
/// `ephemeral_secret`: 32 fresh bytes from the OS random source.
pub fn build_media_file(
    ledger: &Ledger,
    id: &SyncIdentity<'_>,
    opts: &DrainOptions,
    medium_id: &str,
    export_id: &str,
    ephemeral_secret: &[u8; 32],
) -> Result<MediaFile, MediaError> {
    let mut after_seq = 0i64;
    let mut signed = Vec::new();
    let mut batches = Vec::new();
    let mut item_count = 0u64;
    while let Some(p) =
        prepare(ledger, id, opts, after_seq, opts.limits.max_items, None).map_err(|e| match e {
            crate::DrainError::Ledger(l) => MediaError::Ledger(l),
            crate::DrainError::Encoding(p) => MediaError::Encoding(p),
            other => MediaError::Encoding(ProtocolError::Malformed(other.to_string())),
        })?
    {
        if let Some((last, _)) = p.sent.last() {
            after_seq = *last;
        }
        item_count += p.sent.len() as u64;
        batches.push(MediaBatch {
            batch_id: p.batch.batch_id.clone(),
            export_id: export_id.to_owned(),
            batch_hash: p.batch_hash,
            items: p.sent,
        });
        signed.push(p.signed);
    }
    if signed.is_empty() {
        return Err(MediaError::NothingPending);
    }
    let payload = MediaPayload {
        format: MEDIA_FORMAT,
        export_id: export_id.to_owned(),
        batches: signed,
    }
    .to_bytes()?;
    let info = EnvelopeInfo {
        purpose: EnvelopePurpose::MediaBatches,
        sender_id: id.terminal_id.to_owned(),
        municipality_code: id.municipality_code.to_owned(),
        medium_id: medium_id.to_owned(),
        created_at: ledger
            .clock()
            .now()
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string(),
        item_count,
    };
    let bytes = envelope::seal(id.hub_key, &info, &payload, ephemeral_secret)?;
    Ok(MediaFile {
        file_sha256: file_sha256(&bytes),
        bytes,
        item_count,
        batches,
    })
}

/// What a receipt file did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceiptImport {
    pub export_id: String,
    pub medium_id: String,
    pub receipts: u64,
    /// Items acknowledged now.
    pub acknowledged: u64,
    /// Items an earlier receipt (network or media) had acknowledged already.
    pub already_acknowledged: u64,
    pub accepted: u64,
    pub already_have: u64,
    pub conflicts: u64,
    /// The same receipt file was imported before: nothing was written.
    pub repeated: bool,
}

/// Applies the hub's receipt file: every receipt verified with the pinned hub key and checked
/// against the batch it answers (the drain's [`check_receipt`]), then the items acknowledged as
/// from the network and a media ledger line (`in`) written, all in one transaction. Items
/// acknowledged meanwhile (they went over the network too) are skipped.
pub fn import_receipt_file(
    ledger: &Ledger,
    id: &SyncIdentity<'_>,
    bytes: &[u8],
    actor: &str,
    file_name: &str,
    entry_id: &str,
) -> Result<ReceiptImport, MediaError> {
    let file = MediaReceiptFile::parse(bytes)?;
    if file.terminal_id != id.terminal_id {
        return Err(MediaError::OtherTerminal);
    }
    let hash = file_sha256(bytes);
    let export = ledger
        .read(|r| r.media_line(&file.export_id))?
        .filter(|l| {
            l.direction == "out"
                && l.status == "written"
                && l.medium_id == file.medium_id
                && l.file_sha256.as_deref() == Some(file.file_sha256.as_str())
        })
        .ok_or(MediaError::UnknownExport)?;
    let mut report = ReceiptImport {
        export_id: export.entry_id.clone(),
        medium_id: export.medium_id.clone(),
        receipts: file.receipts.len() as u64,
        ..Default::default()
    };
    if ledger.read(|r| r.media_receipt_imported(&hash))? {
        report.repeated = true;
        return Ok(report);
    }
    // A refusal found inside the transaction is kept here and the transaction rolled back
    // (sync_state commits only on Ok): nothing of a bad file is acknowledged.
    let mut refused: Option<MediaError> = None;
    let mut refuse = |e: MediaError| {
        refused = Some(e);
        LedgerError::InvalidData("media receipt file refused".into())
    };
    let result = ledger.sync_state(|s| {
        let mut answered = std::collections::BTreeSet::new();
        for signed in &file.receipts {
            // Parsed unverified only to find the batch; check_receipt verifies before use.
            let Ok(claimed) = signed.peek() else {
                return Err(refuse(MediaError::Receipt(ReceiptProblem::Malformed(
                    "not a receipt".into(),
                ))));
            };
            let Some(mb) = s
                .reader()
                .media_batch(&claimed.batch_id)?
                .filter(|b| b.export_id == export.entry_id)
            else {
                return Err(refuse(MediaError::Receipt(ReceiptProblem::OtherBatch)));
            };
            let receipt = match check(signed, id, &mb) {
                Ok(r) => r,
                Err(p) => return Err(refuse(MediaError::Receipt(p))),
            };
            if !answered.insert(mb.batch_id.clone()) {
                return Err(refuse(MediaError::Incomplete));
            }
            let watermark = s.reader().ack_watermark()?;
            let acks: Vec<Ack> = receipt
                .results
                .iter()
                .zip(&mb.items)
                .filter(|(_, (seq, _))| *seq > watermark)
                .map(|(r, (seq, _))| Ack {
                    seq: *seq,
                    item_id: r.id.clone(),
                    outcome: outcome_code(r.outcome),
                    reason: r.reason.clone(),
                })
                .collect();
            report.already_acknowledged += (mb.items.len() - acks.len()) as u64;
            for r in &receipt.results {
                match r.outcome {
                    ItemOutcome::Accepted => report.accepted += 1,
                    ItemOutcome::AlreadyHave => report.already_have += 1,
                    ItemOutcome::Conflict => report.conflicts += 1,
                }
            }
            if acks.is_empty() {
                continue;
            }
            let stored = StoredReceipt {
                receipt_id: receipt.receipt_id.clone(),
                batch_id: receipt.batch_id.clone(),
                batch_hash: receipt.batch_hash.clone(),
                received_at: receipt.received_at.clone(),
                item_count: acks.len() as u64,
                signed_json: serde_json::to_string(signed)
                    .map_err(|e| LedgerError::InvalidData(e.to_string()))?,
                stored_at: String::new(),
            };
            s.acknowledge(&stored, &acks)?;
            // A media receipt carries the hub's findings like a network one (issue 12 §5);
            // items acknowledged earlier by the network had theirs recorded then.
            let findings: Vec<_> = crate::drain::item_findings(&receipt, &mb.items)
                .into_iter()
                .filter(|f| f.seq > watermark)
                .collect();
            s.record_findings(&stored.receipt_id, &findings)?;
            report.acknowledged += acks.len() as u64;
        }
        if answered.len() as u64 != count_batches(s, &export.entry_id)? {
            return Err(refuse(MediaError::Incomplete));
        }
        s.media_line(&NewMediaLine {
            entry_id,
            medium_id: &export.medium_id,
            actor,
            direction: "in",
            status: "imported",
            item_count: report.acknowledged + report.already_acknowledged,
            file_sha256: Some(&hash),
            file_name: Some(file_name),
        })?;
        Ok(())
    });
    if let Some(e) = refused {
        return Err(e);
    }
    result?;
    Ok(report)
}

fn count_batches(s: &sesshu_ledger::SyncState<'_>, export_id: &str) -> Result<u64, LedgerError> {
    s.reader().media_batch_count(export_id)
}

/// The drain's receipt check, against the batch as the terminal recorded it (ids only).
fn check(
    signed: &Signed<Receipt>,
    id: &SyncIdentity<'_>,
    mb: &MediaBatch,
) -> Result<Receipt, ReceiptProblem> {
    let batch = Batch {
        version: PROTOCOL_VERSION,
        batch_id: mb.batch_id.clone(),
        terminal_id: id.terminal_id.to_owned(),
        municipality_code: id.municipality_code.to_owned(),
        sent_at: String::new(),
        chain_head: ChainHead::EMPTY,
        items: mb
            .items
            .iter()
            .map(|(_, item_id)| Item {
                id: item_id.clone(),
                stream: Stream::Records,
                entry_id: String::new(),
                payload: String::new(),
                content_hash: String::new(),
            })
            .collect(),
        after: None,
    };
    check_receipt(signed, id.hub_key, &batch, &mb.batch_hash)
}

/// 32 fresh bytes from the OS random source for one envelope's ephemeral key, wiped on drop.
pub fn ephemeral_secret() -> Result<zeroize::Zeroizing<[u8; 32]>, getrandom::Error> {
    let mut s = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::getrandom(s.as_mut())?;
    Ok(s)
}
