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
//! **Purged prefix** (data minimisation, [`crate::purge`]): once the hub holds the oldest
//! entries they are deleted and the chain starts from a *base*, the `(seq, hash)` of the last
//! purged entry (table `audit_base`). The base is covered by the anchor (format 2: `mac =
//! HMAC-SHA256(anchor_key, "sesshu-anchor/v2\n<seq>\n<hash hex>\n<base seq>\n<base hash hex>")`;
//! format 1 is the same anchor with the genesis base), so a prefix removed behind the app's
//! back, or a base moved forward, no longer matches. A base newer than the anchor's is
//! accepted only if an entry after the anchored one is the purge's own audit entry
//! (`DataPurged`) naming that very base: the program stopped between the purge's commit and
//! its anchor write.
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
/// An anchor over a chain with a purged prefix (carries the base).
const FORMAT_BASE: u32 = 2;

/// The chain head and the base it starts from (`(0, GENESIS)` when nothing was purged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anchored {
    pub seq: i64,
    pub hash: [u8; 32],
    pub base: (i64, [u8; 32]),
}

/// The base of a chain with nothing purged.
pub const GENESIS_BASE: (i64, [u8; 32]) = (0, GENESIS);

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

    fn mac(&self, a: &Anchored) -> Result<HmacSha256, LedgerError> {
        let mut m = HmacSha256::new_from_slice(self.0.as_ref())
            .map_err(|e| LedgerError::InvalidData(e.to_string()))?;
        if a.base == GENESIS_BASE {
            m.update(format!("sesshu-anchor/v1\n{}\n{}", a.seq, hex::encode(a.hash)).as_bytes());
        } else {
            m.update(
                format!(
                    "sesshu-anchor/v2\n{}\n{}\n{}\n{}",
                    a.seq,
                    hex::encode(a.hash),
                    a.base.0,
                    hex::encode(a.base.1)
                )
                .as_bytes(),
            );
        }
        Ok(m)
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct AnchorFile {
    format: u32,
    /// Newest verified audit entry.
    seq: i64,
    hash: String,
    /// Format 2 only: the chain's base (last purged entry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    base_seq: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    base_hash: Option<String>,
    mac: String,
}

/// Writes the anchor for head `(seq, hash)` over a chain starting at `base`: temporary file,
/// fsync, rename, fsync of the directory, 0600.
pub(crate) fn write(path: &Path, key: &AnchorKey, a: &Anchored) -> Result<(), LedgerError> {
    let mac = key.mac(a)?.finalize().into_bytes();
    let purged = a.base != GENESIS_BASE;
    let f = AnchorFile {
        format: if purged { FORMAT_BASE } else { FORMAT },
        seq: a.seq,
        hash: hex::encode(a.hash),
        base_seq: purged.then_some(a.base.0),
        base_hash: purged.then(|| hex::encode(a.base.1)),
        mac: hex::encode(mac),
    };
    let text = serde_json::to_string(&f).map_err(|e| LedgerError::InvalidData(e.to_string()))?;
    crate::fsutil::write_private_atomic(path, "anchor.tmp", text.as_bytes())?;
    Ok(())
}

/// The anchored head, `None` when there is no anchor file.
pub(crate) fn read(path: &Path, key: &AnchorKey) -> Result<Option<Anchored>, LedgerError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let invalid = |detail: &str| LedgerError::AuditAnchorInvalid {
        detail: detail.to_owned(),
    };
    let f: AnchorFile = serde_json::from_str(&text).map_err(|_| invalid("unreadable"))?;
    let mut hash = [0u8; 32];
    hex::decode_to_slice(&f.hash, &mut hash).map_err(|_| invalid("hash"))?;
    let base = match (f.format, f.base_seq, f.base_hash.as_deref()) {
        (FORMAT, None, None) => GENESIS_BASE,
        (FORMAT_BASE, Some(seq), Some(h)) if seq > 0 => {
            let mut b = [0u8; 32];
            hex::decode_to_slice(h, &mut b).map_err(|_| invalid("base hash"))?;
            (seq, b)
        }
        (FORMAT | FORMAT_BASE, _, _) => return Err(invalid("base")),
        _ => return Err(invalid("unknown format")),
    };
    let a = Anchored {
        seq: f.seq,
        hash,
        base,
    };
    let mac = hex::decode(&f.mac).map_err(|_| invalid("mac"))?;
    key.mac(&a)?
        .verify_slice(&mac)
        .map_err(|_| invalid("authentication failed (another ledger's or a forged anchor)"))?;
    Ok(Some(a))
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
        Some(a) => write(path, &new_key, &a),
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

fn base(conn: &Connection) -> Result<(i64, [u8; 32]), LedgerError> {
    crate::ledger::Reader { conn }.audit_base()
}

/// The verified head and base, and whether the anchor file must be (re)written to it.
pub(crate) type Checked = (Anchored, bool);

/// Whether `e` is the purge's own audit entry naming `base` as the chain's new base.
fn names_base(e: &AuditEntry, base: (i64, [u8; 32])) -> bool {
    if e.action != sesshu_domain::audit::AuditAction::DataPurged.code() {
        return false;
    }
    let Ok(d) = serde_json::from_str::<serde_json::Value>(&e.detail) else {
        return false;
    };
    d.get("audit_base_seq").and_then(serde_json::Value::as_i64) == Some(base.0)
        && d.get("audit_base_hash").and_then(serde_json::Value::as_str)
            == Some(hex::encode(base.1).as_str())
}

/// Checks the log against its anchor, verifying entries after the anchored one.
pub(crate) fn check(
    conn: &Connection,
    path: &Path,
    key: &AnchorKey,
) -> Result<Checked, LedgerError> {
    let (head_seq, head_hash) = head(conn)?;
    let db_base = base(conn)?;
    let current = Anchored {
        seq: head_seq,
        hash: head_hash,
        base: db_base,
    };
    let a = match read(path, key)? {
        Some(a) => a,
        None if head_seq == 0 && db_base == GENESIS_BASE => return Ok((current, true)),
        None => {
            return Err(LedgerError::AuditAnchorMissing {
                found_seq: head_seq,
            })
        }
    };
    // Fast path: nothing was added or purged since the anchor was written.
    if a == current {
        return Ok((current, false));
    }
    let (a_seq, a_hash) = (a.seq, a.hash);
    let mismatch = |found_seq, reason| LedgerError::AuditAnchorMismatch {
        expected_seq: a_seq,
        found_seq,
        reason,
    };
    if head_seq < a_seq {
        return Err(mismatch(head_seq, AnchorMismatch::Truncated));
    }
    // The base may only have moved forward, and then only by a purge recorded after the anchor
    // (checked in the walk below).
    let base_moved = a.base != db_base;
    if base_moved && (db_base.0 <= a.base.0 || db_base.0 >= a_seq) {
        return Err(mismatch(db_base.0, AnchorMismatch::Rewritten));
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
    let mut purge_recorded = false;
    while let Some(row) = rows.next()? {
        let e = match crate::audit::row_to_entry(row) {
            Ok(e) => e,
            Err(_) => return Err(mismatch(prev_seq + 1, AnchorMismatch::BrokenLink)),
        };
        if e.seq != prev_seq + 1 || e.prev_hash != prev_hash || e.compute_hash() != e.hash {
            return Err(mismatch(e.seq, AnchorMismatch::BrokenLink));
        }
        purge_recorded |= base_moved && names_base(&e, db_base);
        prev_seq = e.seq;
        prev_hash = e.hash;
    }
    if base_moved && !purge_recorded {
        return Err(mismatch(db_base.0, AnchorMismatch::Truncated));
    }
    Ok((
        Anchored {
            seq: prev_seq,
            hash: prev_hash,
            base: db_base,
        },
        true,
    ))
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
        let a = Anchored {
            seq: 7,
            hash: [3u8; 32],
            base: GENESIS_BASE,
        };
        write(&p, &k1, &a).unwrap();
        assert_eq!(read(&p, &k1).unwrap(), Some(a));
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
