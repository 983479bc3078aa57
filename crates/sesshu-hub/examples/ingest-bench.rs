//! How fast the hub service stores batches on the embedded store, in process (no TLS, no
//! network): the part of the end-to-end rate the hub itself costs. The PostgreSQL benchmark
//! with its COPY baseline is `sesshu-tests`' `sync-bench`.
//!
//! `cargo run --release -p sesshu-hub --example ingest-bench -- [RECORDS] [BATCH] [--null] [--https]`
//! prints one JSON line. `--null` stores batches without their items (the service's own cost:
//! parsing, signature, content hashes, chain check, receipt). `--https` sends the batches one
//! after another to the real server on 127.0.0.1 (TLS, HTTP, `spawn_blocking`) instead of
//! calling the service directly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/mod.rs"]
mod common;

use common::{Fixture, Terminal};
use sesshu_hub::store::{
    ExportedRecord, HubStats, HubStore, IngestBatch, NewEnrolCode, Redeemed, StoreError,
    TerminalRecord,
};
use sesshu_protocol::ItemOutcome;
use std::sync::Arc;
use std::time::Instant;

/// Keeps terminals, batches and receipts in the inner store but no items.
struct NullItems(Arc<dyn HubStore>);

impl HubStore for NullItems {
    fn migrate(&self) -> Result<(), StoreError> {
        self.0.migrate()
    }
    fn add_enrol_code(&self, code: &NewEnrolCode) -> Result<(), StoreError> {
        self.0.add_enrol_code(code)
    }
    fn redeem_enrol_code(
        &self,
        code_hash: &str,
        now: chrono::DateTime<chrono::Utc>,
        terminal: &TerminalRecord,
    ) -> Result<Redeemed, StoreError> {
        self.0.redeem_enrol_code(code_hash, now, terminal)
    }
    fn terminal(&self, terminal_id: &str) -> Result<Option<TerminalRecord>, StoreError> {
        self.0.terminal(terminal_id)
    }
    fn terminals(&self) -> Result<Vec<TerminalRecord>, StoreError> {
        self.0.terminals()
    }
    fn revoke_terminal(
        &self,
        terminal_id: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        self.0.revoke_terminal(terminal_id, at)
    }
    fn ingest(&self, batch: &IngestBatch) -> Result<Vec<ItemOutcome>, StoreError> {
        let empty = IngestBatch {
            batch_id: batch.batch_id.clone(),
            batch_hash: batch.batch_hash.clone(),
            terminal_id: batch.terminal_id.clone(),
            received_at: batch.received_at,
            items: Vec::new(),
            chain: batch.chain,
            reported_seq: batch.reported_seq,
            flags: batch.flags.clone(),
        };
        self.0.ingest(&empty)?;
        Ok(vec![ItemOutcome::Accepted; batch.items.len()])
    }
    fn save_receipt(&self, b: &str, r: &str, s: &str) -> Result<(), StoreError> {
        self.0.save_receipt(b, r, s)
    }
    fn receipt(&self, batch_id: &str) -> Result<Option<String>, StoreError> {
        self.0.receipt(batch_id)
    }
    fn export_records(
        &self,
        visit: &mut dyn FnMut(&ExportedRecord) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        self.0.export_records(visit)
    }
    fn stats(&self) -> Result<HubStats, StoreError> {
        self.0.stats()
    }
    // The history check reads the profile (whether last doses go down with residents).
    fn dl_profile(&self, municipality: &str) -> Result<Option<(u64, String)>, StoreError> {
        self.0.dl_profile(municipality)
    }
    // ---- Hub audit and export reads (issue 12: the exports part) ----
    fn hub_audit_append(
        &self,
        d: &sesshu_hub::hub_audit::HubAuditDraft,
    ) -> Result<sesshu_protocol::chain::AuditLink, StoreError> {
        self.0.hub_audit_append(d)
    }
    fn hub_audit_visit(
        &self,
        since: i64,
        visit: &mut dyn FnMut(&sesshu_protocol::chain::AuditLink) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        self.0.hub_audit_visit(since, visit)
    }
    fn add_enrol_code_audited(
        &self,
        code: &NewEnrolCode,
        d: &sesshu_hub::hub_audit::HubAuditDraft,
    ) -> Result<(), StoreError> {
        self.0.add_enrol_code_audited(code, d)
    }
    fn revoke_terminal_audited(
        &self,
        terminal_id: &str,
        at: chrono::DateTime<chrono::Utc>,
        d: &sesshu_hub::hub_audit::HubAuditDraft,
    ) -> Result<bool, StoreError> {
        self.0.revoke_terminal_audited(terminal_id, at, d)
    }
    fn visit_items(
        &self,
        stream: Option<&str>,
        terminal_id: Option<&str>,
        visit: &mut dyn FnMut(&sesshu_hub::store::StoredItem) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        self.0.visit_items(stream, terminal_id, visit)
    }
    fn visit_conflicts(
        &self,
        visit: &mut dyn FnMut(&sesshu_hub::store::StoredItem) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        self.0.visit_conflicts(visit)
    }
    fn visit_batches(
        &self,
        visit: &mut dyn FnMut(&sesshu_hub::store::StoredBatch) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        self.0.visit_batches(visit)
    }

