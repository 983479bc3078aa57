//! Canonical encoding and Ed25519 signatures.
//!
//! A [`Signed`] message carries the exact bytes that were signed (`body`, compact JSON of the
//! message struct in declaration order) beside the signature. The receiver verifies those bytes
//! and only then parses them, so no re-encoding can make a valid signature fail or a forged body
//! pass. Every signature covers a purpose tag first (`sesshu/batch/v2`, …): a receipt can never be
//! replayed as a batch, nor the reverse.
//!
//! The Ed25519 message is `tag ‖ SHA-256(body)` (48–60 bytes), not the body itself: Ed25519
//! hashes its message twice with SHA-512 to sign and once to verify, which on a batch of
//! thousands of records cost more CPU than everything else the terminal does to send it
//! (`sync-bench`); SHA-256 runs once, on the processors' SHA extensions where present.
//! Collision resistance of SHA-256 is what the signature then rests on, as it already does for
//! the items' content hashes and the audit chain. (`v1` tags signed the body itself.)

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
            Purpose::Batch => b"sesshu/batch/v2\0",
            Purpose::Receipt => b"sesshu/receipt/v2\0",
            Purpose::Enrolment => b"sesshu/enrolment/v2\0",
            Purpose::Downlink => b"sesshu/downlink/v2\0",
            Purpose::DownlinkRequest => b"sesshu/downlink-request/v2\0",
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

    fn sign_digest(&self, purpose: Purpose, digest: &[u8; 32]) -> String {
        let sig = self.0.sign(&message(purpose, digest));
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
        self.verify_digest(purpose, &Sha256::digest(body).into(), sig_hex)
    }

    fn verify_digest(
        &self,
        purpose: Purpose,
        digest: &[u8; 32],
        sig_hex: &str,
    ) -> Result<(), ProtocolError> {
        let mut sig = [0u8; 64];
        hex::decode_to_slice(sig_hex, &mut sig).map_err(|_| ProtocolError::BadSignature)?;
        let sig = ed25519_dalek::Signature::from_bytes(&sig);
        // verify_strict: refuses the malleable and small-order edge cases of plain verify.
        self.0
            .verify_strict(&message(purpose, digest), &sig)
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

/// The Ed25519 message for a body under `purpose`: the tag, then the body's SHA-256.
fn message(purpose: Purpose, digest: &[u8; 32]) -> Vec<u8> {
    let mut v = Vec::with_capacity(purpose.tag().len() + 32);
    v.extend_from_slice(purpose.tag());
    v.extend_from_slice(digest);
    v
}

/// The canonical encoding of a message: compact JSON, fields in declaration order.
pub fn canonical<T: Serialize>(msg: &T) -> Result<String, ProtocolError> {
    serde_json::to_string(msg).map_err(|e| ProtocolError::Malformed(e.to_string()))
}

/// A signed message: the signed bytes and the signature, both as sent.
///
/// On the wire the body is embedded as the JSON it is (`{"body":{…},"signature":"…"}`), byte
/// for byte, not as an escaped JSON string ([`crate::raw_json`]); a body sent as a string (the
/// first protocol's form) is still read.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Signed<T> {
    /// Canonical JSON of `T`, exactly as signed.
    #[serde(with = "crate::raw_json")]
    pub body: String,
    /// Ed25519 signature over the purpose tag and the body's SHA-256, hex.
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

impl<T> Signed<T> {
    /// A signed message from its two parts as they travelled apart (the body of a request and
    /// its signature header): nothing is checked until [`Signed::open`] or [`Signed::verify`].
    pub fn from_parts(body: String, signature: String) -> Signed<T> {
        Signed {
            body,
            signature,
            _t: PhantomData,
        }
    }
}

impl<T: Serialize + DeserializeOwned> Signed<T> {
    /// Encodes `msg` canonically and signs it.
    pub fn seal(key: &SigningKey, purpose: Purpose, msg: &T) -> Result<Signed<T>, ProtocolError> {
        Ok(Signed::seal_hashed(key, purpose, msg)?.0)
    }

    /// [`Signed::seal`], also answering [`Signed::body_hash`] from the digest the signature
    /// needed anyway (a batch body is hashed once, not twice).
    pub fn seal_hashed(
        key: &SigningKey,
        purpose: Purpose,
        msg: &T,
    ) -> Result<(Signed<T>, String), ProtocolError> {
        let body = canonical(msg)?;
        let digest: [u8; 32] = Sha256::digest(body.as_bytes()).into();
        let signature = key.sign_digest(purpose, &digest);
        Ok((
            Signed {
                body,
                signature,
                _t: PhantomData,
            },
            hex::encode(digest),
        ))
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

    /// [`Signed::verify`], answering [`Signed::body_hash`] from the digest the check computed
    /// anyway (a batch body is hashed once, not twice).
    pub fn verify_hashed(
        &self,
        key: &VerifyingKey,
        purpose: Purpose,
    ) -> Result<String, ProtocolError> {
        let digest: [u8; 32] = Sha256::digest(self.body.as_bytes()).into();
        key.verify_digest(purpose, &digest, &self.signature)?;
        Ok(hex::encode(digest))
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
            s.verify_hashed(&k.verifying_key(), Purpose::Batch),
            Ok(s.body_hash())
        );
        assert_eq!(
            forged.verify_hashed(&k.verifying_key(), Purpose::Batch),
            Err(ProtocolError::BadSignature)
        );
        assert_eq!(
            forged.verify(&k.verifying_key(), Purpose::Batch),
            Err(ProtocolError::BadSignature)
        );
        let json = serde_json::to_string(&s).unwrap();
        assert!(
            json.starts_with(r#"{"body":{"a":1,"#),
            "the body is embedded as JSON: {json}"
        );
        let back: Signed<Msg> = serde_json::from_str(&json).unwrap();
        assert_eq!(back.open(&k.verifying_key(), Purpose::Batch).unwrap(), m);
        // The body as a JSON string (the first wire form) reads back to the same bytes.
        let as_string = serde_json::json!({ "body": s.body, "signature": s.signature }).to_string();
        let back: Signed<Msg> = serde_json::from_str(&as_string).unwrap();
        assert_eq!(back, s);
        // From a reader too (no borrowing from the input).
        let back: Signed<Msg> = serde_json::from_reader(json.as_bytes()).unwrap();
        assert_eq!(back, s);
        // A body that is not one JSON value travels as a string and comes back the same.
        let mut broken = s.clone();
        broken.body.push('}');
        let json = serde_json::to_string(&broken).unwrap();
        assert_eq!(serde_json::from_str::<Signed<Msg>>(&json).unwrap(), broken);
    }

    #[test]
    fn the_signature_is_plain_ed25519_over_the_tag_and_the_bodys_sha256() {
        // What an independent checker does with the README's description alone.
        let k = SigningKey::from_bytes(&[7; 32]);
        let s = Signed::seal(
            &k,
            Purpose::Receipt,
            &Msg {
                a: 7,
                b: "x".into(),
            },
        )
        .unwrap();
        let mut message = b"sesshu/receipt/v2\0".to_vec();
        message.extend_from_slice(&Sha256::digest(s.body.as_bytes()));
        let sig = ed25519_dalek::Signature::from_bytes(
            &hex::decode(&s.signature).unwrap().try_into().unwrap(),
        );
        let vk = ed25519_dalek::VerifyingKey::from_bytes(&k.verifying_key().0.to_bytes()).unwrap();
        vk.verify_strict(&message, &sig).unwrap();
        // Not the v1 construction (the body itself).
        let mut v1 = b"sesshu/receipt/v1\0".to_vec();
        v1.extend_from_slice(s.body.as_bytes());
        assert!(vk.verify_strict(&v1, &sig).is_err());
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
