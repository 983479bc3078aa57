//! Media import at the hub: a terminal's media file (an envelope sealed to this hub's key,
//! holding the same signed batches the network sends) is opened and every batch goes through
//! the **same** [`Hub::ingest`] as a network request, so importing a file twice, or items that
//! already came over the network, stores nothing twice. The answer is a receipt file of the
//! `Signed<Receipt>`s, each signed like a network receipt, and a line in the hub's media ledger.
//!
//! Refusals before anything is stored: a file that does not open (altered, truncated, sealed
//! to another key), a sender that is not enrolled or revoked, a file or batch naming another
//! municipality or terminal than its header, a batch whose signature does not verify under the
//! enrolled key, an item whose content hash is wrong, a header whose item count is not the
//! file's. Every batch is checked before the first one is ingested.

use crate::hub_audit::HubEvent;
use crate::service::Hub;
use crate::store::{HubStore, MediaLine, StoreError};
use chrono::{DateTime, Utc};
use sesshu_protocol::envelope::{self, EnvelopeError, EnvelopePurpose};
use sesshu_protocol::errors::Refusal;
use sesshu_protocol::media::{
    check_medium_id, file_sha256, MediaPayload, MediaReceiptFile, MEDIA_FORMAT,
};
use sesshu_protocol::sign::Purpose;
use sesshu_protocol::{Batch, ItemOutcome, Receipt, Signed, VerifyingKey};

