//! Purging audit entries the hub holds: the chain verifies from its base, the anchor covers the
//! base, a crash between the purge's commit and its anchor write is accepted only because the
//! purge's own entry names the base, and nothing unacknowledged or differing from the hub's
//! head is purged.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failing test

use chrono::{TimeZone, Utc};
use sesshu_domain::audit::{AuditAction, AuditOutcome};
use sesshu_ledger::audit::AuditRecord;
use sesshu_ledger::purge::Purged;
use sesshu_ledger::sync::{Ack, StoredReceipt};
use sesshu_ledger::{FixedClock, Ledger, LedgerError, LedgerKey, UuidV7Gen};
use sesshu_protocol::chain::ChainHead;
use std::path::Path;
use std::sync::Arc;

fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::new(
        Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap(),
    ))
}

fn entry(l: &Ledger, action: AuditAction) {
    l.mutate(|m| {
        m.audit(AuditRecord::new(
            Some("admin01"),
            action,
            None,
            AuditOutcome::Success,
        ))
    })
    .unwrap();
}

/// Acknowledges every pending outbox item with one receipt.
fn ack_all(l: &Ledger, id: &str) {
    let items = l.read(|r| r.outbox_pending(1000)).unwrap();
    let acks: Vec<Ack> = items
        .iter()
        .map(|i| Ack {
            seq: i.seq,
            item_id: i.item_id.clone(),
            outcome: "accepted",
            reason: None,
        })
        .collect();
    let receipt = StoredReceipt {
        receipt_id: id.into(),
        batch_id: format!("batch-{id}"),
        batch_hash: "00".repeat(32),
        received_at: "2026-04-01T00:00:01Z".into(),
        item_count: acks.len() as u64,
        signed_json: "{}".into(),
        stored_at: String::new(),
    };
    l.sync_state(|s| s.acknowledge(&receipt, &acks)).unwrap();
}

fn head_at(l: &Ledger, seq: i64) -> ChainHead {
    let e = l
        .read(|r| r.audit_page(1, Some(seq + 1)))
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(e.seq, seq);
    ChainHead { seq, hash: e.hash }
}

/// Purges up to `held` with an audit entry of `action` carrying the purge's detail.
fn purge(l: &Ledger, held: &ChainHead, action: AuditAction) -> Purged {
    l.mutate(|m| {
        let p = m.purge_audit_held(held)?;
        m.audit(
            AuditRecord::new(None, action, None, AuditOutcome::Success)
                .with_detail(p.audit_detail()),
        )?;
        Ok(p)
    })
    .unwrap()
}

struct Setup {
    _dir: tempfile::TempDir,
    db: std::path::PathBuf,
    key: LedgerKey,
}

fn setup(entries: usize) -> (Setup, Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.db");
    let key = LedgerKey::generate().unwrap();
    let l = Ledger::create(&db, &key, clock(), Arc::new(UuidV7Gen)).unwrap();
    for _ in 0..entries {
        entry(&l, AuditAction::LoginSucceeded);
    }
    (Setup { _dir: dir, db, key }, l)
}

fn reopen(s: &Setup) -> Result<Ledger, LedgerError> {
    Ledger::open(&s.db, &s.key, clock(), Arc::new(UuidV7Gen))
}

fn anchor(db: &Path) -> std::path::PathBuf {
    sesshu_ledger::anchor::anchor_path(db)
}

#[test]
fn purged_entries_leave_a_base_the_chain_and_the_anchor_verify_from() {
    let (s, l) = setup(6);
    ack_all(&l, "r1");
    let held = head_at(&l, 6);
    let p = purge(&l, &held, AuditAction::DataPurged);
    // Never the newest entry: the anchored entry survives.
    assert_eq!(p.audit_entries, 5);
    let base = p.audit_base.unwrap();
    assert_eq!(base.0, 5);
    assert_eq!(l.read(|r| r.audit_base()).unwrap(), base);
    let rep = l.read(|r| r.verify_audit_chain()).unwrap();
    assert_eq!(rep.first_broken_seq, None);
    assert_eq!(rep.entries_checked, 2);
    // The purged entries' outbox payloads are gone too, their ids and hashes kept.
    assert_eq!(l.read(|r| r.outbox_pending_count()).unwrap(), 1);
    drop(l);
    let l = reopen(&s).unwrap();
    entry(&l, AuditAction::LoginSucceeded);
    drop(l);
    let text = std::fs::read_to_string(anchor(&s.db)).unwrap();
    assert!(text.contains("\"format\":2"), "{text}");
    reopen(&s).unwrap();
}

