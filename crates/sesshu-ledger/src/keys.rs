//! The ledger key and where it is kept.
//!
//! The key is 32 random bytes passed to SQLCipher as a raw key (no passphrase KDF on every
//! open). It lives in a [`KeyStore`]: the OS keyring in production, memory in unit tests.
//! When no store is reachable the terminal refuses to open the ledger: there is no fallback to
//! a throwaway or on-disk key.

use std::collections::HashMap;
use std::sync::Mutex;
use zeroize::Zeroizing;

// Windows Credential Manager with local-machine persistence (ADR 0001); its pure part is also
// compiled for the unit tests on every platform.
#[cfg(any(windows, test))]
mod windows;

/// Keyring service name; the account is `ledger-key/<ledger id>`.
pub const KEYRING_SERVICE: &str = "jp.sesshu.terminal";

/// A 256-bit ledger key; zeroised on drop and never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct LedgerKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for LedgerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LedgerKey(..)")
    }
}

impl LedgerKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        LedgerKey(Zeroizing::new(bytes))
    }

    /// A fresh key from the OS random source.
    pub fn generate() -> Result<Self, crate::LedgerError> {
        let mut b = Zeroizing::new([0u8; 32]);
        crate::random_bytes(b.as_mut())?;
        Ok(LedgerKey(b))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Hex form kept in the key store, built in place in a pre-sized zeroising buffer (no
    /// intermediate allocation that could be left behind unwiped).
    pub(crate) fn to_hex(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(64));
        push_hex(&mut out, self.0.as_ref());
        out
    }

    pub(crate) fn from_hex(s: &str) -> Option<Self> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(s.trim(), bytes.as_mut()).ok()?;
        Some(LedgerKey(bytes))
    }

    /// `PRAGMA <pragma> = "x'<64 hex>'";` (SQLCipher raw key), built in a buffer sized
    /// exactly once so that no reallocation leaves a copy of the key in freed memory.
    pub(crate) fn pragma_statement(&self, pragma: &str) -> Zeroizing<String> {
        const HEAD: &str = " = \"x'";
        const TAIL: &str = "'\";";
        let cap = "PRAGMA ".len() + pragma.len() + HEAD.len() + 64 + TAIL.len();
        let mut s = Zeroizing::new(String::with_capacity(cap));
        s.push_str("PRAGMA ");
        s.push_str(pragma);
        s.push_str(HEAD);
        push_hex(&mut s, self.0.as_ref());
        s.push_str(TAIL);
        debug_assert_eq!(s.len(), cap);
        s
    }
}

/// Appends lower-case hex of `bytes` to `out` one character at a time (no temporaries).
fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyStoreError {
    /// No key store could be reached (no Secret Service / Credential Manager session).
    #[error("no key store is reachable ({backend}): {detail}")]
    Unavailable {
        backend: &'static str,
        detail: String,
    },
    /// The store answered but holds something that is not a ledger key.
    #[error("the key store entry is not a ledger key")]
    Malformed,
}

/// Where ledger keys are kept. Implementations must never log the secret.
pub trait KeyStore: Send + Sync {
    /// The key for `ledger_id`, `None` when the store has no entry for it.
    fn get(&self, ledger_id: &str) -> Result<Option<LedgerKey>, KeyStoreError>;
    fn set(&self, ledger_id: &str, key: &LedgerKey) -> Result<(), KeyStoreError>;
    fn delete(&self, ledger_id: &str) -> Result<(), KeyStoreError>;
    /// Short backend name for logs and the IT screen.
    fn backend(&self) -> &'static str;
}

fn account(ledger_id: &str) -> String {
    format!("ledger-key/{ledger_id}")
}

/// The key-store name of a ledger's terminal identity (the Ed25519 key that signs sync
/// batches): a second entry derived from the ledger id, so the account is
/// `ledger-key/<ledger id>/terminal-identity`, beside the ledger key and never in a file.
pub fn identity_entry(ledger_id: &str) -> String {
    format!("{ledger_id}/terminal-identity")
}

