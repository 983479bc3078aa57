//! The audit anchor: the chain head kept outside the database.
//!
//! Removing the newest audit entries leaves a valid, shorter chain that the database alone
//! cannot tell from the real one. So after every committed mutation that added audit entries
//! the head `(seq, hash)` is also written to a sidecar, `ledger.anchor` (the ledger file's
//! name up to its first dot, plus `.anchor`, so `ledger.db.setup` and `ledger.db` share it),
//! authenticated with HMAC-SHA256.
//!
//! Anchor key (one derivation, documented here and nowhere else):
//! `anchor_key = HMAC-SHA256(key = ledger key, message = "sesshu/audit-anchor/v1")`, and
//! `mac = HMAC-SHA256(anchor_key, "sesshu-anchor/v1\n<seq>\n<hash hex>")`. Whoever lacks the
//! ledger key cannot forge an anchor; rotating the key re-writes it.
//!
//! At every open, before anything is written, the chain is checked from the anchored entry
//! forward ("incrementally": entries up to the anchor were verified when the anchor was
//! written, so a normal reopen reads one row):
//! - no anchor file while the log has entries → [`LedgerError::AuditAnchorMissing`];
//! - an anchor that does not authenticate → [`LedgerError::AuditAnchorInvalid`];
//! - the log ends before the anchored entry (truncated tail), the anchored entry's hash differs
//!   (rewritten chain) or a later entry does not link → [`LedgerError::AuditAnchorMismatch`].
//!
//! A log *ahead* of the anchor is normal (the program stopped between the commit and the
//! anchor write): the newer entries are verified and the anchor moves forward. Only an
//! administrator's explicit [`crate::Ledger::repair_audit_anchor`] re-anchors a mismatch, and
//! it writes an audit entry saying so.

use crate::audit::{AuditEntry, GENESIS};
use crate::keys::LedgerKey;
use crate::LedgerError;
use hmac::{Hmac, Mac};
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

type HmacSha256 = Hmac<Sha256>;

const FORMAT: u32 = 1;

/// Why the log and its anchor disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnchorMismatch {
    /// The log ends before the anchored entry: its newest entries were removed.
    Truncated,
    /// The anchored entry exists but its hash differs: the chain was rewritten.
    Rewritten,
    /// An entry after the anchored one does not link to its predecessor.
    BrokenLink,
}

/// Where the anchor of the ledger file `db` lives.
pub fn anchor_path(db: &Path) -> PathBuf {
    let name = db
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name.split('.').next().unwrap_or("ledger");
    let stem = if stem.is_empty() { "ledger" } else { stem };
    db.with_file_name(format!("{stem}.anchor"))
}

/// The anchor key derived from the ledger key (see the module notes).
pub(crate) struct AnchorKey(Zeroizing<[u8; 32]>);

impl AnchorKey {
    pub(crate) fn derive(key: &LedgerKey) -> Result<AnchorKey, LedgerError> {
        let mut m = HmacSha256::new_from_slice(key.as_bytes())
            .map_err(|e| LedgerError::InvalidData(e.to_string()))?;
        m.update(b"sesshu/audit-anchor/v1");
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(&m.finalize().into_bytes());
        Ok(AnchorKey(out))
    }

