//! The terminal's application state: which phase it is in, the open ledger, the session.
//!
//! Every command goes through [`AppState::authorize`] (or is listed as open in
//! [`crate::access`]); the UI's hiding of buttons is a convenience, never the check.

use crate::access::{access, Access};
use crate::error::{from_keystore, from_ledger, internal};
use chrono::{DateTime, FixedOffset, NaiveDate, Offset as _, Utc};
use sesshu_domain::audit::{AuditAction, AuditOutcome};
use sesshu_domain::role::Role;
use sesshu_ipc::{
    CommandError, ErrorCode, LogLevel, Phase, SessionInfo, SessionState, TerminalInfo,
};
use sesshu_ledger::accounts::User;
use sesshu_ledger::audit::AuditRecord;
use sesshu_ledger::{Clock, IdGen, KeyStore, KeyWraps, Ledger};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// Files of one terminal profile.
#[derive(Debug, Clone)]
pub struct Paths {
    pub data_dir: PathBuf,
    pub ledger: PathBuf,
    pub keys: PathBuf,
    /// Where setup builds the ledger before moving it into place.
    pub partial: PathBuf,
    pub logs: PathBuf,
}

impl Paths {
    pub fn in_dir(dir: &Path) -> Paths {
        Paths {
            data_dir: dir.to_owned(),
            ledger: dir.join("ledger.db"),
            keys: dir.join("ledger.keys"),
            partial: dir.join("ledger.db.setup"),
            logs: dir.join("logs"),
        }
    }
}

pub(crate) enum Status {
    NeedsSetup,
    KeyMissing {
        wraps: KeyWraps,
    },
    Ready {
        ledger: Arc<Ledger>,
        wraps: KeyWraps,
    },
    Fatal(CommandError),
}

pub(crate) struct Session {
    pub user_id: i64,
    pub login_id: String,
    pub signed_in_at: DateTime<Utc>,
    pub last_activity: DateTime<Utc>,
    pub locked: bool,
}

pub(crate) struct Inner {
    pub status: Status,
    pub session: Option<Session>,
    /// Failed key recoveries since start (the ledger cannot record them until it opens).
    pub recovery_attempts: sesshu_domain::account::SignInState,
}

/// Applies a new log level to the running subscriber.
pub type LogLevelSetter = Arc<dyn Fn(LogLevel) + Send + Sync>;

pub struct AppState {
    pub(crate) paths: Paths,
    pub(crate) keystore: Arc<dyn KeyStore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) ids: Arc<dyn IdGen>,
    pub(crate) demo: bool,
    pub(crate) log_level: Option<LogLevelSetter>,
    inner: Mutex<Inner>,
}

/// Japan has no daylight saving time: JST is always UTC+9.
pub(crate) fn jst() -> FixedOffset {
    FixedOffset::east_opt(9 * 3600).unwrap_or_else(|| Utc.fix())
}

/// The calendar date in Japan at `now`.
pub(crate) fn today_jst(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&jst()).date_naive()
}

/// A caller that passed [`AppState::authorize`].
pub(crate) struct Actor {
    pub user: User,
    pub ledger: Arc<Ledger>,
}

impl Actor {
    pub fn login_id(&self) -> &str {
        &self.user.login_id
    }
}

impl AppState {
    /// Looks at the files and the key store and decides the phase. Never creates, deletes or
    /// repairs a ledger; only leftovers of an interrupted setup are removed.
    pub fn start(
        paths: Paths,
        keystore: Arc<dyn KeyStore>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGen>,
        demo: bool,
        log_level: Option<LogLevelSetter>,
    ) -> AppState {
        let status = Self::detect(&paths, keystore.as_ref(), &clock, &ids);
        match &status {
            Status::NeedsSetup => tracing::info!(phase = "needs_setup", "terminal started"),
            Status::KeyMissing { .. } => tracing::warn!(phase = "key_missing", "terminal started"),
            Status::Ready { .. } => tracing::info!(
                phase = "ready",
                keystore = keystore.backend(),
                "terminal started"
            ),
            Status::Fatal(e) => {
                tracing::error!(phase = "fatal", code = ?e.code, "terminal started")
            }
        }
        let state = AppState {
            paths,
            keystore,
            clock,
            ids,
            demo,
            log_level,
            inner: Mutex::new(Inner {
                status,
                session: None,
                recovery_attempts: Default::default(),
            }),
        };
        state.apply_stored_log_level();
        {
            let mut inner = state.lock();
            state.prune_inactive_wraps(&mut inner);
        }
        state
    }

