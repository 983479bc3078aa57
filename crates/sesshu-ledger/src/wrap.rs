//! Wrapped copies of the ledger key, kept in a small sidecar file beside the ledger.
//!
//! One copy per administrator (key-encryption key = Argon2id(password)) and one under the
//! recovery key shown once at setup. If the keyring entry is ever lost, an administrator's
//! password or the recovery key unwraps the ledger key and puts it back in the keyring. A
//! password change re-wraps that user's copy; the ledger data is never re-encrypted for it.
//! The terminal keeps copies only for administrators ([`KeyWraps::retain_holders`]): any
//! other copy would only be one more password to guess offline from a copied data folder.
//!
//! The sidecar holds no secret in the clear: salts, nonces and ChaCha20-Poly1305 ciphertexts
//! whose associated data binds each copy to its ledger id and holder.
//!
//! Cost and file format: new copies use [`crate::kdf::WRAP_PARAMS`] (Argon2id 64 MiB, t=3).
//! The parameters stored with each copy are accepted only between that minimum and
//! [`crate::kdf::WRAP_PARAMS_MAX`]; anything else is [`WrapError::Params`], refused before any
//! derivation. Files of format 1 (written before this rule) used 19 MiB, t=2: they are still
//! read, and exactly those legacy parameters are accepted in a format-1 file only. Such a copy
//! is re-made at the new cost the next time its holder's password is at hand (the terminal
//! asks [`KeyWraps::needs_rewrap`] at sign-in); a file is written as format 2 once no legacy
//! copy is left. The recovery copy is re-made at the next key rotation (its 160-bit key makes
//! the derivation cost irrelevant to guessing).
//!
//! Timing: unwrapping for a holder without a copy runs one derivation at the current wrap cost
//! on a fixed salt before answering [`WrapError::NoCopy`], so "no copy" costs what a wrong
//! password costs.

use crate::kdf::{Argon2Deriver, Deriver, KdfParams, KdfPolicy};
use crate::keys::LedgerKey;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use serde::{Deserialize, Serialize};
use std::path::Path;
use zeroize::Zeroizing;

/// Current file format (64 MiB / t=3 copies).
const FORMAT: u32 = 2;
/// Previous format (19 MiB / t=2 copies); still read.
const FORMAT_LEGACY: u32 = 1;

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
    /// A copy asks for key-derivation parameters outside the accepted bounds (too weak, or
    /// absurdly expensive): the file is refused without deriving anything.
    #[error("the key file asks for derivation parameters out of bounds (m={m_cost} KiB, t={t_cost}, p={p_cost})")]
    Params {
        m_cost: u32,
        t_cost: u32,
        p_cost: u32,
    },
    #[error("key derivation failed: {0}")]
    Kdf(String),
    #[error("random source failed: {0}")]
    Random(String),
    #[error("key file: {0}")]
    Io(#[from] std::io::Error),
}

impl From<crate::kdf::KdfError> for WrapError {
    fn from(e: crate::kdf::KdfError) -> Self {
        WrapError::Kdf(e.0)
    }
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

impl Wrap {
    fn params(&self) -> KdfParams {
        KdfParams {
            m_cost: self.m_cost,
            t_cost: self.t_cost,
            p_cost: self.p_cost,
        }
    }
}

/// The sidecar: `ledger.keys` beside `ledger.db`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyWraps {
    format: u32,
    ledger_id: String,
    wraps: Vec<Wrap>,
}

/// Salt of the dummy derivation run when a holder has no copy (its result is discarded).
const DUMMY_SALT: &[u8; 16] = b"sesshu-no-copy!!";

fn derive_kek(
    d: &dyn Deriver,
    secret: &[u8],
    salt: &[u8],
    params: KdfParams,
) -> Result<Zeroizing<[u8; 32]>, WrapError> {
    let mut kek = Zeroizing::new([0u8; 32]);
    d.derive(secret, salt, params, kek.as_mut())?;
    Ok(kek)
}

