//! The ledger key in Windows Credential Manager with **local-machine** persistence
//! (ADR 0001): the credential stays on this PC and never travels with a roaming profile.
//!
//! The `keyring` crate writes every credential with `CRED_PERSIST_ENTERPRISE` (the roaming
//! one) and offers no other choice, so on Windows [`super::OsKeyStore`] calls
//! `CredWriteW` / `CredReadW` / `CredDeleteW` itself. The entry keeps `keyring`'s layout —
//! a generic credential named `<account>.<service>`, user name `<account>`, the secret as a
//! UTF-16 little-endian blob — so entries written by earlier versions are found, read and
//! re-written in place (see [`super::OsKeyStore`]'s `get`).
//!
//! Split in two: the pure part (names, blob encoding, Credential Manager's limits) compiles
//! everywhere and is unit-tested on Linux; [`ffi`] holds the three system calls, compiles only
//! for Windows and is the one module of the workspace allowed `unsafe` (the workspace lint
//! stays `deny`, so `unsafe` anywhere else still fails CI). It is type-checked on every CI run
//! (`cargo check --target x86_64-pc-windows-gnu`) but runs only on a Windows PC.

// Elsewhere only the unit tests compile this module, and they use its pure part only.
#![cfg_attr(not(windows), allow(dead_code))]

use zeroize::Zeroizing;

/// Longest generic-credential target name, in UTF-16 units without the NUL
/// (`CRED_MAX_GENERIC_TARGET_NAME_LENGTH`).
pub(crate) const MAX_TARGET_NAME_UNITS: usize = 32_767;
/// Longest user name, in UTF-16 units without the NUL (`CRED_MAX_USERNAME_LENGTH`).
pub(crate) const MAX_USER_NAME_UNITS: usize = 513;
/// Largest credential blob, in bytes (`CRED_MAX_CREDENTIAL_BLOB_SIZE`).
pub(crate) const MAX_BLOB_BYTES: usize = 2_560;
/// The blob of a 32-byte key: its 64 hex characters as UTF-16 little-endian.
pub(crate) const KEY_BLOB_BYTES: usize = 64 * 2;
const _: () = assert!(KEY_BLOB_BYTES <= MAX_BLOB_BYTES);
/// Shown in Credential Manager's list, so that IT staff know what the entry is and why it
/// must not be exported.
pub(crate) const COMMENT: &str = "sesshu ledger key (this PC only)";

// The limits above are copied so that the pure part compiles (and is tested) on Linux; on
// Windows the compiler checks them against the system headers' values.
#[cfg(windows)]
const _: () = {
    use windows_sys::Win32::Security::Credentials as c;
    assert!(MAX_TARGET_NAME_UNITS == c::CRED_MAX_GENERIC_TARGET_NAME_LENGTH as usize);
    assert!(MAX_USER_NAME_UNITS == c::CRED_MAX_USERNAME_LENGTH as usize);
    assert!(MAX_BLOB_BYTES == c::CRED_MAX_CREDENTIAL_BLOB_SIZE as usize);
};

/// Why a name or secret cannot be stored as a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CredentialFormatError {
    #[error("credential target name too long ({0} UTF-16 units)")]
    TargetTooLong(usize),
    #[error("credential user name too long ({0} UTF-16 units)")]
    UserTooLong(usize),
    #[error("a NUL character in a credential name")]
    Nul,
    #[error("credential blob too large ({0} bytes)")]
    BlobTooLarge(usize),
}

/// The target name `keyring` gives the entry of `account` in `service`: Credential Manager
/// finds a generic credential by this name alone.
pub(crate) fn target_name(service: &str, account: &str) -> String {
    format!("{account}.{service}")
}

/// A credential's target and user names as NUL-terminated UTF-16, checked against
/// Credential Manager's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CredentialName {
    pub(crate) target: Vec<u16>,
    pub(crate) user: Vec<u16>,
}

impl CredentialName {
    pub(crate) fn new(service: &str, account: &str) -> Result<Self, CredentialFormatError> {
        let target = wide(&target_name(service, account))?;
        let user = wide(account)?;
        if target.len() - 1 > MAX_TARGET_NAME_UNITS {
            return Err(CredentialFormatError::TargetTooLong(target.len() - 1));
        }
        if user.len() - 1 > MAX_USER_NAME_UNITS {
            return Err(CredentialFormatError::UserTooLong(user.len() - 1));
        }
        Ok(CredentialName { target, user })
    }
}

