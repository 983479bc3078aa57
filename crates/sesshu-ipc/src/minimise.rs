//! Types of the data-minimisation commands: the administrator's 「端末内の個人データ」 screen,
//! the keying block and its override.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sesshu_domain::retention::{KeyingBlock, RetentionPolicy};

/// Records in one state, for the data screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateCount {
    /// `sesshu_domain::lifecycle::RecordState` code.
    pub state: String,
    pub label: String,
    pub count: u64,
}

/// `terminal_data`: what personal data this terminal holds now, and when it goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalDataView {
    /// Residents of the extract (宛名番号, names, dates of birth, addresses).
    pub residents: u64,
    /// The centre's last dose per series held for residents (vaccine and date each): only
    /// when the municipality profile's `downlink_last_doses` is on.
    #[serde(default)]
    pub last_doses: u64,
    pub records_total: u64,
    pub records_by_state: Vec<StateCount>,
    /// Records purged after the hub's receipt (only form number and record id remain).
    pub purged_records: u64,
    pub audit_entries: u64,
    /// Items (records, changes, audit entries) not yet acknowledged by the hub.
    pub outbox_pending: u64,
    /// The oldest keyed pass still held.
    pub oldest_record_at: Option<DateTime<Utc>>,
    pub oldest_audit_at: Option<DateTime<Utc>>,
    /// When the next acknowledged record becomes due for purge (`None`: none acknowledged).
    pub next_purge_at: Option<DateTime<Utc>>,
    pub last_purge_at: Option<DateTime<Utc>>,
    pub last_receipt_at: Option<DateTime<Utc>>,
    /// Whole days since the last receipt (`None`: never).
    pub offline_days: Option<i64>,
    pub retention: RetentionPolicy,
    pub block: KeyingBlock,
}

/// `offline_override`: an administrator lets keying go on today although the terminal has
/// been without a receipt too long.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineOverrideRequest {
    pub reason: String,
}
