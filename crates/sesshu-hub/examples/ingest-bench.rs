//! How fast the hub service stores batches on the embedded store, in process (no TLS, no
//! network): the part of the end-to-end rate the hub itself costs. The PostgreSQL benchmark
//! with its COPY baseline is `sesshu-tests`' `sync-bench`.
//!
//! `cargo run --release -p sesshu-hub --example ingest-bench -- [RECORDS] [BATCH]`
//! prints one JSON line.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/mod.rs"]
mod common;

use common::{Fixture, Terminal};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let records: usize = args.first().map_or(100_000, |s| s.parse().unwrap());
    let per_batch: usize = args.get(1).map_or(5_000, |s| s.parse().unwrap());
    let fx = Fixture::new(false);
    let mut t = Terminal::new("bench", 1);
    fx.enrolled(&t);
    // One audit link per record, as approving writes one.
    let mut bodies = Vec::new();
    let mut bytes = 0usize;
    let mut left = records;
    while left > 0 {
        let n = left.min(per_batch / 2);
        let mut items = Vec::with_capacity(n * 2);
        for i in 0..n {
            let link = t.audit();
            items.push(t.record(&format!("{:012}", records - left + i), "山田 太郎"));
            items.push(t.audit_item(&link));
        }
        let body = t.sealed(items);
        bytes += body.len();
        bodies.push(body);
        left -= n;
    }
    let start = Instant::now();
    for body in &bodies {
        let r = fx.hub.ingest(body).unwrap();
        assert!(!r.body.is_empty());
    }
    let secs = start.elapsed().as_secs_f64();
    let stats = fx.stats();
    assert_eq!(stats.items_per_stream["records"], records as u64);
    println!(
        "{}",
        serde_json::json!({
            "store": "sqlite",
            "records": records,
            "items": records * 2,
            "batches": bodies.len(),
            "request_bytes": bytes,
            "seconds": (secs * 1000.0).round() / 1000.0,
            "records_per_s": (records as f64 / secs).round(),
            "items_per_s": ((records * 2) as f64 / secs).round(),
        })
    );
}
