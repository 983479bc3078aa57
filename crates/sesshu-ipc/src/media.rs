//! Request and response types of the sync screen's 媒体 section: registered removable media,
//! export to a medium, the hub's receipt file, the media ledger (媒体管理簿) and erasure.

use serde::{Deserialize, Serialize};

/// Register the medium mounted at `medium_path` (IT, once per stick): the id file is created at
/// its root if absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaRegisterRequest {
    pub medium_path: String,
    /// What is written on the stick's label (no personal data).
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediumView {
    pub medium_id: String,
    pub label: String,
    pub registered_at: String,
    pub registered_by: String,
}

/// Write every pending item to the file `path` on a registered medium.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaExportRequest {
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaExportReport {
    pub medium_id: String,
    pub export_id: String,
    pub file: String,
    pub items: u64,
    pub batches: u64,
    pub file_sha256: String,
}

/// Import the hub's receipt file at `path`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaReceiptRequest {
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaReceiptReport {
    pub medium_id: String,
    pub export_id: String,
    pub receipts: u64,
    /// Items marked as received by the hub now.
    pub acknowledged: u64,
    /// Items already acknowledged (they also went over the network).
    pub already_acknowledged: u64,
    pub accepted: u64,
    pub already_have: u64,
    pub conflicts: u64,
    /// The same receipt file was imported before; nothing changed.
    pub repeated: bool,
}

/// Record that the medium was erased after the hub imported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaErasedRequest {
    pub medium_id: String,
}

/// One line of the media ledger (媒体管理簿).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaLedgerLine {
    pub at: String,
    pub medium_id: String,
    /// Login id.
    pub actor: String,
    /// `out`, `in`, `erased`.
    pub direction: String,
    /// `writing`, `written`, `failed`, `imported`, `recorded`.
    pub status: String,
    pub items: u64,
    pub file_sha256: Option<String>,
    pub file_name: Option<String>,
}
