//! First-run setup, key recovery and the status the UI starts from.

use crate::error::{from_keystore, from_ledger, from_wrap, internal, invalid};
use crate::state::{AppState, Status};
use sesshu_domain::account::{validate_login_id, SecurityPolicy, SignInDecision, SignInState};
use sesshu_domain::audit::{AuditAction, AuditOutcome};
use sesshu_domain::role::Role;
use sesshu_ipc::{
    names, AppStatus, CommandError, ErrorCode, RecoverKeyRequest, SetupRequest, SetupResponse,
};
use sesshu_ledger::accounts::{hash_password, verify_password, NewUser};
use sesshu_ledger::audit::AuditRecord;
use sesshu_ledger::terminal::Terminal;
use sesshu_ledger::{KeyWraps, Ledger, LedgerKey, RecoveryKey};
use std::path::PathBuf;
use std::sync::Arc;

/// Checks a free-text field: trimmed, non-empty, bounded, no control characters.
pub(crate) fn text_field(value: &str, label: &str, max: usize) -> Result<String, CommandError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(invalid(format!("{label}を入力してください。")));
    }
    if v.chars().count() > max {
        return Err(invalid(format!(
            "{label}は{max}文字以内で入力してください。"
        )));
    }
    if v.chars().any(char::is_control) {
        return Err(invalid(format!("{label}に制御文字は使えません。")));
    }
    // The product never stores a 個人番号, not even by mistake in a free-text field.
    sesshu_domain::ids::screen_free_text(v).map_err(|e| invalid(format!("{label}: {e}")))?;
    Ok(v.to_owned())
}

/// 全国地方公共団体コード: 6 digits with its check digit (full-width digits accepted).
pub(crate) fn municipality_code(value: &str) -> Result<String, CommandError> {
    sesshu_domain::ids::MunicipalityCode::parse(value.trim())
        .map(|c| c.as_str().to_owned())
        .map_err(|e| invalid(format!("全国地方公共団体コード: {e}")))
}

fn remove_with_sidecars(p: &std::path::Path) {
    let _ = std::fs::remove_file(p);
    for suffix in ["-wal", "-shm"] {
        let mut s = p.to_path_buf().into_os_string();
        s.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(s));
    }
}

/// Demo users created by the demo profile (fictional staff; shown in README).
pub const DEMO_PASSWORD: &str = "Demo-pass-2026";
pub const DEMO_USERS: [(&str, &str, &[Role]); 4] = [
    ("keyer01", "入力 一郎", &[Role::Keyer]),
    ("keyer02", "入力 二葉", &[Role::Keyer]),
    ("verifier01", "確認 三郎", &[Role::Verifier]),
    ("syncop01", "連携 四季", &[Role::SyncOperator]),
];

impl AppState {
    pub fn app_status(&self) -> Result<AppStatus, CommandError> {
        let mut inner = self.lock();
        let phase = Self::phase(&inner.status);
        let mut terminal = None;
        let mut session = None;
        if let Status::Ready { ledger, .. } = &inner.status {
            let ledger = ledger.clone();
            terminal = Self::terminal_info(&ledger)?;
            let now = self.now();
            if let Some(s) = inner.session.as_mut() {
                Self::apply_idle_lock(&ledger, s, now)?;
                session = Some(Self::session_info(&ledger, s)?);
            }
        }
        Ok(AppStatus {
            phase,
            terminal,
            session,
            demo: self.demo,
        })
    }

