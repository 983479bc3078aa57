//! Administration: users and roles, settings, the audit log.

use crate::error::{from_ledger, internal, invalid};
use crate::setup::text_field;
use crate::state::{normalise_roles, today_jst, Actor, AppState, Inner, Status};
use sesshu_domain::account::{is_lasting_administrator, validate_login_id};
use sesshu_domain::audit::{AuditAction, AuditOutcome};
use sesshu_domain::role::Role;
use sesshu_ipc::{
    names, AuditEntryView, AuditListRequest, AuditVerifyReport, CommandError, ErrorCode, LogLevel,
    Settings, SettingsUpdateRequest, UserCreateRequest, UserDisableRequest, UserRef,
    UserSetRolesRequest, UserSummary,
};
use sesshu_ledger::accounts::{NewUser, User};
use sesshu_ledger::audit::AuditRecord;
use sesshu_ledger::Ledger;

fn summary(u: User, now: chrono::DateTime<chrono::Utc>) -> UserSummary {
    let active = u.is_active(now, today_jst(now));
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

fn find(ledger: &Ledger, login_id: &str) -> Result<User, CommandError> {
    ledger
        .read(|r| r.user_by_login(login_id.trim()))
        .map_err(from_ledger)?
        .ok_or_else(|| {
            CommandError::new(ErrorCode::UserNotFound, "その利用者は登録されていません。")
        })
}

fn lasting_administrator(u: &User) -> bool {
    is_lasting_administrator(&u.roles, u.disabled_at, u.disabled_from)
}

/// Refuses a change that would leave the terminal without an administrator on any later day
/// (the rule: [`is_lasting_administrator`]).
fn keep_an_administrator(
    ledger: &Ledger,
    target: &User,
    target_after_is_lasting_admin: bool,
) -> Result<(), CommandError> {
    if target_after_is_lasting_admin {
        return Ok(());
    }
    let others = ledger
        .read(|r| r.users())
        .map_err(from_ledger)?
        .into_iter()
        .filter(|u| u.id != target.id && lasting_administrator(u))
        .count();
    if others == 0 {
        return Err(CommandError::new(
            ErrorCode::LastAdministrator,
            "この変更をすると、管理者がいない期間ができます。停止予定のない管理者を先に別に登録してください。",
        ));
    }
    Ok(())
}

fn roles_json(roles: &[Role]) -> serde_json::Value {
    serde_json::Value::Array(roles.iter().map(|r| r.code().into()).collect())
}

impl AppState {
    /// Drops the wrapped key copies of users who are no longer active (disabled now, or
    /// whose scheduled disable date has come), so their password cannot recover the ledger
    /// key. Runs at start, at every sign-in and after a disable.
    pub(crate) fn prune_inactive_wraps(&self, inner: &mut Inner) {
        let Status::Ready { ledger, wraps } = &inner.status else {
            return;
        };
        let now = self.now();
        let users = match ledger.read(|r| r.users()) {
            Ok(u) => u,
            Err(e) => {
                tracing::error!(error = %e, "cannot list users to prune key copies");
                return;
            }
        };
        let mut new_wraps = wraps.clone();
        let mut removed = 0;
        for u in users
            .iter()
            .filter(|u| !u.is_active(now, today_jst(now)) && wraps.has_user(&u.login_id))
        {
            new_wraps.remove_user(&u.login_id);
            removed += 1;
        }
        if removed > 0 {
            tracing::info!(removed, "key copies of inactive users removed");
            self.keep_wraps(inner, new_wraps);
        }
    }

    pub fn users_list(&self) -> Result<Vec<UserSummary>, CommandError> {
        let mut inner = self.lock();
        let actor = self.actor(&mut inner, names::USERS_LIST)?;
        let now = self.now();
        Ok(actor
            .ledger
            .read(|r| r.users())
            .map_err(from_ledger)?
            .into_iter()
            .map(|u| summary(u, now))
            .collect())
    }

    pub fn user_create(&self, req: UserCreateRequest) -> Result<UserSummary, CommandError> {
        let mut inner = self.lock();
        let actor = self.actor(&mut inner, names::USER_CREATE)?;
        let login_id = req.login_id.trim().to_owned();
        validate_login_id(&login_id).map_err(|e| invalid(e.to_string()))?;
        let display_name = text_field(&req.display_name, "氏名", 50)?;
        let roles = normalise_roles(&req.roles)?;
        let hash =
            crate::session::new_password_hash(&actor.ledger, &req.initial_password, &login_id)?;
        let new_wraps = self.wraps_with_user(&inner, &login_id, &req.initial_password)?;
        let user = actor
            .ledger
            .mutate(|m| {
                if m.reader().user_by_login(&login_id)?.is_some() {
                    return Ok(None);
                }
                let u = m.insert_user(&NewUser {
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
                Ok(Some(u))
            })
            .or_else(|e| match e {
                // Nothing was written: the id exists (ids are never reused).
                sesshu_ledger::LedgerError::Unaudited => Ok(None),
                other => Err(other),
            })
            .map_err(from_ledger)?;
        let Some(user) = user else {
            return Err(CommandError::new(
                ErrorCode::LoginIdTaken,
                "このログインIDは既に使われています（停止中の利用者を含め、IDは再利用できません）。",
            ));
        };
        self.keep_wraps(&mut inner, new_wraps);
        tracing::info!(actor = actor.user.id, user = user.id, "user created");
        Ok(summary(user, self.now()))
    }

    pub fn user_set_roles(&self, req: UserSetRolesRequest) -> Result<UserSummary, CommandError> {
        let mut inner = self.lock();
        let actor = self.actor(&mut inner, names::USER_SET_ROLES)?;
        let target = find(&actor.ledger, &req.login_id)?;
        let roles = normalise_roles(&req.roles)?;
        let target_after = User {
            roles: roles.clone(),
            ..target.clone()
        };
        keep_an_administrator(&actor.ledger, &target, lasting_administrator(&target_after))?;
        self.mutate_user(&actor, &target, |m| {
            m.replace_roles(target.id, &roles)?;
            m.audit(
                AuditRecord::new(Some(actor.login_id()), AuditAction::UserRolesChanged, Some(&target.login_id), AuditOutcome::Success)
                    .with_detail(serde_json::json!({ "before": roles_json(&target.roles), "after": roles_json(&roles) })),
            )
        })
    }

    pub fn user_disable(&self, req: UserDisableRequest) -> Result<UserSummary, CommandError> {
        let mut inner = self.lock();
        let actor = self.actor(&mut inner, names::USER_DISABLE)?;
        let target = find(&actor.ledger, &req.login_id)?;
        let now = self.now();
        let today = today_jst(now);
        match req.from {
            Some(d) if d < today => {
                return Err(invalid("停止日は今日以降の日付を指定してください。"));
            }
            Some(d) if d > today => {
                // A scheduled disable still leaves the account usable until then, but the
                // terminal must keep an administrator after that date too.
                if target.roles.contains(&Role::Administrator) {
                    keep_an_administrator(&actor.ledger, &target, false)?;
                }
                let summary = self.mutate_user(&actor, &target, |m| {
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
                })?;
                return Ok(summary);
            }
            _ => {}
        }
        if target.roles.contains(&Role::Administrator) {
            keep_an_administrator(&actor.ledger, &target, false)?;
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
        // A disabled user's password must no longer unwrap the ledger key.
        self.prune_inactive_wraps(&mut inner);
        if inner
            .session
            .as_ref()
            .is_some_and(|s| s.user_id == target.id)
        {
            inner.session = None;
        }
        Ok(summary)
    }

    pub fn user_enable(&self, req: UserRef) -> Result<UserSummary, CommandError> {
        let mut inner = self.lock();
        let actor = self.actor(&mut inner, names::USER_ENABLE)?;
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

    fn mutate_user(
        &self,
        actor: &Actor,
        target: &User,
        f: impl FnOnce(
            &mut sesshu_ledger::Mutation<'_>,
        ) -> Result<sesshu_ledger::audit::AuditEntry, sesshu_ledger::LedgerError>,
    ) -> Result<UserSummary, CommandError> {
        actor
            .ledger
            .mutate(|m| f(m).map(|_| ()))
            .map_err(from_ledger)?;
        tracing::info!(actor = actor.user.id, user = target.id, "user changed");
        Ok(summary(find(&actor.ledger, &target.login_id)?, self.now()))
    }

    pub fn settings_get(&self) -> Result<Settings, CommandError> {
        let mut inner = self.lock();
        let actor = self.actor(&mut inner, names::SETTINGS_GET)?;
        Self::settings_of(&actor.ledger)
    }

    fn settings_of(ledger: &Ledger) -> Result<Settings, CommandError> {
        let policy = ledger.read(|r| r.security_policy()).map_err(from_ledger)?;
        let level = ledger
            .read(|r| r.setting(sesshu_ledger::settings::LOG_LEVEL))
            .map_err(from_ledger)?
            .and_then(|s| LogLevel::parse(&s))
            .unwrap_or(LogLevel::Info);
        let terminal = Self::terminal_info(ledger)?.ok_or_else(|| internal("terminal"))?;
        Ok(Settings {
            policy,
            log_level: level,
            terminal,
        })
    }

    pub fn settings_update(&self, req: SettingsUpdateRequest) -> Result<Settings, CommandError> {
        let mut inner = self.lock();
        let actor = self.actor(&mut inner, names::SETTINGS_UPDATE)?;
        req.policy.validate().map_err(|e| invalid(e.to_string()))?;
        let before = Self::settings_of(&actor.ledger)?;
        actor
            .ledger
            .mutate(|m| {
                m.put_security_policy(&req.policy)?;
                m.put_setting(sesshu_ledger::settings::LOG_LEVEL, req.log_level.as_str())?;
                m.audit(
                    AuditRecord::new(
                        Some(actor.login_id()),
                        AuditAction::SettingsChanged,
                        Some("security_policy"),
                        AuditOutcome::Success,
                    )
                    .with_detail(serde_json::json!({
                        "before": { "policy": before.policy, "log_level": before.log_level },
                        "after": { "policy": req.policy, "log_level": req.log_level },
                    })),
                )
                .map(|_| ())
            })
            .map_err(from_ledger)?;
        if let Some(set) = &self.log_level {
            set(req.log_level);
        }
        tracing::info!(
            actor = actor.user.id,
            level = req.log_level.as_str(),
            "settings changed"
        );
        Self::settings_of(&actor.ledger)
    }

    pub fn audit_list(&self, req: AuditListRequest) -> Result<Vec<AuditEntryView>, CommandError> {
        let mut inner = self.lock();
        let actor = self.actor(&mut inner, names::AUDIT_LIST)?;
        let entries = actor
            .ledger
            .read(|r| r.audit_page(req.limit.clamp(1, 500), req.before_seq))
            .map_err(from_ledger)?;
        Ok(entries
            .into_iter()
            .map(|e| {
                let action = AuditAction::from_code(e.action);
                AuditEntryView {
                    at: e.at_utc().unwrap_or_default(),
                    seq: e.seq,
                    terminal_id: e.terminal_id,
                    actor: e.actor,
                    action_code: e.action,
                    action_label: action
                        .map(|a| a.label_ja().to_owned())
                        .unwrap_or_else(|| format!("不明な操作 {}", e.action)),
                    target: e.target,
                    outcome: AuditOutcome::from_code(e.outcome).unwrap_or(AuditOutcome::Failed),
                }
            })
            .collect())
    }

    pub fn audit_verify(&self) -> Result<AuditVerifyReport, CommandError> {
        let mut inner = self.lock();
        let actor = self.actor(&mut inner, names::AUDIT_VERIFY)?;
        let rep = actor
            .ledger
            .read(|r| r.verify_audit_chain())
            .map_err(from_ledger)?;
        Self::audit_only(
            &actor.ledger,
            AuditRecord::new(
                Some(actor.login_id()),
                AuditAction::AuditChainVerified,
                None,
                if rep.first_broken_seq.is_none() { AuditOutcome::Success } else { AuditOutcome::Failed },
            )
            .with_detail(serde_json::json!({ "checked": rep.entries_checked, "first_broken_seq": rep.first_broken_seq })),
        )?;
        if let Some(seq) = rep.first_broken_seq {
            tracing::error!(seq, "audit chain broken");
        }
        Ok(AuditVerifyReport {
            entries_checked: rep.entries_checked,
            first_broken_seq: rep.first_broken_seq,
            head_hash: hex_string(&rep.head_hash),
        })
    }
}

fn hex_string(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
