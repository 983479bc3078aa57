//! Tamper detection: a row changed behind the app's back breaks the chain at that row.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failing test

use chrono::{TimeZone, Utc};
use sesshu_domain::audit::{AuditAction, AuditOutcome};
use sesshu_ledger::audit::AuditRecord;
use sesshu_ledger::{FixedClock, Ledger, LedgerKey, UuidV7Gen};
use std::path::Path;
use std::sync::Arc;

fn ledger_with_entries(path: &Path, key: &LedgerKey, n: usize) -> Ledger {
    let clock = Arc::new(FixedClock::new(
        Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap(),
    ));
    let l = Ledger::create(path, key, clock.clone(), Arc::new(UuidV7Gen)).unwrap();
    for i in 0..n {
        clock.advance(chrono::Duration::seconds(1));
        l.mutate(|m| {
            m.audit(AuditRecord::new(
                Some("keyer01"),
                if i % 2 == 0 {
                    AuditAction::LoginSucceeded
                } else {
                    AuditAction::Logout
                },
                Some("keyer01"),
                AuditOutcome::Success,
            ))
        })
        .unwrap();
    }
    l
}

/// Opens the file directly with SQLCipher, as an attacker holding the key would.
fn raw(path: &Path, key: &LedgerKey) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(path).unwrap();
    c.execute_batch(&format!("PRAGMA key = \"x'{}'\";", hex(key.as_bytes())))
        .unwrap();
    c
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn an_intact_chain_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let key = LedgerKey::generate().unwrap();
    let l = ledger_with_entries(&dir.path().join("l.db"), &key, 6);
    let rep = l.read(|r| r.verify_audit_chain()).unwrap();
    assert_eq!(rep.entries_checked, 6);
    assert_eq!(rep.first_broken_seq, None);
    assert_eq!(rep.head_hash, l.read(|r| r.audit_head()).unwrap().1);
}

#[test]
fn a_changed_row_is_detected_at_that_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.db");
    let key = LedgerKey::generate().unwrap();
    let l = ledger_with_entries(&path, &key, 6);
    raw(&path, &key)
        .execute(
            "UPDATE audit_entry SET actor = 'someone-else' WHERE seq = 4",
            [],
        )
        .unwrap();
    let rep = l.read(|r| r.verify_audit_chain()).unwrap();
    assert_eq!(
        rep.first_broken_seq,
        Some(4),
        "the first broken link names the changed row"
    );
}

#[test]
fn a_deleted_row_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.db");
    let key = LedgerKey::generate().unwrap();
    let l = ledger_with_entries(&path, &key, 6);
    raw(&path, &key)
        .execute("DELETE FROM audit_entry WHERE seq = 3", [])
        .unwrap();
    let rep = l.read(|r| r.verify_audit_chain()).unwrap();
    assert_eq!(
        rep.first_broken_seq,
        Some(4),
        "the entry after the gap does not link"
    );
}

#[test]
fn a_recomputed_hash_still_breaks_the_next_link() {
    // An attacker who rewrites a row and its own hash still breaks the following entry.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.db");
    let key = LedgerKey::generate().unwrap();
    let l = ledger_with_entries(&path, &key, 5);
    let mut e = l.read(|r| r.audit_page(1, Some(3))).unwrap().remove(0);
    assert_eq!(e.seq, 2);
    e.outcome = AuditOutcome::Refused.code();
    e.hash = e.compute_hash();
    raw(&path, &key)
        .execute(
            "UPDATE audit_entry SET outcome = ?1, hash = ?2 WHERE seq = 2",
            rusqlite::params![e.outcome, e.hash.as_slice()],
        )
        .unwrap();
    let rep = l.read(|r| r.verify_audit_chain()).unwrap();
    assert_eq!(rep.first_broken_seq, Some(3));
}
