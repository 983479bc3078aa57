//! The terminal: which phase it is in, the open ledger, the session — and the start-up
//! detection that decides the phase without ever creating, deleting or repairing a ledger.

use crate::error::{Error, Result};
use crate::paths::{remove_with_sidecars, Paths};
use chrono::{DateTime, NaiveDate, Utc};
use sesshu_domain::account::SignInState;
use sesshu_ipc::{AppStatus, LogLevel, Phase, TerminalInfo};
use sesshu_ledger::audit::AuditRecord;
use sesshu_ledger::kdf::{Argon2Deriver, Deriver};
use sesshu_ledger::rotate::{open_with_keystore, LedgerFiles, RotateError};
use sesshu_ledger::{Clock, IdGen, KeyStore, KeyStoreError, KeyWraps, Ledger, LedgerError};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

pub(crate) enum Status {
    NeedsSetup,
    KeyMissing {
        wraps: KeyWraps,
    },
    Ready {
        ledger: Arc<Ledger>,
        wraps: KeyWraps,
    },
    Fatal(Error),
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
    /// Failed key recoveries (also kept in `ledger.recovery`: the ledger cannot record them
    /// until it opens, and a restart must not reset the limit).
    pub recovery_attempts: SignInState,
}

/// The setting that marks a demo ledger (key, value): written by the demo profile at its
/// first start and never removed.
pub const DEMO_MARKER: (&str, &str) = ("profile", "demo");

/// Whether this build has the demo profile (cargo feature `demo`).
pub const DEMO_BUILD: bool = cfg!(feature = "demo");

/// Applies a new log level to the running subscriber (the shell owns the subscriber).
pub type LogLevelSetter = Arc<dyn Fn(LogLevel) + Send + Sync>;

/// What the terminal is given from outside: where its files are and the adapters for the
/// key store, the clock and ids. Tests pass in-memory ones.
pub struct Environment {
    pub paths: Paths,
    pub keystore: Arc<dyn KeyStore>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdGen>,
    /// The demo profile (shown as a band on every screen).
    pub demo: bool,
    pub log_level: Option<LogLevelSetter>,
}

/// The terminal's application services. One instance per process; every method is one use
/// case and takes the state lock for its whole duration, so use cases never interleave.
pub struct Terminal {
    pub(crate) paths: Paths,
    pub(crate) keystore: Arc<dyn KeyStore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) ids: Arc<dyn IdGen>,
    pub(crate) demo: bool,
    pub(crate) log_level: Option<LogLevelSetter>,
    /// Every password derivation (sign-in, hashes) goes through it: tests count them.
    pub(crate) deriver: Arc<dyn Deriver>,
    pub(crate) progress: Mutex<Option<crate::reference::ProgressSink>>,
    /// How hubs are reached (HTTPS unless a test configured another connector).
    pub(crate) sync: Mutex<crate::sync::SyncSetup>,
    /// One sync run at a time, the last probe, the progress sink.
    pub(crate) sync_run: crate::sync::SyncRuntime,
    inner: Mutex<Inner>,
}

impl Terminal {
    /// Looks at the files and the key store and decides the phase. Never creates, deletes or
    /// repairs a ledger; only leftovers of an interrupted setup are removed.
    pub fn start(env: Environment) -> Terminal {
        Self::start_with_deriver(env, Arc::new(Argon2Deriver::default()))
    }