    pub fn setup(&self, req: SetupRequest) -> Result<SetupResponse, CommandError> {
        let mut inner = self.lock();
        self.authorize(&mut inner, names::SETUP)?;
        match &inner.status {
            Status::NeedsSetup => {}
            Status::Fatal(e) => return Err(e.clone()),
            _ => {
                return Err(CommandError::new(
                    ErrorCode::AlreadySetUp,
                    "この端末は初期設定済みです。",
                ))
            }
        }
        // Setup only ever starts from an empty profile: a ledger or key file that appeared
        // since start (or survived an earlier attempt) is never overwritten.
        if self.paths.ledger.exists() || self.paths.keys.exists() {
            return Err(CommandError::new(
                ErrorCode::AlreadySetUp,
                "台帳ファイルまたは鍵ファイルが既にあるため、初期設定はできません。アプリを再起動してください。",
            ));
        }
        let municipality_name = text_field(&req.municipality_name, "自治体名", 50)?;
        let municipality_code = municipality_code(&req.municipality_code)?;
        let terminal_name = text_field(&req.terminal_name, "端末名", 50)?;
        let login_id = req.admin_login_id.trim().to_owned();
        validate_login_id(&login_id).map_err(|e| invalid(e.to_string()))?;
        let display_name = text_field(&req.admin_display_name, "氏名", 50)?;
        let policy = SecurityPolicy::default();
        policy
            .check_password(&req.admin_password, &login_id)
            .map_err(|e| CommandError::new(ErrorCode::PasswordPolicy, e.to_string()))?;

        let now = self.now();
        let ledger_id = self.ids.new_id(now).to_string();
        let key = LedgerKey::generate().map_err(from_ledger)?;
        let recovery = RecoveryKey::generate().map_err(from_wrap)?;
        let mut wraps = KeyWraps::new(&ledger_id);
        wraps.set_recovery(&key, &recovery).map_err(from_wrap)?;
        wraps
            .set_user(&key, &login_id, &req.admin_password)
            .map_err(from_wrap)?;
        let password_hash = hash_password(&req.admin_password).map_err(from_ledger)?;

        // The key store first: if it refuses, nothing has been written anywhere.
        self.keystore.set(&ledger_id, &key).map_err(from_keystore)?;

        let build = || -> Result<Terminal, CommandError> {
            remove_with_sidecars(&self.paths.partial);
            std::fs::create_dir_all(&self.paths.data_dir).map_err(|e| {
                tracing::error!(error = %e, "cannot create the data directory");
                internal("data directory")
            })?;
            let ledger = Ledger::create(
                &self.paths.partial,
                &key,
                self.clock.clone(),
                self.ids.clone(),
            )
            .map_err(from_ledger)?;
            let terminal = ledger
                .mutate(|m| {
                    let t = Terminal {
                        terminal_id: m.new_terminal_id(),
                        terminal_name: terminal_name.clone(),
                        municipality_name: municipality_name.clone(),
                        municipality_code: municipality_code.clone(),
                    };
                    m.insert_terminal(&t)?;
                    m.put_security_policy(&policy)?;
                    m.put_setting(sesshu_ledger::settings::LOG_LEVEL, "info")?;
                    m.insert_user(&NewUser {
                        login_id: &login_id,
                        display_name: &display_name,
                        password_hash: &password_hash,
                        roles: &[Role::Administrator],
                    })?;
                    m.audit(
                        AuditRecord::new(
                            Some(&login_id),
                            AuditAction::TerminalSetUp,
                            Some(&t.terminal_id),
                            AuditOutcome::Success,
                        )
                        .with_detail(serde_json::json!({ "municipality_code": municipality_code })),
                    )?;
                    m.audit(
                        AuditRecord::new(
                            Some(&login_id),
                            AuditAction::UserCreated,
                            Some(&login_id),
                            AuditOutcome::Success,
                        )
                        .with_detail(serde_json::json!({ "roles": [Role::Administrator.code()] })),
                    )?;
                    Ok(t)
                })
                .map_err(from_ledger)?;
            ledger.checkpoint().map_err(from_ledger)?;
            drop(ledger);
            wraps.save(&self.paths.keys).map_err(from_wrap)?;
            std::fs::rename(&self.paths.partial, &self.paths.ledger).map_err(|e| {
                tracing::error!(error = %e, "cannot move the new ledger into place");
                internal("ledger rename")
            })?;
            Ok(terminal)
        };
        let terminal = match build() {
            Ok(t) => t,
            Err(e) => {
                // Undo only what this call created.
                remove_with_sidecars(&self.paths.partial);
                if !self.paths.ledger.exists() {
                    let _ = std::fs::remove_file(&self.paths.keys);
                }
                let _ = self.keystore.delete(&ledger_id);
                return Err(e);
            }
        };
        let ledger = match Ledger::open(
            &self.paths.ledger,
            &key,
            self.clock.clone(),
            self.ids.clone(),
        ) {
            Ok(l) => l,
            Err(e) => {
                // The ledger is in place but does not open: stop here, never set up again
                // over it.
                let e = from_ledger(e);
                inner.status = Status::Fatal(e.clone());
                return Err(e);
            }
        };
        inner.status = Status::Ready {
            ledger: Arc::new(ledger),
            wraps,
        };
        inner.session = None;
        tracing::info!(keystore = self.keystore.backend(), "terminal set up");
        Ok(SetupResponse {
            recovery_key: recovery.display().to_string(),
            terminal: sesshu_ipc::TerminalInfo {
                municipality_name: terminal.municipality_name,
                municipality_code: terminal.municipality_code,
                terminal_name: terminal.terminal_name,
                terminal_id: terminal.terminal_id,
            },
        })
    }

