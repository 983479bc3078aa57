//! Types of the hub's findings on the terminal (issue 12 §5): the hub re-runs the rules check
//! of every received record against the resident's full history and answers per item; a
//! violation opens a correction task for a supervisor (「本部照合の修正依頼」).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One finding of the hub's check, as the screens show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubFindingView {
    /// `ok`, `warning` or `violation`.
    pub level: String,
    /// 「適合」「注意」「違反」.
    pub level_label: String,
    /// The domain's reason code (`INTERVAL_TOO_SHORT`, …).
    pub code: String,
    /// The hub's reason, in Japanese.
    pub reason: String,
    /// The earlier dose the finding is measured against (vaccine code and ISO date), when
    /// there is one.
    pub against: Option<String>,
}

/// The findings of one item of a receipt (only items with a warning or a violation are kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemFindingsView {
    /// The item's outbox position.
    pub seq: i64,
    pub record_id: Option<String>,
    /// The form, while the terminal still holds it.
    pub form_id: Option<i64>,
    /// The worst level: `warning` or `violation`.
    pub level: String,
    pub level_label: String,
    pub findings: Vec<HubFindingView>,
    pub received_at: DateTime<Utc>,
}

/// The findings of the last receipts, for the sync screen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingsSummary {
    /// Items with a warning (no violation) among those kept.
    pub warnings: u64,
    pub violations: u64,
    /// Correction tasks still open.
    pub open_tasks: u64,
    /// The newest items with findings, newest first.
    pub latest: Vec<ItemFindingsView>,
}

/// `correction_tasks`: one open task opened by a violation the hub found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorrectionTaskView {
    pub task_id: i64,
    pub record_id: Option<String>,
    /// The form, while the terminal still holds it (open the record from here).
    pub form_id: Option<i64>,
    /// The hub's reasons, one per violation.
    pub reasons: Vec<String>,
    /// The item's findings (every level), when the terminal still holds them.
    pub findings: Vec<HubFindingView>,
    pub opened_at: DateTime<Utc>,
}

/// `correction_task_close`: a supervisor closes a task, saying what was done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorrectionTaskCloseRequest {
    pub task_id: i64,
    /// Required: what was done (corrected, confirmed with the clinic, …).
    pub note: String,
}

/// The closed task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorrectionTaskClosed {
    pub task_id: i64,
    pub closed_at: DateTime<Utc>,
    pub closed_by: String,
}

/// The Japanese label of a finding level.
pub fn finding_level_label(level: &str) -> &'static str {
    match level {
        "ok" => "適合",
        "warning" => "注意",
        "violation" => "違反",
        _ => "不明",
    }
}
