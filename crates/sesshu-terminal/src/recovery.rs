//! Putting a lost ledger key back into the key store: with the recovery key shown at setup,
//! or with an active administrator's id and password.

use crate::error::{Error, Result};
use crate::terminal::{Status, Terminal};
use sesshu_domain::account::{may_recover_key, SecurityPolicy, SignInDecision, SignInState};
use sesshu_domain::audit::{AuditAction, AuditOutcome};
use sesshu_ipc::{cmd, AnchorRepairRequest, RecoverKeyRequest};
use sesshu_ledger::accounts::verify_password_with;
use sesshu_ledger::audit::AuditRecord;
use sesshu_ledger::{KeyWraps, Ledger, LedgerKey, RecoveryKey};
use std::sync::Arc;

/// How the key was recovered (recorded in the audit entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    RecoveryKey,
    Administrator,
}

impl Method {
    fn code(self) -> &'static str {
        match self {
            Method::RecoveryKey => "recovery_key",
            Method::Administrator => "administrator",
        }
    }
}

/// A key that unwrapped and opened the ledger, with who recovered it and how.
struct Recovered {
    ledger: Ledger,
    key: LedgerKey,
    administrator: Option<String>,
    method: Method,
}

/// The attempt counter of key recovery, kept beside the ledger (which cannot be read while its
/// key is lost) so that a restart does not reset it. A missing or unreadable file counts as no
/// failures: the limit slows guessing at the screen; the recovery key's 160 bits and the
/// administrators' Argon2id copies are what resist offline guessing.
pub(crate) fn load_attempts(path: &std::path::Path) -> SignInState {
    let Ok(text) = std::fs::read_to_string(path) else {
        return SignInState::default();
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
        return SignInState::default();
    };
    SignInState {
        failed_attempts: v["failed_attempts"]
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0),
        locked_until: v["locked_until"]
            .as_str()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&chrono::Utc)),
    }
}

fn save_attempts(path: &std::path::Path, s: &SignInState) {
    let json = serde_json::json!({
        "failed_attempts": s.failed_attempts,
        "locked_until": s.locked_until.map(|t| t.to_rfc3339()),
    });
    if let Err(e) =
        sesshu_ledger::fsutil::write_private_atomic(path, "tmp", json.to_string().as_bytes())
    {
        tracing::error!(error = %e, "recovery attempt counter not saved");
    }
}

impl Terminal {
    pub fn recover_key(&self, req: RecoverKeyRequest) -> Result<()> {
        let mut inner = self.lock();
        self.authorize::<cmd::RecoverKey>(&mut inner)?;
        let Status::KeyMissing { wraps } = &inner.status else {
            return Err(Error::RecoveryNotNeeded);
        };
        let wraps = wraps.clone();
        // The ledger cannot be read (and so cannot hold a counter) until the key is back: the
        // attempt limit lives in memory and uses the default lockout policy, so the recovery
        // key or a password cannot be guessed at the speed of the KDF.
        let now = self.now();
        if let SignInDecision::Locked { until } = inner.recovery_attempts.before_attempt(now) {
            tracing::warn!("key recovery refused: too many failed attempts");
            return Err(Error::RecoveryBlocked { until });
        }
        let found = match self.try_recover(&wraps, &req) {
            Ok(found) => found,
            Err(e) => {
                if e.code() == sesshu_ipc::ErrorCode::RecoveryFailed {
                    let (next, now_locked) = inner
                        .recovery_attempts
                        .after_failure(&SecurityPolicy::default(), now);
                    inner.recovery_attempts = next;
                    save_attempts(&self.paths.recovery_attempts, &next);
                    tracing::warn!(now_locked, "key recovery attempt failed");
                }
                return Err(e);
            }
        };
        let failed_before = inner.recovery_attempts.failed_attempts;
        self.keystore.set(wraps.ledger_id(), &found.key)?;
        found.ledger.mutate(|m| {
            m.audit(
                AuditRecord::new(
                    found.administrator.as_deref(),
                    AuditAction::LedgerKeyRecovered,
                    None,
                    AuditOutcome::Success,
                )
                .with_detail(serde_json::json!({
                    "method": found.method.code(),
                    "failed_attempts_before": failed_before,
                })),
            )
        })?;
        tracing::warn!(
            method = found.method.code(),
            "ledger key restored to the key store"
        );
        inner.recovery_attempts = SignInState::default();
        let _ = std::fs::remove_file(&self.paths.recovery_attempts);
        inner.status = Status::Ready {
            ledger: Arc::new(found.ledger),
            wraps,
        };
        Ok(())
    }

