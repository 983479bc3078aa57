//! Data minimisation on the terminal (issue 12 §3): purging what the hub has acknowledged, the
//! maximum offline age that blocks keying, the administrator's override and the
//! 「端末内の個人データ」 screen.
//!
//! The rules are `sesshu_domain::retention` (the screens call the same functions); the deletes
//! are `sesshu_ledger::purge`, which on its own never deletes anything unacknowledged. A purge
//! runs at start-up and after every sync; each run that deletes something is one transaction
//! with one audit entry (counts only).

use crate::authz::Actor;
use crate::error::{Error, Result};
use crate::terminal::{Status, Terminal};
use chrono::{DateTime, Utc};
use sesshu_domain::audit::{AuditAction, AuditOutcome};
use sesshu_domain::lifecycle::RecordState;
use sesshu_domain::retention::{self, KeyingBlock, OfflineOverride, RetentionPolicy};
use sesshu_ipc::{cmd, OfflineOverrideRequest, StateCount, TerminalDataView};
use sesshu_ledger::audit::AuditRecord;
use sesshu_ledger::purge::Purged;
use sesshu_ledger::Ledger;

/// Rolls back a purge run that found nothing to delete (never leaves this module).
const NOTHING_PURGED: &str = "nothing purged";

/// Audit entries are purged on their own (without a record purge) at most once a day: the
/// purge's own audit entry goes to the hub at the next sync, and purging again right after
/// that receipt would make every sync leave one new entry behind.
const AUDIT_ONLY_PURGE_EVERY: chrono::Duration = chrono::Duration::hours(24);

/// Purges every record due and the audit entries the hub holds (see the module notes), in one
/// transaction with one `DataPurged` audit entry; nothing at all (not even an audit entry)
/// when nothing is due.
pub fn purge_acknowledged(ledger: &Ledger) -> Result<Purged> {
    let now = ledger.clock().now();
    let (policy, candidates, base_purged_at) = ledger.read(|r| {
        Ok((
            r.retention_policy()?,
            r.purge_candidates()?,
            r.data_counts()?.last_purge_at,
        ))
    })?;
    let due: Vec<i64> = candidates
        .iter()
        .filter(|c| {
            retention::record_due_for_purge(c.acknowledged_at, c.open_change_task, now, &policy)
        })
        .map(|c| c.form_id)
        .collect();
    // The hub's head per the newest receipt that is itself past the grace period.
    let grace = chrono::Duration::days(i64::from(policy.purge_grace_days));
    let audit_due = due
        .is_empty()
        .then_some(base_purged_at)
        .flatten()
        .is_none_or(|last| now >= last + AUDIT_ONLY_PURGE_EVERY);
    let held = if audit_due {
        ledger.read(|r| r.hub_held_audit_head(now - grace))?
    } else {
        None
    };
    if due.is_empty() && held.is_none() {
        return Ok(Purged::default());
    }
    let out = ledger.mutate_with(|m| -> Result<Purged> {
        let mut p = m.purge_records(&due)?;
        if let Some(h) = &held {
            let a = m.purge_audit_held(h)?;
            p.audit_entries = a.audit_entries;
            p.outbox_payloads += a.outbox_payloads;
            p.audit_base = a.audit_base;
        }
        if p.is_empty() {
            // Nothing deleted: roll back, leaving no entry.
            return Err(Error::Internal(NOTHING_PURGED));
        }
        m.audit(
            AuditRecord::new(None, AuditAction::DataPurged, None, AuditOutcome::Success)
                .with_detail(p.audit_detail()),
        )?;
        Ok(p)
    });
    match out {
        Ok(p) => {
            // Fold the WAL (which still holds older copies of the purged pages) into the file.
            if let Err(e) = ledger.checkpoint() {
                tracing::warn!(error = %e, "checkpoint after purge failed");
            }
            tracing::info!(
                records = p.records,
                audit_entries = p.audit_entries,
                "acknowledged data purged"
            );
            Ok(p)
        }
        Err(Error::Internal(NOTHING_PURGED)) => Ok(Purged::default()),
        Err(e) => Err(e),
    }
}

/// [`purge_acknowledged`] where a failure must not stop the caller (start-up, after a sync):
/// logged, retried at the next occasion.
pub(crate) fn purge_quietly(ledger: &Ledger) {
    if let Err(e) = purge_acknowledged(ledger) {
        tracing::warn!(code = ?e.code(), "purge of acknowledged data failed");
    }
}

/// The maximum-offline-age rule applied to this ledger now.
pub fn keying_block_of(ledger: &Ledger) -> Result<KeyingBlock> {
    let now = ledger.clock().now();
    let (policy, last, oldest, over) = ledger.read(|r| {
        Ok((
            r.retention_policy()?,
            r.data_counts()?.last_receipt_at,
            r.oldest_pending_record_item_at()?,
            r.offline_override()?,
        ))
    })?;
    Ok(retention::keying_block(
        last,
        oldest,
        over.as_ref(),
        now,
        &policy,
    ))
}

