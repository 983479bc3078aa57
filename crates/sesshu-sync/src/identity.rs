//! The terminal's identity key: Ed25519 from 32 bytes of the OS random source, made at
//! enrolment. The secret goes to the OS key store (`sesshu_ledger::keys::store_identity_secret`)
//! and nowhere else; the public key is in the enrolment row and registered with the hub.

use sesshu_protocol::SigningKey;
use zeroize::Zeroizing;

/// A new identity: the signing key and its secret bytes (for the key store), both wiped on drop.
pub fn new_identity() -> Result<(SigningKey, Zeroizing<[u8; 32]>), getrandom::Error> {
    let mut secret = Zeroizing::new([0u8; 32]);
    getrandom::getrandom(secret.as_mut())?;
    Ok((SigningKey::from_bytes(&secret), secret))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn identities_differ_and_match_their_secret() {
        let (a, sa) = new_identity().unwrap();
        let (b, _) = new_identity().unwrap();
        assert_ne!(a.verifying_key(), b.verifying_key());
        assert_eq!(
            SigningKey::from_bytes(&sa).verifying_key(),
            a.verifying_key()
        );
    }
}
