//! Sign-in, lock, unlock, sign-out and password change.

use crate::authz::{session_info, Actor};
use crate::error::{Error, Result};
use crate::terminal::{audit_only, ready, Inner, Session, Terminal};
use chrono::{DateTime, Utc};
use sesshu_domain::account::{canonical_login_id, validate_login_id, SignInDecision, SignInState};
use sesshu_domain::audit::{AuditAction, AuditOutcome};
use sesshu_ipc::{cmd, ChangePasswordRequest, LoginRequest, SessionInfo, UnlockRequest};
use sesshu_ledger::accounts::{dummy_verify_with, hash_password_with, verify_password_with, User};
use sesshu_ledger::audit::AuditRecord;
use sesshu_ledger::kdf::Deriver;
use sesshu_ledger::Ledger;

/// Outcome of checking a password against an account, with the lockout rules applied and
/// recorded (one transaction per attempt: the new counter and its audit entries).
enum Check {
    Ok,
    Wrong { now_locked: bool },
    Locked(DateTime<Utc>),
}

fn check_password(
    deriver: &dyn Deriver,
    ledger: &Ledger,
    user: &User,
    password: &str,
    failure_action: AuditAction,
) -> Result<Check> {
    let now = ledger.clock().now();
    let policy = ledger.read(|r| r.security_policy())?;
    if let SignInDecision::Locked { until } = user.sign_in.before_attempt(now) {
        // The same derivation as a real check: a locked account answers no faster.
        dummy_verify_with(deriver, password);
        audit_only(
            ledger,
            AuditRecord::new(
                Some(&user.login_id),
                failure_action,
                Some(&user.login_id),
                AuditOutcome::Refused,
            )
            .with_detail(serde_json::json!({ "reason": "locked" })),
        )?;
        return Ok(Check::Locked(until));
    }
    if verify_password_with(deriver, &user.password_hash, password) {
        // The failure counter is reset by the caller, in the transaction that records the success.
        return Ok(Check::Ok);
    }
    let (next, now_locked) = user.sign_in.after_failure(&policy, now);
    ledger.mutate(|m| {
        m.set_sign_in(user.id, &next)?;
        m.audit(
            AuditRecord::new(
                Some(&user.login_id),
                failure_action,
                Some(&user.login_id),
                AuditOutcome::Failed,
            )
            .with_detail(serde_json::json!({ "reason": "wrong_password" })),
        )?;
        if now_locked {
            m.audit(
                AuditRecord::new(
                    None,
                    AuditAction::AccountLockedOut,
                    Some(&user.login_id),
                    AuditOutcome::Success,
                )
                .with_detail(serde_json::json!({ "minutes": policy.lockout_minutes })),
            )?;
        }
        Ok(())
    })?;
    Ok(Check::Wrong { now_locked })
}

/// The error for a lockout that a wrong password has just started.
fn locked_now(ledger: &Ledger) -> Result<Error> {
    let policy = ledger.read(|r| r.security_policy())?;
    Ok(Error::AccountLockedNow {
        threshold: policy.lockout_threshold,
        minutes: policy.lockout_minutes,
    })
}

/// Records a successful password check: counter reset and audit entry in one transaction.
fn record_success(ledger: &Ledger, user: &User, rec: AuditRecord) -> Result<()> {
    ledger.mutate(|m| {
        if user.sign_in != SignInState::default() {
            m.set_sign_in(user.id, &user.sign_in.after_success())?;
        }
        m.audit(rec).map(|_| ())
    })?;
    Ok(())
}

/// Checks the signed-in user's own password (unlock, password change). A locked-out account
/// loses its session.
pub(crate) fn check_session_password(
    deriver: &dyn Deriver,
    inner: &mut Inner,
    actor: &Actor,
    password: &str,
    failure_action: AuditAction,
    wrong: Error,
) -> Result<()> {
    match check_password(
        deriver,
        &actor.ledger,
        &actor.user,
        password,
        failure_action,
    )? {
        Check::Ok => Ok(()),
        Check::Locked(until) => {
            inner.session = None;
            Err(Error::AccountLocked { until })
        }
        Check::Wrong { now_locked: true } => {
            inner.session = None;
            Err(locked_now(&actor.ledger)?)
        }
        Check::Wrong { now_locked: false } => Err(wrong),
    }
}

