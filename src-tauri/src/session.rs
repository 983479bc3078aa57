//! Sign-in, lock, unlock, sign-out and password change.

use crate::error::{from_ledger, from_wrap, internal};
use crate::state::{jst, today_jst, Actor, AppState, Inner, Session, Status};
use chrono::{DateTime, Utc};
use sesshu_domain::account::{validate_login_id, SignInDecision, SignInState};
use sesshu_domain::audit::{AuditAction, AuditOutcome};
use sesshu_ipc::{
    names, ChangePasswordRequest, CommandError, ErrorCode, LoginRequest, SessionInfo, UnlockRequest,
};
use sesshu_ledger::accounts::{dummy_verify, hash_password, verify_password, User};
use sesshu_ledger::audit::AuditRecord;
use sesshu_ledger::KeyWraps;
use sesshu_ledger::Ledger;

fn invalid_credentials() -> CommandError {
    CommandError::new(
        ErrorCode::InvalidCredentials,
        "ログインIDまたはパスワードが正しくありません。",
    )
}

fn locked_message(until: DateTime<Utc>) -> CommandError {
    CommandError::new(
        ErrorCode::AccountLocked,
        format!(
            "パスワードを続けて間違えたため、このアカウントは{}までロックされています。",
            until.with_timezone(&jst()).format("%H時%M分")
        ),
    )
}

/// Outcome of checking a password against an account, with the lockout rules applied and
/// recorded (one transaction per attempt: the new counter and its audit entries).
enum Check {
    Ok,
    Wrong { now_locked: bool },
    Locked(DateTime<Utc>),
}

