//! The encryption envelope: bytes sealed to one recipient's Ed25519 identity, so that only the
//! holder of that identity's secret can read them (a lost USB stick leaks nothing).
//!
//! Construction (the one age uses for `ssh-ed25519` recipients, libsodium's
//! `crypto_sign_ed25519_pk_to_curve25519` / `_sk_to_curve25519`):
//! - the recipient's X25519 public key is its Ed25519 key mapped to Montgomery form; its X25519
//!   secret is the clamped first half of SHA-512 of the Ed25519 seed (the signing scalar);
//! - the sender draws an ephemeral X25519 secret (passed in: this crate has no randomness);
//! - `HKDF-SHA256(ikm = shared secret, salt = ephemeral public || recipient X25519 public,
//!   info = purpose label)` gives the ChaCha20-Poly1305 key and nonce. A fresh ephemeral key per
//!   envelope means a key is never used twice, so the derived nonce is safe;
//! - the magic line and the header JSON (exact bytes) are the AEAD's associated data: a header
//!   changed by one byte makes the envelope fail to open.
//!
//! File layout: `SESSHU-ENVELOPE/1\n`, the header as one line of compact JSON, `\n`, then the
//! ciphertext (binary, `ciphertext_len` bytes, the last 16 the Poly1305 tag).
//!
//! Which purposes exist: [`EnvelopePurpose::MediaBatches`] (a terminal's signed batches on
//! removable media, to the hub) and [`EnvelopePurpose::Downlink`] (the hub's downlink on media,
//! to a terminal). The hub's media receipt is signed, not encrypted (it holds ids and outcomes
//! only), so it has no envelope purpose.

use crate::sign::{SigningKey, VerifyingKey};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use curve25519_dalek::montgomery::MontgomeryPoint;
use hkdf::Hkdf;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

/// The first line of every envelope.
pub const MAGIC: &[u8] = b"SESSHU-ENVELOPE/1\n";
/// The header's `format`; an envelope of another format is refused.
pub const ENVELOPE_FORMAT: u32 = 1;
/// The header line may not be longer than this (a stick with a random file is refused early).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Poly1305 tag length.
const TAG_BYTES: u64 = 16;

/// What an envelope carries; part of the key derivation, so an envelope made for one purpose
/// cannot be opened as another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnvelopePurpose {
    /// A terminal's signed batches (`crate::media::MediaPayload`), to the hub.
    MediaBatches,
    /// The hub's downlink for one terminal, on media.
    Downlink,
}

impl EnvelopePurpose {
    fn label(self) -> &'static [u8] {
        match self {
            EnvelopePurpose::MediaBatches => b"sesshu/envelope/v1/media-batches",
            EnvelopePurpose::Downlink => b"sesshu/envelope/v1/downlink",
        }
    }
}

/// What the sender states about an envelope; [`seal`] adds the rest of the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeInfo {
    pub purpose: EnvelopePurpose,
    /// The terminal id for media batches; the hub id for a downlink.
    pub sender_id: String,
    pub municipality_code: String,
    /// The registered medium the file was written to.
    pub medium_id: String,
    /// The sender's clock (RFC 3339), informational.
    pub created_at: String,
    /// Items inside (outbox items for media batches).
    pub item_count: u64,
}

/// The envelope header, authenticated as associated data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeHeader {
    pub format: u32,
    pub purpose: EnvelopePurpose,
    pub sender_id: String,
    pub municipality_code: String,
    pub medium_id: String,
    /// [`VerifyingKey::fingerprint`] of the recipient's Ed25519 key.
    pub recipient_fingerprint: String,
    /// The sender's ephemeral X25519 public key, hex.
    #[serde(with = "crate::chain::hex32")]
    pub ephemeral_public: [u8; 32],
    pub created_at: String,
    pub item_count: u64,
    /// Bytes after the header line (plaintext + 16-byte tag): a cut file is told apart from an
    /// altered one.
    pub ciphertext_len: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("not a sesshu envelope")]
    NotAnEnvelope,
    #[error("the envelope is truncated")]
    Truncated,
    #[error("unsupported envelope format {0}")]
    UnsupportedFormat(u32),
    #[error("malformed envelope header: {0}")]
    MalformedHeader(String),
    #[error("the envelope was made for another purpose")]
    WrongPurpose,
    #[error("the envelope is sealed to another key")]
    WrongRecipient,
    #[error("the key cannot be used for envelopes")]
    BadKey,
    #[error("the envelope does not open: altered or damaged")]
    Tampered,
}