/// `s` as NUL-terminated UTF-16 (an inner NUL would silently shorten the name: refused).
pub(crate) fn wide(s: &str) -> Result<Vec<u16>, CredentialFormatError> {
    if s.contains('\0') {
        return Err(CredentialFormatError::Nul);
    }
    let mut out = Vec::with_capacity(s.encode_utf16().count() + 1);
    out.extend(s.encode_utf16());
    out.push(0);
    Ok(out)
}

/// The secret text as the blob `keyring` writes (UTF-16 little-endian, no NUL), in a buffer
/// sized once and wiped on drop.
pub(crate) fn encode_blob(secret: &str) -> Result<Zeroizing<Vec<u8>>, CredentialFormatError> {
    let len = secret.encode_utf16().count() * 2;
    if len > MAX_BLOB_BYTES {
        return Err(CredentialFormatError::BlobTooLarge(len));
    }
    let mut blob = Zeroizing::new(Vec::with_capacity(len));
    for unit in secret.encode_utf16() {
        blob.extend_from_slice(&unit.to_le_bytes());
    }
    Ok(blob)
}

/// The secret text of a blob, `None` when it is not UTF-16 little-endian (odd length,
/// unpaired surrogate): a foreign or damaged entry, which the caller reports as malformed.
/// The text is built in a buffer sized for the worst case (3 UTF-8 bytes per UTF-16 unit),
/// so it is never reallocated and no unwiped copy is left behind.
pub(crate) fn decode_blob(blob: &[u8]) -> Option<Zeroizing<String>> {
    if !blob.len().is_multiple_of(2) {
        return None;
    }
    let units = blob
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]));
    let mut text = Zeroizing::new(String::with_capacity(blob.len() / 2 * 3));
    for c in char::decode_utf16(units) {
        text.push(c.ok()?);
    }
    Some(text)
}

/// What `CredReadW` found: the blob (copied, wiped on drop) and its persistence.
pub(crate) struct StoredCredential {
    pub(crate) blob: Zeroizing<Vec<u8>>,
    /// True when written with `CRED_PERSIST_LOCAL_MACHINE`; false for an entry an earlier
    /// version (through `keyring`) wrote with enterprise (roaming) persistence.
    pub(crate) local_machine: bool,
}

/// A failed Credential Manager call: the function and its `GetLastError` code (no secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{function} failed (Win32 error {code})")]
pub(crate) struct Win32Error {
    pub(crate) function: &'static str,
    pub(crate) code: u32,
}

#[cfg(windows)]
pub(crate) use ffi::{delete, read, write};

/// The three Credential Manager calls. Every pointer handed to Windows points into a buffer
/// owned by the caller's stack frame for the whole call; the only memory Windows hands back
/// (`CredReadW`'s credential) is wiped and released by one guard.
#[cfg(windows)]
#[allow(unsafe_code)] // FFI to advapi32; reviewed, see the SAFETY comments (ADR 0001).
mod ffi {
    use super::{CredentialName, StoredCredential, Win32Error, COMMENT};
    use windows_sys::Win32::Foundation::{GetLastError, ERROR_NOT_FOUND};
    use windows_sys::Win32::Security::Credentials::{
        CredDeleteW, CredFree, CredReadW, CredWriteW, CREDENTIALW, CRED_PERSIST_LOCAL_MACHINE,
        CRED_TYPE_GENERIC,
    };
    use zeroize::{Zeroize, Zeroizing};

    fn last_error(function: &'static str) -> Win32Error {
        // SAFETY: GetLastError only reads the calling thread's last-error value; it is called
        // right after the failed call, before anything else can overwrite it.
        let code = unsafe { GetLastError() };
        Win32Error { function, code }
    }