/// Stores the terminal identity's 32 secret bytes for `ledger_id` (see [`identity_entry`]).
pub fn store_identity_secret(
    store: &dyn KeyStore,
    ledger_id: &str,
    secret: &Zeroizing<[u8; 32]>,
) -> Result<(), KeyStoreError> {
    // The store keeps 32-byte secrets as the ledger key's type: same hex form, same wiping.
    store.set(&identity_entry(ledger_id), &LedgerKey::from_bytes(**secret))
}

/// The terminal identity's secret for `ledger_id`, `None` before enrolment.
pub fn load_identity_secret(
    store: &dyn KeyStore,
    ledger_id: &str,
) -> Result<Option<Zeroizing<[u8; 32]>>, KeyStoreError> {
    Ok(store
        .get(&identity_entry(ledger_id))?
        .map(|k| Zeroizing::new(*k.as_bytes())))
}

/// In-memory store for tests; shared state across clones of the same `Arc`.
#[derive(Debug, Default)]
pub struct MemKeyStore {
    entries: Mutex<HashMap<String, Zeroizing<String>>>,
    unavailable: Mutex<bool>,
}

impl MemKeyStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Simulates a store that cannot be reached (tests of the refusal path).
    pub fn set_unavailable(&self, unavailable: bool) {
        if let Ok(mut g) = self.unavailable.lock() {
            *g = unavailable;
        }
    }

    fn check(&self) -> Result<(), KeyStoreError> {
        if self.unavailable.lock().map(|g| *g).unwrap_or(true) {
            return Err(KeyStoreError::Unavailable {
                backend: "memory",
                detail: "simulated outage".into(),
            });
        }
        Ok(())
    }

    fn map(
        &self,
    ) -> Result<std::sync::MutexGuard<'_, HashMap<String, Zeroizing<String>>>, KeyStoreError> {
        self.entries.lock().map_err(|_| KeyStoreError::Unavailable {
            backend: "memory",
            detail: "poisoned".into(),
        })
    }
}

impl KeyStore for MemKeyStore {
    fn get(&self, ledger_id: &str) -> Result<Option<LedgerKey>, KeyStoreError> {
        self.check()?;
        match self.map()?.get(&account(ledger_id)) {
            None => Ok(None),
            Some(s) => LedgerKey::from_hex(s)
                .map(Some)
                .ok_or(KeyStoreError::Malformed),
        }
    }

    fn set(&self, ledger_id: &str, key: &LedgerKey) -> Result<(), KeyStoreError> {
        self.check()?;
        self.map()?.insert(account(ledger_id), key.to_hex());
        Ok(())
    }

    fn delete(&self, ledger_id: &str) -> Result<(), KeyStoreError> {
        self.check()?;
        self.map()?.remove(&account(ledger_id));
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "memory"
    }
}

/// The OS key store: Secret Service on Linux and Keychain on macOS (through `keyring`),
/// Credential Manager on Windows with local-machine persistence (our own calls, see
/// `keys/windows.rs` and ADR 0001: `keyring` would write a roaming credential).
#[derive(Debug, Default, Clone, Copy)]
pub struct OsKeyStore;

fn backend_name() -> &'static str {
    if cfg!(target_os = "windows") {
        "windows-credential-manager"
    } else if cfg!(target_os = "macos") {
        "macos-keychain"
    } else {
        "secret-service"
    }
}

#[cfg(not(windows))]
impl OsKeyStore {
    fn entry(ledger_id: &str) -> Result<keyring::Entry, KeyStoreError> {
        keyring::Entry::new(KEYRING_SERVICE, &account(ledger_id)).map_err(unavailable)
    }
}

#[cfg(not(windows))]
fn unavailable(e: keyring::Error) -> KeyStoreError {
    KeyStoreError::Unavailable {
        backend: backend_name(),
        detail: e.to_string(),
    }
}

