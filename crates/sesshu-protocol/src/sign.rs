//! Canonical encoding and Ed25519 signatures.
//!
//! A [`Signed`] message carries the exact bytes that were signed (`body`, compact JSON of the
//! message struct in declaration order) beside the signature. The receiver verifies those bytes
//! and only then parses them, so no re-encoding can make a valid signature fail or a forged body
//! pass. Every signature covers a purpose tag first (`sesshu/batch/v1`, …): a receipt can never be
//! replayed as a batch, nor the reverse.

use crate::errors::ProtocolError;
use ed25519_dalek::Signer;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::marker::PhantomData;
use zeroize::Zeroizing;

/// What a signature is for; signed before the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Batch,
    Receipt,
    Enrolment,
    /// A hub downlink (`downlink::Downlink`), hub key.
    Downlink,
    /// A terminal's downlink request (`downlink::DownlinkRequest`), terminal key.
    DownlinkRequest,
}

impl Purpose {
    fn tag(self) -> &'static [u8] {
        match self {
            Purpose::Batch => b"sesshu/batch/v1\0",
            Purpose::Receipt => b"sesshu/receipt/v1\0",
            Purpose::Enrolment => b"sesshu/enrolment/v1\0",
            Purpose::Downlink => b"sesshu/downlink/v1\0",
            Purpose::DownlinkRequest => b"sesshu/downlink-request/v1\0",
        }
    }
}

/// A private signing key (terminal identity or hub identity). Wiped on drop.
pub struct SigningKey(ed25519_dalek::SigningKey);

impl SigningKey {
    /// From 32 secret bytes the caller drew from the OS's random source.
    pub fn from_bytes(secret: &[u8; 32]) -> SigningKey {
        SigningKey(ed25519_dalek::SigningKey::from_bytes(secret))
    }

    pub fn from_hex(s: &str) -> Result<SigningKey, ProtocolError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(s.trim(), bytes.as_mut()).map_err(|_| ProtocolError::BadKey)?;
        Ok(SigningKey::from_bytes(&bytes))
    }

    /// Hex of the secret, for the key store only; wiped when dropped.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0.to_bytes()))
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey(self.0.verifying_key())
    }

    /// The Ed25519 key itself, for the envelope's X25519 derivation (`crate::envelope`).
    pub(crate) fn dalek(&self) -> &ed25519_dalek::SigningKey {
        &self.0
    }

    fn sign(&self, purpose: Purpose, body: &[u8]) -> String {
        let sig = self.0.sign(&signed_bytes(purpose, body));
        hex::encode(sig.to_bytes())
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

/// A public key, on the wire as 64 lower-case hex characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyingKey(ed25519_dalek::VerifyingKey);

impl VerifyingKey {
    pub fn from_hex(s: &str) -> Result<VerifyingKey, ProtocolError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(s.trim(), &mut bytes).map_err(|_| ProtocolError::BadKey)?;
        ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map(VerifyingKey)
            .map_err(|_| ProtocolError::BadKey)
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0.as_bytes())
    }

    /// The Ed25519 key itself, for the envelope's X25519 derivation (`crate::envelope`).
    pub(crate) fn dalek(&self) -> &ed25519_dalek::VerifyingKey {
        &self.0
    }

    /// Short form for people comparing keys by eye: the first 16 bytes of SHA-256, grouped.
    pub fn fingerprint(&self) -> String {
        fingerprint(self.0.as_bytes())
    }

    fn verify(&self, purpose: Purpose, body: &[u8], sig_hex: &str) -> Result<(), ProtocolError> {
        let mut sig = [0u8; 64];
        hex::decode_to_slice(sig_hex, &mut sig).map_err(|_| ProtocolError::BadSignature)?;
        let sig = ed25519_dalek::Signature::from_bytes(&sig);
        // verify_strict: refuses the malleable and small-order edge cases of plain verify.
        self.0
            .verify_strict(&signed_bytes(purpose, body), &sig)
            .map_err(|_| ProtocolError::BadSignature)
    }
}

impl Serialize for VerifyingKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for VerifyingKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        VerifyingKey::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// SHA-256 of `bytes`, first 16 bytes as `xxxx:xxxx:…` (used for keys and TLS certificates).
pub fn fingerprint(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    d[..16]
        .chunks(2)
        .map(hex::encode)
        .collect::<Vec<_>>()
        .join(":")
}

fn signed_bytes(purpose: Purpose, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(purpose.tag().len() + body.len());
    v.extend_from_slice(purpose.tag());
    v.extend_from_slice(body);
    v
}

/// The canonical encoding of a message: compact JSON, fields in declaration order.
pub fn canonical<T: Serialize>(msg: &T) -> Result<String, ProtocolError> {
    serde_json::to_string(msg).map_err(|e| ProtocolError::Malformed(e.to_string()))
}