    /// Writes (creates or replaces) the generic credential `name` with `blob`, persisted for
    /// this computer only.
    pub(crate) fn write(name: &CredentialName, blob: &[u8]) -> Result<(), Win32Error> {
        let blob_size = u32::try_from(blob.len()).map_err(|_| Win32Error {
            function: "CredWriteW",
            code: windows_sys::Win32::Foundation::ERROR_INVALID_PARAMETER,
        })?;
        // CREDENTIALW takes mutable pointers, but CredWriteW only reads through them; owned
        // copies keep the `&` inputs untouched all the same. The blob copy is wiped on drop.
        let mut target = name.target.clone();
        let mut user = name.user.clone();
        let mut comment = super::wide(COMMENT).map_err(|_| Win32Error {
            function: "CredWriteW",
            code: windows_sys::Win32::Foundation::ERROR_INVALID_PARAMETER,
        })?;
        let mut secret = Zeroizing::new(blob.to_vec());
        let credential = CREDENTIALW {
            Type: CRED_TYPE_GENERIC,
            TargetName: target.as_mut_ptr(),
            Comment: comment.as_mut_ptr(),
            CredentialBlobSize: blob_size,
            CredentialBlob: if secret.is_empty() {
                std::ptr::null_mut()
            } else {
                secret.as_mut_ptr()
            },
            Persist: CRED_PERSIST_LOCAL_MACHINE,
            UserName: user.as_mut_ptr(),
            // Flags 0, no attributes, no alias; LastWritten is ignored by CredWriteW.
            ..CREDENTIALW::default()
        };
        // SAFETY: `credential` is a fully initialised CREDENTIALW; its string fields point to
        // NUL-terminated UTF-16 buffers (`target`, `user`, `comment`, built by `wide`) and its
        // blob field to `blob_size` bytes (`secret`), all owned by this frame and alive until
        // after the call returns. CredWriteW copies what it keeps and does not retain them.
        let ok = unsafe { CredWriteW(&credential, 0) };
        if ok == 0 {
            return Err(last_error("CredWriteW"));
        }
        Ok(())
    }

    /// Wipes the blob of a credential returned by CredReadW and releases it with CredFree.
    struct Returned(*mut CREDENTIALW);

    impl Drop for Returned {
        fn drop(&mut self) {
            // SAFETY: `self.0` is the non-null pointer CredReadW returned on success and has not
            // been freed (this guard is its only owner). Its blob, when present, is
            // `CredentialBlobSize` bytes of memory owned by us until CredFree, so writing zeros
            // over it is in bounds; CredFree is then called exactly once.
            unsafe {
                let cred = &*self.0;
                if !cred.CredentialBlob.is_null() && cred.CredentialBlobSize > 0 {
                    std::slice::from_raw_parts_mut(
                        cred.CredentialBlob,
                        cred.CredentialBlobSize as usize,
                    )
                    .zeroize();
                }
                CredFree(self.0.cast_const().cast());
            }
        }
    }

    /// The generic credential `name`, `None` when there is none (whatever its persistence).
    pub(crate) fn read(name: &CredentialName) -> Result<Option<StoredCredential>, Win32Error> {
        let mut out: *mut CREDENTIALW = std::ptr::null_mut();
        // SAFETY: `name.target` is a NUL-terminated UTF-16 buffer alive for the call, and `out`
        // is a valid location for the one pointer CredReadW writes.
        let ok = unsafe { CredReadW(name.target.as_ptr(), CRED_TYPE_GENERIC, 0, &mut out) };
        if ok == 0 {
            let e = last_error("CredReadW");
            return if e.code == ERROR_NOT_FOUND {
                Ok(None)
            } else {
                Err(e)
            };
        }
        if out.is_null() {
            return Err(Win32Error {
                function: "CredReadW",
                code: 0,
            });
        }
        let returned = Returned(out);
        // SAFETY: CredReadW succeeded, so `returned.0` points to a CREDENTIALW it allocated,
        // valid until CredFree (run by `returned`'s drop, after the last use below).
        let cred = unsafe { &*returned.0 };
        let len = cred.CredentialBlobSize as usize;
        let mut blob = Zeroizing::new(Vec::with_capacity(len));
        if len > 0 && !cred.CredentialBlob.is_null() {
            // SAFETY: Windows guarantees `CredentialBlob` points to `CredentialBlobSize`
            // readable bytes of the returned credential, alive until CredFree.
            let bytes = unsafe { std::slice::from_raw_parts(cred.CredentialBlob, len) };
            blob.extend_from_slice(bytes);
        }
        let local_machine = cred.Persist == CRED_PERSIST_LOCAL_MACHINE;
        drop(returned);
        Ok(Some(StoredCredential {
            blob,
            local_machine,
        }))
    }

