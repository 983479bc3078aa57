//! The audit anchor: a truncated tail or a rewritten chain stops the ledger at open.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failing test

use chrono::{TimeZone, Utc};
use sesshu_domain::audit::{AuditAction, AuditOutcome};
use sesshu_ledger::anchor::{anchor_path, AnchorMismatch};
use sesshu_ledger::audit::AuditRecord;
use sesshu_ledger::{FixedClock, Ledger, LedgerError, LedgerKey, UuidV7Gen};
use std::path::Path;
use std::sync::Arc;

fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::new(
        Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap(),
    ))
}

fn add_entries(l: &Ledger, n: usize) {
    for _ in 0..n {
        l.mutate(|m| {
            m.audit(AuditRecord::new(
                Some("keyer01"),
                AuditAction::LoginSucceeded,
                Some("keyer01"),
                AuditOutcome::Success,
            ))
        })
        .unwrap();
    }
}

fn ledger_with_entries(path: &Path, key: &LedgerKey, n: usize) -> Ledger {
    let l = Ledger::create(path, key, clock(), Arc::new(UuidV7Gen)).unwrap();
    add_entries(&l, n);
    l
}

fn open(path: &Path, key: &LedgerKey) -> Result<Ledger, LedgerError> {
    Ledger::open(path, key, clock(), Arc::new(UuidV7Gen))
}

/// Opens the file directly with SQLCipher, as someone holding the key would.
fn raw(path: &Path, key: &LedgerKey) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(path).unwrap();
    let hex: String = key.as_bytes().iter().map(|x| format!("{x:02x}")).collect();
    c.execute_batch(&format!("PRAGMA key = \"x'{hex}'\";"))
        .unwrap();
    c
}

fn anchored_seq(db: &Path) -> i64 {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(anchor_path(db)).unwrap()).unwrap();
    v["seq"].as_i64().unwrap()
}

/// The ledger and its anchor, to prove a refused open wrote nothing (SQLite's -shm/-wal
/// companions come and go with any reader and are not compared).
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.to_string_lossy();
            !n.ends_with("-shm") && !n.ends_with("-wal")
        })
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    v.sort();
    v
}

#[test]
fn every_commit_moves_the_anchor_and_a_normal_reopen_passes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let key = LedgerKey::generate().unwrap();
    let l = ledger_with_entries(&path, &key, 3);
    assert_eq!(anchored_seq(&path), 3);
    drop(l);
    let l = open(&path, &key).unwrap();
    add_entries(&l, 2);
    assert_eq!(anchored_seq(&path), 5);
    drop(l);
    open(&path, &key).unwrap();
}

#[test]
fn a_log_ahead_of_its_anchor_is_verified_and_the_anchor_moves_forward() {
    // The program stopped between a commit and its anchor write.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let key = LedgerKey::generate().unwrap();
    let l = ledger_with_entries(&path, &key, 2);
    let older = std::fs::read(anchor_path(&path)).unwrap();
    add_entries(&l, 3);
    drop(l);
    std::fs::write(anchor_path(&path), older).unwrap();
    assert_eq!(anchored_seq(&path), 2);
    open(&path, &key).unwrap();
    assert_eq!(anchored_seq(&path), 5);
}

#[test]
fn a_truncated_tail_is_detected_at_open_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let key = LedgerKey::generate().unwrap();
    drop(ledger_with_entries(&path, &key, 5));
    {
        let c = raw(&path, &key);
        c.execute("DELETE FROM audit_entry WHERE seq > 3", [])
            .unwrap();
        c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
    }
    // The shorter chain is valid on its own: only the anchor tells.
    let before = snapshot(dir.path());
    match open(&path, &key) {
        Err(LedgerError::AuditAnchorMismatch {
            expected_seq: 5,
            found_seq: 3,
            reason: AnchorMismatch::Truncated,
        }) => {}
        other => panic!("expected a truncation, got {other:?}"),
    }
    assert!(
        snapshot(dir.path()) == before,
        "the refused open wrote nothing"
    );
}

