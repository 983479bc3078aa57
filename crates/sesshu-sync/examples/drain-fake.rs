//! The drain's own cost, without a network or a hub database: N record-sized items from an
//! encrypted ledger to the in-process hub (which checks signatures and hashes like the real
//! one). `cargo run --release -p sesshu-sync --features fake-hub --example drain-fake -- 100000`
//! prints one JSON line: records/s, batches, peak RSS (Linux).

use sesshu_domain::audit::{AuditAction, AuditOutcome};
use sesshu_ledger::audit::AuditRecord;
use sesshu_ledger::{Ledger, LedgerKey, SystemClock, UuidV7Gen};
use sesshu_protocol::wire::EnrolRequest;
use sesshu_protocol::{SigningKey, PROTOCOL_VERSION};
use sesshu_sync::fake::{FakeHub, FAKE_FINGERPRINT};
use sesshu_sync::{drain, enrol, Connector, DrainOptions, SyncIdentity};
use std::sync::Arc;
use std::time::Instant;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() -> Res<()> {
    let n: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let ledger = Ledger::create(
        &dir.path().join("ledger.db"),
        &LedgerKey::generate()?,
        Arc::new(SystemClock),
        Arc::new(UuidV7Gen),
    )?;
    let filler = "x".repeat(900);
    let mut done = 0;
    while done < n {
        let k = 10_000.min(n - done);
        ledger.mutate(|m| {
            for i in done..done + k {
                let id = m.new_uid();
                let payload = format!(
                    r#"{{"kind":"record","record_id":"{id}","form_no":{i},"programme":"MR","record":{{"remarks":"{filler}"}}}}"#
                );
                m.enqueue_item("records", &id, &payload)?;
            }
            m.audit(AuditRecord::new(None, AuditAction::RecordApproved, None, AuditOutcome::Success))
                .map(|_| ())
        })?;
        done += k;
    }
    let rss_before_drain = peak_rss_mb();
    let hub = FakeHub::default();
    hub.add_code("CODE");
    let key = SigningKey::from_bytes(&[3; 32]);
    let t = hub.connect("https://hub", None)?;
    enrol(
        t.as_ref(),
        &EnrolRequest {
            version: PROTOCOL_VERSION,
            code: "CODE".into(),
            terminal_id: "t1".into(),
            terminal_name: "bench".into(),
            municipality_code: "041009".into(),
            demo: false,
            public_key: key.verifying_key(),
        },
    )?;
    let hub_key = hub.public_key();
    let id = SyncIdentity {
        terminal_id: "t1",
        municipality_code: "041009",
        key: &key,
        hub_key: &hub_key,
    };
    let t = hub.connect("https://hub", Some(FAKE_FINGERPRINT))?;
    let start = Instant::now();
    let report = drain(
        &ledger,
        t.as_ref(),
        &id,
        &DrainOptions::default(),
        &mut |_| {},
    )
    .map_err(|f| f.to_string())?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "records": n,
            "acknowledged": report.acknowledged,
            "batches": report.batches,
            "seconds": (secs * 100.0).round() / 100.0,
            "records_per_s": (report.acknowledged as f64 / secs).round(),
            "peak_rss_mb": (peak_rss_mb() * 10.0).round() / 10.0,
            "peak_rss_mb_before_drain": (rss_before_drain * 10.0).round() / 10.0,
            "hub_stored": hub.stored(),
        })
    );
    Ok(())
}