fn production() -> Argon2Deriver {
    Argon2Deriver::default()
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

    /// The file format this set will be written as: 2, or 1 while a legacy copy remains.
    pub fn format(&self) -> u32 {
        self.format
    }

    /// Whether stored parameters are acceptable for this file under `policy`.
    fn check_params(&self, policy: &KdfPolicy, p: KdfParams) -> Result<(), WrapError> {
        let legacy_ok = self.format == FORMAT_LEGACY && p == policy.legacy_wrap;
        if policy.accepts_wrap(p) || legacy_ok {
            Ok(())
        } else {
            Err(WrapError::Params {
                m_cost: p.m_cost,
                t_cost: p.t_cost,
                p_cost: p.p_cost,
            })
        }
    }

    /// Format 2 once no copy has the legacy parameters (see the module notes).
    fn settle_format(&mut self, policy: &KdfPolicy) {
        let any_legacy = self.wraps.iter().any(|w| !policy.accepts_wrap(w.params()));
        self.format = if any_legacy { FORMAT_LEGACY } else { FORMAT };
    }

    fn wrap(
        &mut self,
        d: &dyn Deriver,
        key: &LedgerKey,
        holder: Holder,
        secret: &[u8],
    ) -> Result<(), WrapError> {
        let policy = d.policy();
        let params = policy.wrap;
        let mut salt = [0u8; 16];
        let mut nonce = [0u8; 12];
        getrandom::getrandom(&mut salt).map_err(|e| WrapError::Random(e.to_string()))?;
        getrandom::getrandom(&mut nonce).map_err(|e| WrapError::Random(e.to_string()))?;
        let kek = derive_kek(d, secret, &salt, params)?;
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
            m_cost: params.m_cost,
            t_cost: params.t_cost,
            p_cost: params.p_cost,
            salt: hex::encode(salt),
            nonce: hex::encode(nonce),
            ciphertext: hex::encode(ct),
        });
        self.settle_format(&policy);
        Ok(())
    }

    fn unwrap_one(&self, d: &dyn Deriver, w: &Wrap, secret: &[u8]) -> Result<LedgerKey, WrapError> {
        let bad = |what: &str| WrapError::Malformed(what.to_owned());
        self.check_params(&d.policy(), w.params())?;
        let salt = hex::decode(&w.salt).map_err(|_| bad("salt"))?;
        let nonce = hex::decode(&w.nonce).map_err(|_| bad("nonce"))?;
        let ct = hex::decode(&w.ciphertext).map_err(|_| bad("ciphertext"))?;
        if nonce.len() != 12 {
            return Err(bad("nonce length"));
        }
        if !(8..=64).contains(&salt.len()) {
            return Err(bad("salt length"));
        }
        let kek = derive_kek(d, secret, &salt, w.params())?;
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
        self.set_recovery_with(&production(), key, recovery)
    }

    /// [`Self::set_recovery`] with an injected deriver.
    pub fn set_recovery_with(
        &mut self,
        d: &dyn Deriver,
        key: &LedgerKey,
        recovery: &RecoveryKey,
    ) -> Result<(), WrapError> {
        self.wrap(d, key, Holder::Recovery, &recovery.0)
    }

    /// Adds or re-wraps a holder's copy (setup, administrator granted, password change or
    /// reset, or a legacy copy re-made at sign-in).
    pub fn set_user(
        &mut self,
        key: &LedgerKey,
        login_id: &str,
        password: &str,
    ) -> Result<(), WrapError> {
        self.set_user_with(&production(), key, login_id, password)
    }

    /// [`Self::set_user`] with an injected deriver.
    pub fn set_user_with(
        &mut self,
        d: &dyn Deriver,
        key: &LedgerKey,
        login_id: &str,
        password: &str,
    ) -> Result<(), WrapError> {
        self.wrap(
            d,
            key,
            Holder::User {
                login_id: login_id.to_owned(),
            },
            password.as_bytes(),
        )
    }

    /// Drops a holder's copy (account disabled, administrator role removed).
    pub fn remove_holder(&mut self, login_id: &str) {
        self.wraps
            .retain(|w| !matches!(&w.holder, Holder::User { login_id: l } if l == login_id));
    }

    /// Same as [`Self::remove_holder`] (older name).
    pub fn remove_user(&mut self, login_id: &str) {
        self.remove_holder(login_id);
    }

    /// Keeps only the user copies whose login id satisfies `keep` (the recovery copy always
    /// stays). The terminal passes "is an active administrator".
    pub fn retain_holders(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.wraps.retain(|w| match &w.holder {
            Holder::Recovery => true,
            Holder::User { login_id } => keep(login_id),
        });
    }

    /// Login ids holding a copy, in file order.
    pub fn holders(&self) -> Vec<String> {
        self.wraps
            .iter()
            .filter_map(|w| match &w.holder {
                Holder::User { login_id } => Some(login_id.clone()),
                Holder::Recovery => None,
            })
            .collect()
    }

    pub fn has_user(&self, login_id: &str) -> bool {
        self.find_user(login_id).is_some()
    }

    pub fn has_recovery(&self) -> bool {
        self.wraps.iter().any(|w| w.holder == Holder::Recovery)
    }

    /// True when this holder's copy was made at the legacy cost and should be re-made (with
    /// [`Self::set_user`]) now that the password is at hand.
    pub fn needs_rewrap(&self, login_id: &str) -> bool {
        self.needs_rewrap_with(&production(), login_id)
    }

    pub fn needs_rewrap_with(&self, d: &dyn Deriver, login_id: &str) -> bool {
        self.find_user(login_id)
            .is_some_and(|w| !d.policy().accepts_wrap(w.params()))
    }

    fn find_user(&self, login_id: &str) -> Option<&Wrap> {
        self.wraps
            .iter()
            .find(|w| matches!(&w.holder, Holder::User { login_id: l } if l == login_id))
    }

    pub fn unwrap_with_recovery(&self, recovery: &RecoveryKey) -> Result<LedgerKey, WrapError> {
        self.unwrap_with_recovery_with(&production(), recovery)
    }

    /// [`Self::unwrap_with_recovery`] with an injected deriver; a missing recovery copy runs
    /// the dummy derivation too.
    pub fn unwrap_with_recovery_with(
        &self,
        d: &dyn Deriver,
        recovery: &RecoveryKey,
    ) -> Result<LedgerKey, WrapError> {
        match self.wraps.iter().find(|w| w.holder == Holder::Recovery) {
            Some(w) => self.unwrap_one(d, w, &recovery.0),
            None => Err(dummy_derivation(d, &recovery.0)),
        }
    }

    pub fn unwrap_with_password(
        &self,
        login_id: &str,
        password: &str,
    ) -> Result<LedgerKey, WrapError> {
        self.unwrap_with_password_with(&production(), login_id, password)
    }

    /// [`Self::unwrap_with_password`] with an injected deriver. Exactly one derivation runs
    /// whether or not the holder has a copy.
    pub fn unwrap_with_password_with(
        &self,
        d: &dyn Deriver,
        login_id: &str,
        password: &str,
    ) -> Result<LedgerKey, WrapError> {
        match self.find_user(login_id) {
            Some(w) => self.unwrap_one(d, w, password.as_bytes()),
            None => Err(dummy_derivation(d, password.as_bytes())),
        }
    }

    /// Reads the sidecar; `Ok(None)` when there is none. Every copy's parameters are checked
    /// against the production bounds.
    pub fn load(path: &Path) -> Result<Option<KeyWraps>, WrapError> {
        Self::load_with(&production(), path)
    }

    /// [`Self::load`] checking parameters against `d`'s policy.
    pub fn load_with(d: &dyn Deriver, path: &Path) -> Result<Option<KeyWraps>, WrapError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Self::parse_with(d, &text).map(Some)
    }

    fn parse_with(d: &dyn Deriver, text: &str) -> Result<KeyWraps, WrapError> {
        let w: KeyWraps =
            serde_json::from_str(text).map_err(|e| WrapError::Malformed(e.to_string()))?;
        if w.format != FORMAT && w.format != FORMAT_LEGACY {
            return Err(WrapError::Malformed(format!("unknown format {}", w.format)));
        }
        let policy = d.policy();
        for c in &w.wraps {
            w.check_params(&policy, c.params())?;
        }
        Ok(w)
    }

    /// Writes atomically and privately (0600 on Unix): a temporary file, fsync, rename, fsync
    /// of the directory — a crash leaves the old or the new file.
    pub fn save(&self, path: &Path) -> Result<(), WrapError> {
        let text =
            serde_json::to_string_pretty(self).map_err(|e| WrapError::Malformed(e.to_string()))?;
        crate::fsutil::write_private_atomic(path, "keys.tmp", text.as_bytes())?;
        Ok(())
    }
}