/// Refuses work that creates personal data while keying is blocked (audited).
pub(crate) fn ensure_keying_allowed(actor: &Actor, what: &'static str) -> Result<()> {
    let block = keying_block_of(&actor.ledger)?;
    if let KeyingBlock::Blocked {
        since,
        never_synced,
    } = block
    {
        crate::terminal::audit_only(
            &actor.ledger,
            AuditRecord::new(
                Some(actor.login_id()),
                AuditAction::KeyingBlockedOffline,
                None,
                AuditOutcome::Refused,
            )
            .with_detail(serde_json::json!({ "command": what, "since": since })),
        )?;
        return Err(Error::KeyingBlockedOffline {
            since,
            never_synced,
        });
    }
    Ok(())
}

fn whole_days(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    (to - from).num_days()
}

fn state_label(code: &str) -> String {
    serde_json::from_value::<RecordState>(serde_json::Value::String(code.to_owned()))
        .map(|s| s.label_ja().to_owned())
        .unwrap_or_else(|_| code.to_owned())
}

pub fn terminal_data(ledger: &Ledger) -> Result<TerminalDataView> {
    let now = ledger.clock().now();
    let (policy, counts, candidates): (RetentionPolicy, _, _) = ledger.read(|r| {
        Ok((
            r.retention_policy()?,
            r.data_counts()?,
            r.purge_candidates()?,
        ))
    })?;
    let next_purge_at = candidates
        .iter()
        .filter(|c| !c.open_change_task)
        .filter_map(|c| c.acknowledged_at)
        .map(|at| retention::purge_due_at(at, &policy))
        .min();
    Ok(TerminalDataView {
        residents: counts.residents,
        last_doses: counts.last_doses,
        records_total: counts.records_by_state.values().sum(),
        records_by_state: counts
            .records_by_state
            .iter()
            .map(|(state, n)| StateCount {
                state: state.clone(),
                label: state_label(state),
                count: *n,
            })
            .collect(),
        purged_records: counts.purged_records,
        audit_entries: counts.audit_entries,
        outbox_pending: counts.outbox_pending,
        oldest_record_at: counts.oldest_record_at,
        oldest_audit_at: counts.oldest_audit_at,
        next_purge_at,
        last_purge_at: counts.last_purge_at,
        last_receipt_at: counts.last_receipt_at,
        offline_days: counts.last_receipt_at.map(|t| whole_days(t, now)),
        retention: policy,
        block: keying_block_of(ledger)?,
    })
}

impl Terminal {
    /// Runs a purge on the open ledger (start-up); a failure is logged.
    pub(crate) fn purge_at_start(&self, inner: &crate::terminal::Inner) {
        if let Status::Ready { ledger, .. } = &inner.status {
            purge_quietly(ledger);
        }
    }

    /// `terminal_data`: the administrator's 「端末内の個人データ」.
    pub fn terminal_data(&self) -> Result<TerminalDataView> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::TerminalData>(&mut inner)?;
        terminal_data(&actor.ledger)
    }

    /// `keying_block`: whether keying is blocked (the keying and home screens).
    pub fn keying_block(&self) -> Result<KeyingBlock> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::KeyingBlockGet>(&mut inner)?;
        keying_block_of(&actor.ledger)
    }

    /// `offline_override`: an administrator lets keying go on until the end of today (JST)
    /// although the terminal has been without a receipt too long; audited with the reason.
    pub fn offline_override(&self, req: OfflineOverrideRequest) -> Result<KeyingBlock> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::OfflineOverride>(&mut inner)?;
        retention::check_override_reason(&req.reason)?;
        let block = keying_block_of(&actor.ledger)?;
        if !block.is_blocked() {
            return Err(Error::OfflineOverrideNotNeeded);
        }
        let now = actor.ledger.clock().now();
        let o = OfflineOverride {
            until: retention::override_until(now),
            by: actor.login_id().to_owned(),
            reason: req.reason.trim().to_owned(),
        };
        actor.ledger.mutate(|m| {
            m.put_offline_override(&o)?;
            m.audit(
                AuditRecord::new(
                    Some(actor.login_id()),
                    AuditAction::OfflineBlockOverridden,
                    None,
                    AuditOutcome::Success,
                )
                .with_detail(serde_json::json!({ "reason": o.reason, "until": o.until })),
            )
            .map(|_| ())
        })?;
        tracing::warn!(actor = actor.user.id, "offline keying block overridden");
        keying_block_of(&actor.ledger)
    }
}