    /// [`Terminal::start`] with another password deriver (tests count derivations with it).
    pub fn start_with_deriver(env: Environment, deriver: Arc<dyn Deriver>) -> Terminal {
        let Environment {
            paths,
            keystore,
            clock,
            ids,
            demo,
            log_level,
        } = env;
        let mut status = detect(&paths, keystore.as_ref(), &clock, &ids);
        // A demo can never become production: the profile exists only in demo builds, and a
        // demo ledger opens only there (and then always shows the demo band).
        let marked_demo = match &status {
            Status::Ready { ledger, .. } => ledger
                .read(|r| r.setting(DEMO_MARKER.0))
                .ok()
                .flatten()
                .is_some_and(|v| v == DEMO_MARKER.1),
            _ => false,
        };
        if let Err(e) = demo_allowed(demo, marked_demo, DEMO_BUILD) {
            status = Status::Fatal(e);
        }
        let demo = demo || marked_demo;
        let recovery_attempts = crate::recovery::load_attempts(&paths.recovery_attempts);
        match &status {
            Status::NeedsSetup => tracing::info!(phase = "needs_setup", "terminal started"),
            Status::KeyMissing { .. } => tracing::warn!(phase = "key_missing", "terminal started"),
            Status::Ready { .. } => tracing::info!(
                phase = "ready",
                keystore = keystore.backend(),
                "terminal started"
            ),
            Status::Fatal(e) => {
                tracing::error!(phase = "fatal", code = ?e.code(), "terminal started")
            }
        }
        let terminal = Terminal {
            paths,
            keystore,
            clock,
            ids,
            demo,
            log_level,
            deriver,
            progress: Mutex::new(None),
            sync: Mutex::new(crate::sync::SyncSetup::default()),
            sync_run: crate::sync::SyncRuntime::default(),
            inner: Mutex::new(Inner {
                status,
                session: None,
                recovery_attempts,
            }),
        };
        terminal.apply_stored_log_level();
        {
            let mut inner = terminal.lock();
            terminal.prune_inactive_wraps(&mut inner);
            terminal.purge_at_start(&inner);
        }
        terminal
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

    /// Today in Japan, the date every rule of the terminal uses.
    pub(crate) fn today(&self) -> NaiveDate {
        sesshu_domain::date::today_jst(self.now())
    }

    pub fn data_dir(&self) -> &Path {
        &self.paths.data_dir
    }

    fn apply_stored_log_level(&self) {
        let inner = self.lock();
        if let (Status::Ready { ledger, .. }, Some(set)) = (&inner.status, &self.log_level)
            && let Ok(Some(level)) = ledger.read(|r| r.setting(sesshu_ledger::settings::LOG_LEVEL))
            && let Some(l) = LogLevel::parse(&level)
        {
            set(l);
        }
    }

    /// Where the terminal is, who is signed in: the screen the UI starts from.
    pub fn app_status(&self) -> Result<AppStatus> {
        let mut inner = self.lock();
        let phase = phase(&inner.status);
        let mut terminal = None;
        let mut session = None;
        if let Status::Ready { ledger, .. } = &inner.status {
            let ledger = ledger.clone();
            terminal = terminal_info(&ledger)?;
            let now = self.now();
            if let Some(s) = inner.session.as_mut() {
                crate::authz::apply_idle_lock(&ledger, s, now)?;
                session = Some(crate::authz::session_info(&ledger, s)?);
            }
        }
        Ok(AppStatus {
            phase,
            terminal,
            session,
            demo: self.demo,
        })
    }

    /// Called once when the process exits: closes an open session in the audit trail and
    /// folds the WAL into the ledger file (Tauri ends the process without running
    /// destructors, so this cannot be left to `Drop`).
    pub fn shutdown(&self) {
        let mut inner = self.lock();
        let Status::Ready { ledger, .. } = &inner.status else {
            return;
        };
        let ledger = ledger.clone();
        if let Some(session) = inner.session.take() {
            let rec = AuditRecord::new(
                Some(&session.login_id),
                sesshu_domain::audit::AuditAction::Logout,
                Some(&session.login_id),
                sesshu_domain::audit::AuditOutcome::Success,
            )
            .with_detail(serde_json::json!({ "reason": "app_exit" }));
            if let Err(e) = audit_only(&ledger, rec) {
                tracing::error!(code = ?e.code(), "sign-out at exit not recorded");
            }
        }
        match ledger.checkpoint() {
            Ok(()) => tracing::info!("ledger closed"),
            Err(e) => tracing::error!(error = %e, "checkpoint at exit failed"),
        }
    }
}

/// Whether this build may run: a requested demo profile or a ledger marked as demo needs a
/// build with the demo feature.
fn demo_allowed(requested: bool, marked: bool, demo_build: bool) -> Result<()> {
    match (demo_build, marked, requested) {
        (true, _, _) | (false, false, false) => Ok(()),
        (false, true, _) => Err(Error::DemoLedger),
        (false, false, true) => Err(Error::DemoNotInThisBuild),
    }
}

fn detect(
    paths: &Paths,
    keystore: &dyn KeyStore,
    clock: &Arc<dyn Clock>,
    ids: &Arc<dyn IdGen>,
) -> Status {
    // A ledger on a share would leave this machine with every backup of the share, and its
    // locking is not safe over the network (SQLite's own advice).
    if sesshu_ledger::fsutil::is_network_location(&paths.data_dir) {
        return Status::Fatal(Error::DataDirNotLocal);
    }
    let ledger_exists = paths.ledger.exists();
    if !ledger_exists && paths.partial.exists() {
        // Setup was interrupted before the ledger moved into place: its files (under their
        // setup names) hold nothing but the setup itself, so they are discarded and setup
        // starts over. A real `ledger.keys` is never touched here.
        tracing::warn!("removing the leftovers of an interrupted setup");
        remove_with_sidecars(&paths.partial);
        let _ = std::fs::remove_file(&paths.partial_keys);
    }
    if ledger_exists && !paths.keys.exists() && paths.partial_keys.exists() {
        // Setup moved the ledger into place and was interrupted before its key file: finish.
        if let Err(e) = std::fs::rename(&paths.partial_keys, &paths.keys) {
            tracing::error!(error = %e, "cannot finish an interrupted setup");
        }
    }
    let wraps = match KeyWraps::load(&paths.keys) {
        Ok(w) => w,
        Err(e) => return Status::Fatal(e.into()),
    };
    match (ledger_exists, wraps) {
        (false, None) => {
            // Setup will need the key store: refuse now rather than after the form is filled.
            match keystore.get("availability-probe") {
                Ok(_) => Status::NeedsSetup,
                Err(e) => Status::Fatal(e.into()),
            }
        }
        (false, Some(_)) => Status::Fatal(Error::LedgerMissing),
        (true, None) => Status::Fatal(Error::KeyFileMissing),
        (true, Some(wraps)) => {
            // Through the rotation-aware open: a key rotation interrupted by a crash is
            // finished (or discarded, if it stopped before the rekey) before anything else.
            let files = LedgerFiles {
                db: paths.ledger.clone(),
                keys: paths.keys.clone(),
            };
            match open_with_keystore(
                &files,
                wraps.ledger_id(),
                keystore,
                clock.clone(),
                ids.clone(),
            ) {
                Ok(ledger) => match KeyWraps::load(&paths.keys) {
                    Ok(Some(wraps)) => Status::Ready {
                        ledger: Arc::new(ledger),
                        wraps,
                    },
                    Ok(None) => Status::Fatal(Error::KeyFileMissing),
                    Err(e) => Status::Fatal(e.into()),
                },
                // No key, an entry that is not a ledger key, or one that does not open this
                // ledger (replaced entry): an administrator's recovery puts the right key
                // back, proving it on the file, which stays exactly as it is.
                Err(
                    RotateError::NoKey
                    | RotateError::KeyStore(KeyStoreError::Malformed)
                    | RotateError::Ledger(LedgerError::KeyRejected { .. }),
                ) => {
                    tracing::warn!("ledger key missing, unreadable or wrong in the key store");
                    Status::KeyMissing { wraps }
                }
                Err(RotateError::KeyStore(e)) => Status::Fatal(e.into()),
                Err(RotateError::Ledger(e)) => Status::Fatal(e.into()),
                Err(RotateError::Wrap(e)) => Status::Fatal(e.into()),
                Err(e) => {
                    tracing::error!(error = %e, "interrupted key rotation could not be finished");
                    Status::Fatal(Error::KeyRotationFailed)
                }
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
            code: e.code(),
            message: e.to_string(),
        },
    }
}

/// The open ledger, or why there is none.
pub(crate) fn ready(inner: &Inner) -> Result<Arc<Ledger>> {
    match &inner.status {
        Status::Ready { ledger, .. } => Ok(ledger.clone()),
        Status::NeedsSetup => Err(Error::NotSetUp),
        Status::KeyMissing { .. } => Err(Error::LedgerKeyMissing),
        Status::Fatal(e) => Err(e.clone()),
    }
}

pub(crate) fn terminal_info(ledger: &Ledger) -> Result<Option<TerminalInfo>> {
    Ok(ledger.read(|r| r.terminal())?.map(|t| TerminalInfo {
        municipality_name: t.municipality_name,
        municipality_code: t.municipality_code,
        terminal_name: t.terminal_name,
        terminal_id: t.terminal_id,
    }))
}

/// Writes one audit entry as its own mutation (refusals and session events).
pub(crate) fn audit_only(ledger: &Ledger, rec: AuditRecord) -> Result<()> {
    ledger.mutate(|m| m.audit(rec).map(|_| ()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_needs_a_demo_build() {
        assert_eq!(demo_allowed(false, false, false), Ok(()));
        assert_eq!(demo_allowed(true, false, true), Ok(()));
        assert_eq!(demo_allowed(false, true, true), Ok(()));
        assert_eq!(
            demo_allowed(true, false, false),
            Err(Error::DemoNotInThisBuild)
        );
        assert_eq!(demo_allowed(false, true, false), Err(Error::DemoLedger));
        assert_eq!(demo_allowed(true, true, false), Err(Error::DemoLedger));
    }
}