    pub fn recover_key(&self, req: RecoverKeyRequest) -> Result<(), CommandError> {
        let mut inner = self.lock();
        self.authorize(&mut inner, names::RECOVER_KEY)?;
        let Status::KeyMissing { wraps } = &inner.status else {
            return Err(CommandError::new(
                ErrorCode::InvalidInput,
                "台帳鍵の復旧は必要ありません。",
            ));
        };
        let wraps = wraps.clone();
        // The ledger cannot be read (and so cannot hold a counter) until the key is back: the
        // attempt limit lives in memory and uses the default lockout policy, so the recovery
        // key or a password cannot be guessed at the speed of the KDF.
        let now = self.now();
        if let SignInDecision::Locked { until } = inner.recovery_attempts.before_attempt(now) {
            tracing::warn!("key recovery refused: too many failed attempts");
            return Err(CommandError::new(
                ErrorCode::RecoveryFailed,
                format!(
                    "復旧に続けて失敗したため、{}まで受け付けません。",
                    until.with_timezone(&crate::state::jst()).format("%H時%M分")
                ),
            ));
        }
        let (ledger, key, actor, method) = match self.try_recover(&wraps, &req) {
            Ok(found) => found,
            Err(e) => {
                if e.code == ErrorCode::RecoveryFailed {
                    let (next, now_locked) = inner
                        .recovery_attempts
                        .after_failure(&SecurityPolicy::default(), now);
                    inner.recovery_attempts = next;
                    tracing::warn!(now_locked, "key recovery attempt failed");
                }
                return Err(e);
            }
        };
        let failed_before = inner.recovery_attempts.failed_attempts;
        self.keystore
            .set(wraps.ledger_id(), &key)
            .map_err(from_keystore)?;
        ledger
            .mutate(|m| {
                m.audit(
                    AuditRecord::new(
                        actor.as_deref(),
                        AuditAction::LedgerKeyRecovered,
                        None,
                        AuditOutcome::Success,
                    )
                    .with_detail(serde_json::json!({
                        "method": method,
                        "failed_attempts_before": failed_before,
                    })),
                )
            })
            .map_err(from_ledger)?;
        tracing::warn!(method, "ledger key restored to the key store");
        inner.recovery_attempts = SignInState::default();
        inner.status = Status::Ready {
            ledger: Arc::new(ledger),
            wraps,
        };
        Ok(())
    }

