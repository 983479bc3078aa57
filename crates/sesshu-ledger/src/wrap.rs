//! Wrapped copies of the ledger key, kept in a small sidecar file beside the ledger.
//!
//! One copy per user (key-encryption key = Argon2id(password)) and one under the recovery key
//! shown once at setup. If the keyring entry is ever lost, an administrator's password or the
//! recovery key unwraps the ledger key and puts it back in the keyring. A password change
//! re-wraps that user's copy; the ledger data is never re-encrypted for it.
//!
//! The sidecar holds no secret in the clear: salts, nonces and ChaCha20-Poly1305 ciphertexts
//! whose associated data binds each copy to its ledger id and holder.

use crate::keys::LedgerKey;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use serde::{Deserialize, Serialize};
use std::path::Path;
use zeroize::Zeroizing;

const FORMAT: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum WrapError {
    /// The password or recovery key does not unwrap any copy.
    #[error("the secret does not unwrap the ledger key")]
    Rejected,
    /// No copy for this holder.
    #[error("no wrapped key for this holder")]
    NoCopy,
    #[error("the key file is unreadable: {0}")]
    Malformed(String),
    #[error("key derivation failed: {0}")]
    Kdf(String),
    #[error("random source failed: {0}")]
    Random(String),
    #[error("key file: {0}")]
    Io(#[from] std::io::Error),
}

/// The recovery key: 160 random bits shown once as 8 groups of 4 base32 characters.
pub struct RecoveryKey(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for RecoveryKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryKey(..)")
    }
}

impl RecoveryKey {
    pub fn generate() -> Result<Self, WrapError> {
        let mut b = Zeroizing::new(vec![0u8; 20]);
        getrandom::getrandom(&mut b).map_err(|e| WrapError::Random(e.to_string()))?;
        Ok(RecoveryKey(b))
    }