/// Why a media file was refused (nothing stored) or stopped part-way.
#[derive(Debug, thiserror::Error)]
pub enum MediaImportError {
    #[error("媒体ファイルを開けません（改ざん・破損・途中で切れている、または別のハブ宛て）: {0}")]
    Envelope(#[from] EnvelopeError),
    #[error("媒体ファイルの内容が正しくありません: {0}")]
    Malformed(String),
    #[error("媒体ファイルを書き出した端末はこのハブに登録されていないか、取り消されています: {0}")]
    Terminal(String),
    #[error("媒体ファイルの地方公共団体コードまたは端末が、端末の登録内容と一致しません")]
    WrongMunicipality,
    #[error("媒体ファイルのバッチの署名を確認できません")]
    BadSignature,
    /// A batch was refused by the ingest after earlier ones were stored (they are kept: a
    /// repeated import answers them "already have").
    #[error("バッチが拒否されました（{:?}）: {}", .0.code, .0.message)]
    Refused(Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an import did (printed as one JSON line by `sesshu-hub media import`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct MediaImportReport {
    pub medium_id: String,
    pub terminal_id: String,
    pub export_id: String,
    pub file_sha256: String,
    pub batches: u64,
    pub items: u64,
    pub accepted: u64,
    pub already_have: u64,
    pub conflicts: u64,
    /// Batches this hub had already ingested (a second import of the same file).
    pub batches_already_imported: u64,
}

impl Hub {
    /// Imports a media file (see the module doc). Returns the report and the receipt file's
    /// bytes; records the import in the media ledger with `operator`.
    pub fn import_media(
        &self,
        bytes: &[u8],
        operator: &str,
    ) -> Result<(MediaImportReport, Vec<u8>), MediaImportError> {
        let (header, plain) =
            envelope::open(bytes, self.identity_key(), EnvelopePurpose::MediaBatches)?;
        check_medium_id(&header.medium_id)
            .map_err(|e| MediaImportError::Malformed(e.to_string()))?;
        let payload =
            MediaPayload::parse(&plain).map_err(|e| MediaImportError::Malformed(e.to_string()))?;
        let terminal = self
            .media_sender(&header.sender_id)
            .map_err(|r| MediaImportError::Terminal(r.message))?;
        if header.municipality_code != terminal.municipality_code {
            return Err(MediaImportError::WrongMunicipality);
        }
        let key = VerifyingKey::from_hex(&terminal.public_key)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        // Every batch checked before the first is stored.
        let mut items = 0u64;
        for signed in &payload.batches {
            signed
                .verify(&key, Purpose::Batch)
                .map_err(|_| MediaImportError::BadSignature)?;
            let b: Batch = signed
                .peek()
                .map_err(|e| MediaImportError::Malformed(e.to_string()))?;
            if b.terminal_id != header.sender_id || b.municipality_code != header.municipality_code
            {
                return Err(MediaImportError::WrongMunicipality);
            }
            if let Some(bad) = b.items.iter().find(|i| !i.hash_ok()) {
                return Err(MediaImportError::Malformed(format!(
                    "item {} does not have its content hash",
                    bad.id
                )));
            }
            items += b.items.len() as u64;
        }
        if items != header.item_count {
            return Err(MediaImportError::Malformed(format!(
                "the header says {} items, the file holds {items}",
                header.item_count
            )));
        }
        let mut report = MediaImportReport {
            medium_id: header.medium_id.clone(),
            terminal_id: header.sender_id.clone(),
            export_id: payload.export_id.clone(),
            file_sha256: file_sha256(bytes),
            batches: payload.batches.len() as u64,
            items,
            ..Default::default()
        };
        let mut receipts: Vec<Signed<Receipt>> = Vec::with_capacity(payload.batches.len());
        for signed in &payload.batches {
            let batch_id = signed
                .peek()
                .map(|b| b.batch_id)
                .map_err(|e| MediaImportError::Malformed(e.to_string()))?;
            let seen_before = self.store_ref().receipt(&batch_id)?.is_some();
            // The network's own ingest: same checks, same exactly-once store, same receipt.
            let receipt = self
                .ingest_signed(signed.clone())
                .map_err(MediaImportError::Refused)?;
            let r = receipt
                .peek()
                .map_err(|e| MediaImportError::Malformed(e.to_string()))?;
            if seen_before {
                // The kept receipt answers a batch stored by an earlier import: nothing was
                // stored now, so every item counts as already held.
                report.batches_already_imported += 1;
                report.already_have += r.results.len() as u64;
            } else {
                for res in &r.results {
                    match res.outcome {
                        ItemOutcome::Accepted => report.accepted += 1,
                        ItemOutcome::AlreadyHave => report.already_have += 1,
                        ItemOutcome::Conflict => report.conflicts += 1,
                    }
                }
            }
            receipts.push(receipt);
        }
        let file = MediaReceiptFile {
            format: MEDIA_FORMAT,
            hub_id: self.hub_id().to_owned(),
            terminal_id: header.sender_id.clone(),
            medium_id: header.medium_id.clone(),
            export_id: payload.export_id,
            file_sha256: report.file_sha256.clone(),
            receipts,
        }
        .to_bytes()
        .map_err(|e| MediaImportError::Malformed(e.to_string()))?;
        self.store_ref().record_media(&MediaLine {
            at: self.now(),
            medium_id: header.medium_id,
            operator: operator.to_owned(),
            direction: "in".to_owned(),
            terminal_id: Some(report.terminal_id.clone()),
            export_id: Some(report.export_id.clone()),
            item_count: items,
            file_sha256: Some(report.file_sha256.clone()),
        })?;
        // The hub's own audit (§6): right after the media ledger line, like an enrolment.
        crate::hub_audit::append(
            self.store_ref(),
            self.now(),
            HubEvent::MediaImported,
            operator,
            Some(&report.medium_id),
            &serde_json::json!({
                "terminal_id": report.terminal_id,
                "export_id": report.export_id,
                "file_sha256": report.file_sha256,
                "items": report.items,
                "accepted": report.accepted,
                "already_have": report.already_have,
                "conflicts": report.conflicts,
            }),
        )?;
        tracing::info!(
            terminal = %report.terminal_id,
            items = report.items,
            accepted = report.accepted,
            already_have = report.already_have,
            "media file imported"
        );
        Ok((report, file))
    }
}

/// Records that `medium_id` was erased by `operator` after its import (no hub key needed).
pub fn record_erased(
    store: &dyn HubStore,
    at: DateTime<Utc>,
    medium_id: &str,
    operator: &str,
) -> Result<MediaLine, MediaImportError> {
    check_medium_id(medium_id).map_err(|e| MediaImportError::Malformed(e.to_string()))?;
    let line = MediaLine {
        at,
        medium_id: medium_id.to_owned(),
        operator: operator.to_owned(),
        direction: "erased".to_owned(),
        terminal_id: None,
        export_id: None,
        item_count: 0,
        file_sha256: None,
    };
    store.record_media(&line)?;
    crate::hub_audit::append(
        store,
        at,
        HubEvent::MediumErased,
        operator,
        Some(medium_id),
        &serde_json::json!({}),
    )?;
    Ok(line)
}