fn check_password(
    ledger: &Ledger,
    user: &User,
    password: &str,
    failure_action: AuditAction,
) -> Result<Check, CommandError> {
    let now = ledger.clock().now();
    let policy = ledger.read(|r| r.security_policy()).map_err(from_ledger)?;
    if let SignInDecision::Locked { until } = user.sign_in.before_attempt(now) {
        AppState::audit_only(
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
    if verify_password(&user.password_hash, password) {
        // The failure counter is reset by the caller, in the transaction that records the success.
        return Ok(Check::Ok);
    }
    let (next, now_locked) = user.sign_in.after_failure(&policy, now);
    ledger
        .mutate(|m| {
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
        })
        .map_err(from_ledger)?;
    Ok(Check::Wrong { now_locked })
}

/// Records a successful password check: counter reset and audit entry in one transaction.
fn record_success(ledger: &Ledger, user: &User, rec: AuditRecord) -> Result<(), CommandError> {
    ledger
        .mutate(|m| {
            if user.sign_in != SignInState::default() {
                m.set_sign_in(user.id, &user.sign_in.after_success())?;
            }
            m.audit(rec).map(|_| ())
        })
        .map_err(from_ledger)
}

/// Checks the signed-in user's own password (unlock, password change). A locked-out account
/// loses its session.
fn session_password(
    inner: &mut Inner,
    actor: &Actor,
    password: &str,
    failure_action: AuditAction,
    wrong_message: &str,
) -> Result<(), CommandError> {
    match check_password(&actor.ledger, &actor.user, password, failure_action)? {
        Check::Ok => Ok(()),
        Check::Locked(until) => {
            inner.session = None;
            Err(locked_message(until))
        }
        Check::Wrong { now_locked: true } => {
            inner.session = None;
            Err(CommandError::new(
                ErrorCode::AccountLocked,
                "パスワードを続けて間違えたため、このアカウントをロックしました。",
            ))
        }
        Check::Wrong { now_locked: false } => Err(CommandError::new(
            ErrorCode::InvalidCredentials,
            wrong_message,
        )),
    }
}

/// A new password checked against the terminal's policy, hashed.
pub(crate) fn new_password_hash(
    ledger: &Ledger,
    password: &str,
    login_id: &str,
) -> Result<String, CommandError> {
    let policy = ledger.read(|r| r.security_policy()).map_err(from_ledger)?;
    policy
        .check_password(password, login_id)
        .map_err(|e| CommandError::new(ErrorCode::PasswordPolicy, e.to_string()))?;
    hash_password(password).map_err(from_ledger)
}

impl AppState {
    /// A copy of the key wraps with `login_id`'s copy (re)made under `password`; the caller
    /// saves it in the transaction of the change and then keeps it.
    pub(crate) fn wraps_with_user(
        &self,
        inner: &Inner,
        login_id: &str,
        password: &str,
    ) -> Result<KeyWraps, CommandError> {
        let Status::Ready { wraps, .. } = &inner.status else {
            return Err(internal("key wraps"));
        };
        let key = self
            .keystore
            .get(wraps.ledger_id())
            .map_err(crate::error::from_keystore)?
            .ok_or_else(|| internal("ledger key"))?;
        let mut new_wraps = wraps.clone();
        new_wraps
            .set_user(&key, login_id, password)
            .map_err(from_wrap)?;
        Ok(new_wraps)
    }

    /// Adopts new key wraps after the change that needed them has committed, and writes them.
    /// A failed write is logged, not returned: the change itself stands, and the copy is
    /// repaired at that user's next sign-in ([`Self::refresh_own_wrap`]).
    pub(crate) fn keep_wraps(&self, inner: &mut Inner, new_wraps: KeyWraps) {
        if let Err(e) = new_wraps.save(&self.paths.keys) {
            tracing::error!(error = %e, "key file not updated; it is repaired at next sign-in");
        }
        if let Status::Ready { wraps, .. } = &mut inner.status {
            *wraps = new_wraps;
        }
    }

    /// After a verified sign-in: makes sure this user's wrapped key copy exists and opens with
    /// the password just verified (a user re-enabled after a disable has none; a key file
    /// write that failed after a password change left an old one).
    fn refresh_own_wrap(&self, inner: &mut Inner, login_id: &str, password: &str) {
        let Status::Ready { wraps, .. } = &mut inner.status else {
            return;
        };
        let Ok(Some(key)) = self.keystore.get(wraps.ledger_id()) else {
            return;
        };
        let current = wraps
            .unwrap_with_password(login_id, password)
            .is_ok_and(|k| k.as_bytes() == key.as_bytes());
        if current {
            return;
        }
        let mut new_wraps = wraps.clone();
        match new_wraps.set_user(&key, login_id, password) {
            Ok(()) => self.keep_wraps(inner, new_wraps),
            Err(e) => tracing::error!(error = %e, "wrapped key copy not refreshed"),
        }
    }

    pub fn login(&self, req: LoginRequest) -> Result<SessionInfo, CommandError> {
        let mut inner = self.lock();
        self.authorize(&mut inner, names::LOGIN)?;
        let ledger = Self::ready(&inner)?;
        let login_id = req.login_id.trim();
        let now = self.now();
        let user = ledger
            .read(|r| r.user_by_login(login_id))
            .map_err(from_ledger)?;
        let Some(user) = user else {
            dummy_verify(&req.password);
            // The typed id is kept in the encrypted audit log (never in the text log), and only
            // when it has the shape of an id: a password typed into the id field by mistake
            // must not be stored anywhere.
            let typed = validate_login_id(login_id).is_ok().then_some(login_id);
            Self::audit_only(
                &ledger,
                AuditRecord::new(None, AuditAction::LoginFailed, typed, AuditOutcome::Failed)
                    .with_detail(serde_json::json!({ "reason": "unknown_id" })),
            )?;
            tracing::info!("sign-in refused: unknown id");
            return Err(invalid_credentials());
        };
        match check_password(&ledger, &user, &req.password, AuditAction::LoginFailed)? {
            Check::Locked(until) => {
                tracing::info!(user = user.id, "sign-in refused: account locked");
                return Err(locked_message(until));
            }
            Check::Wrong { now_locked } => {
                tracing::info!(
                    user = user.id,
                    now_locked,
                    "sign-in refused: wrong password"
                );
                if now_locked {
                    let policy = ledger.read(|r| r.security_policy()).map_err(from_ledger)?;
                    return Err(CommandError::new(
                        ErrorCode::AccountLocked,
                        format!(
                            "パスワードを{}回続けて間違えたため、このアカウントを{}分間ロックしました。",
                            policy.lockout_threshold, policy.lockout_minutes
                        ),
                    ));
                }
                return Err(invalid_credentials());
            }
            Check::Ok => {}
        }
        if !user.is_active(now, today_jst(now)) {
            Self::audit_only(
                &ledger,
                AuditRecord::new(
                    Some(&user.login_id),
                    AuditAction::LoginFailed,
                    Some(&user.login_id),
                    AuditOutcome::Refused,
                )
                .with_detail(serde_json::json!({ "reason": "disabled" })),
            )?;
            return Err(CommandError::new(
                ErrorCode::AccountDisabled,
                "この利用者は利用停止されています。管理者に確認してください。",
            ));
        }
        self.prune_inactive_wraps(&mut inner);
        self.refresh_own_wrap(&mut inner, &user.login_id, &req.password);
        if let Some(previous) = inner.session.take() {
            Self::audit_only(
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
        let info = Self::session_info(&ledger, &session)?;
        inner.session = Some(session);
        Ok(info)
    }

    pub fn logout(&self) -> Result<(), CommandError> {
        let mut inner = self.lock();
        let actor = self.authorize(&mut inner, names::LOGOUT)?;
        if let Some(actor) = actor {
            Self::audit_only(
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

    pub fn lock_session(&self) -> Result<(), CommandError> {
        let mut inner = self.lock();
        let actor = self.actor(&mut inner, names::LOCK_SESSION)?;
        if let Some(s) = inner.session.as_mut() {
            s.locked = true;
        }
        Self::audit_only(
            &actor.ledger,
            AuditRecord::new(
                Some(actor.login_id()),
                AuditAction::SessionLocked,
                Some(actor.login_id()),
                AuditOutcome::Success,
            )
            .with_detail(serde_json::json!({ "reason": "manual" })),
        )?;
        Ok(())
    }

    pub fn unlock_session(&self, req: UnlockRequest) -> Result<SessionInfo, CommandError> {
        let mut inner = self.lock();
        let actor = self
            .authorize(&mut inner, names::UNLOCK_SESSION)?
            .ok_or_else(|| internal("unlock"))?;
        session_password(
            &mut inner,
            &actor,
            &req.password,
            AuditAction::UnlockFailed,
            "パスワードが正しくありません。",
        )?;
        let now = self.now();
        let Some(session) = inner.session.as_mut() else {
            return Err(internal("unlock session"));
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
        Self::session_info(&actor.ledger, session)
    }

    pub fn session_activity(&self) -> Result<SessionInfo, CommandError> {
        let mut inner = self.lock();
        let actor = self.actor(&mut inner, names::SESSION_ACTIVITY)?;
        let session = inner.session.as_ref().ok_or_else(|| internal("activity"))?;
        Self::session_info(&actor.ledger, session)
    }

    pub fn change_password(&self, req: ChangePasswordRequest) -> Result<(), CommandError> {
        let mut inner = self.lock();
        let actor = self.actor(&mut inner, names::CHANGE_PASSWORD)?;
        session_password(
            &mut inner,
            &actor,
            &req.current_password,
            AuditAction::PasswordChanged,
            "現在のパスワードが正しくありません。",
        )?;
        let hash = new_password_hash(&actor.ledger, &req.new_password, actor.login_id())?;
        if req.new_password == req.current_password {
            return Err(CommandError::new(
                ErrorCode::PasswordPolicy,
                "新しいパスワードは現在のものと違うものにしてください。",
            ));
        }
        // Re-wrap the ledger key under the new password; the ledger itself is not re-encrypted.
        let new_wraps = self.wraps_with_user(&inner, actor.login_id(), &req.new_password)?;
        actor
            .ledger
            .mutate(|m| {
                m.set_password_hash(actor.user.id, &hash)?;
                m.set_sign_in(actor.user.id, &SignInState::default())?;
                m.audit(AuditRecord::new(
                    Some(actor.login_id()),
                    AuditAction::PasswordChanged,
                    Some(actor.login_id()),
                    AuditOutcome::Success,
                ))
                .map(|_| ())
            })
            .map_err(from_ledger)?;
        // The key file follows the committed change (never the other way round); if writing
        // it fails, the next sign-in finds the stale copy and re-wraps it.
        self.keep_wraps(&mut inner, new_wraps);
        tracing::info!(user = actor.user.id, "password changed");
        Ok(())
    }
}
