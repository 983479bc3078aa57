//! The hub's findings on this terminal (issue 12 §5).
//!
//! The hub re-runs the rules check of every record against the resident's full history and
//! answers per item in its receipt; the drain keeps the findings and opens a correction task
//! for each violation in the acknowledgement's transaction (`sesshu_ledger::findings`). Here the
//! task gets its audit entry: `CorrectionRequested` (6008), the same action as a supervisor's
//! own correction request, with the hub's reason, no actor (the hub asked, not a user) and the
//! form as target, so the record's audit trail shows why it came back.

use chrono::{DateTime, Utc};
use serde_json::json;
use sesshu_domain::audit::{AuditAction, AuditOutcome};
use sesshu_ipc::{
    finding_level_label, CorrectionTaskCloseRequest, CorrectionTaskClosed, CorrectionTaskView,
    FindingsSummary, HubFindingView, ItemFindingsView,
};
use sesshu_ledger::audit::AuditRecord;
use sesshu_ledger::findings::{CorrectionTask, StoredFinding};
use sesshu_ledger::Ledger;
use sesshu_protocol::wire::Finding;

use crate::error::{Error, Result};

/// How many of the newest items with findings the sync screen lists.
const LATEST_FINDINGS: u32 = 20;

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

fn time(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| Error::Internal("finding time"))
}

/// The findings as received (the receipt's JSON), for the screens. An unreadable list (which a
/// verified receipt never gives) shows as none rather than failing the screen.
fn finding_views(json: &str) -> Vec<HubFindingView> {
    let findings: Vec<Finding> = serde_json::from_str(json).unwrap_or_default();
    findings
        .into_iter()
        .map(|f| HubFindingView {
            level: f.level.as_str().to_owned(),
            level_label: finding_level_label(f.level.as_str()).to_owned(),
            code: f.code,
            reason: f.reason,
            against: f.against.map(|a| format!("{} {}", a.vaccine, a.date)),
        })
        .collect()
}

fn item_view(s: StoredFinding) -> Result<ItemFindingsView> {
    Ok(ItemFindingsView {
        seq: s.seq,
        record_id: s.record_id,
        form_id: s.form_id,
        level_label: finding_level_label(&s.level).to_owned(),
        level: s.level,
        findings: finding_views(&s.findings_json),
        received_at: time(&s.received_at)?,
    })
}

/// The hub's findings for one record (the verification screen), if any.
pub fn findings_of_record(ledger: &Ledger, record_id: &str) -> Result<Option<ItemFindingsView>> {
    ledger
        .read(|r| r.findings_of_record(record_id))?
        .map(item_view)
        .transpose()
}

/// The findings summary of the sync screen: counts and the newest items.
pub fn findings_summary(ledger: &Ledger) -> Result<FindingsSummary> {
    let ((warnings, violations, open_tasks), latest) =
        ledger.read(|r| Ok((r.findings_counts()?, r.findings(LATEST_FINDINGS)?)))?;
    Ok(FindingsSummary {
        warnings,
        violations,
        open_tasks,
        latest: latest.into_iter().map(item_view).collect::<Result<_>>()?,
    })
}

fn task_view(ledger: &Ledger, t: CorrectionTask) -> Result<CorrectionTaskView> {
    let findings = ledger
        .read(|r| r.findings_of_seq(t.seq))?
        .map(|f| finding_views(&f.findings_json))
        .unwrap_or_default();
    Ok(CorrectionTaskView {
        task_id: t.task_id,
        record_id: t.record_id,
        form_id: t.form_id,
        reasons: t
            .reason
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        findings,
        opened_at: time(&t.opened_at)?,
    })
}

/// Closes an open task with the supervisor's note; the close and its audit entry
/// (`CorrectionTaskClosed`, 7400) are one transaction.
pub fn correction_task_close(
    actor: &crate::authz::Actor,
    req: CorrectionTaskCloseRequest,
) -> Result<CorrectionTaskClosed> {
    let note = crate::keying::single_line(&req.note, "対応内容")?;
    let ledger = actor.ledger.clone();
    let task = ledger
        .read(|r| r.correction_task(req.task_id))?
        .ok_or(Error::CorrectionTaskNotFound(req.task_id))?;
    if task.closed_at.is_some() {
        return Err(Error::CorrectionTaskClosed(req.task_id));
    }
    let login = actor.login_id().to_owned();
    let closed_at = ledger.mutate_with(|m| -> Result<DateTime<Utc>> {
        // Re-checked in the transaction: a second supervisor may have closed it meanwhile.
        if !m.close_correction_task(task.task_id, &login, &note)? {
            return Err(Error::CorrectionTaskClosed(task.task_id));
        }
        m.audit(
            AuditRecord::new(
                Some(&login),
                AuditAction::CorrectionTaskClosed,
                task.form_uid.as_deref().or(task.record_id.as_deref()),
                AuditOutcome::Success,
            )
            .with_detail(json!({
                "task": task.task_id,
                "record_id": task.record_id,
                "form": task.form_id,
                "note": note,
            })),
        )?;
        Ok(m.now())
    })?;
    Ok(CorrectionTaskClosed {
        task_id: task.task_id,
        closed_at,
        closed_by: login,
    })
}

impl crate::terminal::Terminal {
    /// `correction_tasks`: the open tasks the hub's violations opened, oldest first — the
    /// supervisor's queue beside the pending corrections, with the same access.
    pub fn correction_tasks(&self) -> Result<Vec<CorrectionTaskView>> {
        let mut inner = self.lock();
        let actor = self.actor::<sesshu_ipc::cmd::CorrectionTasks>(&mut inner)?;
        correction_tasks(&actor.ledger, true)?
            .into_iter()
            .map(|t| task_view(&actor.ledger, t))
            .collect()
    }

    /// The tasks as stored (open and closed), for tools and tests.
    pub fn correction_task_records(&self) -> Result<Vec<CorrectionTask>> {
        let mut inner = self.lock();
        let actor = self.actor::<sesshu_ipc::cmd::CorrectionTasks>(&mut inner)?;
        correction_tasks(&actor.ledger, false)
    }

    /// `correction_task_close`: a supervisor closes a task with a required note.
    pub fn correction_task_close(
        &self,
        req: CorrectionTaskCloseRequest,
    ) -> Result<CorrectionTaskClosed> {
        let mut inner = self.lock();
        let actor = self.actor::<sesshu_ipc::cmd::CorrectionTaskClose>(&mut inner)?;
        correction_task_close(&actor, req)
    }
}
