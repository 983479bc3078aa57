//! Administration of users and roles.

use crate::authz::Actor;
use crate::error::{Error, Field, Result};
use crate::session::new_password_hash;
use crate::setup::name_field;
use crate::terminal::{Inner, Terminal};
use chrono::{DateTime, Utc};
use sesshu_domain::account::SignInState;
use sesshu_domain::account::{
    canonical_login_id, disable_when, is_lasting_administrator, validate_login_id, DisableWhen,
};
use sesshu_domain::audit::{AuditAction, AuditOutcome};
use sesshu_domain::role::{normalize_roles, Role};
use sesshu_ipc::{
    cmd, UserCreateRequest, UserDisableRequest, UserRef, UserResetPasswordRequest,
    UserSetRolesRequest, UserSummary,
};
use sesshu_ledger::accounts::{NewUser, User};
use sesshu_ledger::audit::{AuditEntry, AuditRecord};
use sesshu_ledger::{Ledger, LedgerError, Mutation};

fn summary(u: User, now: DateTime<Utc>, today: chrono::NaiveDate) -> UserSummary {
    let active = u.is_active(now, today);
    UserSummary {
        active,
        login_id: u.login_id,
        display_name: u.display_name,
        roles: u.roles,
        disabled_at: u.disabled_at,
        disabled_from: u.disabled_from,
        locked_until: u.sign_in.locked_until.filter(|t| *t > now),
        created_at: u.created_at,
    }
}

fn find(ledger: &Ledger, login_id: &str) -> Result<User> {
    ledger
        .read(|r| r.user_by_login(&canonical_login_id(login_id)))?
        .ok_or(Error::UserNotFound)
}

pub(crate) fn lasting_administrator(u: &User) -> bool {
    is_lasting_administrator(&u.roles, u.disabled_at, u.disabled_from)
}

/// Refuses a change that would leave the terminal without an administrator on any later day
/// (the rule: [`is_lasting_administrator`]).
fn keep_an_administrator(
    ledger: &Ledger,
    target: &User,
    target_after_is_lasting_admin: bool,
) -> Result<()> {
    if target_after_is_lasting_admin {
        return Ok(());
    }
    let others = ledger
        .read(|r| r.users())?
        .into_iter()
        .filter(|u| u.id != target.id && lasting_administrator(u))
        .count();
    if others == 0 {
        return Err(Error::LastAdministrator);
    }
    Ok(())
}

fn roles_json(roles: &[Role]) -> serde_json::Value {
    serde_json::Value::Array(roles.iter().map(|r| r.code().into()).collect())
}