    /// Unwraps the ledger key with what the person typed and proves it by opening the ledger.
    /// A wrong secret is `RecoveryFailed`.
    #[allow(clippy::type_complexity)]
    fn try_recover(
        &self,
        wraps: &KeyWraps,
        req: &RecoverKeyRequest,
    ) -> Result<(Ledger, LedgerKey, Option<String>, &'static str), CommandError> {
        let (key, actor, method) = match req {
            RecoverKeyRequest::RecoveryKey { recovery_key } => {
                let rk = RecoveryKey::parse(recovery_key).ok_or_else(|| {
                    CommandError::new(
                        ErrorCode::RecoveryFailed,
                        "回復キーの形式が正しくありません（英数字32文字）。",
                    )
                })?;
                (
                    wraps.unwrap_with_recovery(&rk).map_err(from_wrap)?,
                    None,
                    "recovery_key",
                )
            }
            RecoverKeyRequest::Administrator { login_id, password } => (
                wraps
                    .unwrap_with_password(login_id.trim(), password)
                    .map_err(from_wrap)?,
                Some(login_id.trim().to_owned()),
                "administrator",
            ),
        };
        let ledger = Ledger::open(
            &self.paths.ledger,
            &key,
            self.clock.clone(),
            self.ids.clone(),
        )
        .map_err(from_ledger)?;
        if let (Some(login_id), RecoverKeyRequest::Administrator { password, .. }) = (&actor, req) {
            // A wrapped copy alone is not enough: the account must still be an active,
            // not locked-out administrator whose current password this is.
            let now = self.now();
            let ok = ledger
                .read(|r| r.user_by_login(login_id))
                .map_err(from_ledger)?
                .is_some_and(|u| {
                    u.is_active(now, crate::state::today_jst(now))
                        && u.roles.contains(&Role::Administrator)
                        && matches!(u.sign_in.before_attempt(now), SignInDecision::Proceed)
                        && verify_password(&u.password_hash, password)
                });
            if !ok {
                return Err(from_wrap(sesshu_ledger::WrapError::Rejected));
            }
        }
        Ok((ledger, key, actor, method))
    }

    /// Demo profile: a terminal that is set up with fictional staff on first start, so the
    /// app can be tried at once. Never used outside `SESSHU_PROFILE=demo`.
    pub fn seed_demo(&self) -> Result<(), CommandError> {
        if !matches!(self.lock().status, Status::NeedsSetup) {
            return Ok(());
        }
        self.setup(SetupRequest {
            municipality_name: "デモ市".into(),
            municipality_code: "041009".into(),
            terminal_name: "デモ端末".into(),
            admin_login_id: "admin01".into(),
            admin_display_name: "管理 花子".into(),
            admin_password: DEMO_PASSWORD.into(),
        })?;
        let mut inner = self.lock();
        let Status::Ready { ledger, wraps } = &mut inner.status else {
            return Err(internal("demo seed"));
        };
        let ledger = ledger.clone();
        let key = self
            .keystore
            .get(wraps.ledger_id())
            .map_err(from_keystore)?
            .ok_or_else(|| internal("demo key"))?;
        let hash = hash_password(DEMO_PASSWORD).map_err(from_ledger)?;
        for (login_id, name, roles) in DEMO_USERS {
            wraps
                .set_user(&key, login_id, DEMO_PASSWORD)
                .map_err(from_wrap)?;
            ledger
                .mutate(|m| {
                    m.insert_user(&NewUser {
                        login_id,
                        display_name: name,
                        password_hash: &hash,
                        roles,
                    })?;
                    m.audit(
                        AuditRecord::new(Some("admin01"), AuditAction::UserCreated, Some(login_id), AuditOutcome::Success)
                            .with_detail(serde_json::json!({ "roles": roles.iter().map(|r| r.code()).collect::<Vec<_>>(), "demo": true })),
                    )
                })
                .map_err(from_ledger)?;
        }
        wraps.save(&self.paths.keys).map_err(from_wrap)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn municipality_codes() {
        // Worked examples of japan-standards.md §6.1.
        for ok in ["041009", "131016", "272078", "011002"] {
            assert_eq!(municipality_code(ok).unwrap(), ok);
        }
        assert_eq!(
            municipality_code("１３１０１６").unwrap(),
            "131016",
            "full-width digits"
        );
        assert!(municipality_code("131010").is_err(), "wrong check digit");
        assert!(municipality_code("13101").is_err(), "5 digits");
        assert!(municipality_code("13101a").is_err());
    }
}