/// A new password checked against the terminal's policy, hashed.
pub(crate) fn new_password_hash(
    deriver: &dyn Deriver,
    ledger: &Ledger,
    password: &str,
    login_id: &str,
) -> Result<String> {
    let policy = ledger.read(|r| r.security_policy())?;
    policy.check_password(password, login_id)?;
    Ok(hash_password_with(deriver, password)?)
}

impl Terminal {
    /// Signs in. Unknown id, wrong password, locked account and disabled account all answer
    /// the same [`Error::InvalidCredentials`] after the same single password derivation, so
    /// neither the answer nor its timing tells which ids exist or what state they are in; the
    /// audit log records the real reason.
    pub fn login(&self, req: LoginRequest) -> Result<SessionInfo> {
        let mut inner = self.lock();
        self.authorize::<cmd::Login>(&mut inner)?;
        let ledger = ready(&inner)?;
        let login_id = canonical_login_id(&req.login_id);
        let now = self.now();
        let user = ledger.read(|r| r.user_by_login(&login_id))?;
        let Some(user) = user else {
            dummy_verify_with(self.deriver.as_ref(), &req.password);
            // The typed id is kept in the encrypted audit log (never in the text log), and only
            // when it has the shape of an id: a password typed into the id field by mistake
            // must not be stored anywhere.
            let typed = validate_login_id(&login_id)
                .is_ok()
                .then_some(login_id.as_str());
            audit_only(
                &ledger,
                AuditRecord::new(None, AuditAction::LoginFailed, typed, AuditOutcome::Failed)
                    .with_detail(serde_json::json!({ "reason": "unknown_id" })),
            )?;
            tracing::info!("sign-in refused: unknown id");
            return Err(Error::InvalidCredentials);
        };
        match check_password(
            self.deriver.as_ref(),
            &ledger,
            &user,
            &req.password,
            AuditAction::LoginFailed,
        )? {
            Check::Locked(_) => {
                tracing::info!(user = user.id, "sign-in refused: account locked");
                return Err(Error::InvalidCredentials);
            }
            Check::Wrong { now_locked } => {
                tracing::info!(
                    user = user.id,
                    now_locked,
                    "sign-in refused: wrong password"
                );
                return Err(Error::InvalidCredentials);
            }
            Check::Ok => {}
        }
        if !user.is_active(now, self.today()) {
            audit_only(
                &ledger,
                AuditRecord::new(
                    Some(&user.login_id),
                    AuditAction::LoginFailed,
                    Some(&user.login_id),
                    AuditOutcome::Refused,
                )
                .with_detail(serde_json::json!({ "reason": "disabled" })),
            )?;
            tracing::info!(user = user.id, "sign-in refused: account disabled");
            return Err(Error::InvalidCredentials);
        }
        self.prune_inactive_wraps(&mut inner);
        self.refresh_own_wrap(&mut inner, &user.login_id, &user.roles, &req.password);
        if let Some(previous) = inner.session.take() {
            audit_only(
                &ledger,
                AuditRecord::new(
                    Some(&previous.login_id),
                    AuditAction::Logout,
                    Some(&previous.login_id),
                    AuditOutcome::Success,
                )
                .with_detail(serde_json::json!({ "reason": "switch_user" })),
            )?;
        }
        record_success(
            &ledger,
            &user,
            AuditRecord::new(
                Some(&user.login_id),
                AuditAction::LoginSucceeded,
                Some(&user.login_id),
                AuditOutcome::Success,
            ),
        )?;
        tracing::info!(user = user.id, "signed in");
        let session = Session {
            user_id: user.id,
            login_id: user.login_id.clone(),
            signed_in_at: now,
            last_activity: now,
            locked: false,
        };
        let info = session_info(&ledger, &session)?;
        inner.session = Some(session);
        Ok(info)
    }