    fn mac(&self, seq: i64, hash: &[u8; 32]) -> Result<HmacSha256, LedgerError> {
        let mut m = HmacSha256::new_from_slice(self.0.as_ref())
            .map_err(|e| LedgerError::InvalidData(e.to_string()))?;
        m.update(format!("sesshu-anchor/v1\n{seq}\n{}", hex::encode(hash)).as_bytes());
        Ok(m)
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct AnchorFile {
    format: u32,
    /// Newest verified audit entry.
    seq: i64,
    hash: String,
    mac: String,
}

/// Writes the anchor for head `(seq, hash)`: temporary file, fsync, rename, fsync of the
/// directory, 0600.
pub(crate) fn write(
    path: &Path,
    key: &AnchorKey,
    seq: i64,
    hash: &[u8; 32],
) -> Result<(), LedgerError> {
    let mac = key.mac(seq, hash)?.finalize().into_bytes();
    let f = AnchorFile {
        format: FORMAT,
        seq,
        hash: hex::encode(hash),
        mac: hex::encode(mac),
    };
    let text = serde_json::to_string(&f).map_err(|e| LedgerError::InvalidData(e.to_string()))?;
    crate::fsutil::write_private_atomic(path, "anchor.tmp", text.as_bytes())?;
    Ok(())
}

/// The anchored head, `None` when there is no anchor file.
pub(crate) fn read(path: &Path, key: &AnchorKey) -> Result<Option<(i64, [u8; 32])>, LedgerError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let invalid = |detail: &str| LedgerError::AuditAnchorInvalid {
        detail: detail.to_owned(),
    };
    let f: AnchorFile = serde_json::from_str(&text).map_err(|_| invalid("unreadable"))?;
    if f.format != FORMAT {
        return Err(invalid("unknown format"));
    }
    let mut hash = [0u8; 32];
    hex::decode_to_slice(&f.hash, &mut hash).map_err(|_| invalid("hash"))?;
    let mac = hex::decode(&f.mac).map_err(|_| invalid("mac"))?;
    key.mac(f.seq, &hash)?
        .verify_slice(&mac)
        .map_err(|_| invalid("authentication failed (another ledger's or a forged anchor)"))?;
    Ok(Some((f.seq, hash)))
}

/// Re-authenticates the anchor written under `old` with `new` (key rotation). No-op when
/// there is no anchor or it already authenticates under `new`; an anchor valid under neither
/// key is [`LedgerError::AuditAnchorInvalid`].
pub(crate) fn reauthenticate(
    path: &Path,
    old: &LedgerKey,
    new: &LedgerKey,
) -> Result<(), LedgerError> {
    let new_key = AnchorKey::derive(new)?;
    match read(path, &new_key) {
        Ok(_) => return Ok(()),
        Err(LedgerError::AuditAnchorInvalid { .. }) => {}
        Err(e) => return Err(e),
    }
    match read(path, &AnchorKey::derive(old)?)? {
        Some((seq, hash)) => write(path, &new_key, seq, &hash),
        None => Ok(()),
    }
}

fn entry_at(conn: &Connection, seq: i64) -> Result<Option<AuditEntry>, LedgerError> {
    Ok(conn
        .query_row(
            &format!(
                "SELECT {} FROM audit_entry WHERE seq = ?1",
                crate::audit::COLUMNS
            ),
            [seq],
            crate::audit::row_to_entry,
        )
        .optional()?)
}

fn head(conn: &Connection) -> Result<(i64, [u8; 32]), LedgerError> {
    crate::ledger::Reader { conn }.audit_head()
}

/// The verified head and whether the anchor file must be (re)written to it.
pub(crate) type Checked = ((i64, [u8; 32]), bool);

/// Checks the log against its anchor, verifying entries after the anchored one.
pub(crate) fn check(
    conn: &Connection,
    path: &Path,
    key: &AnchorKey,
) -> Result<Checked, LedgerError> {
    let (head_seq, head_hash) = head(conn)?;
    let (a_seq, a_hash) = match read(path, key)? {
        Some(a) => a,
        None if head_seq == 0 => return Ok(((0, GENESIS), true)),
        None => {
            return Err(LedgerError::AuditAnchorMissing {
                found_seq: head_seq,
            })
        }
    };
    // Fast path: nothing was added since the anchor was written.
    if (head_seq, head_hash) == (a_seq, a_hash) {
        return Ok(((head_seq, head_hash), false));
    }
    let mismatch = |found_seq, reason| LedgerError::AuditAnchorMismatch {
        expected_seq: a_seq,
        found_seq,
        reason,
    };
    if head_seq < a_seq {
        return Err(mismatch(head_seq, AnchorMismatch::Truncated));
    }
    if a_seq > 0 {
        match entry_at(conn, a_seq)? {
            None => return Err(mismatch(head_seq, AnchorMismatch::Truncated)),
            Some(e) if e.hash != a_hash => return Err(mismatch(a_seq, AnchorMismatch::Rewritten)),
            Some(_) => {}
        }
    } else if a_hash != GENESIS {
        return Err(LedgerError::AuditAnchorInvalid {
            detail: "genesis anchor with a hash".into(),
        });
    }
    // Walk the entries added since the anchor.
    let mut stmt = conn.prepare(&format!(
        "SELECT {} FROM audit_entry WHERE seq > ?1 ORDER BY seq",
        crate::audit::COLUMNS
    ))?;
    let mut rows = stmt.query([a_seq])?;
    let (mut prev_seq, mut prev_hash) = (a_seq, a_hash);
    while let Some(row) = rows.next()? {
        let e = match crate::audit::row_to_entry(row) {
            Ok(e) => e,
            Err(_) => return Err(mismatch(prev_seq + 1, AnchorMismatch::BrokenLink)),
        };
        if e.seq != prev_seq + 1 || e.prev_hash != prev_hash || e.compute_hash() != e.hash {
            return Err(mismatch(e.seq, AnchorMismatch::BrokenLink));
        }
        prev_seq = e.seq;
        prev_hash = e.hash;
    }
    Ok(((prev_seq, prev_hash), true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchor_path_is_shared_by_the_setup_file_and_the_ledger() {
        let d = Path::new("/data");
        assert_eq!(anchor_path(&d.join("ledger.db")), d.join("ledger.anchor"));
        assert_eq!(
            anchor_path(&d.join("ledger.db.setup")),
            d.join("ledger.anchor")
        );
    }

    #[test]
    fn an_anchor_authenticates_only_under_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ledger.anchor");
        let k1 = AnchorKey::derive(&LedgerKey::generate().unwrap()).unwrap();
        let k2 = AnchorKey::derive(&LedgerKey::generate().unwrap()).unwrap();
        write(&p, &k1, 7, &[3u8; 32]).unwrap();
        assert_eq!(read(&p, &k1).unwrap(), Some((7, [3u8; 32])));
        assert!(matches!(
            read(&p, &k2),
            Err(LedgerError::AuditAnchorInvalid { .. })
        ));
        // Editing the head without the key breaks the MAC.
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, text.replace("\"seq\":7", "\"seq\":3")).unwrap();
        assert!(matches!(
            read(&p, &k1),
            Err(LedgerError::AuditAnchorInvalid { .. })
        ));
    }
}
