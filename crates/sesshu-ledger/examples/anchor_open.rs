//! Measures what the audit anchor costs at open: a reopen with N audit entries (fast path:
//! one row read) against a full walk of the chain.
//!
//! `cargo run -p sesshu-ledger --example anchor_open -- 200000`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a measurement tool

use sesshu_domain::audit::{AuditAction, AuditOutcome};
use sesshu_ledger::audit::AuditRecord;
use sesshu_ledger::{Ledger, LedgerKey, SystemClock, UuidV7Gen};
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let key = LedgerKey::generate().unwrap();
    let l = Ledger::create(&path, &key, Arc::new(SystemClock), Arc::new(UuidV7Gen)).unwrap();
    let t = Instant::now();
    for _ in 0..n.div_ceil(1000) {
        l.mutate(|m| {
            for _ in 0..1000 {
                m.audit(AuditRecord::new(
                    Some("keyer01"),
                    AuditAction::LoginSucceeded,
                    None,
                    AuditOutcome::Success,
                ))?;
            }
            Ok(())
        })
        .unwrap();
    }
    println!("wrote {n} entries in {:?}", t.elapsed());
    drop(l);
    let t = Instant::now();
    let l = Ledger::open(&path, &key, Arc::new(SystemClock), Arc::new(UuidV7Gen)).unwrap();
    println!("open with the anchor check: {:?}", t.elapsed());
    let t = Instant::now();
    let rep = l.read(|r| r.verify_audit_chain()).unwrap();
    println!(
        "full chain walk ({} entries): {:?}",
        rep.entries_checked,
        t.elapsed()
    );
    let t = Instant::now();
    l.mutate(|m| {
        m.audit(AuditRecord::new(
            None,
            AuditAction::SettingsChanged,
            None,
            AuditOutcome::Success,
        ))
    })
    .unwrap();
    println!("one audited mutation incl. anchor write: {:?}", t.elapsed());
}