#[test]
fn a_crash_before_the_anchor_write_is_accepted_only_with_the_purge_entry() {
    for (action, accepted) in [
        (AuditAction::DataPurged, true),
        (AuditAction::SettingsChanged, false),
    ] {
        let (s, l) = setup(6);
        ack_all(&l, "r1");
        let old = std::fs::read(anchor(&s.db)).unwrap();
        purge(&l, &head_at(&l, 6), action);
        drop(l);
        // The anchor as it was before the purge: the state a crash right after the commit
        // leaves behind.
        std::fs::write(anchor(&s.db), &old).unwrap();
        match reopen(&s) {
            Ok(l) => {
                assert!(accepted, "{action:?}");
                assert_eq!(
                    l.read(|r| r.verify_audit_chain()).unwrap().first_broken_seq,
                    None
                );
            }
            Err(e) => {
                assert!(!accepted, "{action:?}: {e}");
                assert!(matches!(e, LedgerError::AuditAnchorMismatch { .. }), "{e}");
            }
        }
    }
}

#[test]
fn an_anchor_over_a_purged_chain_refuses_a_removed_prefix_with_a_restored_old_base() {
    // Purge twice; then put back the first purge's anchor: its base is older than the
    // ledger's, and the entry after it that named the newer base is gone from the walk
    // (the anchored entry itself was purged): refused.
    let (s, l) = setup(4);
    ack_all(&l, "r1");
    purge(&l, &head_at(&l, 4), AuditAction::DataPurged);
    let first = std::fs::read(anchor(&s.db)).unwrap();
    for _ in 0..3 {
        entry(&l, AuditAction::LoginSucceeded);
    }
    ack_all(&l, "r2");
    purge(&l, &head_at(&l, 8), AuditAction::DataPurged);
    drop(l);
    std::fs::write(anchor(&s.db), &first).unwrap();
    assert!(matches!(
        reopen(&s),
        Err(LedgerError::AuditAnchorMismatch { .. })
    ));
}

#[test]
fn nothing_is_purged_unacknowledged_or_unlike_the_hubs_head() {
    let (_s, l) = setup(5);
    // Nothing acknowledged yet.
    let p = l
        .mutate(|m| {
            let p = m.purge_audit_held(&ChainHead {
                seq: 5,
                hash: [0; 32],
            })?;
            entry_in(m)?;
            Ok(p)
        })
        .unwrap();
    assert_eq!(p.audit_entries, 0);
    let held = head_at(&l, 5);
    let p = l
        .mutate(|m| {
            let p = m.purge_audit_held(&held)?;
            entry_in(m)?;
            Ok(p)
        })
        .unwrap();
    assert_eq!(p.audit_entries, 0, "not acknowledged");
    ack_all(&l, "r1");
    // A head the hub holds with another hash: the chains differ, nothing goes.
    let p = l
        .mutate(|m| {
            let p = m.purge_audit_held(&ChainHead {
                seq: 5,
                hash: [7; 32],
            })?;
            entry_in(m)?;
            Ok(p)
        })
        .unwrap();
    assert_eq!(p.audit_entries, 0);
    assert_eq!(l.read(|r| r.audit_base()).unwrap().0, 0);
}

fn entry_in(m: &mut sesshu_ledger::Mutation<'_>) -> Result<(), LedgerError> {
    m.audit(AuditRecord::new(
        None,
        AuditAction::LoginSucceeded,
        None,
        AuditOutcome::Success,
    ))
    .map(|_| ())
}
