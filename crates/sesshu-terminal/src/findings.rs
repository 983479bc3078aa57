//! The hub's findings on this terminal (issue 12 §5).
//!
//! The hub re-runs the rules check of every record against the resident's full history and
//! answers per item in its receipt; the drain keeps the findings and opens a correction task
//! for each violation in the acknowledgement's transaction (`sesshu_ledger::findings`). Here the
//! task gets its audit entry: `CorrectionRequested` (6008), the same action as a supervisor's
//! own correction request, with the hub's reason, no actor (the hub asked, not a user) and the
//! form as target, so the record's audit trail shows why it came back.

use serde_json::json;
use sesshu_domain::audit::{AuditAction, AuditOutcome};
use sesshu_ledger::audit::AuditRecord;
use sesshu_ledger::findings::CorrectionTask;
use sesshu_ledger::Ledger;

use crate::error::Result;

/// Writes the audit entry of every correction task opened since the last call, one
/// transaction per task (the entry and the `audited` mark together). Returns how many.
pub fn audit_opened_tasks(ledger: &Ledger) -> Result<u64> {
    let tasks = ledger.read(|r| r.unaudited_correction_tasks())?;
    let mut n = 0;
    for t in tasks {
        ledger.mutate(|m| {
            m.audit(
                AuditRecord::new(
                    None,
                    AuditAction::CorrectionRequested,
                    t.form_uid.as_deref().or(t.record_id.as_deref()),
                    AuditOutcome::Success,
                )
                .with_detail(json!({
                    "source": "hub",
                    "task": t.task_id,
                    "record_id": t.record_id,
                    "form": t.form_id,
                    "reason": t.reason,
                })),
            )?;
            m.mark_task_audited(t.task_id)
        })?;
        n += 1;
    }
    if n > 0 {
        tracing::info!(tasks = n, "correction tasks opened by the hub's findings");
    }
    Ok(n)
}

/// The correction tasks (open ones only, or all), oldest first.
pub fn correction_tasks(ledger: &Ledger, open_only: bool) -> Result<Vec<CorrectionTask>> {
    Ok(ledger.read(|r| r.correction_tasks(open_only, 500))?)
}

impl crate::terminal::Terminal {
    /// The open correction tasks the hub's violations opened, oldest first: the supervisor's
    /// queue beside the pending corrections, with the same access (no IPC command yet).
    pub fn correction_tasks(&self) -> Result<Vec<CorrectionTask>> {
        let mut inner = self.lock();
        let actor = self.actor::<sesshu_ipc::cmd::ChangePendingList>(&mut inner)?;
        correction_tasks(&actor.ledger, true)
    }
}