    // ---- history (issue 12 §5): forwarded ----
    fn replace_history(
        &self,
        import: &sesshu_hub::store::HistoryImport,
        doses: &[sesshu_hub::store::HistoryDose],
    ) -> Result<(), StoreError> {
        self.0.replace_history(import, doses)
    }
    fn apply_record_doses(
        &self,
        changes: &[sesshu_hub::store::RecordDoseChange],
    ) -> Result<(), StoreError> {
        self.0.apply_record_doses(changes)
    }
    fn histories(
        &self,
        atena_nos: &[String],
    ) -> Result<Vec<sesshu_hub::store::KnownDose>, StoreError> {
        self.0.histories(atena_nos)
    }
    fn history_count(&self) -> Result<u64, StoreError> {
        self.0.history_count()
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let records: usize = args.first().map_or(100_000, |s| s.parse().unwrap());
    let per_batch: usize = args.get(1).map_or(5_000, |s| s.parse().unwrap());
    let null = args.iter().any(|a| a == "--null");
    let fx = Fixture::new(false);
    let hub = if null {
        let n = fx.now.clone();
        sesshu_hub::Hub::new(
            Arc::new(NullItems(fx.store.clone())),
            common::hub_key(),
            "hub-bench".into(),
            false,
            Arc::new(move || *n.lock().unwrap()),
        )
    } else {
        let n = fx.now.clone();
        sesshu_hub::Hub::new(
            fx.store.clone(),
            common::hub_key(),
            "hub-bench".into(),
            false,
            Arc::new(move || *n.lock().unwrap()),
        )
    };
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
    let https = args.iter().any(|a| a == "--https");
    let secs = if https {
        over_https(hub, bodies.clone())
    } else {
        let start = Instant::now();
        for body in &bodies {
            let r = hub.ingest(body).unwrap();
            assert!(!r.body.is_empty());
        }
        start.elapsed().as_secs_f64()
    };
    if !null {
        assert_eq!(fx.stats().items_per_stream["records"], records as u64);
    }
    println!(
        "{}",
        serde_json::json!({
            "transport": if https { "https (loopback)" } else { "in process" },
            "store": if null { "none (service only)" } else { "sqlite" },
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

/// Serves `hub` on 127.0.0.1:0 and posts every body in turn; returns the seconds taken.
fn over_https(hub: sesshu_hub::Hub, bodies: Vec<Vec<u8>>) -> f64 {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let state = tempfile::tempdir().unwrap();
        let tls = sesshu_hub::server::load_or_create_tls(state.path(), "127.0.0.1").unwrap();
        let server = sesshu_hub::server::Server::from_parts(Arc::new(hub), &tls, "127.0.0.1:0")
            .await
            .unwrap();
        let url = format!("{}/v1/batches", server.announce().listen);
        let client = common::pinned_client(&tls.fingerprint());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        let start = Instant::now();
        for body in bodies {
            let resp = client.post(&url).body(body).send().await.unwrap();
            assert_eq!(resp.status(), 200);
            let bytes = resp.bytes().await.unwrap();
            assert!(!bytes.is_empty());
        }
        let secs = start.elapsed().as_secs_f64();
        let _ = stop.send(());
        running.await.unwrap();
        secs
    })
}
