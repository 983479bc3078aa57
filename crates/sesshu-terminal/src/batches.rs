//! Use cases of 受付バッチ: register, list, withdraw a form, close.
//!
//! Permissions are checked by the caller from data in `sesshu_domain::batch`:
//! - register and list: any of [`REGISTER_PERMISSIONS`] (keyers and verifiers);
//! - close: [`CLOSE_PERMISSION`] (a verifier, 確認者);
//! - withdraw a form: [`WITHDRAW_PERMISSION`] (a verifier).
//!
//! Every change is one ledger transaction with its audit entry. A close or withdrawal refused by
//! the batch rules is audited too (outcome `Refused`, with the counts), because it is a
//! supervisor's decision that was attempted.

use sesshu_domain::audit::{AuditAction, AuditOutcome};
use sesshu_domain::batch::{check_close, check_withdraw};
pub use sesshu_domain::batch::{
    BatchError, BatchInput, BatchStatus, FormState, CLOSE_PERMISSION, REGISTER_PERMISSIONS,
    WITHDRAW_PERMISSION,
};
use sesshu_ledger::audit::AuditRecord;
pub use sesshu_ledger::batches::{Batch, BatchForm};
use sesshu_ledger::{Ledger, LedgerError};

/// Most batches one list call returns.
pub const LIST_LIMIT: u32 = 500;

/// Why a batch use case failed.
#[derive(Debug, thiserror::Error)]
pub enum BatchServiceError {
    /// Refused by a batch rule (the message names the field or the counts).
    #[error("{0}")]
    Rule(#[from] BatchError),
    #[error("医療機関コード{0}は医療機関コード表にありません")]
    UnknownClinic(String),
    #[error("受付バッチ{0}はありません")]
    BatchNotFound(i64),
    #[error("受付票{0}はありません")]
    FormNotFound(i64),
    #[error("台帳への書き込みに失敗しました")]
    Ledger(#[from] LedgerError),
}

/// The terminal's date in Japan (the domain's one JST rule).
pub fn terminal_today(ledger: &Ledger) -> chrono::NaiveDate {
    sesshu_domain::date::today_jst(ledger.clock().now())
}

fn batch_detail(b: &Batch) -> serde_json::Value {
    serde_json::json!({
        "batch": b.id,
        "clinic_code": b.clinic_code,
        "claim_month": b.claim_month,
        "programme": b.programme,
        "declared": b.progress.declared,
    })
}

/// Registers a batch. When the clinic code table has rows, the clinic must be in it (a typo that
/// passes the check digit is still caught); an empty table accepts any valid code.
pub fn register_batch(
    ledger: &Ledger,
    actor_login: &str,
    input: &BatchInput,
) -> Result<Batch, BatchServiceError> {
    let reg = input.validate(terminal_today(ledger))?;
    let (known, any) =
        ledger.read(|r| Ok((r.clinic_exists(&reg.clinic)?, r.clinic_count()? > 0)))?;
    if any && !known {
        return Err(BatchServiceError::UnknownClinic(
            reg.clinic.as_str().to_owned(),
        ));
    }
    let batch = ledger.mutate(|m| {
        let (id, uid) = m.insert_batch(&reg, actor_login)?;
        let b = m
            .reader()
            .batch(id)?
            .ok_or_else(|| LedgerError::InvalidData("batch just inserted".into()))?;
        m.audit(
            AuditRecord::new(
                Some(actor_login),
                AuditAction::BatchRegistered,
                Some(&uid),
                AuditOutcome::Success,
            )
            .with_detail(batch_detail(&b)),
        )?;
        Ok(b)
    })?;
    tracing::info!(batch = batch.id, "batch registered");
    Ok(batch)
}

/// Batches newest first, with progress; only those in `status` when given.
pub fn list_batches(
    ledger: &Ledger,
    status: Option<BatchStatus>,
) -> Result<Vec<Batch>, BatchServiceError> {
    Ok(ledger.read(|r| r.batches(status, LIST_LIMIT))?)
}

pub fn get_batch(ledger: &Ledger, batch_id: i64) -> Result<Batch, BatchServiceError> {
    ledger
        .read(|r| r.batch(batch_id))?
        .ok_or(BatchServiceError::BatchNotFound(batch_id))
}

/// Closes a batch when every declared form is approved or withdrawn. A refusal is audited and
/// returned as [`BatchServiceError::Rule`] naming the counts.
pub fn close_batch(
    ledger: &Ledger,
    actor_login: &str,
    batch_id: i64,
) -> Result<Batch, BatchServiceError> {
    get_batch(ledger, batch_id)?;
    // The rule is checked inside the transaction, on the counts it commits against.
    let out = ledger.mutate(|m| {
        let b = m
            .reader()
            .batch(batch_id)?
            .ok_or_else(|| LedgerError::InvalidData("batch vanished".into()))?;
        let verdict = check_close(b.status, &b.progress);
        let mut detail = batch_detail(&b);
        detail["progress"] = serde_json::json!(b.progress);
        let outcome = match &verdict {
            Ok(()) => {
                m.mark_batch_closed(batch_id, actor_login)?;
                AuditOutcome::Success
            }
            Err(e) => {
                detail["refusal"] = serde_json::json!(e.to_string());
                AuditOutcome::Refused
            }
        };
        m.audit(
            AuditRecord::new(
                Some(actor_login),
                AuditAction::BatchClosed,
                Some(&b.uid),
                outcome,
            )
            .with_detail(detail),
        )?;
        match verdict {
            Ok(()) => Ok(Ok(m.reader().batch(batch_id)?.unwrap_or(b))),
            Err(e) => Ok(Err(e)),
        }
    })?;
    let b = out?;
    tracing::info!(batch = b.id, "batch closed");
    Ok(b)
}

/// Withdraws a form from its batch with a reason (not an approved one, not in a closed batch).
/// A refusal by the rules is audited.
pub fn withdraw_form(
    ledger: &Ledger,
    actor_login: &str,
    form_id: i64,
    reason: &str,
) -> Result<BatchForm, BatchServiceError> {
    if ledger.read(|r| r.batch_form(form_id))?.is_none() {
        return Err(BatchServiceError::FormNotFound(form_id));
    }
    let out = ledger.mutate(|m| {
        let f = m
            .reader()
            .batch_form(form_id)?
            .ok_or_else(|| LedgerError::InvalidData("form vanished".into()))?;
        let b = m
            .reader()
            .batch(f.batch_id)?
            .ok_or_else(|| LedgerError::InvalidData("form without batch".into()))?;
        let verdict = check_withdraw(b.status, f.state, reason);
        // The reason is free text already screened for a 個人番号; it stays in the ledger and is
        // not copied into the audit detail.
        let mut detail = serde_json::json!({
            "batch": b.id,
            "form": f.id,
            "state_before": f.state,
        });
        let outcome = match &verdict {
            Ok(clean) => {
                m.withdraw_batch_form(form_id, clean, actor_login)?;
                AuditOutcome::Success
            }
            Err(e) => {
                detail["refusal"] = serde_json::json!(e.to_string());
                AuditOutcome::Refused
            }
        };
        m.audit(
            AuditRecord::new(
                Some(actor_login),
                AuditAction::BatchFormWithdrawn,
                Some(&f.uid),
                outcome,
            )
            .with_detail(detail),
        )?;
        match verdict {
            Ok(_) => Ok(Ok(m.reader().batch_form(form_id)?.unwrap_or(f))),
            Err(e) => Ok(Err(e)),
        }
    })?;
    Ok(out?)
}