    /// `ABCD-EFGH-…` (32 characters in groups of 4) for the administrator to write down.
    pub fn display(&self) -> Zeroizing<String> {
        let plain = Zeroizing::new(data_encoding::BASE32_NOPAD.encode(&self.0));
        let mut out = Zeroizing::new(String::with_capacity(40));
        for (i, c) in plain.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                out.push('-');
            }
            out.push(c);
        }
        out
    }

    /// Accepts what a person types back: any case, hyphens or spaces, full-width characters.
    pub fn parse(s: &str) -> Option<RecoveryKey> {
        let cleaned: Zeroizing<String> = Zeroizing::new(
            s.chars()
                .filter_map(|c| {
                    // Full-width ASCII (U+FF01..U+FF5E) to half-width.
                    let c = match c as u32 {
                        0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
                        _ => c,
                    };
                    if c == '-' || c == 'ー' || c == '－' || c.is_whitespace() {
                        None
                    } else {
                        Some(c.to_ascii_uppercase())
                    }
                })
                .collect(),
        );
        let bytes = data_encoding::BASE32_NOPAD
            .decode(cleaned.as_bytes())
            .ok()?;
        (bytes.len() == 20).then(|| RecoveryKey(Zeroizing::new(bytes)))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Holder {
    Recovery,
    User { login_id: String },
}

impl Holder {
    fn aad(&self, ledger_id: &str) -> String {
        match self {
            Holder::Recovery => format!("sesshu-key-wrap/v1/{ledger_id}/recovery"),
            Holder::User { login_id } => format!("sesshu-key-wrap/v1/{ledger_id}/user/{login_id}"),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Wrap {
    holder: Holder,
    m_cost: u32,
    t_cost: u32,
    p_cost: u32,
    salt: String,
    nonce: String,
    ciphertext: String,
}

/// The sidecar: `ledger.keys` beside `ledger.db`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyWraps {
    format: u32,
    ledger_id: String,
    wraps: Vec<Wrap>,
}

fn derive_kek(
    secret: &[u8],
    salt: &[u8],
    params: &argon2::Params,
) -> Result<Zeroizing<[u8; 32]>, WrapError> {
    let a = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        params.clone(),
    );
    let mut kek = Zeroizing::new([0u8; 32]);
    a.hash_password_into(secret, salt, kek.as_mut())
        .map_err(|e| WrapError::Kdf(e.to_string()))?;
    Ok(kek)
}

impl KeyWraps {
    pub fn new(ledger_id: &str) -> Self {
        KeyWraps {
            format: FORMAT,
            ledger_id: ledger_id.to_owned(),
            wraps: Vec::new(),
        }
    }

    pub fn ledger_id(&self) -> &str {
        &self.ledger_id
    }

    fn wrap(&mut self, key: &LedgerKey, holder: Holder, secret: &[u8]) -> Result<(), WrapError> {
        let params = argon2::Params::DEFAULT;
        let mut salt = [0u8; 16];
        let mut nonce = [0u8; 12];
        getrandom::getrandom(&mut salt).map_err(|e| WrapError::Random(e.to_string()))?;
        getrandom::getrandom(&mut nonce).map_err(|e| WrapError::Random(e.to_string()))?;
        let kek = derive_kek(secret, &salt, &params)?;
        let cipher = ChaCha20Poly1305::new(Key::from_slice(kek.as_ref()));
        let aad = holder.aad(&self.ledger_id);
        let ct = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: key.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| WrapError::Kdf("encryption failed".into()))?;
        self.wraps.retain(|w| w.holder != holder);
        self.wraps.push(Wrap {
            holder,
            m_cost: params.m_cost(),
            t_cost: params.t_cost(),
            p_cost: params.p_cost(),
            salt: hex::encode(salt),
            nonce: hex::encode(nonce),
            ciphertext: hex::encode(ct),
        });
        Ok(())
    }

    fn unwrap_one(&self, w: &Wrap, secret: &[u8]) -> Result<LedgerKey, WrapError> {
        let bad = |what: &str| WrapError::Malformed(what.to_owned());
        let salt = hex::decode(&w.salt).map_err(|_| bad("salt"))?;
        let nonce = hex::decode(&w.nonce).map_err(|_| bad("nonce"))?;
        let ct = hex::decode(&w.ciphertext).map_err(|_| bad("ciphertext"))?;
        if nonce.len() != 12 {
            return Err(bad("nonce length"));
        }
        let params = argon2::Params::new(w.m_cost, w.t_cost, w.p_cost, Some(32))
            .map_err(|e| WrapError::Malformed(e.to_string()))?;
        let kek = derive_kek(secret, &salt, &params)?;
        let cipher = ChaCha20Poly1305::new(Key::from_slice(kek.as_ref()));
        let aad = w.holder.aad(&self.ledger_id);
        let pt = Zeroizing::new(
            cipher
                .decrypt(
                    Nonce::from_slice(&nonce),
                    Payload {
                        msg: &ct,
                        aad: aad.as_bytes(),
                    },
                )
                .map_err(|_| WrapError::Rejected)?,
        );
        let bytes: [u8; 32] = pt.as_slice().try_into().map_err(|_| bad("key length"))?;
        Ok(LedgerKey::from_bytes(bytes))
    }

    /// Adds (or replaces) the copy under the recovery key.
    pub fn set_recovery(
        &mut self,
        key: &LedgerKey,
        recovery: &RecoveryKey,
    ) -> Result<(), WrapError> {
        self.wrap(key, Holder::Recovery, &recovery.0)
    }

    /// Adds or re-wraps a user's copy (setup, user creation, password change or reset).
    pub fn set_user(
        &mut self,
        key: &LedgerKey,
        login_id: &str,
        password: &str,
    ) -> Result<(), WrapError> {
        self.wrap(
            key,
            Holder::User {
                login_id: login_id.to_owned(),
            },
            password.as_bytes(),
        )
    }

    /// Drops a user's copy (account disabled).
    pub fn remove_user(&mut self, login_id: &str) {
        self.wraps
            .retain(|w| !matches!(&w.holder, Holder::User { login_id: l } if l == login_id));
    }

    pub fn has_user(&self, login_id: &str) -> bool {
        self.wraps
            .iter()
            .any(|w| matches!(&w.holder, Holder::User { login_id: l } if l == login_id))
    }

    pub fn unwrap_with_recovery(&self, recovery: &RecoveryKey) -> Result<LedgerKey, WrapError> {
        let w = self
            .wraps
            .iter()
            .find(|w| w.holder == Holder::Recovery)
            .ok_or(WrapError::NoCopy)?;
        self.unwrap_one(w, &recovery.0)
    }

    pub fn unwrap_with_password(
        &self,
        login_id: &str,
        password: &str,
    ) -> Result<LedgerKey, WrapError> {
        let w = self
            .wraps
            .iter()
            .find(|w| matches!(&w.holder, Holder::User { login_id: l } if l == login_id))
            .ok_or(WrapError::NoCopy)?;
        self.unwrap_one(w, password.as_bytes())
    }

    /// Reads the sidecar; `Ok(None)` when there is none.
    pub fn load(path: &Path) -> Result<Option<KeyWraps>, WrapError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let w: KeyWraps =
            serde_json::from_str(&text).map_err(|e| WrapError::Malformed(e.to_string()))?;
        if w.format != FORMAT {
            return Err(WrapError::Malformed(format!("unknown format {}", w.format)));
        }
        Ok(Some(w))
    }

    /// Writes atomically: a temporary file, fsync, rename — a crash leaves the old or the new file.
    pub fn save(&self, path: &Path) -> Result<(), WrapError> {
        use std::io::Write as _;
        let text =
            serde_json::to_string_pretty(self).map_err(|e| WrapError::Malformed(e.to_string()))?;
        let tmp = path.with_extension("keys.tmp");
        {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent() {
            if let Ok(d) = std::fs::File::open(dir) {
                // Directory fsync makes the rename durable on Linux; not supported everywhere.
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_key_display_parses_back() {
        let r = RecoveryKey::generate().unwrap();
        let shown = r.display();
        assert_eq!(shown.len(), 32 + 7, "8 groups of 4 with 7 hyphens");
        let typed = shown.to_lowercase().replace('-', " ");
        let back = RecoveryKey::parse(&typed).unwrap();
        assert_eq!(back.0.as_slice(), r.0.as_slice());
        assert!(RecoveryKey::parse("not a key").is_none());
    }

    #[test]
    fn wraps_unwrap_only_with_the_right_secret() {
        let key = LedgerKey::generate().unwrap();
        let rec = RecoveryKey::generate().unwrap();
        let mut w = KeyWraps::new("L1");
        w.set_recovery(&key, &rec).unwrap();
        w.set_user(&key, "admin01", "Correct-Horse-1").unwrap();
        assert_eq!(w.unwrap_with_recovery(&rec).unwrap(), key);
        assert_eq!(
            w.unwrap_with_password("admin01", "Correct-Horse-1")
                .unwrap(),
            key
        );
        assert!(matches!(
            w.unwrap_with_password("admin01", "wrong"),
            Err(WrapError::Rejected)
        ));
        assert!(matches!(
            w.unwrap_with_password("nobody", "x"),
            Err(WrapError::NoCopy)
        ));
        let other = RecoveryKey::generate().unwrap();
        assert!(matches!(
            w.unwrap_with_recovery(&other),
            Err(WrapError::Rejected)
        ));
    }

    #[test]
    fn a_copy_moved_to_another_holder_does_not_unwrap() {
        // The associated data binds each copy to its holder: swapping holders breaks it.
        let key = LedgerKey::generate().unwrap();
        let mut w = KeyWraps::new("L1");
        w.set_user(&key, "a01", "Pass-word-123").unwrap();
        if let Holder::User { login_id } = &mut w.wraps[0].holder {
            *login_id = "b01".into();
        }
        assert!(matches!(
            w.unwrap_with_password("b01", "Pass-word-123"),
            Err(WrapError::Rejected)
        ));
    }

    #[test]
    fn save_and_load() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ledger.keys");
        assert!(KeyWraps::load(&p).unwrap().is_none());
        let key = LedgerKey::generate().unwrap();
        let mut w = KeyWraps::new("L1");
        w.set_user(&key, "a01", "Pass-word-123").unwrap();
        w.save(&p).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(
            !text.contains(&hex::encode(key.as_bytes())),
            "no clear key in the sidecar"
        );
        let back = KeyWraps::load(&p).unwrap().unwrap();
        assert_eq!(
            back.unwrap_with_password("a01", "Pass-word-123").unwrap(),
            key
        );
    }
}
