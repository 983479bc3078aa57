//! The backend check behind every command: its access rule comes from the command's
//! definition in the contract ([`sesshu_ipc::Command::ACCESS`]); the UI's hiding of buttons
//! is a convenience, never the check.

use crate::error::{Error, Result};
use crate::terminal::{audit_only, ready, Inner, Session, Terminal};
use chrono::{DateTime, Utc};
use sesshu_domain::audit::{AuditAction, AuditOutcome};
use sesshu_ipc::{cmd, Access, Command, SessionInfo, SessionState};
use sesshu_ledger::accounts::User;
use sesshu_ledger::audit::AuditRecord;
use sesshu_ledger::Ledger;
use std::sync::Arc;

/// What a session may do while its password (set by an administrator) waits to be changed.
const WHILE_PASSWORD_CHANGE_PENDING: [&str; 3] = [
    <cmd::ChangePassword as Command>::NAME,
    <cmd::SessionActivity as Command>::NAME,
    <cmd::LockSession as Command>::NAME,
];

/// A caller that passed the terminal's permission check: the signed-in user and the open
/// ledger. The use cases of [`crate::keying`] take one, so a tool holding its own ledger (the
/// benchmark) runs exactly the code the commands run.
pub struct Actor {
    pub(crate) user: User,
    pub(crate) ledger: Arc<Ledger>,
}

impl Actor {
    /// An actor without the session check: for tools that opened the ledger themselves and
    /// act as one of its users (the benchmark). The commands never build one this way; the
    /// domain's role and different-person rules still apply to `user`.
    pub fn unchecked(user: User, ledger: Arc<Ledger>) -> Actor {
        Actor { user, ledger }
    }

    pub fn login_id(&self) -> &str {
        &self.user.login_id
    }
}

/// Locks an active session that has been idle past the policy, auditing it once.
pub(crate) fn apply_idle_lock(
    ledger: &Ledger,
    session: &mut Session,
    now: DateTime<Utc>,
) -> Result<()> {
    if session.locked {
        return Ok(());
    }
    let policy = ledger.read(|r| r.security_policy())?;
    if sesshu_domain::account::idle_lock_due(session.last_activity, now, &policy) {
        session.locked = true;
        audit_only(
            ledger,
            AuditRecord::new(
                Some(&session.login_id),
                AuditAction::SessionLocked,
                Some(&session.login_id),
                AuditOutcome::Success,
            )
            .with_detail(serde_json::json!({ "reason": "idle" })),
        )?;
        tracing::info!(user = session.user_id, "session locked after idle time");
    }
    Ok(())
}

pub(crate) fn session_info(ledger: &Ledger, session: &Session) -> Result<SessionInfo> {
    let user = ledger
        .read(|r| r.user_by_login(&session.login_id))?
        .ok_or(Error::Internal("session user"))?;
    let policy = ledger.read(|r| r.security_policy())?;
    Ok(SessionInfo {
        login_id: user.login_id,
        display_name: user.display_name,
        roles: user.roles,
        state: if session.locked {
            SessionState::Locked
        } else {
            SessionState::Active
        },
        idle_lock_minutes: policy.idle_lock_minutes,
        signed_in_at: session.signed_in_at,
        must_change_password: user.must_change_password,
    })
}

impl Terminal {
    /// Phase, session, idle lock, account still active, and the command's permission.
    /// Refusals of a permission are audited. `None` for an open command.
    pub(crate) fn authorize<C: Command>(&self, inner: &mut Inner) -> Result<Option<Actor>> {
        self.authorize_access(inner, C::NAME, C::ACCESS)
    }

    /// [`Self::authorize`] for a use case named `name` with the access rule `access`: the
    /// services that are not (yet) commands of the contract, such as the headless sync, use
    /// the same check with their permission.
    pub(crate) fn authorize_access(
        &self,
        inner: &mut Inner,
        name: &'static str,
        access: Access,
    ) -> Result<Option<Actor>> {
        if access == Access::Open {
            return Ok(None);
        }
        let ledger = ready(inner)?;
        let now = self.now();
        let today = self.today();
        let Some(session) = inner.session.as_mut() else {
            return Err(Error::NotLoggedIn);
        };
        apply_idle_lock(&ledger, session, now)?;
        let user = ledger
            .read(|r| r.user_by_login(&session.login_id))?
            .ok_or(Error::Internal("session user"))?;
        if !user.is_active(now, today) {
            inner.session = None;
            return Err(Error::AccountDisabled);
        }
        match access {
            Access::Open => Ok(None),
            Access::AnySession => Ok(Some(Actor { user, ledger })),
            Access::Permission(p) => {
                if session.locked {
                    return Err(Error::SessionLocked);
                }
                if user.must_change_password && !WHILE_PASSWORD_CHANGE_PENDING.contains(&name) {
                    return Err(Error::PasswordChangeRequired);
                }
                if !sesshu_domain::role::any_grants(&user.roles, p) {
                    audit_only(
                        &ledger,
                        AuditRecord::new(
                            Some(&user.login_id),
                            AuditAction::PermissionDenied,
                            Some(name),
                            AuditOutcome::Refused,
                        ),
                    )?;
                    tracing::warn!(command = name, user = user.id, "permission denied");
                    return Err(Error::PermissionDenied);
                }
                session.last_activity = now;
                Ok(Some(Actor { user, ledger }))
            }
        }
    }

    /// [`Self::authorize`] for commands that need a session: the actor is always present.
    pub(crate) fn actor<C: Command>(&self, inner: &mut Inner) -> Result<Actor> {
        self.authorize::<C>(inner)?
            .ok_or(Error::Internal("open command used as restricted"))
    }
}