    pub fn logout(&self) -> Result<()> {
        let mut inner = self.lock();
        let actor = self.authorize::<cmd::Logout>(&mut inner)?;
        if let Some(actor) = actor {
            audit_only(
                &actor.ledger,
                AuditRecord::new(
                    Some(actor.login_id()),
                    AuditAction::Logout,
                    Some(actor.login_id()),
                    AuditOutcome::Success,
                ),
            )?;
            tracing::info!(user = actor.user.id, "signed out");
        }
        inner.session = None;
        Ok(())
    }

    pub fn lock_session(&self) -> Result<()> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::LockSession>(&mut inner)?;
        if let Some(s) = inner.session.as_mut() {
            s.locked = true;
        }
        audit_only(
            &actor.ledger,
            AuditRecord::new(
                Some(actor.login_id()),
                AuditAction::SessionLocked,
                Some(actor.login_id()),
                AuditOutcome::Success,
            )
            .with_detail(serde_json::json!({ "reason": "manual" })),
        )
    }

    pub fn unlock_session(&self, req: UnlockRequest) -> Result<SessionInfo> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::UnlockSession>(&mut inner)?;
        check_session_password(
            self.deriver.as_ref(),
            &mut inner,
            &actor,
            &req.password,
            AuditAction::UnlockFailed,
            Error::WrongPassword,
        )?;
        let now = self.now();
        let Some(session) = inner.session.as_mut() else {
            return Err(Error::Internal("unlock session"));
        };
        session.locked = false;
        session.last_activity = now;
        record_success(
            &actor.ledger,
            &actor.user,
            AuditRecord::new(
                Some(actor.login_id()),
                AuditAction::SessionUnlocked,
                Some(actor.login_id()),
                AuditOutcome::Success,
            ),
        )?;
        session_info(&actor.ledger, session)
    }

    pub fn session_activity(&self) -> Result<SessionInfo> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::SessionActivity>(&mut inner)?;
        let session = inner.session.as_ref().ok_or(Error::Internal("activity"))?;
        session_info(&actor.ledger, session)
    }

    pub fn change_password(&self, req: ChangePasswordRequest) -> Result<()> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::ChangePassword>(&mut inner)?;
        check_session_password(
            self.deriver.as_ref(),
            &mut inner,
            &actor,
            &req.current_password,
            AuditAction::PasswordChanged,
            Error::WrongCurrentPassword,
        )?;
        let policy = actor.ledger.read(|r| r.security_policy())?;
        sesshu_domain::account::check_new_password(
            &policy,
            &req.current_password,
            &req.new_password,
            actor.login_id(),
        )?;
        let hash = hash_password_with(self.deriver.as_ref(), &req.new_password)?;
        // Re-wrap the ledger key under the new password; the ledger itself is not re-encrypted.
        let new_wraps = self.wraps_with_user(
            &inner,
            actor.login_id(),
            &actor.user.roles,
            &req.new_password,
        )?;
        actor.ledger.mutate(|m| {
            m.set_password_hash(actor.user.id, &hash, false)?;
            m.set_sign_in(actor.user.id, &SignInState::default())?;
            m.audit(AuditRecord::new(
                Some(actor.login_id()),
                AuditAction::PasswordChanged,
                Some(actor.login_id()),
                AuditOutcome::Success,
            ))
            .map(|_| ())
        })?;
        // The key file follows the committed change (never the other way round); if writing
        // it fails, the next sign-in finds the stale copy and re-wraps it.
        if let Some(w) = new_wraps {
            self.keep_wraps(&mut inner, w);
        }
        tracing::info!(user = actor.user.id, "password changed");
        Ok(())
    }
}
