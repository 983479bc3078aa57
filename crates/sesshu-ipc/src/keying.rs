//! Request and response types of the keying workflows: double entry, mismatch resolution,
//! verification, corrections and deletions, operator statistics, the batch control sheet.
//!
//! Keyed values travel as raw text by field key ([`Keying`]); what a field is, its label and
//! its check come from the domain ([`sesshu_domain::keying`]), so the screen and the backend
//! validate with the same function.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sesshu_domain::double_entry::{Difference, Keying};
use sesshu_domain::keying::{FieldIssue, FormField};
use sesshu_domain::keystats::KeyingTotals;
use sesshu_domain::lifecycle::RecordState;
use sesshu_domain::profile::{DoubleEntryMode, OverrideReason};
use sesshu_domain::record::StoredWarning;
use sesshu_domain::resident::ResidentView;
use sesshu_domain::schedule::Verdict;

use crate::BatchView;

/// One paper form (受付票) of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormRef {
    pub form_id: i64,
}

/// The form layout of a batch's programme, in paper order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormLayoutView {
    pub programme: String,
    pub programme_name: String,
    pub double_entry: DoubleEntryMode,
    pub fields: Vec<FormField>,
    pub override_reasons: Vec<OverrideReason>,
}

/// Which pass the keyer is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PassKind {
    /// A new form of the bundle.
    First,
    /// The second pass of a form someone else keyed (blind in independent mode).
    Second,
    /// A form returned to its first keyer by a verifier.
    Rekey,
}

impl PassKind {
    pub fn label_ja(self) -> &'static str {
        match self {
            PassKind::First => "1回目入力",
            PassKind::Second => "2回目入力",
            PassKind::Rekey => "差戻しの再入力",
        }
    }
}

/// A verifier's comment on one field of a rejected form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldComment {
    pub key: String,
    pub comment: String,
}

/// What the keyer keys next in a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyingTask {
    pub batch: BatchView,
    pub pass: PassKind,
    /// The form for a second pass or a re-keying; `None` for a new form.
    pub form: Option<FormRef>,
    /// 票番号 within the batch (1-based; the next number for a new form).
    pub form_no: u32,
    /// Bundle values this keyer keyed on their last form of the batch (clinic, doctor, lot,
    /// date …): shown and overridable. Never the other keyer's values.
    pub carry: Keying,
    /// A re-keying starts from the keyer's own values, with the verifier's comments.
    pub own_values: Keying,
    pub comments: Vec<FieldComment>,
}

/// The next task of a batch, or none when every form has been keyed by this keyer or others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyingNext {
    pub task: Option<KeyingTask>,
    pub batch: BatchView,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyingCheckRequest {
    pub batch_id: i64,
    pub values: Keying,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonView {
    pub code: String,
    pub message: String,
    pub severity: Verdict,
    pub clears_on: Option<NaiveDate>,
}

/// The rules check of the keyed vaccination against the resident's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RulesView {
    pub verdict: Verdict,
    pub reasons: Vec<ReasonView>,
    pub earliest_date: Option<NaiveDate>,
    pub dose_label: Option<String>,
}

/// A record-level problem (cross-field rules); blocking ones stop the save.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordIssueView {
    pub message: String,
    pub blocking: bool,
}

/// Inline validation of a whole keying (the domain's checks, run by the backend with the
/// resident's history).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormCheck {
    pub field_issues: Vec<FieldIssue>,
    pub record_issues: Vec<RecordIssueView>,
    pub rules: Option<RulesView>,
    /// The verdict is a violation: saving needs an override reason from the profile's list.
    pub needs_override: bool,
    /// The resident the 宛名番号 names, for the keyer's visual confirmation.
    pub resident: Option<ResidentView>,
}

/// Measured by the screen while the pass was keyed (CSPro-style operator statistics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct KeyingMetrics {
    pub keystrokes: u32,
    /// Keying time with gaps over a minute left out (`sesshu_domain::keystats::active_ms`).
    pub active_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyingSaveRequest {
    pub batch_id: i64,
    /// `None` for a new form (first pass); the task's form otherwise.
    pub form_id: Option<i64>,
    pub values: Keying,
    /// Code of the profile's override reason; required when the rules check says violation.
    pub override_reason: Option<String>,
    pub metrics: KeyingMetrics,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyingSaved {
    pub form: FormSummary,
    pub batch: BatchView,
}

/// Dependent mode: is this value the first pass's? The value itself is never returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldVerifyRequest {
    pub form_id: i64,
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldVerifyResult {
    pub matches: bool,
}

/// One form with its life-cycle facts (no keyed values).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormSummary {
    pub form_id: i64,
    pub form_uid: String,
    pub form_no: u32,
    pub batch_id: i64,
    pub programme: String,
    pub state: RecordState,
    pub state_label: String,
    /// 宛名番号 keyed on the first pass (hidden from a blind second keyer: `None`).
    pub atena: Option<String>,
    pub first_keyer: Option<String>,
    pub second_keyer: Option<String>,
    pub resolver: Option<String>,
    pub approver: Option<String>,
    pub comments: Vec<FieldComment>,
    pub warnings: Vec<StoredWarning>,
    pub override_reason: Option<String>,
    /// UUIDv7 of the approved record (its id at the hub).
    pub record_id: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// One field of a mismatch, side by side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldComparisonView {
    pub key: String,
    pub label: String,
    pub difference: Difference,
    pub difference_label: String,
    pub first: Option<String>,
    pub second: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MismatchView {
    pub form: FormSummary,
    /// Every field, the differing ones flagged by their `difference`.
    pub fields: Vec<FieldComparisonView>,
    pub layout: Vec<FormField>,
}

/// The values keyed from the paper for the differing fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolveRequest {
    pub form_id: i64,
    pub values: Keying,
}

/// One field of a record as the verifier reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldValueView {
    pub key: String,
    pub label: String,
    pub value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordView {
    pub form: FormSummary,
    pub fields: Vec<FieldValueView>,
    pub resident: Option<ResidentView>,
    /// The hub's findings for the record (rules against the full history), once a receipt
    /// carried any.
    #[serde(default)]
    pub hub_findings: Option<crate::ItemFindingsView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectRequest {
    pub form_id: i64,
    /// At least one: the form returns to its first keyer with these shown beside the fields.
    pub comments: Vec<FieldComment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorrectionRequest {
    pub form_id: i64,
    /// New raw values by field key (only the changed fields).
    pub changes: Keying,
    pub reason: String,
    /// Where the evidence is (e.g. the bundle and page of the paper form).
    pub evidence: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletionRequest {
    pub form_id: i64,
    pub reason: String,
    pub evidence: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChangeView {
    pub key: String,
    pub label: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKindView {
    Correction,
    Deletion,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingChangeView {
    pub form: FormSummary,
    pub kind: ChangeKindView,
    pub changes: Vec<FieldChangeView>,
    pub reason: String,
    pub evidence: String,
    pub requested_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsRequest {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// One user's keying on one day (JST).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperatorDayView {
    pub login_id: String,
    pub day: NaiveDate,
    pub totals: KeyingTotals,
    pub keystrokes_per_hour: Option<u32>,
    pub errors_per_1000_keystrokes: Option<f64>,
}

/// The paper control sheet of a batch (受付バッチ管理票).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchReport {
    pub batch: BatchView,
    pub forms: Vec<FormSummary>,
    pub printed_by: String,
    pub printed_at: DateTime<Utc>,
}