    /// After `AUDIT_ANCHOR_MISMATCH`: an active administrator (id and password, checked on the
    /// opened ledger before anything is written) accepts the audit log as it is now; the repair
    /// is audited (9003, with what was found) and the terminal opens. Failed attempts count
    /// towards the same limit as key recovery.
    pub fn audit_anchor_repair(&self, req: AnchorRepairRequest) -> Result<()> {
        let mut inner = self.lock();
        self.authorize::<cmd::AuditAnchorRepair>(&mut inner)?;
        if !matches!(inner.status, Status::Fatal(Error::AuditAnchorMismatch)) {
            return Err(Error::AnchorRepairNotNeeded);
        }
        let now = self.now();
        if let SignInDecision::Locked { until } = inner.recovery_attempts.before_attempt(now) {
            return Err(Error::RecoveryBlocked { until });
        }
        let wraps = KeyWraps::load(&self.paths.keys)?.ok_or(Error::KeyFileMissing)?;
        let key = self
            .keystore
            .get(wraps.ledger_id())?
            .ok_or(Error::LedgerKeyMissing)?;
        let login_id = sesshu_domain::account::canonical_login_id(&req.login_id);
        let today = self.today();
        let deriver = self.deriver.clone();
        let repaired = Ledger::repair_audit_anchor(
            &self.paths.ledger,
            &key,
            self.clock.clone(),
            self.ids.clone(),
            |r| {
                let ok = r.user_by_login(&login_id)?.is_some_and(|u| {
                    may_recover_key(
                        &u.roles,
                        u.is_active(now, today),
                        u.sign_in.before_attempt(now),
                    ) && verify_password_with(deriver.as_ref(), &u.password_hash, &req.password)
                });
                if ok {
                    Ok(login_id.clone())
                } else {
                    Err(sesshu_ledger::LedgerError::InvalidData(
                        "not an active administrator's password".into(),
                    ))
                }
            },
        );
        match repaired {
            Ok(ledger) => {
                tracing::warn!("audit anchor repaired by an administrator");
                inner.recovery_attempts = SignInState::default();
                let _ = std::fs::remove_file(&self.paths.recovery_attempts);
                inner.status = Status::Ready {
                    ledger: Arc::new(ledger),
                    wraps,
                };
                Ok(())
            }
            Err(sesshu_ledger::LedgerError::InvalidData(_)) => {
                let (next, _) = inner
                    .recovery_attempts
                    .after_failure(&SecurityPolicy::default(), now);
                inner.recovery_attempts = next;
                save_attempts(&self.paths.recovery_attempts, &next);
                Err(Error::RecoveryRejected)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Unwraps the ledger key with what the person typed and proves it by opening the ledger.
    /// A wrong secret is a `RecoveryFailed` error.
    fn try_recover(&self, wraps: &KeyWraps, req: &RecoverKeyRequest) -> Result<Recovered> {
        let (key, administrator, method) = match req {
            RecoverKeyRequest::RecoveryKey { recovery_key } => {
                let rk = RecoveryKey::parse(recovery_key).ok_or(Error::RecoveryKeyFormat)?;
                (wraps.unwrap_with_recovery(&rk)?, None, Method::RecoveryKey)
            }
            RecoverKeyRequest::Administrator { login_id, password } => (
                wraps.unwrap_with_password(
                    &sesshu_domain::account::canonical_login_id(login_id),
                    password,
                )?,
                Some(sesshu_domain::account::canonical_login_id(login_id)),
                Method::Administrator,
            ),
        };
        let ledger = Ledger::open(
            &self.paths.ledger,
            &key,
            self.clock.clone(),
            self.ids.clone(),
        )?;
        if let (Some(login_id), RecoverKeyRequest::Administrator { password, .. }) =
            (&administrator, req)
        {
            // A wrapped copy alone is not enough: the account must still be one that may
            // recover the key, and this must be its current password.
            let now = self.now();
            let today = self.today();
            let ok = ledger
                .read(|r| r.user_by_login(login_id))?
                .is_some_and(|u| {
                    may_recover_key(
                        &u.roles,
                        u.is_active(now, today),
                        u.sign_in.before_attempt(now),
                    ) && verify_password_with(self.deriver.as_ref(), &u.password_hash, password)
                });
            if !ok {
                return Err(Error::RecoveryRejected);
            }
        }
        Ok(Recovered {
            ledger,
            key,
            administrator,
            method,
        })
    }
}