#[test]
fn a_rewritten_chain_is_detected_at_open() {
    // Someone with the key rewrites an entry and re-hashes everything after it, so the chain
    // verifies on its own; the anchored head hash no longer matches.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let key = LedgerKey::generate().unwrap();
    let l = ledger_with_entries(&path, &key, 4);
    let mut entries = l.read(|r| r.audit_page(10, None)).unwrap();
    drop(l);
    entries.reverse();
    {
        let c = raw(&path, &key);
        let mut prev = entries[1].hash;
        for e in entries.iter_mut().skip(2) {
            if e.seq == 3 {
                e.outcome = AuditOutcome::Refused.code();
            }
            e.prev_hash = prev;
            e.hash = e.compute_hash();
            prev = e.hash;
            c.execute(
                "UPDATE audit_entry SET outcome = ?1, prev_hash = ?2, hash = ?3 WHERE seq = ?4",
                rusqlite::params![e.outcome, e.prev_hash.as_slice(), e.hash.as_slice(), e.seq],
            )
            .unwrap();
        }
        c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
    }
    match open(&path, &key) {
        Err(LedgerError::AuditAnchorMismatch {
            expected_seq: 4,
            found_seq: 4,
            reason: AnchorMismatch::Rewritten,
        }) => {}
        other => panic!("expected a rewritten chain, got {other:?}"),
    }
}

#[test]
fn a_missing_or_foreign_anchor_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let key = LedgerKey::generate().unwrap();
    drop(ledger_with_entries(&path, &key, 2));
    let mine = std::fs::read(anchor_path(&path)).unwrap();
    std::fs::remove_file(anchor_path(&path)).unwrap();
    assert!(matches!(
        open(&path, &key),
        Err(LedgerError::AuditAnchorMissing { found_seq: 2 })
    ));
    // Another ledger's anchor does not authenticate under this ledger's key.
    let other_dir = tempfile::tempdir().unwrap();
    let other = other_dir.path().join("ledger.db");
    drop(ledger_with_entries(
        &other,
        &LedgerKey::generate().unwrap(),
        2,
    ));
    std::fs::copy(anchor_path(&other), anchor_path(&path)).unwrap();
    assert!(matches!(
        open(&path, &key),
        Err(LedgerError::AuditAnchorInvalid { .. })
    ));
    std::fs::write(anchor_path(&path), mine).unwrap();
    open(&path, &key).unwrap();
}

#[test]
fn an_administrator_repair_re_anchors_and_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let key = LedgerKey::generate().unwrap();
    drop(ledger_with_entries(&path, &key, 5));
    {
        let c = raw(&path, &key);
        c.execute("DELETE FROM audit_entry WHERE seq > 3", [])
            .unwrap();
        c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
    }
    assert!(open(&path, &key).unwrap_err().is_audit_anchor());
    // A refused authorisation writes nothing and leaves the ledger refused.
    let refused = Ledger::repair_audit_anchor(&path, &key, clock(), Arc::new(UuidV7Gen), |_| {
        Err(LedgerError::InvalidData("not an administrator".into()))
    });
    assert!(refused.is_err());
    assert!(open(&path, &key).unwrap_err().is_audit_anchor());

    let l = Ledger::repair_audit_anchor(&path, &key, clock(), Arc::new(UuidV7Gen), |_| {
        Ok("admin01".to_owned())
    })
    .unwrap();
    let newest = l.read(|r| r.audit_page(1, None)).unwrap().remove(0);
    assert_eq!(newest.seq, 4);
    assert_eq!(newest.action, AuditAction::AuditAnchorRepaired.code());
    assert_eq!(newest.actor.as_deref(), Some("admin01"));
    let detail: serde_json::Value = serde_json::from_str(&newest.detail).unwrap();
    assert_eq!(detail["problem"], "truncated");
    assert_eq!(detail["expected_seq"], 5);
    assert_eq!(detail["found_seq"], 3);
    drop(l);
    open(&path, &key).unwrap();
    assert_eq!(anchored_seq(&path), 4);
}
