//! Request and response types of the sync screen (同期): enrolment with the hub, status,
//! sync now with progress, the last receipt, per-item results and the sync log.
//!
//! Progress is honest: `acknowledged` counts only items named in a hub receipt whose signature
//! verified; nothing is reported done before that.

use serde::{Deserialize, Serialize};

/// Enrol this terminal with the hub (システム担当).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncEnrolRequest {
    /// `https://HOST:PORT`.
    pub hub_url: String,
    /// The one-time code `sesshu-hub enrol-code` printed (separators and case ignored).
    pub code: String,
}

/// What enrolment pinned; IT compares the fingerprint with what `sesshu-hub serve` printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncEnrolment {
    pub hub_url: String,
    pub hub_id: String,
    /// Fingerprint of the hub's TLS key (the pin).
    pub cert_fingerprint: String,
    /// Fingerprint of the hub's signing key (receipts are verified with it).
    pub hub_key_fingerprint: String,
    /// Fingerprint of this terminal's own signing key.
    pub terminal_key_fingerprint: String,
    pub enrolled_at: String,
}

/// Items waiting for a receipt, per outbox stream (`records`, `corrections`, `deletions`,
/// `audit`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamPending {
    pub stream: String,
    pub count: u64,
}

/// Whether the hub answered the last probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connectivity {
    pub reachable: bool,
    /// When the hub was last probed (RFC 3339).
    pub checked_at: String,
    /// When the terminal probes again by itself (RFC 3339).
    pub next_check_at: String,
}

/// The newest receipt kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptView {
    pub receipt_id: String,
    pub batch_id: String,
    /// The hub's clock when it stored the batch (RFC 3339).
    pub received_at: String,
    pub items: u64,
    pub accepted: u64,
    pub already_have: u64,
    pub conflicts: u64,
}

/// An item the hub did not simply accept: held as a conflict (same id, other content).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncItemIssue {
    pub item_id: String,
    pub stream: String,
    /// `conflict`.
    pub outcome: String,
    /// The hub's reason, as sent.
    pub reason: String,
    pub receipt_id: String,
}

/// A coded failure of the last sync run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncFailure {
    /// An [`crate::ErrorCode`] name (`HUB_UNREACHABLE`, `SYNC_CUT`, `HUB_REFUSED`, …).
    pub code: String,
    pub message: String,
    pub at: String,
}

/// Everything the sync screen shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncStatus {
    /// `None` until the terminal is enrolled.
    pub enrolment: Option<SyncEnrolment>,
    /// `None` before the first probe.
    pub connectivity: Option<Connectivity>,
    pub pending: Vec<StreamPending>,
    pub pending_total: u64,
    /// Items acknowledged by verified receipts, all time.
    pub acknowledged_total: u64,
    pub last_receipt: Option<ReceiptView>,
    pub last_failure: Option<SyncFailure>,
    pub issues: Vec<SyncItemIssue>,
    /// A sync run is in progress (started here or by the automatic sync).
    pub running: bool,
    /// The hub's findings of the last receipts (rules against the full history).
    #[serde(default)]
    pub findings: crate::FindingsSummary,
}

/// The result of a sync run (`sync_push`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    /// Items acknowledged by verified receipts in this run.
    pub acknowledged: u64,
    /// Items pending when the run started.
    pub total: u64,
    pub batches: u64,
    /// True only when every pending item was acknowledged.
    pub complete: bool,
    pub failure: Option<SyncFailure>,
}

/// Progress of a sync run, sent as the event [`SYNC_PROGRESS_EVENT`] after every receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncProgressEvent {
    pub acknowledged: u64,
    pub total: u64,
    pub batches: u64,
}

/// Name of the event that carries [`SyncProgressEvent`]s to the window.
pub const SYNC_PROGRESS_EVENT: &str = "sync-progress";

/// One line of the sync log (no personal data: counts, ids and codes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncLogLine {
    pub at: String,
    /// `enrolled`, `started`, `batch` (sent and acknowledged), `retry`, `finished`, `failed`.
    pub kind: String,
    pub detail: String,
}

/// The sync log as a file the operator saves (CSV, UTF-8 with BOM for Excel).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncLogExport {
    pub file_name: String,
    pub csv: String,
}