/// The recipient's X25519 public key: its Ed25519 key in Montgomery form.
fn recipient_x25519(recipient: &VerifyingKey) -> MontgomeryPoint {
    recipient.dalek().to_montgomery()
}

/// Key and nonce for one envelope.
fn derive(
    shared: &MontgomeryPoint,
    ephemeral_public: &[u8; 32],
    recipient: &MontgomeryPoint,
    purpose: EnvelopePurpose,
) -> Result<(Zeroizing<[u8; 32]>, [u8; 12]), EnvelopeError> {
    // An all-zero shared secret means a low-order point was involved: the result would be
    // predictable by anyone. Refused (as age and libsodium do).
    if shared.as_bytes().iter().all(|b| *b == 0) {
        return Err(EnvelopeError::BadKey);
    }
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(ephemeral_public);
    salt[32..].copy_from_slice(recipient.as_bytes());
    let hk = Hkdf::<Sha256>::new(Some(&salt), shared.as_bytes());
    let mut okm = Zeroizing::new([0u8; 44]);
    hk.expand(purpose.label(), okm.as_mut())
        .map_err(|_| EnvelopeError::BadKey)?;
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&okm[..32]);
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&okm[32..]);
    Ok((key, nonce))
}

fn aad(header_line: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(MAGIC.len() + header_line.len());
    v.extend_from_slice(MAGIC);
    v.extend_from_slice(header_line);
    v
}

/// Seals `plaintext` to `recipient`. `ephemeral_secret` must be 32 fresh bytes from the OS random
/// source, used for this envelope only.
pub fn seal(
    recipient: &VerifyingKey,
    info: &EnvelopeInfo,
    plaintext: &[u8],
    ephemeral_secret: &[u8; 32],
) -> Result<Vec<u8>, EnvelopeError> {
    let recipient_x = recipient_x25519(recipient);
    let ephemeral_public = MontgomeryPoint::mul_base_clamped(*ephemeral_secret).to_bytes();
    let shared = recipient_x.mul_clamped(*ephemeral_secret);
    let (key, nonce) = derive(&shared, &ephemeral_public, &recipient_x, info.purpose)?;
    let header = EnvelopeHeader {
        format: ENVELOPE_FORMAT,
        purpose: info.purpose,
        sender_id: info.sender_id.clone(),
        municipality_code: info.municipality_code.clone(),
        medium_id: info.medium_id.clone(),
        recipient_fingerprint: recipient.fingerprint(),
        ephemeral_public,
        created_at: info.created_at.clone(),
        item_count: info.item_count,
        ciphertext_len: plaintext.len() as u64 + TAG_BYTES,
    };
    let line =
        serde_json::to_vec(&header).map_err(|e| EnvelopeError::MalformedHeader(e.to_string()))?;
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key.as_ref()));
    let ciphertext = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: &aad(&line),
            },
        )
        .map_err(|_| EnvelopeError::BadKey)?;
    let mut out = Vec::with_capacity(MAGIC.len() + line.len() + 1 + ciphertext.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&line);
    out.push(b'\n');
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

/// Splits an envelope into its header line (bytes), parsed header and ciphertext.
fn split(bytes: &[u8]) -> Result<(&[u8], EnvelopeHeader, &[u8]), EnvelopeError> {
    let Some(rest) = bytes.strip_prefix(MAGIC) else {
        if MAGIC.starts_with(bytes) {
            return Err(EnvelopeError::Truncated);
        }
        return Err(EnvelopeError::NotAnEnvelope);
    };
    let window = &rest[..rest.len().min(MAX_HEADER_BYTES)];
    let Some(nl) = window.iter().position(|b| *b == b'\n') else {
        if rest.len() < MAX_HEADER_BYTES {
            return Err(EnvelopeError::Truncated);
        }
        return Err(EnvelopeError::MalformedHeader(
            "header line too long".into(),
        ));
    };
    let line = &rest[..nl];
    let ciphertext = &rest[nl + 1..];
    let header: EnvelopeHeader =
        serde_json::from_slice(line).map_err(|e| EnvelopeError::MalformedHeader(e.to_string()))?;
    if header.format != ENVELOPE_FORMAT {
        return Err(EnvelopeError::UnsupportedFormat(header.format));
    }
    let len = ciphertext.len() as u64;
    if len < header.ciphertext_len {
        return Err(EnvelopeError::Truncated);
    }
    if len > header.ciphertext_len {
        return Err(EnvelopeError::Tampered);
    }
    Ok((line, header, ciphertext))
}