    /// Deletes the generic credential `name`; `false` when there was none.
    pub(crate) fn delete(name: &CredentialName) -> Result<bool, Win32Error> {
        // SAFETY: `name.target` is a NUL-terminated UTF-16 buffer alive for the call.
        let ok = unsafe { CredDeleteW(name.target.as_ptr(), CRED_TYPE_GENERIC, 0) };
        if ok == 0 {
            let e = last_error("CredDeleteW");
            return if e.code == ERROR_NOT_FOUND {
                Ok(false)
            } else {
                Err(e)
            };
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_name_is_keyrings_so_old_entries_are_found() {
        // keyring 3.6 names the entry `<user>.<service>` (src/windows.rs, new_with_target).
        assert_eq!(
            target_name("jp.sesshu.terminal", "ledger-key/0192f0c4"),
            "ledger-key/0192f0c4.jp.sesshu.terminal"
        );
        let name = CredentialName::new("jp.sesshu.terminal", "ledger-key/L1").unwrap();
        let target: Vec<u16> = "ledger-key/L1.jp.sesshu.terminal\0"
            .encode_utf16()
            .collect();
        let user: Vec<u16> = "ledger-key/L1\0".encode_utf16().collect();
        assert_eq!(name.target, target);
        assert_eq!(name.user, user);
    }

    #[test]
    fn names_are_nul_terminated_utf16_within_the_limits() {
        let name = CredentialName::new("s", "台帳").unwrap();
        assert_eq!(name.user, vec![0x53f0, 0x5e33, 0]);
        assert_eq!(name.target.last(), Some(&0));

        let long_user = "u".repeat(MAX_USER_NAME_UNITS + 1);
        assert_eq!(
            CredentialName::new("s", &long_user),
            Err(CredentialFormatError::UserTooLong(MAX_USER_NAME_UNITS + 1))
        );
        assert!(CredentialName::new("", &"u".repeat(MAX_USER_NAME_UNITS - 1)).is_ok());
        let long_service = "s".repeat(MAX_TARGET_NAME_UNITS);
        assert_eq!(
            CredentialName::new(&long_service, "a"),
            Err(CredentialFormatError::TargetTooLong(
                MAX_TARGET_NAME_UNITS + 2
            ))
        );
        assert_eq!(
            CredentialName::new("s", "a\0b"),
            Err(CredentialFormatError::Nul)
        );
    }

    #[test]
    fn a_key_blob_is_128_bytes_of_utf16le_hex() {
        let key = super::super::LedgerKey::from_bytes([0xa5; 32]);
        let blob = encode_blob(&key.to_hex()).unwrap();
        assert_eq!(blob.len(), KEY_BLOB_BYTES);
        assert_eq!(
            blob.capacity(),
            KEY_BLOB_BYTES,
            "sized once, never reallocated"
        );
        assert_eq!(&blob[..4], &[b'a', 0, b'5', 0]);
        let text = decode_blob(&blob).unwrap();
        assert_eq!(
            super::super::LedgerKey::from_hex(&text),
            Some(key),
            "round trip"
        );
    }

    #[test]
    fn blob_limits_and_foreign_blobs() {
        assert_eq!(
            encode_blob(&"x".repeat(MAX_BLOB_BYTES / 2)).unwrap().len(),
            MAX_BLOB_BYTES
        );
        assert_eq!(
            encode_blob(&"x".repeat(MAX_BLOB_BYTES / 2 + 1)),
            Err(CredentialFormatError::BlobTooLarge(MAX_BLOB_BYTES + 2))
        );
        assert_eq!(encode_blob("").unwrap().len(), 0);
        // Odd length (not UTF-16), an unpaired surrogate: malformed, never guessed at.
        assert!(decode_blob(&[b'a', 0, b'b']).is_none());
        assert!(decode_blob(&[0x00, 0xd8, b'a', 0]).is_none());
        // Non-ASCII text decodes without outgrowing its buffer.
        let blob = encode_blob("鍵🔑").unwrap();
        let text = decode_blob(&blob).unwrap();
        assert_eq!(text.as_str(), "鍵🔑");
        assert!(text.len() <= text.capacity());
        assert_eq!(text.capacity(), blob.len() / 2 * 3);
    }
}
