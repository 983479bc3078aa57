use std::path::PathBuf;

/// Errors of the ledger. Variants are named for what the caller must decide.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The key does not decrypt the file (wrong key, or not a ledger at all). File untouched.
    #[error("the key does not open the ledger at {path}")]
    KeyRejected { path: PathBuf },
    /// The file is a plain (unencrypted) SQLite database. File untouched.
    #[error("the ledger at {path} is not encrypted")]
    NotEncrypted { path: PathBuf },
    /// The file decrypts but fails its integrity check. File untouched.
    #[error("the ledger at {path} is damaged: {detail}")]
    Corrupt { path: PathBuf, detail: String },
    /// No ledger file where one was expected.
    #[error("no ledger at {path}")]
    Missing { path: PathBuf },
    /// A ledger already exists where a new one was to be created.
    #[error("a ledger already exists at {path}")]
    AlreadyExists { path: PathBuf },
    /// The schema is newer than this program knows.
    #[error("the ledger schema version {found} is newer than this program ({known})")]
    TooNew { found: i64, known: i64 },
    #[error("migration {name} failed: {source}")]
    Migration {
        name: &'static str,
        source: rusqlite::Error,
    },
    /// A mutation tried to commit without an audit entry.
    #[error("a ledger mutation must write an audit entry")]
    Unaudited,
    /// A delta line adds a resident that exists, or changes / removes one that does not.
    #[error("delta line {line}: {conflict}")]
    DeltaConflict {
        line: u64,
        conflict: crate::residents::DeltaConflict,
    },
    /// The audit log has entries but its anchor file is missing. Ledger not opened, files
    /// untouched; an administrator's repair re-anchors it.
    #[error("the audit anchor is missing (the log has {found_seq} entries)")]
    AuditAnchorMissing { found_seq: i64 },
    /// The anchor file does not authenticate under this ledger's key (forged, damaged or
    /// another ledger's). Ledger not opened, files untouched.
    #[error("the audit anchor is invalid: {detail}")]
    AuditAnchorInvalid { detail: String },
    /// The log disagrees with its anchor: newest entries removed, chain rewritten or a link
    /// broken after the anchored entry. Ledger not opened, files untouched.
    #[error("the audit log does not match its anchor ({reason:?}: anchored entry {expected_seq}, found {found_seq})")]
    AuditAnchorMismatch {
        expected_seq: i64,
        found_seq: i64,
        reason: crate::anchor::AnchorMismatch,
    },
    /// SQLCipher itself failed to start in this process (no ledger file was touched).
    #[error("the SQLCipher engine did not start: {detail}")]
    EngineUnavailable { detail: String },
    /// A receipt acknowledges an outbox item that is not pending (unknown, or already
    /// acknowledged): nothing of the receipt was stored.
    #[error("outbox item {item_id} is not pending")]
    NotPending { item_id: String },
    #[error("stored data is invalid: {0}")]
    InvalidData(String),
    #[error("random source failed: {0}")]
    Random(String),
    #[error("password hashing failed: {0}")]
    PasswordHash(String),
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("file: {0}")]
    Io(#[from] std::io::Error),
}

impl LedgerError {
    /// True for the audit-anchor refusals that only an administrator's repair
    /// ([`crate::Ledger::repair_audit_anchor`]) clears.
    pub fn is_audit_anchor(&self) -> bool {
        matches!(
            self,
            LedgerError::AuditAnchorMissing { .. }
                | LedgerError::AuditAnchorInvalid { .. }
                | LedgerError::AuditAnchorMismatch { .. }
        )
    }

    /// True when SQLite reports a transient lock; retrying may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            LedgerError::Sqlite(rusqlite::Error::SqliteFailure(e, _))
                if matches!(e.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        )
    }
}