    fn detect(
        paths: &Paths,
        keystore: &dyn KeyStore,
        clock: &Arc<dyn Clock>,
        ids: &Arc<dyn IdGen>,
    ) -> Status {
        let ledger_exists = paths.ledger.exists();
        if !ledger_exists && paths.partial.exists() {
            // Setup was interrupted before the ledger moved into place: its files hold nothing
            // but the setup itself, so they are discarded and setup starts over.
            tracing::warn!("removing the leftovers of an interrupted setup");
            for p in [&paths.partial, &paths.keys] {
                let _ = std::fs::remove_file(p);
            }
            for suffix in ["-wal", "-shm"] {
                let mut p = paths.partial.clone().into_os_string();
                p.push(suffix);
                let _ = std::fs::remove_file(PathBuf::from(p));
            }
        }
        let wraps = match KeyWraps::load(&paths.keys) {
            Ok(w) => w,
            Err(e) => return Status::Fatal(crate::error::from_wrap(e)),
        };
        match (ledger_exists, wraps) {
            (false, None) => {
                // Setup will need the key store: refuse now rather than after the form is filled.
                match keystore.get("availability-probe") {
                    Ok(_) => Status::NeedsSetup,
                    Err(e) => Status::Fatal(from_keystore(e)),
                }
            }
            (false, Some(_)) => Status::Fatal(from_ledger(sesshu_ledger::LedgerError::Missing {
                path: paths.ledger.clone(),
            })),
            (true, None) => Status::Fatal(CommandError::new(
                ErrorCode::LedgerMissing,
                "鍵ファイル（ledger.keys）が見つかりません。台帳ファイルはそのまま残しています。バックアップからの復元についてシステム担当に連絡してください。",
            )),
            (true, Some(wraps)) => match keystore.get(wraps.ledger_id()) {
                Err(e) => Status::Fatal(from_keystore(e)),
                Ok(None) => Status::KeyMissing { wraps },
                Ok(Some(key)) => match Ledger::open(&paths.ledger, &key, clock.clone(), ids.clone()) {
                    Ok(ledger) => Status::Ready {
                        ledger: Arc::new(ledger),
                        wraps,
                    },
                    Err(e) => Status::Fatal(from_ledger(e)),
                },
            },
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn apply_stored_log_level(&self) {
        let inner = self.lock();
        if let (Status::Ready { ledger, .. }, Some(set)) = (&inner.status, &self.log_level) {
            if let Ok(Some(level)) = ledger.read(|r| r.setting(sesshu_ledger::settings::LOG_LEVEL))
            {
                if let Some(l) = LogLevel::parse(&level) {
                    set(l);
                }
            }
        }
    }

    pub(crate) fn phase(status: &Status) -> Phase {
        match status {
            Status::NeedsSetup => Phase::NeedsSetup,
            Status::KeyMissing { .. } => Phase::KeyMissing,
            Status::Ready { .. } => Phase::Ready,
            Status::Fatal(e) => Phase::Fatal {
                code: e.code,
                message: e.message.clone(),
            },
        }
    }

    pub(crate) fn ready(inner: &Inner) -> Result<Arc<Ledger>, CommandError> {
        match &inner.status {
            Status::Ready { ledger, .. } => Ok(ledger.clone()),
            Status::NeedsSetup => Err(CommandError::new(
                ErrorCode::NotSetUp,
                "端末の初期設定がまだです。",
            )),
            Status::KeyMissing { .. } => Err(CommandError::new(
                ErrorCode::LedgerKeyMissing,
                "台帳鍵が鍵保管庫にありません。管理者による復旧が必要です。",
            )),
            Status::Fatal(e) => Err(e.clone()),
        }
    }

    pub(crate) fn terminal_info(ledger: &Ledger) -> Result<Option<TerminalInfo>, CommandError> {
        Ok(ledger
            .read(|r| r.terminal())
            .map_err(from_ledger)?
            .map(|t| TerminalInfo {
                municipality_name: t.municipality_name,
                municipality_code: t.municipality_code,
                terminal_name: t.terminal_name,
                terminal_id: t.terminal_id,
            }))
    }

    /// Writes one audit entry as its own mutation (refusals and session events).
    pub(crate) fn audit_only(ledger: &Ledger, rec: AuditRecord) -> Result<(), CommandError> {
        ledger
            .mutate(|m| m.audit(rec).map(|_| ()))
            .map_err(from_ledger)
    }

    /// Locks an active session that has been idle past the policy, auditing it once.
    pub(crate) fn apply_idle_lock(
        ledger: &Ledger,
        session: &mut Session,
        now: DateTime<Utc>,
    ) -> Result<(), CommandError> {
        if session.locked {
            return Ok(());
        }
        let policy = ledger.read(|r| r.security_policy()).map_err(from_ledger)?;
        if sesshu_domain::account::idle_lock_due(session.last_activity, now, &policy) {
            session.locked = true;
            Self::audit_only(
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

    pub(crate) fn session_info(
        ledger: &Ledger,
        session: &Session,
    ) -> Result<SessionInfo, CommandError> {
        let user = ledger
            .read(|r| r.user_by_login(&session.login_id))
            .map_err(from_ledger)?
            .ok_or_else(|| internal("session user"))?;
        let policy = ledger.read(|r| r.security_policy()).map_err(from_ledger)?;
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
        })
    }

    /// The backend check behind every command that is not open: phase, session, idle lock,
    /// account still active, and the command's permission. Refusals are audited.
    pub(crate) fn authorize(
        &self,
        inner: &mut Inner,
        command: &str,
    ) -> Result<Option<Actor>, CommandError> {
        let rule = access(command).ok_or_else(|| internal("unknown command"))?;
        if rule == Access::Open {
            return Ok(None);
        }
        let ledger = Self::ready(inner)?;
        let now = self.now();
        let Some(session) = inner.session.as_mut() else {
            return Err(CommandError::new(
                ErrorCode::NotLoggedIn,
                "ログインしてください。",
            ));
        };
        Self::apply_idle_lock(&ledger, session, now)?;
        let user = ledger
            .read(|r| r.user_by_login(&session.login_id))
            .map_err(from_ledger)?
            .ok_or_else(|| internal("session user"))?;
        if !user.is_active(now, today_jst(now)) {
            inner.session = None;
            return Err(CommandError::new(
                ErrorCode::AccountDisabled,
                "この利用者は利用停止されています。管理者に確認してください。",
            ));
        }
        match rule {
            Access::Open => Ok(None),
            Access::AnySession => Ok(Some(Actor { user, ledger })),
            Access::Permission(p) => {
                if session.locked {
                    return Err(CommandError::new(
                        ErrorCode::SessionLocked,
                        "画面がロックされています。パスワードを入力して解除してください。",
                    ));
                }
                if !sesshu_domain::role::any_grants(&user.roles, p) {
                    Self::audit_only(
                        &ledger,
                        AuditRecord::new(
                            Some(&user.login_id),
                            AuditAction::PermissionDenied,
                            Some(command),
                            AuditOutcome::Refused,
                        ),
                    )?;
                    tracing::warn!(command, user = user.id, "permission denied");
                    return Err(CommandError::new(
                        ErrorCode::PermissionDenied,
                        "この操作を行う権限がありません。",
                    ));
                }
                session.last_activity = now;
                Ok(Some(Actor { user, ledger }))
            }
        }
    }

    /// `authorize` for commands that need a permission: the actor is always present.
    pub(crate) fn actor(&self, inner: &mut Inner, command: &str) -> Result<Actor, CommandError> {
        self.authorize(inner, command)?
            .ok_or_else(|| internal("open command used as restricted"))
    }

    /// Called once when the app exits: closes an open session in the audit trail and folds
    /// the WAL into the ledger file. (Tauri ends the process without running destructors, so
    /// this cannot be left to `Drop`.)
    pub fn shutdown(&self) {
        let mut inner = self.lock();
        let Status::Ready { ledger, .. } = &inner.status else {
            return;
        };
        let ledger = ledger.clone();
        if let Some(session) = inner.session.take() {
            let rec = AuditRecord::new(
                Some(&session.login_id),
                AuditAction::Logout,
                Some(&session.login_id),
                AuditOutcome::Success,
            )
            .with_detail(serde_json::json!({ "reason": "app_exit" }));
            if let Err(e) = Self::audit_only(&ledger, rec) {
                tracing::error!(code = ?e.code, "sign-out at exit not recorded");
            }
        }
        match ledger.checkpoint() {
            Ok(()) => tracing::info!("ledger closed"),
            Err(e) => tracing::error!(error = %e, "checkpoint at exit failed"),
        }
    }

    pub fn data_dir(&self) -> &Path {
        &self.paths.data_dir
    }
}

/// Roles as sorted, de-duplicated list; refuses an empty list.
pub(crate) fn normalise_roles(roles: &[Role]) -> Result<Vec<Role>, CommandError> {
    let mut r = roles.to_vec();
    r.sort();
    r.dedup();
    if r.is_empty() {
        return Err(crate::error::invalid("ロールを1つ以上選んでください。"));
    }
    Ok(r)
}