/// The header, **not authenticated**: to show what a file claims to be (medium, sender) before
/// it is opened. Nothing may be acted on before [`open`] succeeds.
pub fn peek_header(bytes: &[u8]) -> Result<EnvelopeHeader, EnvelopeError> {
    split(bytes).map(|(_, h, _)| h)
}

/// Opens an envelope sealed to `recipient`'s identity for `purpose`: the authenticated header
/// and the plaintext.
pub fn open(
    bytes: &[u8],
    recipient: &SigningKey,
    purpose: EnvelopePurpose,
) -> Result<(EnvelopeHeader, Vec<u8>), EnvelopeError> {
    let (line, header, ciphertext) = split(bytes)?;
    if header.purpose != purpose {
        return Err(EnvelopeError::WrongPurpose);
    }
    let own = recipient.verifying_key();
    if header.recipient_fingerprint != own.fingerprint() {
        return Err(EnvelopeError::WrongRecipient);
    }
    let recipient_x = recipient_x25519(&own);
    let secret = Zeroizing::new(recipient.dalek().to_scalar_bytes());
    let shared = MontgomeryPoint(header.ephemeral_public).mul_clamped(*secret);
    let (key, nonce) = derive(&shared, &header.ephemeral_public, &recipient_x, purpose)
        .map_err(|_| EnvelopeError::Tampered)?;
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key.as_ref()));
    let plaintext = cipher
        .decrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: ciphertext,
                aad: &aad(line),
            },
        )
        .map_err(|_| EnvelopeError::Tampered)?;
    Ok((header, plaintext))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn info(purpose: EnvelopePurpose, n: u64) -> EnvelopeInfo {
        EnvelopeInfo {
            purpose,
            sender_id: "0191f0e0-0000-7000-8000-000000000001".into(),
            municipality_code: "131016".into(),
            medium_id: "MED-0001".into(),
            created_at: "2026-11-29T00:00:00.000000Z".into(),
            item_count: n,
        }
    }

    #[test]
    fn a_sealed_envelope_opens_with_the_recipient_secret_only() {
        let hub = SigningKey::from_bytes(&[7; 32]);
        let other = SigningKey::from_bytes(&[8; 32]);
        let sealed = seal(
            &hub.verifying_key(),
            &info(EnvelopePurpose::MediaBatches, 3),
            "接種記録".as_bytes(),
            &[1; 32],
        )
        .unwrap();
        assert!(sealed.starts_with(MAGIC));
        let (h, plain) = open(&sealed, &hub, EnvelopePurpose::MediaBatches).unwrap();
        assert_eq!(plain, "接種記録".as_bytes());
        assert_eq!(h.item_count, 3);
        assert_eq!(h.medium_id, "MED-0001");
        assert_eq!(peek_header(&sealed).unwrap(), h);
        // The plaintext is not visible in the file.
        assert!(!sealed.windows("接種".len()).any(|w| w == "接種".as_bytes()));
        assert_eq!(
            open(&sealed, &other, EnvelopePurpose::MediaBatches),
            Err(EnvelopeError::WrongRecipient)
        );
        assert_eq!(
            open(&sealed, &hub, EnvelopePurpose::Downlink),
            Err(EnvelopeError::WrongPurpose)
        );
        assert_eq!(
            open(b"hello", &hub, EnvelopePurpose::MediaBatches),
            Err(EnvelopeError::NotAnEnvelope)
        );
    }

    #[test]
    fn a_header_that_names_another_recipient_or_purpose_still_does_not_open() {
        let hub = SigningKey::from_bytes(&[7; 32]);
        let other = SigningKey::from_bytes(&[8; 32]);
        let sealed = seal(
            &hub.verifying_key(),
            &info(EnvelopePurpose::MediaBatches, 1),
            b"x",
            &[2; 32],
        )
        .unwrap();
        let (line, mut header, ct) = split(&sealed).unwrap();
        let _ = line;
        // Rewrite the header to name the other key: the AAD changes, the tag fails.
        header.recipient_fingerprint = other.verifying_key().fingerprint();
        let mut forged = MAGIC.to_vec();
        forged.extend_from_slice(&serde_json::to_vec(&header).unwrap());
        forged.push(b'\n');
        forged.extend_from_slice(ct);
        assert_eq!(
            open(&forged, &other, EnvelopePurpose::MediaBatches),
            Err(EnvelopeError::Tampered)
        );
        // Relabelled as a downlink: the key derivation differs.
        header.recipient_fingerprint = hub.verifying_key().fingerprint();
        header.purpose = EnvelopePurpose::Downlink;
        let mut forged = MAGIC.to_vec();
        forged.extend_from_slice(&serde_json::to_vec(&header).unwrap());
        forged.push(b'\n');
        forged.extend_from_slice(ct);
        assert_eq!(
            open(&forged, &hub, EnvelopePurpose::Downlink),
            Err(EnvelopeError::Tampered)
        );
    }

    #[test]
    fn the_x25519_keys_agree_with_the_ed25519_identity() {
        // The Montgomery form of the Ed25519 public key is the X25519 public key of the
        // signing scalar: the map libsodium and age use.
        let k = SigningKey::from_bytes(&[42; 32]);
        let from_secret = MontgomeryPoint::mul_base_clamped(k.dalek().to_scalar_bytes());
        assert_eq!(from_secret, k.verifying_key().dalek().to_montgomery());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn round_trip(plain in proptest::collection::vec(any::<u8>(), 0..600), eph in any::<[u8; 32]>(), n in 0u64..10_000) {
            let hub = SigningKey::from_bytes(&[9; 32]);
            let sealed = seal(&hub.verifying_key(), &info(EnvelopePurpose::Downlink, n), &plain, &eph).unwrap();
            let (h, back) = open(&sealed, &hub, EnvelopePurpose::Downlink).unwrap();
            prop_assert_eq!(back, plain);
            prop_assert_eq!(h.item_count, n);
        }

        #[test]
        fn any_flipped_byte_is_refused(plain in proptest::collection::vec(any::<u8>(), 1..300), at in any::<prop::sample::Index>(), bit in 0u8..8) {
            let hub = SigningKey::from_bytes(&[9; 32]);
            let mut sealed = seal(&hub.verifying_key(), &info(EnvelopePurpose::MediaBatches, 1), &plain, &[5; 32]).unwrap();
            let i = at.index(sealed.len());
            sealed[i] ^= 1 << bit;
            let r = open(&sealed, &hub, EnvelopePurpose::MediaBatches);
            prop_assert!(r.is_err(), "flipped byte {} opened", i);
        }

        #[test]
        fn any_truncation_is_refused(plain in proptest::collection::vec(any::<u8>(), 0..300), at in any::<prop::sample::Index>()) {
            let hub = SigningKey::from_bytes(&[9; 32]);
            let sealed = seal(&hub.verifying_key(), &info(EnvelopePurpose::MediaBatches, 1), &plain, &[6; 32]).unwrap();
            let cut = at.index(sealed.len());
            let r = open(&sealed[..cut], &hub, EnvelopePurpose::MediaBatches);
            prop_assert!(r.is_err());
            // Past the header line, a cut is reported as a truncation, not as tampering.
            let header_end = sealed.len() - (plain.len() + 16);
            if cut >= header_end {
                prop_assert_eq!(r, Err(EnvelopeError::Truncated));
            }
        }

        #[test]
        fn a_wrong_recipient_never_opens(secret in any::<[u8; 32]>()) {
            prop_assume!(secret != [9; 32]);
            let hub = SigningKey::from_bytes(&[9; 32]);
            let other = SigningKey::from_bytes(&secret);
            let sealed = seal(&hub.verifying_key(), &info(EnvelopePurpose::MediaBatches, 1), b"data", &[3; 32]).unwrap();
            prop_assert_eq!(open(&sealed, &other, EnvelopePurpose::MediaBatches), Err(EnvelopeError::WrongRecipient));
        }
    }
}
