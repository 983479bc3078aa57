//! Ledger key rotation, crash-safe, and the key-store-aware open that finishes an
//! interrupted rotation.
//!
//! Protocol ([`rotate_key`]); the ledger must be closed (no [`Ledger`] open on it):
//! 1. the new random key is stored in the key store under the *pending* entry;
//! 2. the new key file (`ledger.keys.new`: the acting administrator's copy and a new recovery
//!    key's copy) is written beside the old one;
//! 3. `PRAGMA rekey` re-encrypts the ledger (after a TRUNCATE checkpoint and a switch to the
//!    rollback journal, because SQLCipher's rekey is not safe in WAL mode; WAL is restored
//!    after);
//! 4. the audit anchor is re-authenticated under the new key;
//! 5. the rotation is audited (`LedgerKeyRotated`, 9002) in the rekeyed ledger;
//! 6. the key store's main entry is replaced by the new key;
//! 7. `ledger.keys.new` is renamed over `ledger.keys` (and the directory fsynced);
//! 8. the pending entry is removed.
//!
//! A kill after any step leaves the ledger opening through [`open_with_keystore`] with either
//! the old key (before step 3: the leftovers are discarded) or the new one (from step 3 on:
//! the remaining steps are finished at open), never neither.
//!
//! Other administrators' copies: a copy can only be made with its holder's password, which
//! the acting administrator does not have. They are dropped by the rotation; the terminal
//! re-makes each at that administrator's next sign-in from the session's key
//! ([`KeyWraps::set_user`] when [`KeyWraps::has_user`] is false). Until then the acting
//! administrator's password and the new recovery key are the ways back in.

use crate::anchor;
use crate::audit::AuditRecord;
use crate::kdf::Deriver;
use crate::keys::{KeyStore, KeyStoreError, LedgerKey};
use crate::wrap::{KeyWraps, RecoveryKey, WrapError};
use crate::{Clock, IdGen, Ledger, LedgerError};
use rusqlite::{Connection, OpenFlags};
use sesshu_domain::audit::{AuditAction, AuditOutcome};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The files of one ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerFiles {
    pub db: PathBuf,
    pub keys: PathBuf,
}

impl LedgerFiles {
    /// `ledger.db` and `ledger.keys` in `dir`.
    pub fn in_dir(dir: &Path) -> LedgerFiles {
        LedgerFiles {
            db: dir.join("ledger.db"),
            keys: dir.join("ledger.keys"),
        }
    }

    /// The key file of a rotation in progress.
    pub fn new_keys(&self) -> PathBuf {
        self.keys.with_extension("keys.new")
    }

    pub fn anchor(&self) -> PathBuf {
        anchor::anchor_path(&self.db)
    }
}

/// The key-store id of the pending (rotation-in-progress) key of `ledger_id`.
pub fn pending_id(ledger_id: &str) -> String {
    format!("{ledger_id}/pending")
}

/// The steps of a rotation, in order; a fault can be injected after each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    PendingKeyStored,
    NewKeyFileWritten,
    Rekeyed,
    AnchorRewritten,
    Audited,
    MainKeyReplaced,
    KeyFileReplaced,
    PendingKeyRemoved,
}

impl Step {
    pub const ALL: [Step; 8] = [
        Step::PendingKeyStored,
        Step::NewKeyFileWritten,
        Step::Rekeyed,
        Step::AnchorRewritten,
        Step::Audited,
        Step::MainKeyReplaced,
        Step::KeyFileReplaced,
        Step::PendingKeyRemoved,
    ];
}

/// Called after each step; returning an error stops the rotation there, as a kill would
/// (nothing is cleaned up). Production passes [`NoFaults`].
pub trait FaultPoint {
    fn after(&self, step: Step) -> Result<(), RotateError>;
}

/// No injected faults.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoFaults;

