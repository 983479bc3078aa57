//! Sync bookkeeping: acknowledgements need no audit entry, commit with their receipt, and are
//! refused whole when an item is not pending.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failing test

use chrono::{TimeZone, Utc};
use sesshu_domain::audit::{AuditAction, AuditOutcome};
use sesshu_ledger::audit::AuditRecord;
use sesshu_ledger::sync::{Ack, Enrolment, NewLogLine, StoredReceipt};
use sesshu_ledger::{FixedClock, Ledger, LedgerError, LedgerKey, UuidV7Gen};
use std::sync::Arc;

fn ledger(dir: &std::path::Path, entries: usize) -> Ledger {
    let clock = Arc::new(FixedClock::new(
        Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap(),
    ));
    let l = Ledger::create(
        &dir.join("ledger.db"),
        &LedgerKey::generate().unwrap(),
        clock,
        Arc::new(UuidV7Gen),
    )
    .unwrap();
    for _ in 0..entries {
        l.mutate(|m| {
            m.audit(AuditRecord::new(
                Some("sync01"),
                AuditAction::LoginSucceeded,
                None,
                AuditOutcome::Success,
            ))
        })
        .unwrap();
    }
    l
}

fn ack(i: &sesshu_ledger::outbox::OutboxItem, outcome: &'static str) -> Ack {
    Ack {
        seq: i.seq,
        item_id: i.item_id.clone(),
        outcome,
        reason: None,
    }
}

fn receipt(id: &str, n: u64) -> StoredReceipt {
    StoredReceipt {
        receipt_id: id.into(),
        batch_id: format!("batch-{id}"),
        batch_hash: "00".repeat(32),
        received_at: "2026-04-01T00:00:01Z".into(),
        item_count: n,
        signed_json: "{}".into(),
        stored_at: String::new(),
    }
}

#[test]
fn acknowledging_drains_the_outbox_without_new_audit_entries() {
    let dir = tempfile::tempdir().unwrap();
    let l = ledger(dir.path(), 3);
    let pending = l.read(|r| r.sync_pending(0, 10)).unwrap();
    assert_eq!(pending.len(), 3);
    // From a position: only what follows it.
    let after = l.read(|r| r.sync_pending(pending[0].seq, 10)).unwrap();
    assert_eq!(after, pending[1..].to_vec());
    let head_before = l.read(|r| r.audit_head()).unwrap();
    let results: Vec<Ack> = pending.iter().map(|i| ack(i, "accepted")).collect();
    l.sync_state(|s| {
        s.acknowledge(&receipt("r1", 3), &results)?;
        s.log(&NewLogLine {
            kind: "batch",
            items: 3,
            acknowledged: 3,
            ..Default::default()
        })
    })
    .unwrap();
    assert_eq!(l.read(|r| r.outbox_pending_count()).unwrap(), 0);
    assert_eq!(l.read(|r| r.audit_head()).unwrap(), head_before);
    assert_eq!(
        l.read(|r| r.last_receipt()).unwrap().unwrap().receipt_id,
        "r1"
    );
    let log = l.read(|r| r.sync_log(10)).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].kind, "batch");
    assert_eq!(
        l.read(|r| r.outbox_outcomes()).unwrap().get("accepted"),
        Some(&3)
    );
}

#[test]
fn an_item_not_pending_refuses_the_whole_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let l = ledger(dir.path(), 2);
    let pending = l.read(|r| r.sync_pending(0, 10)).unwrap();
    let results = vec![
        ack(&pending[0], "accepted"),
        Ack {
            item_id: "not-an-item".into(),
            ..ack(&pending[1], "accepted")
        },
    ];
    let err = l
        .sync_state(|s| s.acknowledge(&receipt("r1", 2), &results))
        .unwrap_err();
    assert!(matches!(err, LedgerError::NotPending { .. }));
    assert_eq!(l.read(|r| r.outbox_pending_count()).unwrap(), 2);
    assert!(l.read(|r| r.last_receipt()).unwrap().is_none());
    // And an item acknowledged once cannot be acknowledged again.
    let one = vec![ack(&pending[0], "accepted")];
    l.sync_state(|s| s.acknowledge(&receipt("r2", 1), &one))
        .unwrap();
    assert!(l
        .sync_state(|s| s.acknowledge(&receipt("r3", 1), &one))
        .is_err());
    assert_eq!(l.read(|r| r.receipt_count()).unwrap(), 1);
    // The next one, in order, is accepted.
    let next = vec![ack(&pending[1], "accepted")];
    l.sync_state(|s| s.acknowledge(&receipt("r4", 1), &next))
        .unwrap();
    assert_eq!(l.read(|r| r.outbox_pending_count()).unwrap(), 0);
}