impl Terminal {
    pub fn users_list(&self) -> Result<Vec<UserSummary>> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::UsersList>(&mut inner)?;
        let (now, today) = (self.now(), self.today());
        Ok(actor
            .ledger
            .read(|r| r.users())?
            .into_iter()
            .map(|u| summary(u, now, today))
            .collect())
    }

    pub fn user_create(&self, req: UserCreateRequest) -> Result<UserSummary> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::UserCreate>(&mut inner)?;
        let login_id = canonical_login_id(&req.login_id);
        validate_login_id(&login_id)?;
        let display_name = name_field(&req.display_name, Field::DisplayName)?;
        let roles = normalize_roles(&req.roles)?;
        // Ids are never reused, not even those of disabled users. The state lock keeps any
        // other use case from creating the same id between this check and the insert.
        if actor.ledger.read(|r| r.user_by_login(&login_id))?.is_some() {
            return Err(Error::LoginIdTaken);
        }
        let hash = new_password_hash(
            self.deriver.as_ref(),
            &actor.ledger,
            &req.initial_password,
            &login_id,
        )?;
        let new_wraps = self.wraps_with_user(&inner, &login_id, &roles, &req.initial_password)?;
        let user = actor.ledger.mutate(|m| {
            let u = m.insert_user(&NewUser {
                // The administrator chose it: the holder changes it at the first sign-in.
                must_change_password: true,
                login_id: &login_id,
                display_name: &display_name,
                password_hash: &hash,
                roles: &roles,
            })?;
            m.audit(
                AuditRecord::new(
                    Some(actor.login_id()),
                    AuditAction::UserCreated,
                    Some(&login_id),
                    AuditOutcome::Success,
                )
                .with_detail(serde_json::json!({ "roles": roles_json(&roles) })),
            )?;
            Ok(u)
        })?;
        if let Some(w) = new_wraps {
            self.keep_wraps(&mut inner, w);
        }
        tracing::info!(actor = actor.user.id, user = user.id, "user created");
        Ok(summary(user, self.now(), self.today()))
    }

    pub fn user_set_roles(&self, req: UserSetRolesRequest) -> Result<UserSummary> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::UserSetRoles>(&mut inner)?;
        let target = find(&actor.ledger, &req.login_id)?;
        let roles = normalize_roles(&req.roles)?;
        let target_after = User {
            roles: roles.clone(),
            ..target.clone()
        };
        keep_an_administrator(&actor.ledger, &target, lasting_administrator(&target_after))?;
        let summary = self.mutate_user(&actor, &target, |m| {
            m.replace_roles(target.id, &roles)?;
            m.audit(
                AuditRecord::new(
                    Some(actor.login_id()),
                    AuditAction::UserRolesChanged,
                    Some(&target.login_id),
                    AuditOutcome::Success,
                )
                .with_detail(serde_json::json!({
                    "before": roles_json(&target.roles),
                    "after": roles_json(&roles),
                })),
            )
        })?;
        // A user who is no longer an administrator loses the key copy at once; a new
        // administrator gets one at the next sign-in (the password is needed to make it).
        self.prune_inactive_wraps(&mut inner);
        Ok(summary)
    }

    pub fn user_disable(&self, req: UserDisableRequest) -> Result<UserSummary> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::UserDisable>(&mut inner)?;
        let target = find(&actor.ledger, &req.login_id)?;
        let now = self.now();
        let when = disable_when(req.from, self.today())?;
        // Even a scheduled disable leaves the account usable only until then: the terminal
        // must keep an administrator after that date too.
        if target.roles.contains(&Role::Administrator) {
            keep_an_administrator(&actor.ledger, &target, false)?;
        }
        if let DisableWhen::From(d) = when {
            return self.mutate_user(&actor, &target, |m| {
                m.set_disabled(target.id, None, Some(d))?;
                m.audit(
                    AuditRecord::new(
                        Some(actor.login_id()),
                        AuditAction::UserDisableScheduled,
                        Some(&target.login_id),
                        AuditOutcome::Success,
                    )
                    .with_detail(serde_json::json!({ "from": d.to_string() })),
                )
            });
        }
        let summary = self.mutate_user(&actor, &target, |m| {
            m.set_disabled(target.id, Some(now), None)?;
            m.audit(AuditRecord::new(
                Some(actor.login_id()),
                AuditAction::UserDisabled,
                Some(&target.login_id),
                AuditOutcome::Success,
            ))
        })?;
        self.after_disable(&mut inner, &target);
        Ok(summary)
    }

    /// A disabled user's password must no longer unwrap the ledger key, and their session
    /// (if it is the current one) ends.
    fn after_disable(&self, inner: &mut Inner, target: &User) {
        self.prune_inactive_wraps(inner);
        if inner
            .session
            .as_ref()
            .is_some_and(|s| s.user_id == target.id)
        {
            inner.session = None;
        }
    }

    pub fn user_enable(&self, req: UserRef) -> Result<UserSummary> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::UserEnable>(&mut inner)?;
        let target = find(&actor.ledger, &req.login_id)?;
        self.mutate_user(&actor, &target, |m| {
            m.set_disabled(target.id, None, None)?;
            m.audit(AuditRecord::new(
                Some(actor.login_id()),
                AuditAction::UserEnabled,
                Some(&target.login_id),
                AuditOutcome::Success,
            ))
        })
    }

    /// Lifts a lockout at once (an administrator who checked who is asking).
    pub fn user_unlock(&self, req: UserRef) -> Result<UserSummary> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::UserUnlock>(&mut inner)?;
        let target = find(&actor.ledger, &req.login_id)?;
        self.mutate_user(&actor, &target, |m| {
            m.set_sign_in(target.id, &SignInState::default())?;
            m.audit(AuditRecord::new(
                Some(actor.login_id()),
                AuditAction::UserUnlocked,
                Some(&target.login_id),
                AuditOutcome::Success,
            ))
        })
    }

    /// Sets a temporary password for someone who forgot theirs: the lockout is lifted and the
    /// holder must change it at the next sign-in. An administrator's key copy follows it.
    pub fn user_reset_password(&self, req: UserResetPasswordRequest) -> Result<UserSummary> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::UserResetPassword>(&mut inner)?;
        let target = find(&actor.ledger, &req.login_id)?;
        let hash = new_password_hash(
            self.deriver.as_ref(),
            &actor.ledger,
            &req.temporary_password,
            &target.login_id,
        )?;
        let new_wraps = self.wraps_with_user(
            &inner,
            &target.login_id,
            &target.roles,
            &req.temporary_password,
        )?;
        let summary = self.mutate_user(&actor, &target, |m| {
            m.set_password_hash(target.id, &hash, true)?;
            m.set_sign_in(target.id, &SignInState::default())?;
            m.audit(AuditRecord::new(
                Some(actor.login_id()),
                AuditAction::UserPasswordReset,
                Some(&target.login_id),
                AuditOutcome::Success,
            ))
        })?;
        if let Some(w) = new_wraps {
            self.keep_wraps(&mut inner, w);
        }
        Ok(summary)
    }

    fn mutate_user(
        &self,
        actor: &Actor,
        target: &User,
        f: impl FnOnce(&mut Mutation<'_>) -> std::result::Result<AuditEntry, LedgerError>,
    ) -> Result<UserSummary> {
        actor.ledger.mutate(|m| f(m).map(|_| ()))?;
        tracing::info!(actor = actor.user.id, user = target.id, "user changed");
        Ok(summary(
            find(&actor.ledger, &target.login_id)?,
            self.now(),
            self.today(),
        ))
    }
}