impl FaultPoint for NoFaults {
    fn after(&self, _step: Step) -> Result<(), RotateError> {
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    KeyStore(#[from] KeyStoreError),
    #[error(transparent)]
    Wrap(#[from] WrapError),
    #[error("file: {0}")]
    Io(#[from] std::io::Error),
    /// The key store has no key for this ledger (recovery is the way back in).
    #[error("the key store has no key for this ledger")]
    NoKey,
    /// There is no key file to take the ledger id and the acting administrator's copy from.
    #[error("the key file is missing")]
    NoKeyFile,
    /// The acting administrator's password does not unwrap the current key.
    #[error("the administrator's password does not unwrap the ledger key")]
    NotAHolder,
    /// A test fault injected after `0`.
    #[error("fault injected after {0:?}")]
    Injected(Step),
}

/// Who rotates, and the clock and id source for the audit entry.
pub struct RotateContext<'a> {
    pub keystore: &'a dyn KeyStore,
    pub deriver: &'a dyn Deriver,
    pub admin_login: &'a str,
    pub admin_password: &'a str,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdGen>,
}

/// Rotates the ledger key (see the module notes). Returns the new recovery key, to be shown
/// once. The ledger must be closed. Before the rekey, an ordinary failure removes what the
/// rotation made; an injected fault leaves it, as a kill would.
pub fn rotate_key(
    files: &LedgerFiles,
    cx: &RotateContext<'_>,
    faults: &dyn FaultPoint,
) -> Result<RecoveryKey, RotateError> {
    let old_wraps = KeyWraps::load_with(cx.deriver, &files.keys)?.ok_or(RotateError::NoKeyFile)?;
    let ledger_id = old_wraps.ledger_id().to_owned();
    let old_key = cx.keystore.get(&ledger_id)?.ok_or(RotateError::NoKey)?;
    match old_wraps.unwrap_with_password_with(cx.deriver, cx.admin_login, cx.admin_password) {
        Ok(k) if k == old_key => {}
        Ok(_) | Err(WrapError::Rejected) | Err(WrapError::NoCopy) => {
            return Err(RotateError::NotAHolder)
        }
        Err(e) => return Err(e.into()),
    }
    let new_key = LedgerKey::generate()?;
    let recovery = RecoveryKey::generate()?;
    let pending = pending_id(&ledger_id);

    let before_rekey = || -> Result<(), RotateError> {
        cx.keystore.set(&pending, &new_key)?;
        faults.after(Step::PendingKeyStored)?;
        let mut w = KeyWraps::new(&ledger_id);
        w.set_recovery_with(cx.deriver, &new_key, &recovery)?;
        w.set_user_with(cx.deriver, &new_key, cx.admin_login, cx.admin_password)?;
        w.save(&files.new_keys())?;
        faults.after(Step::NewKeyFileWritten)?;
        rekey(&files.db, &old_key, &new_key)?;
        Ok(())
    };
    match before_rekey() {
        Ok(()) => {}
        Err(RotateError::Injected(s)) => return Err(RotateError::Injected(s)),
        Err(e) => {
            // Not rekeyed: the old key still opens the ledger; drop the new material.
            let _ = std::fs::remove_file(files.new_keys());
            let _ = cx.keystore.delete(&pending);
            return Err(e);
        }
    }
    faults.after(Step::Rekeyed)?;
    anchor::reauthenticate(&files.anchor(), &old_key, &new_key)?;
    faults.after(Step::AnchorRewritten)?;
    audit_rotation(
        files,
        &new_key,
        cx.clock.clone(),
        cx.ids.clone(),
        Some(cx.admin_login),
        false,
    )?;
    faults.after(Step::Audited)?;
    finish(files, cx.keystore, &ledger_id, &new_key, faults)?;
    Ok(recovery)
}

/// Steps 6 to 8, shared with the completion at open.
fn finish(
    files: &LedgerFiles,
    keystore: &dyn KeyStore,
    ledger_id: &str,
    new_key: &LedgerKey,
    faults: &dyn FaultPoint,
) -> Result<(), RotateError> {
    keystore.set(ledger_id, new_key)?;
    faults.after(Step::MainKeyReplaced)?;
    let new_keys = files.new_keys();
    if new_keys.exists() {
        std::fs::rename(&new_keys, &files.keys)?;
        if let Some(dir) = files.keys.parent() {
            crate::fsutil::fsync_dir(dir)?;
        }
    }
    faults.after(Step::KeyFileReplaced)?;
    keystore.delete(&pending_id(ledger_id))?;
    faults.after(Step::PendingKeyRemoved)?;
    Ok(())
}

fn audit_rotation(
    files: &LedgerFiles,
    new_key: &LedgerKey,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGen>,
    actor: Option<&str>,
    completed_at_open: bool,
) -> Result<(), RotateError> {
    let l = Ledger::open(&files.db, new_key, clock, ids)?;
    l.mutate(|m| {
        m.audit(
            AuditRecord::new(
                actor,
                AuditAction::LedgerKeyRotated,
                None,
                AuditOutcome::Success,
            )
            .with_detail(serde_json::json!({ "completed_at_open": completed_at_open })),
        )
    })?;
    Ok(())
}

/// Re-encrypts the closed ledger from `old` to `new`.
fn rekey(db: &Path, old: &LedgerKey, new: &LedgerKey) -> Result<(), RotateError> {
    let conn = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(LedgerError::from)?;
    let _ = conn.pragma_update(None, "cipher_log_level", "NONE");
    conn.execute_batch("PRAGMA cipher_memory_security = ON;")
        .map_err(LedgerError::from)?;
    conn.execute_batch(old.pragma_statement("key").as_str())
        .map_err(LedgerError::from)?;
    let sql = |s: &str| -> Result<(), RotateError> {
        conn.execute_batch(s)
            .map_err(|e| RotateError::Ledger(e.into()))
    };
    // Proves the old key before anything is written.
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })
    .map_err(|_| LedgerError::KeyRejected {
        path: db.to_owned(),
    })?;
    sql("PRAGMA busy_timeout = 5000;")?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .map_err(LedgerError::from)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
        .map_err(LedgerError::from)?;
    if !mode.eq_ignore_ascii_case("delete") {
        // Another connection still has the ledger open in WAL mode.
        return Err(LedgerError::InvalidData(format!(
            "journal mode {mode} (is the ledger still open?)"
        ))
        .into());
    }
    sql("PRAGMA synchronous = FULL;")?;
    sql(new.pragma_statement("rekey").as_str())?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(LedgerError::from)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(LedgerError::InvalidData(format!("journal mode {mode}")).into());
    }
    drop(conn);
    Ok(())
}

