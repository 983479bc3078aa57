//! The terminal's settings (security policy, log level) and the audit log viewer.

use crate::error::{Error, Result};
use crate::terminal::{audit_only, terminal_info, Terminal};
use sesshu_domain::audit::{AuditAction, AuditOutcome};
use sesshu_ipc::{
    cmd, AuditEntryView, AuditListRequest, AuditVerifyReport, LogLevel, Settings,
    SettingsUpdateRequest,
};
use sesshu_ledger::audit::AuditRecord;
use sesshu_ledger::Ledger;

/// The most audit entries one page returns.
const AUDIT_PAGE_MAX: u32 = 500;

fn settings_of(ledger: &Ledger) -> Result<Settings> {
    let policy = ledger.read(|r| r.security_policy())?;
    let level = ledger
        .read(|r| r.setting(sesshu_ledger::settings::LOG_LEVEL))?
        .and_then(|s| LogLevel::parse(&s))
        .unwrap_or(LogLevel::Info);
    let terminal = terminal_info(ledger)?.ok_or(Error::Internal("terminal"))?;
    Ok(Settings {
        policy,
        log_level: level,
        terminal,
        retention: ledger.read(|r| r.retention_policy())?,
    })
}

impl Terminal {
    pub fn settings_get(&self) -> Result<Settings> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::SettingsGet>(&mut inner)?;
        settings_of(&actor.ledger)
    }

    pub fn settings_update(&self, req: SettingsUpdateRequest) -> Result<Settings> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::SettingsUpdate>(&mut inner)?;
        req.policy.validate()?;
        if let Some(r) = &req.retention {
            r.validate()?;
        }
        let before = settings_of(&actor.ledger)?;
        actor.ledger.mutate(|m| {
            m.put_security_policy(&req.policy)?;
            m.put_setting(sesshu_ledger::settings::LOG_LEVEL, req.log_level.as_str())?;
            if let Some(r) = &req.retention {
                m.put_retention_policy(r)?;
            }
            m.audit(
                AuditRecord::new(
                    Some(actor.login_id()),
                    AuditAction::SettingsChanged,
                    Some("security_policy"),
                    AuditOutcome::Success,
                )
                .with_detail(serde_json::json!({
                    "before": { "policy": before.policy, "log_level": before.log_level, "retention": before.retention },
                    "after": { "policy": req.policy, "log_level": req.log_level, "retention": req.retention.unwrap_or(before.retention) },
                })),
            )
            .map(|_| ())
        })?;
        if let Some(set) = &self.log_level {
            set(req.log_level);
        }
        tracing::info!(
            actor = actor.user.id,
            level = req.log_level.as_str(),
            "settings changed"
        );
        settings_of(&actor.ledger)
    }

    pub fn audit_list(&self, req: AuditListRequest) -> Result<Vec<AuditEntryView>> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::AuditList>(&mut inner)?;
        let jst_start = |d: chrono::NaiveDate| {
            d.and_hms_opt(0, 0, 0)
                .and_then(|t| t.and_local_timezone(sesshu_domain::date::jst()).single())
                .map(|t| t.with_timezone(&chrono::Utc))
        };
        let text = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let filter = sesshu_ledger::audit::AuditFilter {
            actor: text(&req.actor),
            resident: text(&req.resident),
            action: req.action,
            from: req.from.and_then(jst_start),
            until: req.to.and_then(|d| d.succ_opt()).and_then(jst_start),
        };
        let entries = actor.ledger.read(|r| {
            r.audit_page_filtered(req.limit.clamp(1, AUDIT_PAGE_MAX), req.before_seq, &filter)
        })?;
        Ok(entries
            .into_iter()
            .map(|e| AuditEntryView {
                at: sesshu_ledger::audit::entry_time(&e).unwrap_or_default(),
                seq: e.seq,
                terminal_id: e.terminal_id,
                actor: e.actor,
                action_code: e.action,
                action_label: sesshu_domain::audit::label_of_code(e.action),
                target: e.target,
                outcome: AuditOutcome::from_code(e.outcome).unwrap_or(AuditOutcome::Failed),
            })
            .collect())
    }

    pub fn audit_verify(&self) -> Result<AuditVerifyReport> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::AuditVerify>(&mut inner)?;
        let rep = actor.ledger.read(|r| r.verify_audit_chain())?;
        audit_only(
            &actor.ledger,
            AuditRecord::new(
                Some(actor.login_id()),
                AuditAction::AuditChainVerified,
                None,
                if rep.first_broken_seq.is_none() {
                    AuditOutcome::Success
                } else {
                    AuditOutcome::Failed
                },
            )
            .with_detail(serde_json::json!({
                "checked": rep.entries_checked,
                "first_broken_seq": rep.first_broken_seq,
            })),
        )?;
        if let Some(seq) = rep.first_broken_seq {
            tracing::error!(seq, "audit chain broken");
        }
        Ok(AuditVerifyReport {
            entries_checked: rep.entries_checked,
            first_broken_seq: rep.first_broken_seq,
            head_hash: hex::encode(rep.head_hash),
        })
    }
}
