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

pub mod accounts;
pub mod audit;
pub mod batches;
pub mod clock;
pub mod codes;
mod error;
pub mod keys;
mod ledger;
mod migrate;
pub mod outbox;
pub mod residents;
pub mod settings;
pub mod terminal;
pub mod wrap;

pub use clock::{Clock, FixedClock, IdGen, SystemClock, UuidV7Gen};
pub use error::LedgerError;
pub use keys::{KeyStore, KeyStoreError, LedgerKey, MemKeyStore, OsKeyStore};
pub use ledger::{Ledger, Mutation, Reader};
pub use wrap::{KeyWraps, RecoveryKey, WrapError};

/// Argon2id parameters used for password hashes and key-encryption keys.
///
/// 19 MiB, 2 passes, 1 lane: OWASP's minimum recommendation for Argon2id; about 50 ms on the
/// terminals, which is acceptable per login and per unwrap.
pub(crate) fn argon2() -> argon2::Argon2<'static> {
    argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::DEFAULT,
    )
}

/// Fills `buf` from the OS random source.
pub(crate) fn random_bytes(buf: &mut [u8]) -> Result<(), LedgerError> {
    getrandom::getrandom(buf).map_err(|e| LedgerError::Random(e.to_string()))
}