/// Opens the ledger with the key from `keystore`, finishing or discarding an interrupted
/// rotation first (see the module notes). This is the terminal's normal open path.
///
/// - main key opens, no pending entry: normal open;
/// - main key opens, a pending entry differs from it: a rotation stopped before the rekey; its
///   new key file and pending entry are discarded;
/// - main key opens and equals the pending entry: a rotation stopped after replacing the main
///   entry; the key file is moved into place and the pending entry removed;
/// - main key rejected (or missing) and a pending entry exists: the rekey happened; the anchor
///   is re-authenticated if needed, the rotation is audited and steps 6–8 are finished.
pub fn open_with_keystore(
    files: &LedgerFiles,
    ledger_id: &str,
    keystore: &dyn KeyStore,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGen>,
) -> Result<Ledger, RotateError> {
    let main = keystore.get(ledger_id)?;
    let pending_name = pending_id(ledger_id);
    let pending = keystore.get(&pending_name)?;
    if let Some(main_key) = &main {
        match Ledger::open(&files.db, main_key, clock.clone(), ids.clone()) {
            Ok(l) => {
                if let Some(p) = &pending {
                    if p == main_key {
                        drop(l);
                        finish(files, keystore, ledger_id, main_key, &NoFaults)?;
                        return Ok(Ledger::open(&files.db, main_key, clock, ids)?);
                    }
                    let _ = std::fs::remove_file(files.new_keys());
                    keystore.delete(&pending_name)?;
                }
                return Ok(l);
            }
            Err(LedgerError::KeyRejected { .. }) if pending.is_some() => {}
            Err(e) => return Err(e.into()),
        }
    }
    let Some(new_key) = pending else {
        return Err(match main {
            Some(_) => LedgerError::KeyRejected {
                path: files.db.clone(),
            }
            .into(),
            None => RotateError::NoKey,
        });
    };
    // The rekey happened. The anchor may still be authenticated under the old key.
    match Ledger::open(&files.db, &new_key, clock.clone(), ids.clone()) {
        Ok(l) => drop(l),
        Err(LedgerError::AuditAnchorInvalid { .. }) => {
            let old = main.as_ref().ok_or(RotateError::NoKey)?;
            anchor::reauthenticate(&files.anchor(), old, &new_key)?;
        }
        Err(e) => return Err(e.into()),
    }
    audit_rotation(files, &new_key, clock.clone(), ids.clone(), None, true)?;
    finish(files, keystore, ledger_id, &new_key, &NoFaults)?;
    Ok(Ledger::open(&files.db, &new_key, clock, ids)?)
}