#[test]
fn outcomes_other_than_accepted_are_kept_per_item() {
    let dir = tempfile::tempdir().unwrap();
    let l = ledger(dir.path(), 4);
    let pending = l.read(|r| r.sync_pending(0, 10)).unwrap();
    // The first three, skipping none; the second is a conflict.
    let acks = vec![
        ack(&pending[0], "accepted"),
        Ack {
            reason: Some("other content".into()),
            ..ack(&pending[1], "conflict")
        },
        ack(&pending[2], "already_have"),
    ];
    // Not the head of the outbox: refused.
    assert!(l
        .sync_state(|s| s.acknowledge(&receipt("r0", 2), &acks[1..]))
        .is_err());
    l.sync_state(|s| s.acknowledge(&receipt("r1", 3), &acks))
        .unwrap();
    let outcomes = l.read(|r| r.outbox_outcomes()).unwrap();
    assert_eq!(outcomes.get("accepted"), Some(&1));
    assert_eq!(outcomes.get("conflict"), Some(&1));
    assert_eq!(outcomes.get("already_have"), Some(&1));
    let rows = l.read(|r| r.sync_item_outcomes("conflict", 10)).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].reason.as_deref(), Some("other content"));
    assert_eq!(rows[0].stream, "audit");
    assert_eq!(rows[0].item_id, pending[1].item_id);
    assert_eq!(
        l.read(|r| r.sync_item_outcomes("already_have", 10))
            .unwrap()
            .len(),
        1
    );
    let left = l.read(|r| r.outbox_pending(10)).unwrap();
    assert_eq!(left, vec![pending[3].clone()]);
    assert_eq!(
        l.read(|r| r.outbox_pending_by_stream())
            .unwrap()
            .get("audit"),
        Some(&1)
    );
}

#[test]
fn the_enrolment_is_one_audited_row() {
    let dir = tempfile::tempdir().unwrap();
    let l = ledger(dir.path(), 0);
    let e = Enrolment {
        hub_url: "https://127.0.0.1:9443".into(),
        hub_id: "hub".into(),
        hub_public_key: "aa".repeat(32),
        cert_fingerprint: "ab:cd".into(),
        terminal_public_key: "bb".repeat(32),
        enrolled_at: "2026-04-01T00:00:00Z".into(),
    };
    // Without an audit entry the enrolment does not commit.
    assert!(l.mutate(|m| m.set_sync_enrolment(&e)).is_err());
    assert!(l.read(|r| r.sync_enrolment()).unwrap().is_none());
    l.mutate(|m| {
        m.set_sync_enrolment(&e)?;
        m.audit(AuditRecord::new(
            Some("sync01"),
            AuditAction::TerminalEnrolled,
            None,
            AuditOutcome::Success,
        ))
    })
    .unwrap();
    let again = Enrolment {
        hub_url: "https://10.0.0.2:9443".into(),
        ..e.clone()
    };
    l.mutate(|m| {
        m.set_sync_enrolment(&again)?;
        m.audit(AuditRecord::new(
            Some("sync01"),
            AuditAction::TerminalEnrolled,
            None,
            AuditOutcome::Success,
        ))
    })
    .unwrap();
    assert_eq!(l.read(|r| r.sync_enrolment()).unwrap(), Some(again));
}

#[test]
fn only_the_next_items_in_outbox_order_are_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let l = ledger(dir.path(), 4);
    let p = l.read(|r| r.sync_pending(0, 10)).unwrap();
    let refused = |acks: Vec<Ack>| {
        let err = l
            .sync_state(|s| s.acknowledge(&receipt("rx", acks.len() as u64), &acks))
            .unwrap_err();
        assert!(matches!(err, LedgerError::NotPending { .. }), "{err:?}");
        assert_eq!(l.read(|r| r.outbox_pending_count()).unwrap(), 4);
    };
    // Not starting at the first pending item.
    refused(vec![ack(&p[1], "accepted"), ack(&p[2], "accepted")]);
    // An item skipped.
    refused(vec![ack(&p[0], "accepted"), ack(&p[2], "accepted")]);
    // Out of order.
    refused(vec![ack(&p[1], "accepted"), ack(&p[0], "accepted")]);
    refused(vec![ack(&p[0], "accepted"), ack(&p[0], "accepted")]);
    // The right id at the wrong position, and the reverse.
    refused(vec![Ack {
        seq: p[1].seq,
        ..ack(&p[0], "accepted")
    }]);
    refused(vec![Ack {
        item_id: p[1].item_id.clone(),
        ..ack(&p[0], "accepted")
    }]);
    let all: Vec<Ack> = p.iter().map(|i| ack(i, "accepted")).collect();
    l.sync_state(|s| s.acknowledge(&receipt("r1", 4), &all))
        .unwrap();
    assert_eq!(l.read(|r| r.outbox_pending_count()).unwrap(), 0);
}