/// Runs the derivation a wrong password would cost and answers [`WrapError::NoCopy`] (or the
/// derivation's own failure).
fn dummy_derivation(d: &dyn Deriver, secret: &[u8]) -> WrapError {
    match derive_kek(d, secret, DUMMY_SALT, d.policy().wrap) {
        Ok(_) => WrapError::NoCopy,
        Err(e) => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kdf::{CountingDeriver, TEST_POLICY};

    fn cheap() -> CountingDeriver {
        CountingDeriver::new(TEST_POLICY)
    }

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
    fn production_wraps_use_the_strong_cost_and_unwrap() {
        let key = LedgerKey::generate().unwrap();
        let mut w = KeyWraps::new("L1");
        w.set_user(&key, "admin01", "Correct-Horse-1").unwrap();
        assert_eq!(w.wraps[0].params(), crate::kdf::WRAP_PARAMS);
        assert_eq!(w.format(), 2);
        assert_eq!(
            w.unwrap_with_password("admin01", "Correct-Horse-1")
                .unwrap(),
            key
        );
    }

    #[test]
    fn wraps_unwrap_only_with_the_right_secret() {
        let d = cheap();
        let key = LedgerKey::generate().unwrap();
        let rec = RecoveryKey::generate().unwrap();
        let mut w = KeyWraps::new("L1");
        w.set_recovery_with(&d, &key, &rec).unwrap();
        w.set_user_with(&d, &key, "admin01", "Correct-Horse-1")
            .unwrap();
        assert_eq!(w.unwrap_with_recovery_with(&d, &rec).unwrap(), key);
        assert_eq!(
            w.unwrap_with_password_with(&d, "admin01", "Correct-Horse-1")
                .unwrap(),
            key
        );
        assert!(matches!(
            w.unwrap_with_password_with(&d, "admin01", "wrong"),
            Err(WrapError::Rejected)
        ));
        assert!(matches!(
            w.unwrap_with_password_with(&d, "nobody", "x"),
            Err(WrapError::NoCopy)
        ));
        let other = RecoveryKey::generate().unwrap();
        assert!(matches!(
            w.unwrap_with_recovery_with(&d, &other),
            Err(WrapError::Rejected)
        ));
    }

    #[test]
    fn no_copy_costs_the_same_derivation_as_a_wrong_password() {
        let d = cheap();
        let key = LedgerKey::generate().unwrap();
        let mut w = KeyWraps::new("L1");
        w.set_user_with(&d, &key, "admin01", "Correct-Horse-1")
            .unwrap();
        let before = d.count();
        assert!(matches!(
            w.unwrap_with_password_with(&d, "admin01", "wrong"),
            Err(WrapError::Rejected)
        ));
        assert_eq!(d.count() - before, 1);
        let wrong_params = d.last_params();
        assert!(matches!(
            w.unwrap_with_password_with(&d, "keyer01", "whatever"),
            Err(WrapError::NoCopy)
        ));
        assert_eq!(
            d.count() - before,
            2,
            "one derivation for the missing copy too"
        );
        assert_eq!(d.last_params(), wrong_params, "at the same cost");
        // The same for a file without a recovery copy.
        let r = RecoveryKey::generate().unwrap();
        assert!(matches!(
            w.unwrap_with_recovery_with(&d, &r),
            Err(WrapError::NoCopy)
        ));
        assert_eq!(d.count() - before, 3);
    }

    #[test]
    fn only_retained_holders_keep_a_copy() {
        let d = cheap();
        let key = LedgerKey::generate().unwrap();
        let rec = RecoveryKey::generate().unwrap();
        let mut w = KeyWraps::new("L1");
        w.set_recovery_with(&d, &key, &rec).unwrap();
        for u in ["admin01", "keyer01", "admin02"] {
            w.set_user_with(&d, &key, u, "Pass-word-123").unwrap();
        }
        w.retain_holders(|l| l.starts_with("admin"));
        assert_eq!(
            w.holders(),
            vec!["admin01".to_owned(), "admin02".to_owned()]
        );
        assert!(w.has_recovery());
        assert!(matches!(
            w.unwrap_with_password_with(&d, "keyer01", "Pass-word-123"),
            Err(WrapError::NoCopy)
        ));
        w.remove_holder("admin02");
        assert_eq!(w.holders(), vec!["admin01".to_owned()]);
    }

    #[test]
    fn a_copy_moved_to_another_holder_does_not_unwrap() {
        // The associated data binds each copy to its holder: swapping holders breaks it.
        let d = cheap();
        let key = LedgerKey::generate().unwrap();
        let mut w = KeyWraps::new("L1");
        w.set_user_with(&d, &key, "a01", "Pass-word-123").unwrap();
        if let Holder::User { login_id } = &mut w.wraps[0].holder {
            *login_id = "b01".into();
        }
        assert!(matches!(
            w.unwrap_with_password_with(&d, "b01", "Pass-word-123"),
            Err(WrapError::Rejected)
        ));
    }

    #[test]
    fn parameters_out_of_bounds_are_refused_before_deriving() {
        let d = cheap();
        let key = LedgerKey::generate().unwrap();
        let mut w = KeyWraps::new("L1");
        w.set_user_with(&d, &key, "a01", "Pass-word-123").unwrap();
        for (m, t) in [(8, 1), (16, 0), (1 << 30, 1), (16, 1000)] {
            let mut bad = w.clone();
            bad.wraps[0].m_cost = m;
            bad.wraps[0].t_cost = t;
            let text = serde_json::to_string(&bad).unwrap();
            assert!(
                matches!(
                    KeyWraps::parse_with(&d, &text),
                    Err(WrapError::Params { .. })
                ),
                "m={m} t={t}"
            );
            let before = d.count();
            assert!(matches!(
                bad.unwrap_with_password_with(&d, "a01", "Pass-word-123"),
                Err(WrapError::Params { .. })
            ));
            assert_eq!(d.count(), before, "no derivation at refused parameters");
        }
        // The production loader refuses a file at the cheap test cost.
        let text = serde_json::to_string(&w).unwrap();
        assert!(matches!(
            KeyWraps::parse_with(&Argon2Deriver::default(), &text),
            Err(WrapError::Params { .. })
        ));
    }

    #[test]
    fn a_legacy_file_is_read_and_upgraded_when_its_copies_are_remade() {
        let d = cheap();
        let key = LedgerKey::generate().unwrap();
        let legacy = TEST_POLICY.legacy_wrap;
        // A format-1 file as the previous version wrote it: legacy cost.
        let old = CountingDeriver::new(KdfPolicy {
            wrap: legacy,
            ..TEST_POLICY
        });
        let mut w = KeyWraps::new("L1");
        w.set_user_with(&old, &key, "a01", "Pass-word-123").unwrap();
        w.format = FORMAT_LEGACY;
        let text = serde_json::to_string(&w).unwrap();
        let mut back = KeyWraps::parse_with(&d, &text).unwrap();
        assert!(back.needs_rewrap_with(&d, "a01"));
        assert_eq!(
            back.unwrap_with_password_with(&d, "a01", "Pass-word-123")
                .unwrap(),
            key
        );
        back.set_user_with(&d, &key, "a01", "Pass-word-123")
            .unwrap();
        assert!(!back.needs_rewrap_with(&d, "a01"));
        assert_eq!(back.format(), FORMAT);
        // Legacy parameters in a format-2 file are a forgery or a bug: refused.
        let mut forged = w.clone();
        forged.format = FORMAT;
        let text = serde_json::to_string(&forged).unwrap();
        assert!(matches!(
            KeyWraps::parse_with(&d, &text),
            Err(WrapError::Params { .. })
        ));
    }

    #[test]
    fn save_and_load() {
        let d = cheap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ledger.keys");
        assert!(KeyWraps::load_with(&d, &p).unwrap().is_none());
        let key = LedgerKey::generate().unwrap();
        let mut w = KeyWraps::new("L1");
        w.set_user_with(&d, &key, "a01", "Pass-word-123").unwrap();
        w.save(&p).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(
            !text.contains(&hex::encode(key.as_bytes())),
            "no clear key in the sidecar"
        );
        let back = KeyWraps::load_with(&d, &p).unwrap().unwrap();
        assert_eq!(
            back.unwrap_with_password_with(&d, "a01", "Pass-word-123")
                .unwrap(),
            key
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "the key file is private");
        }
    }
}