#[cfg(not(windows))]
impl KeyStore for OsKeyStore {
    fn get(&self, ledger_id: &str) -> Result<Option<LedgerKey>, KeyStoreError> {
        match Self::entry(ledger_id)?.get_password() {
            Ok(s) => {
                let s = Zeroizing::new(s);
                LedgerKey::from_hex(&s)
                    .map(Some)
                    .ok_or(KeyStoreError::Malformed)
            }
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    fn set(&self, ledger_id: &str, key: &LedgerKey) -> Result<(), KeyStoreError> {
        let hex = key.to_hex();
        Self::entry(ledger_id)?
            .set_password(&hex)
            .map_err(unavailable)
    }

    fn delete(&self, ledger_id: &str) -> Result<(), KeyStoreError> {
        match Self::entry(ledger_id)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    fn backend(&self) -> &'static str {
        backend_name()
    }
}

#[cfg(windows)]
impl OsKeyStore {
    fn name(ledger_id: &str) -> Result<windows::CredentialName, KeyStoreError> {
        windows::CredentialName::new(KEYRING_SERVICE, &account(ledger_id)).map_err(win_unavailable)
    }
}

#[cfg(windows)]
fn win_unavailable(e: impl std::fmt::Display) -> KeyStoreError {
    KeyStoreError::Unavailable {
        backend: backend_name(),
        detail: e.to_string(),
    }
}

#[cfg(windows)]
impl KeyStore for OsKeyStore {
    fn get(&self, ledger_id: &str) -> Result<Option<LedgerKey>, KeyStoreError> {
        let name = Self::name(ledger_id)?;
        let Some(stored) = windows::read(&name).map_err(win_unavailable)? else {
            return Ok(None);
        };
        let text = windows::decode_blob(&stored.blob).ok_or(KeyStoreError::Malformed)?;
        let key = LedgerKey::from_hex(&text).ok_or(KeyStoreError::Malformed)?;
        if !stored.local_machine {
            // Written by an earlier version through `keyring` (enterprise persistence, which
            // roams): re-written in place for this machine only. The key still works if this
            // fails, so it is reported, not fatal; the next read tries again.
            let blob = windows::encode_blob(&key.to_hex()).map_err(win_unavailable)?;
            match windows::write(&name, &blob) {
                Ok(()) => {
                    tracing::info!("ledger key credential moved to local-machine persistence")
                }
                Err(e) => {
                    tracing::warn!(error = %e, "ledger key credential still roams: re-write failed")
                }
            }
        }
        Ok(Some(key))
    }

    fn set(&self, ledger_id: &str, key: &LedgerKey) -> Result<(), KeyStoreError> {
        let name = Self::name(ledger_id)?;
        let blob = windows::encode_blob(&key.to_hex()).map_err(win_unavailable)?;
        windows::write(&name, &blob).map_err(win_unavailable)
    }

    fn delete(&self, ledger_id: &str) -> Result<(), KeyStoreError> {
        let name = Self::name(ledger_id)?;
        windows::delete(&name).map(|_| ()).map_err(win_unavailable)
    }

    fn backend(&self) -> &'static str {
        backend_name()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_store_round_trip_and_outage() {
        let s = MemKeyStore::new();
        let k = LedgerKey::generate().unwrap();
        assert!(s.get("a").unwrap().is_none());
        s.set("a", &k).unwrap();
        assert_eq!(s.get("a").unwrap(), Some(k.clone()));
        s.set_unavailable(true);
        assert!(matches!(s.get("a"), Err(KeyStoreError::Unavailable { .. })));
        s.set_unavailable(false);
        s.delete("a").unwrap();
        assert!(s.get("a").unwrap().is_none());
    }

    #[test]
    fn the_identity_secret_is_a_second_entry() {
        let s = MemKeyStore::new();
        let k = LedgerKey::generate().unwrap();
        s.set("L", &k).unwrap();
        assert!(load_identity_secret(&s, "L").unwrap().is_none());
        store_identity_secret(&s, "L", &Zeroizing::new([7u8; 32])).unwrap();
        assert_eq!(*load_identity_secret(&s, "L").unwrap().unwrap(), [7u8; 32]);
        assert_eq!(s.get("L").unwrap(), Some(k), "the ledger key is untouched");
    }

    #[test]
    fn key_debug_hides_the_secret() {
        let k = LedgerKey::from_bytes([0xab; 32]);
        assert_eq!(format!("{k:?}"), "LedgerKey(..)");
        assert_eq!(k.to_hex().as_str(), "ab".repeat(32));
        let st = k.pragma_statement("key");
        assert_eq!(
            st.as_str(),
            format!("PRAGMA key = \"x'{}'\";", "ab".repeat(32))
        );
        assert_eq!(st.capacity(), st.len(), "sized once, never reallocated");
        assert_eq!(LedgerKey::from_hex(&k.to_hex()), Some(k));
    }
}