/// A signed message: the signed bytes and the signature, both as sent.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Signed<T> {
    /// Canonical JSON of `T`, exactly as signed.
    pub body: String,
    /// Ed25519 signature over the purpose tag and `body`, hex.
    pub signature: String,
    #[serde(skip)]
    _t: PhantomData<fn() -> T>,
}

// Manual impls: derives would demand `T: Clone` etc., which the bytes do not need.
impl<T> Clone for Signed<T> {
    fn clone(&self) -> Self {
        Signed {
            body: self.body.clone(),
            signature: self.signature.clone(),
            _t: PhantomData,
        }
    }
}

impl<T> PartialEq for Signed<T> {
    fn eq(&self, other: &Self) -> bool {
        self.body == other.body && self.signature == other.signature
    }
}

impl<T> Eq for Signed<T> {}

impl<T> std::fmt::Debug for Signed<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signed")
            .field("body_bytes", &self.body.len())
            .field("signature", &self.signature)
            .finish()
    }
}

impl<T: Serialize + DeserializeOwned> Signed<T> {
    /// Encodes `msg` canonically and signs it.
    pub fn seal(key: &SigningKey, purpose: Purpose, msg: &T) -> Result<Signed<T>, ProtocolError> {
        let body = canonical(msg)?;
        let signature = key.sign(purpose, body.as_bytes());
        Ok(Signed {
            body,
            signature,
            _t: PhantomData,
        })
    }

    /// Verifies the signature with `key`, then parses the body.
    pub fn open(&self, key: &VerifyingKey, purpose: Purpose) -> Result<T, ProtocolError> {
        self.verify(key, purpose)?;
        self.peek()
    }

    /// Only checks the signature over the body bytes. For a receiver that already parsed the
    /// body with [`Signed::peek`] (to learn whose key to use) and would otherwise parse a large
    /// body twice; it must not act on the peeked value before this returns `Ok`.
    pub fn verify(&self, key: &VerifyingKey, purpose: Purpose) -> Result<(), ProtocolError> {
        key.verify(purpose, self.body.as_bytes(), &self.signature)
    }

    /// Parses the body **without** checking the signature: only to find out who claims to have
    /// signed it (the terminal id), so that the right key can be looked up for [`Signed::open`].
    pub fn peek(&self) -> Result<T, ProtocolError> {
        serde_json::from_str(&self.body).map_err(|e| ProtocolError::Malformed(e.to_string()))
    }

    /// SHA-256 of the signed body, hex: names a batch in its receipt.
    pub fn body_hash(&self) -> String {
        hex::encode(Sha256::digest(self.body.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Msg {
        a: u32,
        b: String,
    }

    #[test]
    fn a_sealed_message_opens_only_with_its_key_and_purpose() {
        let k = SigningKey::from_bytes(&[1; 32]);
        let other = SigningKey::from_bytes(&[2; 32]);
        let m = Msg {
            a: 1,
            b: "接種".into(),
        };
        let s = Signed::seal(&k, Purpose::Batch, &m).unwrap();
        assert_eq!(s.open(&k.verifying_key(), Purpose::Batch).unwrap(), m);
        assert_eq!(
            s.open(&other.verifying_key(), Purpose::Batch),
            Err(ProtocolError::BadSignature)
        );
        assert_eq!(
            s.open(&k.verifying_key(), Purpose::Receipt),
            Err(ProtocolError::BadSignature)
        );
        let mut forged = s.clone();
        forged.body = forged.body.replace("1", "2");
        assert_eq!(
            forged.open(&k.verifying_key(), Purpose::Batch),
            Err(ProtocolError::BadSignature)
        );
        assert_eq!(s.verify(&k.verifying_key(), Purpose::Batch), Ok(()));
        assert_eq!(
            forged.verify(&k.verifying_key(), Purpose::Batch),
            Err(ProtocolError::BadSignature)
        );
        let json = serde_json::to_string(&s).unwrap();
        let back: Signed<Msg> = serde_json::from_str(&json).unwrap();
        assert_eq!(back.open(&k.verifying_key(), Purpose::Batch).unwrap(), m);
    }

    #[test]
    fn keys_round_trip_through_hex() {
        let k = SigningKey::from_bytes(&[9; 32]);
        let k2 = SigningKey::from_hex(&k.to_hex()).unwrap();
        assert_eq!(k.verifying_key(), k2.verifying_key());
        let vk = VerifyingKey::from_hex(&k.verifying_key().to_hex()).unwrap();
        assert_eq!(vk, k.verifying_key());
        assert!(VerifyingKey::from_hex("zz").is_err());
        assert_eq!(vk.fingerprint().len(), 39);
    }
}
