//! sesshu-ledger: the terminal's SQLCipher-encrypted ledger.
//!
//! Invariants:
//! - open = `PRAGMA key` (raw 256-bit key) → a read that proves the key → per-connection
//!   pragmas → forward-only migrations. A wrong key, a plaintext file or a damaged file is a
//!   coded [`LedgerError`] and the file is left exactly as it was: never recreated, never repaired;
//! - every mutation is one transaction ([`Ledger::mutate`]) that writes its change, at least
//!   one hash-chained audit entry and the outbox item for that entry — or nothing;
//! - the ledger key never touches the disk in the clear: it lives in a [`KeyStore`] (the OS
//!   keyring) and, wrapped, in the key sidecar ([`KeyWraps`]).
//! - the audit chain head is also kept outside the database ([`anchor`]), authenticated with a
//!   key derived from the ledger key, and checked at every open: a truncated tail or a
//!   rewritten chain refuses the open until an administrator repairs it (audited);
//! - the data directory is 0700 and its files 0600 on Unix ([`fsutil`]); every sidecar is
//!   replaced atomically (temporary file, fsync, rename, directory fsync);
//! - the key is rotated only through [`rotate::rotate_key`], crash-safe; the terminal opens
//!   through [`rotate::open_with_keystore`], which finishes an interrupted rotation;
//! - every password-based derivation goes through an injectable [`Deriver`] ([`kdf`]).

pub mod accounts;
pub mod anchor;
pub mod audit;
pub mod batches;
pub mod clock;
pub mod codes;
pub mod downlink;
mod error;
pub mod findings;
pub mod forms;
pub mod fsutil;
pub mod kdf;
pub mod keys;
mod ledger;
pub mod media;
mod migrate;
pub mod outbox;
pub mod purge;
pub mod residents;
pub mod rotate;
pub mod settings;
pub mod sync;
pub mod terminal;
pub mod wrap;

pub use clock::{Clock, FixedClock, IdGen, SystemClock, UuidV7Gen};
pub use error::LedgerError;
pub use kdf::{Argon2Deriver, Deriver, KdfParams, KdfPolicy};
pub use keys::{KeyStore, KeyStoreError, LedgerKey, MemKeyStore, OsKeyStore};
pub use ledger::{Ledger, Mutation, Reader, SyncState};
pub use wrap::{KeyWraps, RecoveryKey, WrapError};

/// Fills `buf` from the OS random source.
pub(crate) fn random_bytes(buf: &mut [u8]) -> Result<(), LedgerError> {
    getrandom::getrandom(buf).map_err(|e| LedgerError::Random(e.to_string()))
}
